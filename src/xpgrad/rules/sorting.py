"""Sorting: ``sort`` is a permutation of its input, ``argsort`` a constant.

The derivative of ``sort`` moves each tangent or cotangent with its element:
``sort(x) == take_along_axis(x, argsort(x))``, so the pushforward gathers the
tangent by the same indices and the pullback gathers the cotangent by the
inverse permutation. The indices always come from a *stable* argsort, so tied
elements keep their order and each receives exactly the cotangent of the
position it was sorted to (for ``x = [1, 1]``, ``d sort(x)[0] / dx = [1, 0]``),
whatever ``stable=`` asks of the primal.
"""

from __future__ import annotations

from typing import Any

from ._axes import shift_axis
from ._registry import (
    defrule,
    export,
    patterns,
    primitive,
)
from .indexing_take import take_along_axis_p

__all__ = ["sort", "argsort"]


def _axis_batch(p: Any) -> Any:
    def batch(args: list, batched: list, axis: int = -1, **params: Any) -> tuple:
        return p(args[0], axis=shift_axis(axis), **params), True

    return batch


argsort_p = primitive("argsort", export_as=False)
argsort_p.differentiable = False
sort_p = primitive("sort", export_as=False)


def _order(x: Any, axis: int, descending: bool) -> Any:
    return argsort_p(x, axis=axis, descending=descending, stable=True)


def _sort_jvp(
    primals: list, tangents: list, axis: int = -1, descending: bool = False, stable: bool = True
) -> tuple:
    x = primals[0]
    order = _order(x, axis, descending)
    return (
        take_along_axis_p(x, order, axis=axis),
        take_along_axis_p(tangents[0], order, axis=axis),
    )


def _sort_vjp(
    primals: list, needs: list, axis: int = -1, descending: bool = False, stable: bool = True
) -> tuple:
    x = primals[0]
    order = _order(x, axis, descending)

    def sort_pullback(ct: Any) -> tuple:
        # the inverse permutation sends each cotangent back to where its element was
        inverse = argsort_p(order, axis=axis, descending=False, stable=True)
        return (take_along_axis_p(ct, inverse, axis=axis),)

    return take_along_axis_p(x, order, axis=axis), sort_pullback


def _sort_samples(make: Any) -> list:
    return [
        ((make((5,)),), {}),
        ((make((3, 4)),), {"axis": 0}),
        ((make((3, 4)),), {"axis": 1, "descending": True}),
        ((make((2, 3, 2)),), {"axis": -1, "stable": False}),
    ]


defrule(
    sort_p,
    jvp=_sort_jvp,
    vjp=_sort_vjp,
    batch=_axis_batch(sort_p),
    pattern=patterns.sort,  # each output reads its whole line
    samples=_sort_samples,
)
defrule(argsort_p, batch=_axis_batch(argsort_p), samples=_sort_samples)


def _check_axis(x: Any, axis: int, fn: str) -> int:
    nd = len(x.shape)
    if nd == 0:
        raise ValueError(f"xpgrad.{fn}: x must have at least one dimension")
    if not -nd <= axis < nd:
        raise ValueError(
            f"xpgrad.{fn}: axis {axis} is out of bounds for an array of {nd} dimensions"
        )
    return axis % nd


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    """``x`` sorted along ``axis``; differentiable, each derivative follows its element.

    Ties: the derivative always uses a stable order (see the module docstring).

    >>> import array_api_compat, numpy as np, xpgrad
    >>> def f(x):
    ...     xp = array_api_compat.array_namespace(x)
    ...     return xp.sum(xp.sort(x) * xp.asarray([1.0, 2.0, 3.0]))
    >>> xpgrad.gradient(f, np.array([3.0, 1.0, 2.0]))[0]
    array([3., 1., 2.])
    """
    return sort_p(x, axis=_check_axis(x, axis, "sort"), descending=descending, stable=stable)


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    """Indices that sort ``x`` along ``axis`` (no derivative)."""
    return argsort_p(x, axis=_check_axis(x, axis, "argsort"), descending=descending, stable=stable)


export("sort", sort)
export("argsort", argsort)
