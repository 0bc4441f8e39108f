"""Searching functions: indices and counts, constant to every derivative.

``where`` is elementwise and lives in :mod:`.elementwise`. Each function here
passes through forward and reverse mode (its result carries no derivative) and
has a batch rule; ``nonzero`` cannot be batched (each batch element would have
its own number of results).
"""

from __future__ import annotations

from typing import Any

from ._axes import shift_axis
from ._registry import F, defrule, export, nondifferentiable, primitive, xp_of

__all__ = ["argmax", "argmin", "nonzero", "count_nonzero", "searchsorted"]


# -- argmax, argmin ---------------------------------------------------------------
def _arg_batch(p: Any) -> Any:
    def batch(args: list, batched: list, axis: int | None = None, keepdims: bool = False) -> tuple:
        x = args[0]
        if axis is None:  # over all logical axes: flatten each batch element
            size, nd = x.shape[0], len(x.shape) - 1
            out = p(F.reshape(x, (size, -1)), axis=1)
            return (F.reshape(out, (size,) + (1,) * nd) if keepdims else out), True
        return p(x, axis=shift_axis(axis), keepdims=keepdims), True

    return batch


def _arg_samples(make: Any) -> list:
    return [
        ((make((5,)),), {}),
        ((make((3, 4)),), {"axis": 0}),
        ((make((3, 4)),), {"axis": -1, "keepdims": True}),
        ((make((2, 3)),), {"keepdims": True}),
    ]


argmax_p = primitive("argmax", export_as=False)
argmin_p = primitive("argmin", export_as=False)
for _p in (argmax_p, argmin_p):
    _p.differentiable = False
    defrule(_p, batch=_arg_batch(_p), samples=_arg_samples)


def argmax(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Any:
    """Index of the first maximum along ``axis`` (over the flattened array if ``None``).

    >>> import numpy as np
    >>> int(argmax(np.array([1.0, 3.0, 3.0])))
    1
    """
    return argmax_p(x, axis=axis, keepdims=keepdims)


def argmin(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Any:
    """Index of the first minimum along ``axis`` (over the flattened array if ``None``)."""
    return argmin_p(x, axis=axis, keepdims=keepdims)


# -- nonzero ---------------------------------------------------------------------------
def _nonzero_batch(args: list, batched: list) -> tuple:
    raise ValueError(
        "xpgrad: nonzero cannot run under vmap: each batch element would have its own "
        "number of nonzero entries (a data-dependent shape). Use xp.where(x != 0, ...) or "
        "count_nonzero, or call nonzero outside vmap."
    )


(nonzero_p,) = nondifferentiable("nonzero", batch=_nonzero_batch, multiple_results=True)


def nonzero(x: Any, /) -> tuple:
    """Indices of the nonzero elements: one integer array per axis of ``x``."""
    if len(x.shape) == 0:
        raise ValueError("xpgrad.nonzero: x must have at least one dimension (the standard's rule)")
    return tuple(nonzero_p(x))


# -- count_nonzero ---------------------------------------------------------------------
def _count_batch(args: list, batched: list, axis: Any = None, keepdims: bool = False) -> tuple:
    x = args[0]
    return count_nonzero_p(x, axis=shift_axis(axis, len(x.shape) - 1), keepdims=keepdims), True


def _count_samples(make: Any) -> list:
    xp = xp_of(make((1,)))

    def some_zeros(shape: tuple) -> Any:  # floor gives exact zeros on [0, 1)
        return xp.floor(make(shape, -1.0, 2.0))

    return [
        ((some_zeros((6,)),), {}),
        ((some_zeros((3, 4)),), {"axis": 1}),
        ((some_zeros((2, 3, 2)),), {"axis": (0, 2), "keepdims": True}),
    ]


(count_nonzero_p,) = nondifferentiable("count_nonzero", batch=_count_batch)
defrule(count_nonzero_p, samples=_count_samples)


def count_nonzero(
    x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Any:
    """Number of nonzero elements along ``axis`` (all axes if ``None``)."""
    return count_nonzero_p(x, axis=axis, keepdims=keepdims)


# -- searchsorted ----------------------------------------------------------------------
def _searchsorted_impl(x1: Any, x2: Any, *sorter: Any, side: str = "left") -> Any:
    xp = xp_of(x1)
    if sorter:  # sorted first: the same result, and libraries without `sorter` work
        x1 = xp.take(x1, sorter[0])
    return xp.searchsorted(x1, x2, side=side)


searchsorted_p = primitive("searchsorted", _searchsorted_impl, export_as=False)
searchsorted_p.differentiable = False


def _searchsorted_batch(args: list, batched: list, side: str = "left") -> tuple:
    x1, x2, *sorter = args
    if not batched[0] and not any(batched[2:]):
        return searchsorted_p(x1, x2, *sorter, side=side), True  # x2 alone: elementwise
    # one sorted sequence per batch element: search each, then stack
    size = next(a for a, b in zip(args, batched) if b).shape[0]
    rows = []
    for i in range(size):
        row = [F.getitem(a, (i, Ellipsis)) if b else a for a, b in zip(args, batched)]
        rows.append(searchsorted_p(*row, side=side))
    return F.stack(rows, axis=0), True


def _searchsorted_samples(make: Any) -> list:
    xp = xp_of(make((1,)))
    dt = make((1,)).dtype
    # well separated, so the conformance suite's batch perturbations keep them sorted
    x1 = xp.asarray([-1.5, -0.5, 0.5, 1.5], dtype=dt)
    unsorted = xp.asarray([0.5, -1.5, 1.5, -0.5], dtype=dt)
    sorter = xp.asarray([1, 3, 0, 2], dtype=xp.int64)
    return [
        ((x1, make((5,))), {"side": "left"}),
        ((x1, make((2, 3))), {"side": "right"}),
        ((unsorted, make((3,)), sorter), {"side": "left"}),
    ]


defrule(searchsorted_p, batch=_searchsorted_batch, samples=_searchsorted_samples)


def searchsorted(x1: Any, x2: Any, /, *, side: str = "left", sorter: Any = None) -> Any:
    """Indices where the elements of ``x2`` would be inserted into sorted 1-D ``x1``.

    >>> import numpy as np
    >>> searchsorted(np.array([1.0, 2.0, 3.0]), np.array([2.0, 0.0]), side="right")
    array([2, 0])
    """
    if side not in ("left", "right"):
        raise ValueError(f"xpgrad.searchsorted: side must be 'left' or 'right', got {side!r}")
    if sorter is None:
        return searchsorted_p(x1, x2, side=side)
    return searchsorted_p(x1, x2, sorter, side=side)


for _fn in (argmax, argmin, nonzero, count_nonzero, searchsorted):
    export(_fn.__name__, _fn)
