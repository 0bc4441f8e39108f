"""Statistical functions: reductions with ``axis`` and ``keepdims``.

Cumulative sums and products live in ``statistical_cumulative``.
"""

from __future__ import annotations

import math
from typing import Any

from ._axes import kept_shape, normalize_axes, shift_axis
from ._matrix import cj, is_complex
from ._registry import (
    F,
    defrule,
    export,
    patterns,
    primitive,
    project,
)
from .statistical_cumulative import cumulative_prod_p, with_zeros

_SHAPES = ((3,), (2, 3), (2, 3, 2))


def _reduction_samples(domain: tuple = (-2.0, 2.0), extra: tuple = ()) -> Any:
    lo, hi = domain

    def samples(make: Any) -> list:
        out: list = [((make(s, lo, hi),), {}) for s in _SHAPES]
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


def _count(shape: tuple, axis: Any) -> int:
    n = 1
    for a in normalize_axes(axis, len(shape)):
        n *= shape[a]
    return n


def _cast(x: Any, dtype: Any) -> Any:
    return x if dtype is None or x.dtype == dtype else F.astype(x, dtype)


# -- sum and mean: linear --------------------------------------------------------
sum_ = primitive("sum", export_as=False)
mean_p = primitive("mean", export_as=False)


def _sum_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    return sum_(primals[0], **params), sum_(tangents[0], **params)


def _sum_vjp(
    primals: list, needs: list, axis: Any = None, dtype: Any = None, keepdims: bool = False
) -> tuple:
    x = primals[0]
    shape, xdtype = tuple(x.shape), x.dtype

    def sum_pullback(ct: Any) -> tuple:
        g = expand_to(ct, shape, axis, keepdims)
        if g.dtype != xdtype and dtype is not None:
            g = F.astype(g, xdtype)
        return (g,)

    return sum_(x, axis=axis, dtype=dtype, keepdims=keepdims), sum_pullback


def _mean_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    return mean_p(primals[0], **params), mean_p(tangents[0], **params)


def _mean_vjp(primals: list, needs: list, axis: Any = None, keepdims: bool = False) -> tuple:
    x = primals[0]
    shape = tuple(x.shape)

    def mean_pullback(ct: Any) -> tuple:
        return (expand_to(ct / _count(shape, axis), shape, axis, keepdims),)

    return mean_p(x, axis=axis, keepdims=keepdims), mean_pullback


for _p, _j, _v in ((sum_, _sum_jvp, _sum_vjp), (mean_p, _mean_jvp, _mean_vjp)):
    defrule(
        _p,
        jvp=_j,
        vjp=_v,
        batch=_reduce_batch(_p),
        pattern=patterns.reduction,
        samples=_reduction_samples(),
    )


# -- prod: the derivative at each element is the product of all the others -----------
# Computed as (exclusive cumulative product from the left) * (from the right), never
# as prod / x: one zero in the block gives the product of the others at the zero and
# 0 elsewhere, two zeros give 0 everywhere. cumulative_prod's own rules divide by
# nothing either, so this holds at every order.
prod_p = primitive("prod", export_as=False)


def _inverse_perm(perm: tuple) -> tuple:
    inv = [0] * len(perm)
    for i, a in enumerate(perm):
        inv[a] = i
    return tuple(inv)


def prod_of_others(x: Any, axes: tuple) -> Any:
    """For each element of ``x``, the product of the other elements of its reduced block."""
    nd = x.ndim
    kept = tuple(i for i in range(nd) if i not in axes)
    perm = kept + tuple(axes)
    moved = perm != tuple(range(nd))
    xt = F.permute_dims(x, perm) if moved else x
    tshape = tuple(xt.shape)
    n = _count(tuple(x.shape), axes)
    flat = F.reshape(xt, tshape[: len(kept)] + (n,))
    left = cumulative_prod_p(flat, axis=-1, include_initial=True)[..., :n]
    rflat = F.flip(flat, axis=-1)
    right = F.flip(cumulative_prod_p(rflat, axis=-1, include_initial=True)[..., :n], axis=-1)
    out = F.reshape(F.multiply(left, right), tshape)
    return F.permute_dims(out, _inverse_perm(perm)) if moved else out


def prod(
    x: Any, /, *, axis: int | tuple | None = None, dtype: Any = None, keepdims: bool = False
) -> Any:
    """``xp.prod`` (derivatives exact where ``x`` has zeros, no division)."""
    return prod_p(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _prod_jvp(
    primals: list, tangents: list, axis: Any = None, dtype: Any = None, keepdims: bool = False
) -> tuple:
    x, t = primals[0], tangents[0]
    out = prod_p(x, axis=axis, dtype=dtype, keepdims=keepdims)
    x, t = _cast(x, dtype), _cast(t, dtype)
    others = prod_of_others(x, normalize_axes(axis, x.ndim))
    return out, sum_(F.multiply(t, others), axis=axis, keepdims=keepdims)


def _prod_vjp(
    primals: list, needs: list, axis: Any = None, dtype: Any = None, keepdims: bool = False
) -> tuple:
    x = primals[0]
    shape = tuple(x.shape)
    out = prod_p(x, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod_pullback(ct: Any) -> tuple:
        xc = _cast(x, dtype)
        others = prod_of_others(xc, normalize_axes(axis, len(shape)))
        return (project(F.multiply(expand_to(ct, shape, axis, keepdims), others), x),)

    return out, prod_pullback


def _prod_samples(make: Any) -> list:
    out = _reduction_samples(extra=({"dtype": make.dtype("float64")},))(make)
    return out + [
        ((with_zeros(make((4,)), (1,)),), {}),  # one zero
        ((with_zeros(make((4,)), (0, 2)),), {}),  # two zeros
        ((with_zeros(make((3,)), (0, 1, 2)),), {}),  # all zeros
        # row 0 has one zero, row 1 two: reduced along rows and over all
        ((with_zeros(make((2, 3)), (1, 3, 5)),), {"axis": 1}),
        ((with_zeros(make((2, 3)), (1, 3, 5)),), {"axis": 0, "keepdims": True}),
        ((with_zeros(make((2, 3)), (4,)),), {}),
        ((with_zeros(make((2, 3, 2)), (0, 7)),), {"axis": (0, 2)}),
    ]


defrule(
    prod_p,
    jvp=_prod_jvp,
    vjp=_prod_vjp,
    batch=_reduce_batch(prod_p),
    pattern=patterns.reduction,
    samples=_prod_samples,
)


# -- var and std --------------------------------------------------------------------
# d var = 2 / (N - correction) * sum((x - mean) * dx): the mean's own derivative
# drops out because the centred values sum to zero. std = sqrt(var) divides by
# std, so its derivative is infinite where all the values are equal. Complex x
# (outside the standard, accepted by NumPy and torch): var = mean(|x - mean|^2) is
# real, d var = 2 / (N - correction) * sum(Re(conj(x - mean) * dx)).
var_p = primitive("var", export_as=False)
std_p = primitive("std", export_as=False)


def var(
    x: Any, /, *, axis: int | tuple | None = None, correction: float = 0.0, keepdims: bool = False
) -> Any:
    """``xp.var``."""
    return var_p(x, axis=axis, correction=correction, keepdims=keepdims)


def std(
    x: Any, /, *, axis: int | tuple | None = None, correction: float = 0.0, keepdims: bool = False
) -> Any:
    """``xp.std`` (its derivative is infinite where the values are all equal)."""
    return std_p(x, axis=axis, correction=correction, keepdims=keepdims)


def _inv_dof(shape: tuple, axis: Any, correction: float) -> float:
    dof = _count(shape, axis) - correction
    return 1.0 / dof if dof != 0 else math.inf


def _centred(x: Any, axis: Any) -> Any:
    return F.subtract(x, mean_p(x, axis=axis, keepdims=True))


def _spread(name: str, p: Any) -> None:
    is_std = name == "std"

    def jvp(
        primals: list,
        tangents: list,
        axis: Any = None,
        correction: float = 0.0,
        keepdims: bool = False,
    ) -> tuple:
        x, t = primals[0], tangents[0]
        out = p(x, axis=axis, correction=correction, keepdims=keepdims)
        # complex x: var = mean(|x - m|^2), d var ~ sum(Re(conj(x - m) dx))
        d = F.multiply(cj(_centred(x, axis)), t)
        s = sum_(F.real(d) if is_complex(d) else d, axis=axis, keepdims=keepdims)
        s = s * _inv_dof(tuple(x.shape), axis, correction)
        return out, (F.divide(s, out) if is_std else 2 * s)

    def vjp(
        primals: list,
        needs: list,
        axis: Any = None,
        correction: float = 0.0,
        keepdims: bool = False,
    ) -> tuple:
        x = primals[0]
        shape = tuple(x.shape)
        out = p(x, axis=axis, correction=correction, keepdims=keepdims)
        scale = _inv_dof(shape, axis, correction)

        def pullback(ct: Any) -> tuple:
            c = F.divide(ct, out) if is_std else 2 * ct
            return (F.multiply(expand_to(c, shape, axis, keepdims), cj(_centred(x, axis))) * scale,)

        pullback.__qualname__ = f"{name}_pullback"
        return out, pullback

    extra = ({"correction": 1.0}, {"axis": 1, "correction": 1, "keepdims": True})
    defrule(
        p,
        jvp=jvp,
        vjp=vjp,
        batch=_reduce_batch(p),
        pattern=patterns.reduction,
        samples=_reduction_samples(extra=extra),
    )


_spread("var", var_p)
_spread("std", std_p)


# -- max and min: the derivative goes to the extremal elements ---------------------
# Ties: the cotangent is split evenly among all elements equal to the extremum
# (so the derivative of max over [1, 1] is [0.5, 0.5]), as JAX and PyTorch's
# amax do.
def _extremum(name: str) -> Any:
    p = primitive(name, export_as=False)

    def weights(x: Any, out: Any, axis: Any, keepdims: bool) -> Any:
        shape = tuple(x.shape)
        o = expand_to(out, shape, axis, keepdims)
        hit = F.astype(F.equal(x, o), x.dtype)
        n = sum_(hit, axis=axis, keepdims=True)
        return F.divide(hit, n)

    def jvp(primals: list, tangents: list, axis: Any = None, keepdims: bool = False) -> tuple:
        x, t = primals[0], tangents[0]
        out = p(x, axis=axis, keepdims=keepdims)
        w = weights(x, out, axis, keepdims)
        return out, sum_(F.multiply(t, w), axis=axis, keepdims=keepdims)

    def vjp(primals: list, needs: list, axis: Any = None, keepdims: bool = False) -> tuple:
        x = primals[0]
        out = p(x, axis=axis, keepdims=keepdims)

        def pullback(ct: Any) -> tuple:
            w = weights(x, out, axis, keepdims)
            return (F.multiply(expand_to(ct, tuple(x.shape), axis, keepdims), w),)

        pullback.__qualname__ = f"{name}_pullback"
        return out, pullback

    defrule(
        p,
        jvp=jvp,
        vjp=vjp,
        batch=_reduce_batch(p),
        pattern=patterns.reduction,
        samples=_reduction_samples(),
    )
    return p


max_ = _extremum("max")
min_ = _extremum("min")


# -- the namespace's functions, with the standard's signatures ----------------------
def sum(
    x: Any, /, *, axis: int | tuple | None = None, dtype: Any = None, keepdims: bool = False
) -> Any:
    """``xp.sum`` (linear)."""
    return sum_(x, axis=axis, dtype=dtype, keepdims=keepdims)


def mean(x: Any, /, *, axis: int | tuple | None = None, keepdims: bool = False) -> Any:
    """``xp.mean`` (linear)."""
    return mean_p(x, axis=axis, keepdims=keepdims)


def max(x: Any, /, *, axis: int | tuple | None = None, keepdims: bool = False) -> Any:
    """``xp.max``: ties share the derivative evenly."""
    return max_(x, axis=axis, keepdims=keepdims)


def min(x: Any, /, *, axis: int | tuple | None = None, keepdims: bool = False) -> Any:
    """``xp.min``: ties share the derivative evenly."""
    return min_(x, axis=axis, keepdims=keepdims)


for _fn in (sum, mean, max, min, prod, var, std):
    export(_fn.__name__, _fn)

from ._registry import complex_ok  # noqa: E402

# Defined on complex inputs by the standard: conformance checks them on complex128 too.
complex_ok("sum", "mean", "var", "std")
