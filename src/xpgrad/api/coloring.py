"""Graph coloring for compressed Jacobians and Hessians, and the matching recovery.

Columns of a Jacobian that share no row can be pushed forward together: seed
the sum of their basis vectors, and each entry of the compressed result is
one entry of ``J``. A *column coloring* gives such columns one color (a
distance-1 coloring of the column intersection graph, found here on the
bipartite graph without forming that graph); a *row coloring* does the same
for reverse mode. A symmetric Hessian gets a *star coloring* (Gebremedhin,
Manne and Pothen, "What color is your Jacobian?", SIAM Review 2005): adjacent
vertices differ and every path on four vertices has at least three colors,
which lets each entry be read directly from one of its two symmetric
positions, usually with fewer colors than a column coloring.

Coloring runs once per pattern, on the host, as a natural-order greedy loop
over plain Python lists: about a second per million nonzeros, and the
colors of a stencil's pattern do not grow with the grid. The compressed
passes and the recovery run on the backend (``recovery_index``).
"""

from __future__ import annotations

from typing import Any

from .. import backends

__all__ = ["column_coloring", "row_coloring", "star_coloring", "recovery_index", "check_coloring"]


def _lists(xp: Any, major: Any, minor: Any, nmajor: int) -> tuple[list, list]:
    """Compressed lists: ``idx[ptr[j]:ptr[j+1]]`` are the minors of major ``j``."""
    order = xp.argsort(major, stable=True)
    maj = xp.take(major, order)
    ptr = xp.searchsorted(maj, xp.arange(nmajor + 1, dtype=maj.dtype))
    return _tolist(ptr), _tolist(xp.take(minor, order))


def _tolist(a: Any) -> list:
    return backends.to_host(a).tolist()


def _greedy(ptr: list, idx: list, nmajor: int, nminor: int) -> list:
    """Natural-order greedy: major ``j`` gets the smallest color no minor of it has seen.

    ``seen[r]`` is a bit set of the colors given to majors sharing minor ``r``.
    """
    seen = [0] * nminor
    color = [0] * nmajor
    for j in range(nmajor):
        mine = idx[ptr[j] : ptr[j + 1]]
        forb = 0
        for r in mine:
            forb |= seen[r]
        c = (~forb & (forb + 1)).bit_length() - 1  # lowest color not forbidden
        bit = 1 << c
        for r in mine:
            seen[r] |= bit
        color[j] = c
    return color


def column_coloring(xp: Any, rows: Any, cols: Any, shape: tuple) -> list:
    """Colors of the columns: two columns with a nonzero in the same row differ."""
    m, n = shape
    ptr, idx = _lists(xp, cols, rows, n)
    return _greedy(ptr, idx, n, m)


def row_coloring(xp: Any, rows: Any, cols: Any, shape: tuple) -> list:
    """Colors of the rows: two rows with a nonzero in the same column differ."""
    m, n = shape
    ptr, idx = _lists(xp, rows, cols, m)
    return _greedy(ptr, idx, m, n)


def star_coloring(xp: Any, rows: Any, cols: Any, n: int) -> list:
    """A star coloring of the adjacency graph of a symmetric ``n x n`` pattern.

    Natural-order greedy. When vertex ``v`` is colored, a color is forbidden if
    a colored neighbor has it, or if taking it would complete a two-colored
    path on four colored vertices: ``z-v-w-x`` (``v`` has two neighbors colored
    like ``w``: every color next to ``w`` is out) or ``v-w-x-y`` (``x`` next to
    ``w`` has another neighbor colored like ``w``: ``x``'s color is out; these
    colors are kept up to date in ``bad[w]``). ``seen1[u]`` / ``seen2[u]`` are
    bit sets of the colors that at least one / two colored neighbors of ``u``
    have. Linear time but for one scan of ``u``'s neighbors each time
    ``seen2[u]`` gains a color.
    """
    off = rows != cols
    ptr, adj = _lists(xp, rows[off], cols[off], n)
    color = [-1] * n
    seen1 = [0] * n
    seen2 = [0] * n
    bad = [0] * n
    for v in range(n):
        nb = adj[ptr[v] : ptr[v + 1]]
        forb = seen1[v]
        two = seen2[v]
        for w in nb:
            a = color[w]
            if a >= 0:
                forb |= seen1[w] if two >> a & 1 else bad[w]
        c = (~forb & (forb + 1)).bit_length() - 1
        color[v] = c
        bit = 1 << c
        mine = 0
        for u in nb:
            cu = color[u]
            if cu >= 0:
                if seen1[u] & bit:  # u has v and another neighbor colored c
                    mine |= 1 << cu
                if two >> cu & 1:  # v has u and another neighbor colored like u
                    bad[u] |= bit
            if seen1[u] & bit and not seen2[u] & bit:
                seen2[u] |= bit
                if cu >= 0:  # u now has two neighbors colored c
                    ubit = 1 << cu
                    for w in adj[ptr[u] : ptr[u + 1]]:
                        if color[w] == c:
                            bad[w] |= ubit
            seen1[u] |= bit
        bad[v] = mine
    return color


def recovery_index(
    xp: Any, rows: Any, cols: Any, colors: Any, ncolors: int, size: int, how: str
) -> Any:
    """Flat positions in the compressed ``(ncolors, size)`` result of each entry.

    ``how``: ``"column"`` (entry ``(r, c)`` is at ``[color[c], r]``: forward
    Jacobians and column-colored Hessians), ``"row"`` (``[color[r], c]``:
    reverse Jacobians) or ``"star"`` (``[color[c], r]`` when ``c`` is the only
    neighbor of ``r`` with its color, else the symmetric ``[color[r], c]``).
    """
    if how == "row":
        return xp.take(colors, rows) * size + cols
    direct = xp.take(colors, cols) * size + rows
    if how == "column":
        return direct
    # star: is c the only column of row r with its color?
    key = rows * ncolors + xp.take(colors, cols)
    skey = xp.sort(key)
    count = xp.searchsorted(skey, key, side="right") - xp.searchsorted(skey, key)
    ok = (count == 1) | (rows == cols)
    return xp.where(ok, direct, xp.take(colors, rows) * size + cols)


def check_coloring(xp: Any, rows: Any, cols: Any, colors: Any, how: str) -> bool:
    """Whether ``colors`` is valid for the pattern (a test helper; column and row kinds)."""
    major, minor = (cols, rows) if how == "column" else (rows, cols)
    key = minor * (int(xp.max(colors)) + 1) + xp.take(colors, major) if major.shape[0] else major
    skey = xp.sort(key)
    if skey.shape[0] < 2:
        return True
    return not bool(xp.any(skey[1:] == skey[:-1]))
