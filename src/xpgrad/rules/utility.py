"""Utility functions: ``all``, ``any``, ``diff``; and ``isin``.

``all``, ``any`` and ``isin`` give booleans (no derivative). ``diff`` is not a
primitive: it is written with slicing and ``subtract`` (and ``concat`` for
``prepend``/``append``), so its derivatives of every order come from theirs.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import raw as _raw
from ._axes import shift_axis
from ._registry import F, defrule, export, is_scalar, primitive, xp_of

__all__ = ["all", "any", "diff", "isin"]


# -- all, any --------------------------------------------------------------------------
def _reduce_batch(p: Any) -> Any:
    def batch(args: list, batched: list, axis: Any = None, keepdims: bool = False) -> tuple:
        x = args[0]
        return p(x, axis=shift_axis(axis, len(x.shape) - 1), keepdims=keepdims), True

    return batch


def _truth_samples(make: Any) -> list:
    def mixed(shape: tuple) -> Any:  # about half the entries truthy
        return make(shape) > 0

    return [
        ((make((4,)),), {}),
        ((mixed((3, 4)),), {"axis": 1}),
        ((mixed((2, 3, 2)),), {"axis": (0, 2), "keepdims": True}),
        ((mixed((2, 3)),), {"axis": -1}),
    ]


all_p = primitive("all", export_as=False)
any_p = primitive("any", export_as=False)
for _p in (all_p, any_p):
    _p.differentiable = False
    defrule(_p, batch=_reduce_batch(_p), samples=_truth_samples)


# The standard's names: they shadow the builtins all/any in this module, which uses neither.
def all(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Whether every element along ``axis`` is true (nonzero)."""
    return all_p(x, axis=axis, keepdims=keepdims)


def any(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Whether some element along ``axis`` is true (nonzero)."""
    return any_p(x, axis=axis, keepdims=keepdims)


# -- isin ------------------------------------------------------------------------------
def _isin_impl(x1: Any, x2: Any, *, invert: bool = False) -> Any:
    return xp_of(x1, x2).isin(x1, x2, invert=invert)


isin_p = primitive("isin", _isin_impl, export_as=False)
isin_p.differentiable = False


def _isin_batch(args: list, batched: list, invert: bool = False) -> tuple:
    x1, x2 = args
    if not batched[1]:
        return isin_p(x1, x2, invert=invert), True
    # one test set per batch element: compare every element with every candidate
    size = x2.shape[0]
    nd1 = len(x1.shape) - 1 if batched[0] else (0 if is_scalar(x1) else len(x1.shape))
    cands = F.reshape(x2, (size,) + (1,) * nd1 + (-1,))
    if not is_scalar(x1):
        if not batched[0]:
            x1 = F.reshape(x1, (1,) + tuple(x1.shape))
        x1 = F.reshape(x1, tuple(x1.shape) + (1,))
    hit = F.any(F.equal(x1, cands), axis=-1)
    return (F.logical_not(hit) if invert else hit), True


def _isin_samples(make: Any) -> list:
    # integers (array-api-strict allows no others); the batch rule is tested in
    # tests/test_rules_utility.py, since the suite batches floating arguments only
    xp = xp_of(make((1,)))
    x = make.int((3, 4), -3, 3)
    return [
        ((x, xp.asarray([-1, 0, 2], dtype=xp.int64)), {}),
        ((x, make.int((5,), -3, 3)), {"invert": True}),
    ]


defrule(isin_p, batch=_isin_batch, samples=_isin_samples)


def isin(x1: Any, x2: Any, /, *, invert: bool = False) -> Any:
    """Whether each element of ``x1`` is among the elements of ``x2`` (elementwise in ``x1``).

    >>> import numpy as np
    >>> isin(np.array([1, 2, 3]), np.array([3, 1]))
    array([ True, False,  True])
    """
    return isin_p(x1, x2, invert=invert)


# -- diff ------------------------------------------------------------------------------
def _as_part(v: Any, like: Any, axis: int) -> Any:
    """``prepend``/``append`` as an array: a Python number becomes one slice along ``axis``."""
    if not is_scalar(v):
        return v
    shape = list(like.shape)
    shape[axis] = 1
    return xp_of(_raw(like)).full(tuple(shape), v, dtype=like.dtype)


def diff(x: Any, /, *, axis: int = -1, n: int = 1, prepend: Any = None, append: Any = None) -> Any:
    """``n``-th forward difference along ``axis``: ``x[1:] - x[:-1]``, repeated ``n`` times.

    ``prepend``/``append`` are joined to ``x`` along ``axis`` first. Differentiable
    (it is slicing and subtraction) in ``x``, ``prepend`` and ``append``.

    >>> import numpy as np
    >>> diff(np.array([1.0, 4.0, 9.0, 16.0]), n=2)
    array([2., 2.])
    """
    nd = len(x.shape)
    if nd == 0:
        raise ValueError("xpgrad.diff: x must have at least one dimension")
    if not -nd <= axis < nd:
        raise ValueError(
            f"xpgrad.diff: axis {axis} is out of bounds for an array of {nd} dimensions"
        )
    if int(n) != n or n < 0:
        raise ValueError(f"xpgrad.diff: n must be a non-negative integer, got {n!r}")
    axis %= nd
    if prepend is not None or append is not None:
        parts = [_as_part(prepend, x, axis)] if prepend is not None else []
        parts.append(x)
        if append is not None:
            parts.append(_as_part(append, x, axis))
        x = F.concat(parts, axis=axis)
    lead = (slice(None),) * axis
    upper = lead + (slice(1, None), Ellipsis)
    lower = lead + (slice(None, -1), Ellipsis)
    kind = xp_of(_raw(x))
    for _ in range(int(n)):
        if kind.isdtype(x.dtype, "bool"):  # NumPy's convention: changes between neighbours
            x = F.not_equal(F.getitem(x, upper), F.getitem(x, lower))
        else:
            x = F.subtract(F.getitem(x, upper), F.getitem(x, lower))
    return x


for _fn in (all, any, isin, diff):
    export(_fn.__name__, _fn)
