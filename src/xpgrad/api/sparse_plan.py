"""Where the sparse API gets its pattern: detection, a caller's pattern, the cache.

A ``Plan`` holds one pattern as arrays of the *pattern namespace* (the
backend's own, or the host's for a lazy backend such as Dask, where sorting
and searching a graph would compute it piecemeal) and the colorings made
from it, computed on first use.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .. import backends
from .._core.arrays import instantiate
from .._core.arrays import raw as _raw
from .._core.sparsity import SparsityTrace, SparsityTracer, distinct
from .._core.trace import new_level
from .._core.zeros import Zero
from . import _chunks as C
from . import _edge as E
from . import coloring as K
from .hessian import _gradient_of
from .jacobian import _output

__all__ = ["MAX_NNZ", "Plan", "clear_cache", "plan_for", "point", "to_xp"]

#: The most entries a pattern (of any intermediate value) may hold before detection
#: stops with ``PatternTooLargeError``: 2**28 entries take 2 GiB as int64 keys.
MAX_NNZ = 1 << 28

_cache: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
_strong_cache: dict = {}  # functions that cannot be weakly referenced


def clear_cache() -> None:
    """Forget every pattern and coloring stored by ``cache=True`` calls.

    >>> import numpy as np, xpgrad
    >>> from xpgrad.api.sparse import clear_cache
    >>> f = lambda x: x[1:] - x[:-1]
    >>> xpgrad.sparse_jacobian(f, np.zeros(4), cache=True).npasses  # detects
    2
    >>> xpgrad.sparse_jacobian(f, np.ones(4), cache=True).npasses   # reuses
    2
    >>> clear_cache()
    """
    _cache.clear()
    _strong_cache.clear()


def _cache_for(f: Callable) -> dict:
    try:
        return _cache.setdefault(f, {})
    except TypeError:
        return _strong_cache.setdefault(f, {})


class Plan:
    """A pattern (in the pattern namespace ``pxp``) and its colorings, made on demand."""

    __slots__ = ("rows", "cols", "shape", "pxp", "fallbacks", "colorings", "memo")

    def __init__(self, rows: Any, cols: Any, shape: tuple, pxp: Any, fallbacks: tuple = ()):
        self.rows, self.cols, self.shape, self.pxp = rows, cols, shape, pxp
        self.fallbacks = fallbacks
        self.colorings: dict[str, tuple[Any, int]] = {}
        self.memo: dict[Any, Any] = {}  # bounds and recovery indices, for cached plans

    def coloring(self, how: str) -> tuple[Any, int]:
        """``(colors, ncolors)``: colors as an int64 array of the pattern namespace."""
        got = self.colorings.get(how)
        if got is None:
            xp, (m, n) = self.pxp, self.shape
            if how == "column":
                c = K.column_coloring(xp, self.rows, self.cols, (m, n))
            elif how == "row":
                c = K.row_coloring(xp, self.rows, self.cols, (m, n))
            else:
                c = K.star_coloring(xp, self.rows, self.cols, n)
            got = (xp.asarray(c, dtype=xp.int64), (max(c) + 1) if c else 0)
            self.colorings[how] = got
        return got

    def counts_bound(self) -> tuple[int, int]:
        """The most nonzeros in one row and in one column: lower bounds on the colors."""
        got = self.memo.get("bounds")
        if got is None:
            xp = self.pxp
            got = self.memo["bounds"] = (_max_run(xp, self.rows), _max_run(xp, xp.sort(self.cols)))
        return got

    def recovery(self, how: str, size: int, xp: Any, like: Any) -> Any:
        """Where each entry is in the compressed ``(ncolors, size)`` result (an ``xp`` array)."""
        key = ("recovery", how, size)
        got = self.memo.get(key)
        if got is None:
            colors, nc = self.coloring(how)
            idx = K.recovery_index(self.pxp, self.rows, self.cols, colors, nc, size, how)
            got = self.memo[key] = to_xp(idx, xp, self.pxp, like)
        return got


def _max_run(xp: Any, s: Any) -> int:
    """The longest run of equal values in the sorted ``s``."""
    if s.shape[0] == 0:
        return 0
    starts = xp.nonzero(xp.concat([xp.ones((1,), dtype=xp.bool), s[1:] != s[:-1]]))[0]
    ends = xp.concat([starts[1:], xp.asarray([s.shape[0]], dtype=starts.dtype)])
    return int(xp.max(ends - starts))


# -- the point and the pattern namespace ----------------------------------------------------


def point(x: Any, name: str) -> tuple[Any, Any]:
    xp = E.common_xp([x])
    if (
        not (E.is_number(x) or E.is_array(x))
        or not E.differentiable_leaf(x, xp)
        or type(x) is complex
    ):
        raise TypeError(
            f"xpgrad.{name}: x must be a numeric array or a real number, got "
            f"{type(x).__name__}. For several inputs, concatenate them into one array."
        )
    return E.as_array(x, xp), xp


def _pattern_xp(xa: Any, xp: Any) -> tuple[Any, Any]:
    """Where patterns live: the backend itself, or the host for a lazy backend (Dask)."""
    if not backends.is_lazy(_raw(xa)):
        return xp, None
    hxp = backends.default_namespace()  # the host's (NumPy's), where to_host copies go
    return hxp, lambda a: hxp.asarray(backends.to_host(a))


def to_xp(a: Any, xp: Any, pxp: Any, like: Any) -> Any:
    """``a`` (a pattern's array) as an ``xp`` array on ``like``'s device."""
    dev = C.device_of(like)
    if pxp is xp and (dev is None or C.device_of(a) == dev):
        return a
    # the pattern's arrays are made on the default device: move them to like's
    # (torch tensors on a GPU; a second device of array-api-strict)
    return xp.asarray(a) if dev is None else xp.asarray(a, device=dev)


# -- detection ------------------------------------------------------------------------------


def _detect(f: Callable, xa: Any, xp: Any, name: str, hessian: bool) -> Plan:
    n = C.size_of(tuple(xa.shape))
    pxp, host = _pattern_xp(xa, xp)
    g = _gradient_of(f, name) if hessian else f
    with new_level(SparsityTrace, E.namespace(xp), n=n, xp=pxp, host=host, max_nnz=MAX_NNZ) as tr:
        y = g(SparsityTracer(tr, xa, tr.identity()))
        if isinstance(y, Zero):  # a gradient that ignores x: a constant, no pattern
            y = instantiate(y)
        y = _output(y, xp, name)
        pat = tr.pattern_of(y)
        fallbacks = tuple(sorted(tr.fallbacks))
    keys = pat.keys
    if hessian:  # a conservative superset need not be symmetric; the coloring needs it
        rows, cols = keys // n, keys % n
        keys = distinct(pxp, pxp.concat([keys, cols * n + rows]))
    rows, cols = keys // n, keys % n
    return Plan(rows, cols, (pat.size, n), pxp, fallbacks)


def plan_for(
    f: Callable, xa: Any, xp: Any, pattern: Any, cache: bool, name: str, hessian: bool
) -> Plan:
    n = C.size_of(tuple(xa.shape))
    if pattern is not None:
        return _given(pattern, xa, xp, n, name, hessian)
    if not cache:
        return _detect(f, xa, xp, name, hessian)
    key = ("hessian" if hessian else "jacobian", tuple(xa.shape), str(xa.dtype), id(xp))
    store = _cache_for(f)
    plan = store.get(key)
    if plan is None:
        plan = store[key] = _detect(f, xa, xp, name, hessian)
    return plan


def _given(pattern: Any, xa: Any, xp: Any, n: int, name: str, hessian: bool) -> Plan:
    """A caller's pattern: SparsityPattern, ``(rows, cols, shape)`` or a SciPy sparse matrix."""
    if hasattr(pattern, "tocoo"):
        coo = pattern.tocoo()
        rows, cols, shape = coo.row, coo.col, coo.shape
    elif isinstance(pattern, tuple) and len(pattern) == 3:
        rows, cols, shape = pattern
    else:
        raise TypeError(
            f"xpgrad.{name}: pattern must be a SparsityPattern (from jacobian_sparsity / "
            f"hessian_sparsity), a tuple (rows, cols, shape) or a SciPy sparse matrix, got "
            f"{type(pattern).__name__}"
        )
    pxp, _ = _pattern_xp(xa, xp)
    rows, cols = _index(rows, pxp), _index(cols, pxp)
    shape = tuple(int(s) for s in shape)
    if (
        len(shape) != 2
        or shape[1] != n
        or (hessian and shape[0] != n)
        or rows.shape != cols.shape
        or len(rows.shape) != 1
    ):
        raise ValueError(
            f"xpgrad.{name}: the pattern must have 1-D rows and cols of equal length and "
            f"shape ({'n' if hessian else 'm'}, n) with n = x.size = {n}; got shape {shape} "
            f"and {rows.shape[0] if rows.shape else '?'} rows"
        )
    if rows.shape[0] and (
        int(pxp.min(rows)) < 0
        or int(pxp.max(rows)) >= shape[0]
        or int(pxp.min(cols)) < 0
        or int(pxp.max(cols)) >= n
    ):
        raise ValueError(f"xpgrad.{name}: pattern entries outside the shape {shape}")
    keys = rows * n + cols
    if hessian:
        keys = pxp.concat([keys, cols * n + rows])
    keys = distinct(pxp, keys)  # the recovery reads each entry once
    return Plan(keys // n, keys % n, shape, pxp)


def _index(a: Any, pxp: Any) -> Any:
    if isinstance(a, (list, tuple)):
        return pxp.asarray(a, dtype=pxp.int64)
    if backends.namespace_of(a) is not pxp:
        a = pxp.asarray(backends.to_host(a))
    return pxp.astype(a, pxp.int64)
