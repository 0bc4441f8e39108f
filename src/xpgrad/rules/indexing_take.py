"""``take`` and ``take_along_axis``: gathers along one axis, transposed by a scatter-add.

Their pullbacks are the ``scatter_add`` of :mod:`.indexing` with the equivalent
key (``x[:, ..., idx, ...]``, or one integer array per axis), so repeated
indices accumulate and higher orders come from the indexing primitives.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import device_of
from ._axes import shift_axis
from ._indexkeys import ARRAY, gather
from ._registry import (
    F,
    complex_ok,
    defrule,
    export,
    patterns,
    primitive,
    xp_of,
)
from .indexing import batch_size, getitem_batch, raw, scatter_add_p

__all__ = ["take", "take_along_axis", "take_p", "take_along_axis_p"]


# -- take ------------------------------------------------------------------------------


def _take_template(axis: int) -> tuple:
    return (slice(None),) * axis + (ARRAY, Ellipsis)


def _take_impl(x: Any, indices: Any, *, axis: int) -> Any:
    xp = xp_of(x)
    if len(indices.shape) == 1:
        return xp.take(x, indices, axis=axis)
    return gather(xp, x, _take_template(axis), [indices])  # beyond the standard's 1-D


take_p = primitive("take", _take_impl, export_as=False)


def _take_jvp(primals: list, tangents: list, axis: int) -> tuple:
    x, idx = primals
    return take_p(x, idx, axis=axis), take_p(tangents[0], idx, axis=axis)


def _take_vjp(primals: list, needs: list, axis: int) -> tuple:
    x, idx = primals
    shape = tuple(x.shape)

    def take_pullback(ct: Any) -> tuple:
        return scatter_add_p(ct, idx, template=_take_template(axis), shape=shape), None

    return take_p(x, idx, axis=axis), take_pullback


def _take_batch(args: list, batched: list, axis: int) -> tuple:
    if not batched[1]:
        return take_p(args[0], args[1], axis=shift_axis(axis)), True
    return getitem_batch(args, batched, template=_take_template(axis))


def _take_samples(make: Any) -> list:
    xp = xp_of(make((1,)))
    idx = xp.asarray([2, 0, 2, 1], dtype=xp.int64)
    return [
        ((make((3,)), idx), {"axis": 0}),
        ((make((3, 4)), idx), {"axis": 1}),
        ((make((3, 2)), idx), {"axis": 0}),
    ]


defrule(
    take_p,
    jvp=_take_jvp,
    vjp=_take_vjp,
    batch=_take_batch,
    pattern=patterns.movement(take_p),
    samples=_take_samples,
)


def _axis(axis: int, ndim: int, fn: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"xpgrad.{fn}: axis {axis} is out of bounds for an array of {ndim} dimensions"
        )
    return axis % ndim


def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Any:
    """Elements of ``x`` at integer ``indices`` along ``axis`` (differentiable in ``x``).

    Repeated indices accumulate in the derivative.

    >>> import array_api_compat, numpy as np, xpgrad
    >>> def f(x):
    ...     xp = array_api_compat.array_namespace(x)
    ...     return xp.sum(xp.take(x, np.array([0, 0, 2])))
    >>> xpgrad.gradient(f, np.ones(3))[0]
    array([2., 0., 1.])
    """
    if axis is None:
        if len(x.shape) != 1:
            raise ValueError(
                "xpgrad.take: axis is required for an array of more than one dimension "
                "(the standard's rule); pass axis=, or reshape x to 1-D first"
            )
        axis = 0
    return take_p(x, indices, axis=_axis(axis, len(x.shape), "take"))


export("take", take)


# -- take_along_axis -----------------------------------------------------------------


def _along_key(idx: Any, shape: tuple, axis: int) -> list:
    """Integer arrays, one per axis, that index like ``take_along_axis``: aranges elsewhere."""
    xp = xp_of(raw(idx))
    nd = len(shape)
    out = []
    for d in range(nd):
        if d == axis:
            out.append(idx)
        else:
            r = xp.arange(shape[d], dtype=xp.int64, device=device_of(raw(idx)))
            out.append(xp.reshape(r, (1,) * d + (shape[d],) + (1,) * (nd - d - 1)))
    return out


def _tala_impl(x: Any, indices: Any, *, axis: int = -1) -> Any:
    xp = xp_of(x)
    fn = getattr(xp, "take_along_axis", None)
    if fn is not None:
        return fn(x, indices, axis=axis)
    # a library without it (Dask): one integer array per axis
    nd = len(x.shape)
    return gather(xp, x, (ARRAY,) * nd, _along_key(indices, tuple(x.shape), axis % nd))


take_along_axis_p = primitive("take_along_axis", _tala_impl, export_as=False)


def _tala_jvp(primals: list, tangents: list, axis: int) -> tuple:
    x, idx = primals
    return (take_along_axis_p(x, idx, axis=axis), take_along_axis_p(tangents[0], idx, axis=axis))


def _tala_vjp(primals: list, needs: list, axis: int) -> tuple:
    x, idx = primals
    shape = tuple(x.shape)

    def take_along_axis_pullback(ct: Any) -> tuple:
        key = _along_key(idx, shape, axis)
        return scatter_add_p(ct, *key, template=(ARRAY,) * len(shape), shape=shape), None

    return take_along_axis_p(x, idx, axis=axis), take_along_axis_pullback


def _tala_batch(args: list, batched: list, axis: int) -> tuple:
    size = batch_size(args, batched)
    x, idx = [
        a if b else F.broadcast_to(F.reshape(a, (1,) + tuple(a.shape)), (size,) + tuple(a.shape))
        for a, b in zip(args, batched)
    ]
    return take_along_axis_p(x, idx, axis=shift_axis(axis)), True


def _tala_samples(make: Any) -> list:
    xp = xp_of(make((1,)))
    idx = xp.asarray([[3, 0], [1, 1], [0, 3]], dtype=xp.int64)
    return [
        ((make((3, 4)), idx), {"axis": 1}),
        ((make((4, 3)), xp.asarray([[3, 0, 0]], dtype=xp.int64)), {"axis": 0}),
        ((make((5,)), xp.asarray([4, 4, 0], dtype=xp.int64)), {"axis": 0}),
    ]


defrule(
    take_along_axis_p,
    jvp=_tala_jvp,
    vjp=_tala_vjp,
    batch=_tala_batch,
    pattern=patterns.movement(take_along_axis_p),
    samples=_tala_samples,
)


def take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Any:
    """Elements of ``x`` at ``indices`` along ``axis``, matched elementwise elsewhere.

    ``indices`` has the rank of ``x``; as in ``sort``/``argsort`` pairs,
    ``take_along_axis(x, argsort(x))`` sorts ``x``. Differentiable in ``x``.

    >>> import numpy as np, xpgrad
    >>> x = np.array([[3.0, 1.0], [0.0, 2.0]])
    >>> take_along_axis(x, np.array([[1], [0]]), axis=1)
    array([[1.],
           [0.]])
    """
    if len(indices.shape) != len(x.shape):
        raise ValueError(
            f"xpgrad.take_along_axis: indices must have the rank of x ({len(x.shape)}), "
            f"got {len(indices.shape)}"
        )
    return take_along_axis_p(x, indices, axis=_axis(axis, len(x.shape), "take_along_axis"))


export("take_along_axis", take_along_axis)


complex_ok(take_p, take_along_axis_p)
