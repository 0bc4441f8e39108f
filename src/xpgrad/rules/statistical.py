"""Statistical functions: reductions with ``axis`` and ``keepdims``."""

from __future__ import annotations

from typing import Any

from ._axes import kept_shape, normalize_axes, shift_axis
from ._registry import F, defrule, primitive

_SHAPES = ((3,), (2, 3), (2, 3, 2))


def _reduction_samples(domain: tuple = (-2.0, 2.0), extra: tuple = ()) -> Any:
    lo, hi = domain

    def samples(make: Any) -> list:
        out = [((make(s, lo, hi),), {}) for s in _SHAPES]
        out += [((make((2, 3), lo, hi),), {"axis": 0}), ((make((2, 3), lo, hi),), {"axis": -1})]
        out += [((make((2, 3, 2), lo, hi),), {"axis": (0, 2), "keepdims": True})]
        out += [((make((2, 3), lo, hi),), dict(p)) for p in extra]
        return out

    return samples


def _reduce_batch(p: Any) -> Any:
    def batch(args: list, batched: list, axis: Any = None, **params: Any) -> tuple:
        x = args[0]
        return p(x, axis=shift_axis(axis, x.ndim - 1), **params), True

    return batch


def expand_to(ct: Any, shape: tuple, axis: Any, keepdims: bool) -> Any:
    """Broadcast a reduction's cotangent back over the reduced axes."""
    axes = normalize_axes(axis, len(shape))
    if not keepdims:
        ct = F.reshape(ct, kept_shape(shape, axes))
    return F.broadcast_to(ct, shape)


# -- sum and mean: linear --------------------------------------------------------
sum_ = primitive("sum")
mean = primitive("mean")


def _sum_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    return sum_(primals[0], **params), sum_(tangents[0], **params)


def _sum_vjp(primals: list, needs: list, axis: Any = None, dtype: Any = None,
             keepdims: bool = False) -> tuple:
    x = primals[0]
    shape, xdtype = tuple(x.shape), x.dtype

    def sum_pullback(ct: Any) -> tuple:
        g = expand_to(ct, shape, axis, keepdims)
        if g.dtype != xdtype and dtype is not None:
            g = F.astype(g, xdtype)
        return (g,)

    return sum_(x, axis=axis, dtype=dtype, keepdims=keepdims), sum_pullback


def _mean_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    return mean(primals[0], **params), mean(tangents[0], **params)


def _count(shape: tuple, axis: Any) -> int:
    n = 1
    for a in normalize_axes(axis, len(shape)):
        n *= shape[a]
    return n


def _mean_vjp(primals: list, needs: list, axis: Any = None, keepdims: bool = False) -> tuple:
    x = primals[0]
    shape = tuple(x.shape)

    def mean_pullback(ct: Any) -> tuple:
        return (expand_to(ct / _count(shape, axis), shape, axis, keepdims),)

    return mean(x, axis=axis, keepdims=keepdims), mean_pullback


defrule(sum_, jvp=_sum_jvp, vjp=_sum_vjp, batch=_reduce_batch(sum_), samples=_reduction_samples())
defrule(mean, jvp=_mean_jvp, vjp=_mean_vjp, batch=_reduce_batch(mean),
        samples=_reduction_samples())


# -- max and min: the derivative goes to the extremal elements ---------------------
# Ties: the cotangent is split evenly among all elements equal to the extremum
# (so the derivative of max over [1, 1] is [0.5, 0.5]), as JAX and PyTorch's
# amax do.
def _extremum(name: str) -> Any:
    p = primitive(name)

    def weights(x: Any, out: Any, axis: Any, keepdims: bool) -> Any:
        shape = tuple(x.shape)
        o = expand_to(out, shape, axis, keepdims)
        hit = F.astype(F.equal(x, o), x.dtype)
        n = F.sum(hit, axis=axis, keepdims=True)
        return F.divide(hit, n)

    def jvp(primals: list, tangents: list, axis: Any = None, keepdims: bool = False) -> tuple:
        x, t = primals[0], tangents[0]
        out = p(x, axis=axis, keepdims=keepdims)
        w = weights(x, out, axis, keepdims)
        return out, F.sum(F.multiply(t, w), axis=axis, keepdims=keepdims)

    def vjp(primals: list, needs: list, axis: Any = None, keepdims: bool = False) -> tuple:
        x = primals[0]
        out = p(x, axis=axis, keepdims=keepdims)

        def pullback(ct: Any) -> tuple:
            w = weights(x, out, axis, keepdims)
            return (F.multiply(expand_to(ct, tuple(x.shape), axis, keepdims), w),)

        pullback.__qualname__ = f"{name}_pullback"
        return out, pullback

    defrule(p, jvp=jvp, vjp=vjp, batch=_reduce_batch(p), samples=_reduction_samples())
    return p


max_ = _extremum("max")
min_ = _extremum("min")
