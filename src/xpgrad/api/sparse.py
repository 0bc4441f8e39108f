"""Sparse Jacobians and Hessians: detect the pattern, color it, compress, recover.

``sparse_jacobian`` runs ``f`` once under the sparsity interpreter
(``xpgrad._core.sparsity``) to find which inputs each output depends on,
colors the columns (forward mode) or rows (reverse mode) so that columns of
one color share no row, pushes one seed per color through the program (one
batched ``jvp`` or pullback, chunked to the memory budget, as ``jacobian``
does with basis vectors) and reads every nonzero off the compressed result. A
tridiagonal map costs 3 directional derivatives and a 2-D five-point stencil
7 (5 for its Hessian), however large the grid, where ``jacobian`` costs ``n``.

``sparse_hessian`` does the same forward over reverse, with a star coloring
of the symmetric pattern (``xpgrad.api.coloring``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core.zeros import Zero
from ..rules import F
from . import _chunks as C
from . import _edge as E
from .gradient import pullback
from .hessian import _gradient_of
from .jacobian import _output, _pushforward
from .sparse_matrix import SparseMatrix, SparsityPattern
from .sparse_plan import Plan, clear_cache, plan_for, point, to_xp
from .vmap import vmap

__all__ = [
    "sparse_jacobian",
    "sparse_hessian",
    "jacobian_sparsity",
    "hessian_sparsity",
    "clear_cache",
    "SparseMatrix",
    "SparsityPattern",
]

_MODES = ("auto", "forward", "reverse")
_COLORINGS = ("auto", "star", "column")
#: Up to this many nonzeros, ``coloring="auto"`` also tries a column coloring of a
#: Hessian and keeps whichever needs fewer colors.
BOTH_COLORINGS_NNZ = 1_000_000

# -- compressed passes ----------------------------------------------------------------------


def _seeds(xp: Any, colors: Any, start: int, k: int, dtype: Any, shape: tuple) -> Any:
    """Rows ``start .. start+k`` of the color matrix: seed ``c`` sums the basis of color ``c``."""
    dev = C.device_of(colors)
    kw = {} if dev is None else {"device": dev}
    want = xp.reshape(xp.arange(start, start + k, dtype=colors.dtype, **kw), (k, 1))
    e = xp.astype(want == xp.reshape(colors, (1, -1)), dtype)
    return xp.reshape(e, (k,) + tuple(shape))


def _passes(
    batched: Callable,
    xp: Any,
    colors: Any,
    ncolors: int,
    dtype: Any,
    shape: tuple,
    per_direction: int,
    chunk_size: Any,
    budget: Any,
    name: str,
) -> Any:
    """``(ncolors, size)``: ``batched`` over every color seed, in chunks."""
    k = C.choose_chunk(ncolors, per_direction, C.itemsize(xp, dtype), chunk_size, budget, name)
    blocks: Any = None  # made at the first chunk, once the width is known
    for start in range(0, ncolors, k):
        kk = min(k, ncolors - start)
        seeds = _seeds(xp, colors, start, kk, dtype, shape)
        res = batched(seeds)
        if isinstance(res, Zero):  # f ignores x: the pushforward's symbolic zero
            res = C.zeros(xp, (kk, *res.shape), res.dtype, seeds)
        out = C.flat_rows(res, kk)
        if blocks is None:
            blocks = C.Blocks(xp, (ncolors, out.shape[1]), 0, -(-ncolors // k))
        blocks.add(out)
    return blocks.result()


def _recover(plan: Plan, B: Any, size: int, how: str, xp: Any, like: Any) -> Any:
    return F.take(F.reshape(B, (-1,)), plan.recovery(how, size, xp, like), axis=0)


def _result(
    plan: Plan,
    values: Any,
    xp: Any,
    like: Any,
    shape: tuple,
    npasses: int,
    mode: str,
    coloring: str,
) -> SparseMatrix:
    S = SparseMatrix(
        to_xp(plan.rows, xp, plan.pxp, like), to_xp(plan.cols, xp, plan.pxp, like), values, shape
    )
    S.npasses, S.mode, S.coloring = npasses, mode, coloring
    return S


def _empty_values(xp: Any, dtype: Any, like: Any) -> Any:
    return C.zeros(xp, (0,), dtype, like)


# -- the public functions -------------------------------------------------------------------


def jacobian_sparsity(f: Callable, x: Any, *, cache: bool = False) -> SparsityPattern:
    """The sparsity pattern of the Jacobian of ``y = f(x)``: where it may be nonzero.

    Runs ``f`` once on ``x`` under the sparsity interpreter; every primitive's
    pattern rule says which input elements each output element depends on.
    The pattern is global and conservative: it holds every entry that is
    nonzero at *some* input (a product with a constant zero, or an element
    an index never reads, is left out; a derivative that merely vanishes at
    this ``x`` is kept). Only Python control flow on values (``if x[0] > 0``)
    makes it specific to the branch taken. Rows and columns are C-order flat
    indices of ``y`` and ``x``, as in ``jacobian``.

    Parameters
    ----------
    f : callable
        ``y = f(x)``, an array or a number.
    x : array or number
        A point (its values matter only to Python control flow in ``f``).
    cache : bool
        Keep the pattern (and later colorings) for this function object, input
        shape and dtype; ``clear_cache()`` forgets them.

    Returns
    -------
    SparsityPattern
        The entries ``(rows, cols)`` of shape ``(y.size, x.size)``.

    See Also
    --------
    sparse_jacobian : Compute the Jacobian on a pattern.
    hessian_sparsity : The pattern of a Hessian.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> P = xpgrad.jacobian_sparsity(lambda x: x[1:] - x[:-1], np.zeros(4))
    >>> P.shape, P.nnz
    ((3, 4), 6)
    >>> P.todense().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    E.check_callable(f, "jacobian_sparsity")
    xa, xp = point(x, "jacobian_sparsity")
    return _public_pattern(plan_for(f, xa, xp, None, cache, "jacobian_sparsity", False), xp, xa)


def hessian_sparsity(f: Callable, x: Any, *, cache: bool = False) -> SparsityPattern:
    """The sparsity pattern of the Hessian of a real scalar ``f`` at ``x`` (symmetric).

    The pattern of the Jacobian of the gradient, found by running the
    gradient's reverse pass under the sparsity interpreter; see
    ``jacobian_sparsity`` for what "pattern" guarantees.

    Parameters
    ----------
    f : callable
        A real scalar function of ``x``.
    x : array or number
        A point (its values matter only to Python control flow in ``f``).
    cache : bool
        As in ``jacobian_sparsity``.

    Returns
    -------
    SparsityPattern
        The entries ``(rows, cols)`` of shape ``(x.size, x.size)``.

    See Also
    --------
    sparse_hessian : Compute the Hessian on a pattern.
    jacobian_sparsity : The pattern of a Jacobian.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> P = xpgrad.hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]) + x[0] ** 3, np.ones(3))
    >>> P.todense().astype(int)
    array([[1, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    """
    E.check_callable(f, "hessian_sparsity")
    xa, xp = point(x, "hessian_sparsity")
    return _public_pattern(plan_for(f, xa, xp, None, cache, "hessian_sparsity", True), xp, xa)


def _public_pattern(plan: Plan, xp: Any, like: Any) -> SparsityPattern:
    P = SparsityPattern(
        to_xp(plan.rows, xp, plan.pxp, like), to_xp(plan.cols, xp, plan.pxp, like), plan.shape
    )
    P.fallbacks = plan.fallbacks
    return P


def sparse_jacobian(
    f: Callable,
    x: Any,
    *,
    pattern: Any = None,
    mode: str = "auto",
    cache: bool = False,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
) -> SparseMatrix:
    """The Jacobian of ``y = f(x)`` as a sparse matrix, in a few compressed passes.

    Equal to ``jacobian(f, x)[0]`` (shape ``(y.size, x.size)``, C-order flat
    indices) on the pattern, computed in ``npasses`` directional derivatives
    instead of ``x.size`` or ``y.size``: the pattern (detected with
    ``jacobian_sparsity`` unless given) is colored so that columns of one
    color share no row (``"forward"``: one ``jvp`` per color) or rows of one
    color share no column (``"reverse"``: one pullback per color); the seeds
    are pushed through in batches (``vmap``) sized to the memory budget, like
    ``jacobian``'s basis chunks, and each nonzero is read off the compressed
    result. A banded matrix of bandwidth ``b`` takes about ``b`` passes, a 2-D
    five-point stencil 7, whatever the grid size.

    Parameters
    ----------
    f : callable
        ``y = f(x)``, an array or a number.
    x : array or number
        The point.
    pattern : SparsityPattern, tuple or SciPy sparse matrix, optional
        The pattern to use instead of detecting it: ``jacobian_sparsity``'s
        result, ``(rows, cols, (m, n))``, or a SciPy sparse matrix. It must
        contain every nonzero, or the result is wrong.
    mode : {"auto", "forward", "reverse"}
        ``"auto"`` picks the mode whose lower bound on the colors (the most
        nonzeros in a row, resp. a column) is smaller, forward on a tie.
    cache : bool
        Keep the detected pattern and its coloring for this function, shape and
        dtype (see ``clear_cache``): later calls skip detection and coloring.
    chunk_size : int, optional
        As in ``jacobian``: colors per batched pass.
    memory_budget : int, optional
        As in ``jacobian``: bytes per batched pass.

    Returns
    -------
    SparseMatrix
        ``(rows, cols, values, shape)``, with ``npasses``, ``mode`` and
        ``coloring``; ``.todense()``, ``.to_scipy()``, ``.to_cupyx()``.

    See Also
    --------
    jacobian_sparsity : Detect the pattern once, to reuse it.
    sparse_hessian : The same for Hessians.
    jacobian : The dense Jacobian.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> S = xpgrad.sparse_jacobian(lambda x: x[1:] * x[:-1], np.arange(1.0, 6.0))
    >>> S.npasses, S.nnz
    (2, 8)
    >>> S.todense()
    array([[2., 1., 0., 0., 0.],
           [0., 3., 2., 0., 0.],
           [0., 0., 4., 3., 0.],
           [0., 0., 0., 5., 4.]])
    """
    name = "sparse_jacobian"
    E.check_callable(f, name)
    if mode not in _MODES:
        raise ValueError(f"xpgrad.{name}: mode must be one of {_MODES}, got {mode!r}")
    xa, xp = point(x, name)
    plan = plan_for(f, xa, xp, pattern, cache, name, False)
    m, n = plan.shape
    if mode == "auto":
        in_row, in_col = plan.counts_bound()
        mode = "forward" if in_row <= in_col else "reverse"
    how = "column" if mode == "forward" else "row"
    if plan.rows.shape[0] == 0:
        return _result(plan, _empty_values(xp, xa.dtype, xa), xp, xa, (m, n), 0, mode, how)
    colors, nc = plan.coloring(how)
    cx = to_xp(colors, xp, plan.pxp, xa)
    if mode == "forward":
        push = vmap(_pushforward(f, [xa], 0, xp))
        B = _passes(
            push, xp, cx, nc, xa.dtype, tuple(xa.shape), n + m, chunk_size, memory_budget, name
        )
        size = B.shape[1]
    else:
        y, back = pullback(f, xa)
        y = _output(y, xp, name)
        size = n
        vback = vmap(back)

        def run(seeds: Any) -> Any:
            ct = vback(seeds)[0]
            return C.zeros(xp, (seeds.shape[0], n), y.dtype, xa) if ct is None else ct

        B = _passes(
            run, xp, cx, nc, y.dtype, tuple(y.shape), n + m, chunk_size, memory_budget, name
        )
        m_y = C.size_of(tuple(y.shape))
    if (mode == "forward" and size != m) or (mode == "reverse" and m_y != m):
        raise ValueError(
            f"xpgrad.{name}: the pattern has {m} rows but f(x) has "
            f"{size if mode == 'forward' else m_y} elements"
        )
    values = _recover(plan, B, size, how, xp, xa)
    return _result(plan, values, xp, xa, (m, n), nc, mode, how)


def sparse_hessian(
    f: Callable,
    x: Any,
    *,
    pattern: Any = None,
    coloring: str = "auto",
    cache: bool = False,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
) -> SparseMatrix:
    """The Hessian of a real scalar ``f`` at ``x`` as a sparse matrix.

    Equal to ``hessian(f, x)`` (shape ``(x.size, x.size)``) on the pattern
    (``hessian_sparsity`` unless given; made symmetric), computed forward over
    reverse in ``npasses`` Hessian-vector products, one per color, batched like
    ``hessian``'s chunks.

    Parameters
    ----------
    f : callable
        A real scalar function of ``x``.
    x : array or number
        The point.
    pattern : SparsityPattern, tuple or SciPy sparse matrix, optional
        As in ``sparse_jacobian`` (``hessian_sparsity``'s result, typically).
    coloring : {"auto", "star", "column"}
        ``"star"`` uses a star coloring and reads each entry from whichever of
        ``H[i, j]`` / ``H[j, i]`` is alone in its compressed sum (fewer colors:
        5 for a 2-D five-point stencil, 2 for an arrow matrix, where a column
        coloring needs 7 and ``n``); ``"column"`` colors columns as
        ``sparse_jacobian`` does; ``"auto"`` (default) takes the star coloring,
        or the column one when the pattern has at most ``BOTH_COLORINGS_NNZ``
        entries and the column one needs no more colors.
    cache : bool
        As in ``sparse_jacobian``.
    chunk_size : int, optional
        As in ``hessian``: colors per batched pass.
    memory_budget : int, optional
        As in ``hessian``: bytes per batched pass.

    Returns
    -------
    SparseMatrix
        The Hessian's nonzeros, with ``npasses``, ``mode`` and ``coloring``.

    See Also
    --------
    hessian_sparsity : Detect the pattern once, to reuse it.
    sparse_jacobian : The same for Jacobians.
    hessian : The dense Hessian.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> f = lambda x: np.sum((x[1:] - x[:-1]) ** 2) + np.sum(x ** 4)
    >>> H = xpgrad.sparse_hessian(f, np.ones(6))
    >>> H.npasses
    3
    >>> np.allclose(H.todense(), xpgrad.hessian(f, np.ones(6)))
    True
    """
    name = "sparse_hessian"
    E.check_callable(f, name)
    if coloring not in _COLORINGS:
        raise ValueError(f"xpgrad.{name}: coloring must be one of {_COLORINGS}, got {coloring!r}")
    xa, xp = point(x, name)
    plan = plan_for(f, xa, xp, pattern, cache, name, True)
    n = plan.shape[1]
    nnz = int(plan.rows.shape[0])
    how = "star" if coloring == "auto" else coloring
    if nnz == 0:
        return _result(plan, _empty_values(xp, xa.dtype, xa), xp, xa, (n, n), 0, "forward", how)
    colors, nc = plan.coloring(how)
    if coloring == "auto" and nnz <= BOTH_COLORINGS_NNZ:
        cc, ncc = plan.coloring("column")
        if ncc <= nc:
            how, colors, nc = "column", cc, ncc
    cx = to_xp(colors, xp, plan.pxp, xa)
    push = vmap(_pushforward(_gradient_of(f, name), [xa], 0, xp))
    B = _passes(push, xp, cx, nc, xa.dtype, tuple(xa.shape), 2 * n, chunk_size, memory_budget, name)
    values = _recover(plan, B, n, how, xp, xa)
    return _result(plan, values, xp, xa, (n, n), nc, "forward", how)
