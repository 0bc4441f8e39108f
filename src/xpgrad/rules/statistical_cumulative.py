"""Cumulative sums and products along one axis.

``cumulative_sum`` is linear: its transpose is a reversed cumulative sum
(``flip``, ``cumulative_sum``, ``flip``). ``cumulative_prod`` never divides by
``x``, so its derivatives are right where ``x`` has zeros: the primal is the
backend's own, and the rules follow a Hillis-Steele scan (``log2(n)`` rounds of
``y[k] *= y[k - d]``, ``d = 1, 2, 4, ...``) through the product rule. That costs
``O(n log n)`` work instead of ``O(n)``; in exchange every rule is made of
multiplications and shifts only, so it differentiates again, to any order,
exactly at zeros.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import device_of
from .._core.arrays import raw as _raw
from ._axes import shift_axis
from ._registry import (
    F,
    defrule,
    export,
    patterns,
    primitive,
    project,
    xp_of,
)

__all__ = ["along", "cumulative_prod", "cumulative_sum", "with_zeros"]


def along(v: Any, axis: int, index: Any) -> Any:
    """``v[..., index]`` taken along the non-negative ``axis``."""
    return v[(slice(None),) * axis + (index, Ellipsis)]


def _zeros(like: Any, shape: tuple) -> Any:
    """A constant zero array of ``like``'s backend, dtype and device."""
    raw = _raw(like)
    return xp_of(raw).zeros(shape, dtype=like.dtype, device=device_of(raw))


def _scan_axis(x: Any, axis: Any, name: str) -> int:
    nd = x.ndim
    if axis is None:
        if nd != 1:
            raise ValueError(
                f"{name}: axis=None is only allowed for 1-D arrays; this one has {nd} "
                f"dimensions, so pass axis=..."
            )
        return 0
    if not -nd <= axis < max(nd, 1):
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array of {nd} dimensions")
    return axis % nd


def _cast(x: Any, dtype: Any) -> Any:
    return x if dtype is None or x.dtype == dtype else F.astype(x, dtype)


def _cumulative_batch(p: Any) -> Any:
    def batch(args: list, batched: list, axis: Any = None, **params: Any) -> tuple:
        # axis=None is only valid for a 1-D logical array: its axis 0
        return p(args[0], axis=1 if axis is None else shift_axis(axis), **params), True

    return batch


# -- cumulative_sum: linear --------------------------------------------------------
cumulative_sum_p = primitive("cumulative_sum", export_as=False)


def cumulative_sum(
    x: Any, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False
) -> Any:
    """``xp.cumulative_sum`` (linear; its transpose is a reversed cumulative sum)."""
    return cumulative_sum_p(x, axis=axis, dtype=dtype, include_initial=include_initial)


def _cumsum_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    return cumulative_sum_p(primals[0], **params), cumulative_sum_p(tangents[0], **params)


def reverse_cumsum(ct: Any, axis: int) -> Any:
    """``out[i] = sum(ct[i:])`` along ``axis``: the transpose of ``cumulative_sum``."""
    return F.flip(cumulative_sum_p(F.flip(ct, axis=axis), axis=axis), axis=axis)


def _cumsum_vjp(
    primals: list, needs: list, axis: Any = None, dtype: Any = None, include_initial: bool = False
) -> tuple:
    x = primals[0]
    ax = _scan_axis(x, axis, "cumulative_sum")
    out = cumulative_sum_p(x, axis=axis, dtype=dtype, include_initial=include_initial)

    def cumulative_sum_pullback(ct: Any) -> tuple:
        g = reverse_cumsum(ct, ax)
        if include_initial:  # out[k + 1] = sum(x[:k + 1]); out[0] = 0 is constant
            g = along(g, ax, slice(1, None))
        return (project(g, x),)

    return out, cumulative_sum_pullback


# -- cumulative_prod: a scan of multiplications ------------------------------------
cumulative_prod_p = primitive("cumulative_prod", export_as=False)


def cumulative_prod(
    x: Any, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False
) -> Any:
    """``xp.cumulative_prod`` (derivatives exact where ``x`` has zeros, no division)."""
    return cumulative_prod_p(x, axis=axis, dtype=dtype, include_initial=include_initial)


def _scan_jvp(y: Any, t: Any) -> Any:
    """The tangent of the inclusive cumulative product of ``y`` along its last axis."""
    n = y.shape[-1]
    d = 1
    while d < n:
        a, b = y[..., : n - d], y[..., d:]
        ta, tb = t[..., : n - d], t[..., d:]
        t = F.concat([t[..., :d], F.add(F.multiply(tb, a), F.multiply(b, ta))], axis=-1)
        y = F.concat([y[..., :d], F.multiply(b, a)], axis=-1)
        d *= 2
    return t


def _scan_vjp(y: Any, ct: Any) -> Any:
    """The cotangent of ``y`` for the inclusive cumulative product along its last axis."""
    n = y.shape[-1]
    levels = []
    d = 1
    while d < n:
        levels.append((d, y))
        y = F.concat([y[..., :d], F.multiply(y[..., d:], y[..., : n - d])], axis=-1)
        d *= 2
    for d, y in reversed(levels):
        # y_next[k] = y[k] * y[k - d] for k >= d: ct reaches y[k] and y[k - d]
        head = F.concat([ct[..., :d], F.multiply(ct[..., d:], y[..., : n - d])], axis=-1)
        tail = F.multiply(ct[..., d:], y[..., d:])
        tail = F.concat([tail, _zeros(tail, tuple(tail.shape[:-1]) + (d,))], axis=-1)
        ct = F.add(head, tail)
    return ct


def _cumprod_jvp(
    primals: list,
    tangents: list,
    axis: Any = None,
    dtype: Any = None,
    include_initial: bool = False,
) -> tuple:
    x, t = primals[0], tangents[0]
    ax = _scan_axis(x, axis, "cumulative_prod")
    out = cumulative_prod_p(x, axis=axis, dtype=dtype, include_initial=include_initial)
    x, t = _cast(x, dtype), _cast(t, dtype)
    g = _scan_jvp(F.moveaxis(x, ax, -1), F.moveaxis(t, ax, -1))
    if include_initial:  # out[0] = 1 is constant
        g = F.concat([_zeros(g, tuple(g.shape[:-1]) + (1,)), g], axis=-1)
    return out, F.moveaxis(g, -1, ax)


def _cumprod_vjp(
    primals: list, needs: list, axis: Any = None, dtype: Any = None, include_initial: bool = False
) -> tuple:
    x = primals[0]
    ax = _scan_axis(x, axis, "cumulative_prod")
    out = cumulative_prod_p(x, axis=axis, dtype=dtype, include_initial=include_initial)

    def cumulative_prod_pullback(ct: Any) -> tuple:
        if include_initial:
            ct = along(ct, ax, slice(1, None))
        g = _scan_vjp(F.moveaxis(_cast(x, dtype), ax, -1), F.moveaxis(ct, ax, -1))
        return (project(F.moveaxis(g, -1, ax), x),)

    return out, cumulative_prod_pullback


# -- samples ---------------------------------------------------------------------------
def with_zeros(x: Any, positions: tuple) -> Any:
    """``x`` with zeros at the C-order flat ``positions`` (no in-place writes)."""
    xp = xp_of(x)
    n = 1
    for s in x.shape:
        n *= s
    k = xp.reshape(xp.arange(n), tuple(x.shape))
    mask = k == positions[0]
    for p in positions[1:]:
        mask = xp.logical_or(mask, k == p)
    return xp.where(mask, xp.zeros_like(x), x)


def _cumsum_samples(make: Any) -> list:
    return [
        ((make((4,)),), {}),
        ((make((2, 3)),), {"axis": 1}),
        ((make((2, 3)),), {"axis": 0, "include_initial": True}),
        ((make((3, 2, 2)),), {"axis": -2, "dtype": make.dtype("float64")}),
    ]


def _cumprod_samples(make: Any) -> list:
    return [
        ((make((5,), 0.5, 1.5),), {}),
        ((make((2, 3)),), {"axis": 1}),
        ((make((3, 2)),), {"axis": 0, "include_initial": True}),
        ((make((2, 5, 2)),), {"axis": -2}),
        ((with_zeros(make((5,)), (2,)),), {}),
        ((with_zeros(make((6,)), (1, 4)),), {"include_initial": True}),
        ((with_zeros(make((2, 4)), (0, 5, 7)),), {"axis": 1}),
    ]


defrule(
    cumulative_sum_p,
    jvp=_cumsum_jvp,
    vjp=_cumsum_vjp,
    batch=_cumulative_batch(cumulative_sum_p),
    pattern=patterns.cumulative,  # output k reads inputs 0..k
    samples=_cumsum_samples,
)
defrule(
    cumulative_prod_p,
    jvp=_cumprod_jvp,
    vjp=_cumprod_vjp,
    batch=_cumulative_batch(cumulative_prod_p),
    pattern=patterns.cumulative,
    samples=_cumprod_samples,
)
export("cumulative_sum", cumulative_sum)
export("cumulative_prod", cumulative_prod)

from ._registry import complex_ok  # noqa: E402

# Defined on complex inputs by the standard: conformance checks them on complex128 too.
complex_ok("cumulative_prod")
