"""Elementwise functions of the standard: one line of math per primitive.

Complex convention (JAX's): a pullback is the transpose of the pushforward, not
its conjugate transpose. For holomorphic ``f`` the rule ``ct * f'(z)`` is then
already right; the gradient of a real-valued function of complex ``z`` is
``conj`` of PyTorch's. The functions that are not holomorphic (abs, sign, conj,
real, imag) have their own rules in ``elementwise_complex``.
"""

from __future__ import annotations

import cmath
import math
import operator
from functools import partial
from typing import Any

from .._core.trace import bind_operator
from ._registry import (
    F,
    binary,
    broadcast_tangent,
    complex_ok,
    defrule,
    elementwise_batch,
    is_scalar,
    linear,
    meta_of,
    nondifferentiable,
    onehot,
    patterns,
    primitive,
    shapes_samples,
    unary,
    unbroadcast,
    xp_of,
)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


# -- unary, with dy/dx = d(x, y) --------------------------------------------------
# uses_x=False: the derivative is written with the output alone, so the pullback
# keeps only y (a chain of tanh layers stores one array per layer)
unary("exp", lambda x, y: y, uses_x=False)
unary("expm1", lambda x, y: y + 1, uses_x=False)
unary("log", lambda x, y: 1 / x, domain=(0.2, 3.0))
unary("log1p", lambda x, y: 1 / (x + 1), domain=(-0.5, 3.0))
unary("log2", lambda x, y: 1 / (x * _LN2), domain=(0.2, 3.0))
unary("log10", lambda x, y: 1 / (x * _LN10), domain=(0.2, 3.0))
unary("sqrt", lambda x, y: 0.5 / y, domain=(0.2, 3.0), uses_x=False)
unary("square", lambda x, y: 2 * x)
unary("sin", lambda x, y: F.cos(x))
unary("cos", lambda x, y: -F.sin(x))
unary("tan", lambda x, y: 1 + y * y, domain=(-1.2, 1.2), uses_x=False)
unary("asin", lambda x, y: 1 / F.sqrt(1 - x * x), domain=(-0.9, 0.9))
unary("acos", lambda x, y: -1 / F.sqrt(1 - x * x), domain=(-0.9, 0.9))
unary("atan", lambda x, y: 1 / (1 + x * x))
unary("sinh", lambda x, y: F.cosh(x))
unary("cosh", lambda x, y: F.sinh(x))
unary("tanh", lambda x, y: 1 - y * y, uses_x=False)
unary("asinh", lambda x, y: 1 / F.sqrt(x * x + 1))
# sqrt(x - 1) * sqrt(x + 1), not sqrt(x * x - 1): the same for real x > 1, and the
# principal branch's derivative for complex x (they differ by a sign where Re x < 0)
unary("acosh", lambda x, y: 1 / (F.sqrt(x - 1) * F.sqrt(x + 1)), domain=(1.2, 3.0))
unary("atanh", lambda x, y: 1 / (1 - x * x), domain=(-0.9, 0.9))
unary("reciprocal", lambda x, y: -(y * y), domain=(0.3, 2.0), uses_x=False)


# -- linear unary ------------------------------------------------------------------
_neg = linear(
    "negative", lambda ct, x: -ct, nargs=1, pattern=patterns.elementwise, onehot=onehot.negative
)
_pos = linear(
    "positive", lambda ct, x: ct, nargs=1, pattern=patterns.elementwise, onehot=onehot.positive
)
for _p in (_neg, _pos):
    defrule(_p, batch=elementwise_batch(_p), samples=shapes_samples(1))


# -- binary, with partials ----------------------------------------------------------
add_p = primitive("add", operator.add, nargs=2)
subtract_p = primitive("subtract", operator.sub, nargs=2)
multiply_p = primitive("multiply", operator.mul, nargs=2)
divide_p = primitive("divide", operator.truediv, nargs=2)
# the rules below call the exported functions (see primitive's ``nargs``)
add, subtract, multiply, divide = add_p.fast, subtract_p.fast, multiply_p.fast, divide_p.fast
for _p, _dunder in (
    (add_p, "add"),
    (subtract_p, "sub"),
    (multiply_p, "mul"),
    (divide_p, "truediv"),
):
    bind_operator(_p, _dunder)


def _add_jvp(primals: list, tangents: list) -> tuple:
    x, y = primals
    tx, ty = tangents
    out = add(x, y)
    if tx is None:
        t = ty
    elif ty is None:
        t = tx
    else:
        return out, add(tx, ty)
    return out, broadcast_tangent(t, out.shape)


# The hot pullbacks test ``unbroadcast``'s common case (same shape and dtype)
# themselves: a call per cotangent saved, 3% of W2's instructions.


def _add_pullback(mx: Any, my: Any, ct: Any) -> tuple:
    gx = gy = None
    if mx is not None:
        gx = ct if ct.shape == mx.shape and ct.dtype == mx.dtype else unbroadcast(ct, mx)
    if my is not None:
        gy = ct if ct.shape == my.shape and ct.dtype == my.dtype else unbroadcast(ct, my)
    return gx, gy


def _add_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    # keep the operands' shapes and dtypes, not their values (x @ W in x @ W + b
    # is then freed once the next layer has used it)
    mx = meta_of(x) if needs[0] else None
    my = meta_of(y) if needs[1] else None
    return add(x, y), partial(_add_pullback, mx, my)


def _sub_jvp(primals: list, tangents: list) -> tuple:
    x, y = primals
    tx, ty = tangents
    out = subtract(x, y)
    if tx is None:
        t = F.negative(ty)
    elif ty is None:
        t = tx
    else:
        return out, subtract(tx, ty)
    return out, broadcast_tangent(t, out.shape)


def _sub_pullback(mx: Any, my: Any, ct: Any) -> tuple:
    gx = gy = None
    if mx is not None:
        gx = ct if ct.shape == mx.shape and ct.dtype == mx.dtype else unbroadcast(ct, mx)
    if my is not None:
        gy = F.negative(ct)
        if gy.shape != my.shape or gy.dtype != my.dtype:
            gy = unbroadcast(gy, my)
    return gx, gy


def _sub_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    mx = meta_of(x) if needs[0] else None  # shapes and dtypes only, as in add
    my = meta_of(y) if needs[1] else None
    return subtract(x, y), partial(_sub_pullback, mx, my)


def _mul_jvp(primals: list, tangents: list) -> tuple:
    x, y = primals
    tx, ty = tangents
    out = multiply(x, y)
    t = None
    if tx is not None:
        t = multiply(tx, y)
    if ty is not None:
        u = multiply(x, ty)
        t = u if t is None else add(t, u)
    return out, broadcast_tangent(t, out.shape)


def _mul_pullback(x: Any, y: Any, nx: bool, ny: bool, ct: Any) -> tuple:
    gx = gy = None
    if nx:
        gx = multiply(ct, y)
        if gx.shape != x.shape or gx.dtype != x.dtype:
            gx = unbroadcast(gx, x)
    if ny:
        gy = multiply(ct, x)
        if gy.shape != y.shape or gy.dtype != y.dtype:
            gy = unbroadcast(gy, y)
    return gx, gy


def _square_pullback(x: Any, ct: Any) -> tuple:
    # both factors are one array, so both partials are ct * x: one product, not two.
    # The factors may still be two tape entries (hook(f, x) * x), so each gets it.
    g = multiply(ct, x)
    if g.shape != x.shape or g.dtype != x.dtype:
        g = unbroadcast(g, x)
    return g, g


def _mul_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    if x is y and needs[0] and needs[1]:  # x * x (the same array on both sides)
        return multiply(x, x), partial(_square_pullback, x)
    return multiply(x, y), partial(_mul_pullback, x, y, needs[0], needs[1])


def _div_jvp(primals: list, tangents: list) -> tuple:
    x, y = primals
    tx, ty = tangents
    out = divide(x, y)
    t = None
    if tx is not None:
        t = divide(tx, y)
    if ty is not None:
        u = F.negative(divide(multiply(ty, out), y))
        t = u if t is None else add(t, u)
    return out, broadcast_tangent(t, out.shape)


def _div_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    nx, ny = needs
    out = divide(x, y)

    def divide_pullback(ct: Any) -> tuple:
        gx = unbroadcast(divide(ct, y), x) if nx else None
        gy = unbroadcast(F.negative(divide(multiply(ct, out), y)), y) if ny else None
        return gx, gy

    return out, divide_pullback


_binary_samples = shapes_samples(2)
for _p, _j, _v in ((add_p, _add_jvp, _add_vjp), (subtract_p, _sub_jvp, _sub_vjp)):
    defrule(
        _p,
        jvp=_j,
        vjp=_v,
        batch=elementwise_batch(_p),
        pattern=patterns.elementwise,
        samples=_binary_samples,
    )
defrule(
    multiply_p,
    jvp=_mul_jvp,
    vjp=_mul_vjp,
    batch=elementwise_batch(multiply_p),
    pattern=patterns.multiply,  # a constant zero factor kills the element
    onehot=onehot.scale,  # a one-hot basis times an unbatched array: scaled values
    samples=_binary_samples,
)
defrule(
    divide_p,
    jvp=_div_jvp,
    vjp=_div_vjp,
    batch=elementwise_batch(divide_p),
    pattern=patterns.elementwise,
    onehot=onehot.scale_divide,
    samples=shapes_samples(2, (0.5, 2.0)),
)


def _max_partial(x: Any, y: Any, out: Any) -> Any:
    # ties split the derivative evenly between the arguments (as JAX does)
    return F.astype(F.greater(x, y), out.dtype) + 0.5 * F.astype(F.equal(x, y), out.dtype)


def _min_partial(x: Any, y: Any, out: Any) -> Any:
    return F.astype(F.less(x, y), out.dtype) + 0.5 * F.astype(F.equal(x, y), out.dtype)


binary("maximum", _max_partial, lambda x, y, o: _max_partial(y, x, o))
binary("minimum", _min_partial, lambda x, y, o: _min_partial(y, x, o))
binary(
    "atan2",
    lambda y, x, o: divide(x, F.hypot(x, y) ** 2),
    lambda y, x, o: F.negative(divide(y, F.hypot(x, y) ** 2)),
    domain=(0.3, 2.0),
)
binary("hypot", lambda x, y, o: divide(x, o), lambda x, y, o: divide(y, o), domain=(0.3, 2.0))
binary("logaddexp", lambda x, y, o: F.exp(subtract(x, o)), lambda x, y, o: F.exp(subtract(y, o)))
binary(
    "copysign",
    lambda x, y, o: F.astype(F.equal(F.signbit(x), F.signbit(y)), o.dtype) * 2 - 1,
    None,
    domain=(0.2, 2.0),
)


# x % y = x - floor(x / y) * y: differentiable where floor(x / y) is constant
def _remainder_samples(make: Any) -> list:
    # x / y stays >= 0.09 away from an integer (2 < x / y < 3 and -3 < x / y < -2), so
    # float32's coarse finite-difference steps never cross a jump of floor(x / y)
    return [
        ((make((3,), 2.2, 2.8), make((3,), 1.0, 1.05)), {}),
        ((make((2, 3), -2.8, -2.2), make((3,), 1.0, 1.05)), {}),
        ((make((2, 1), 2.2, 2.8), make((1, 3), 1.0, 1.05)), {}),
    ]


binary(
    "remainder",
    lambda x, y, o: F.ones_like(o),
    lambda x, y, o: F.negative(F.floor(divide(x, y))),
    impl=operator.mod,
    samples=_remainder_samples,
)


# -- pow: scalar or array exponent --------------------------------------------------
pow_p = primitive("pow", operator.pow, nargs=2)
pow_ = pow_p.fast
bind_operator(pow_p, "pow")


def _pow_dx(x: Any, y: Any, out: Any) -> Any:
    if is_scalar(y):
        if y == 0:
            return None
        if y == 1:
            return F.ones_like(x) if not is_scalar(x) else 1
        if y == 2:  # the commonest power: no pow call in the derivative
            return 2 * x
        return y * x ** (y - 1)
    # y * x**(y-1) is 0 * inf at x == y == 0, where x**y == 1 for every x: the
    # derivative there is 0 (x is replaced by 1 so no inf is formed at all)
    both = F.logical_and(F.equal(x, 0), F.equal(y, 0))
    sx = F.where(both, F.ones_like(x), x)
    return multiply(y, pow_(sx, subtract(y, 1)))


def _pow_dy(x: Any, y: Any, out: Any) -> Any:
    if is_scalar(x):
        if isinstance(x, complex):
            return out * cmath.log(x)
        return out * math.log(x) if x > 0 else out * float("nan")
    # log(x) is undefined at x <= 0; where x == 0 the limit of x**y * log(x) is 0
    zero = F.equal(x, 0)
    safe = F.where(zero, F.ones_like(x), x)
    return F.where(zero, F.zeros_like(out), multiply(out, F.log(safe)))


def _pow_jvp(primals: list, tangents: list) -> tuple:
    x, y = primals
    tx, ty = tangents
    out = pow_(x, y)
    t = None
    if tx is not None:
        d = _pow_dx(x, y, out)
        if d is not None:
            t = multiply(tx, d)
    if ty is not None:
        u = multiply(ty, _pow_dy(x, y, out))
        t = u if t is None else add(t, u)
    if t is None:
        return out, None
    return out, broadcast_tangent(t, out.shape)


def _pow_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    nx, ny = needs
    out = pow_(x, y)

    def pow_pullback(ct: Any) -> tuple:
        gx = gy = None
        if nx:
            d = _pow_dx(x, y, out)
            gx = unbroadcast(multiply(ct, d), x) if d is not None else None
        if ny:
            gy = unbroadcast(multiply(ct, _pow_dy(x, y, out)), y)
        return gx, gy

    return out, pow_pullback


def _pow_samples(make: Any) -> list:
    return [
        ((make((3,), 0.5, 2.0), 3), {}),
        ((make((2, 3), 0.5, 2.0), 0.5), {}),
        ((make((3,), 0.5, 2.0), make((3,), -1.5, 1.5)), {}),
        ((make((2, 3), 0.5, 2.0), make((3,), 0.5, 2.0)), {}),
        ((2.0, make((3,), -1.0, 1.0)), {}),
    ]


defrule(
    pow_p,
    jvp=_pow_jvp,
    vjp=_pow_vjp,
    batch=elementwise_batch(pow_p),
    pattern=patterns.elementwise,
    samples=_pow_samples,
)


# -- where and clip ----------------------------------------------------------------
where = primitive("where")


def _where_jvp(primals: list, tangents: list) -> tuple:
    c, x, y = primals
    _, tx, ty = tangents
    out = where(c, x, y)
    if tx is None and ty is None:
        return out, None
    z = F.zeros_like(out) if tx is None or ty is None else None
    t = where(c, z if tx is None else tx, z if ty is None else ty)
    return out, broadcast_tangent(t, out.shape)


def _where_vjp(primals: list, needs: list) -> tuple:
    c, x, y = primals
    _, nx, ny = needs
    out = where(c, x, y)

    def where_pullback(ct: Any) -> tuple:
        z = F.zeros_like(ct)
        gx = unbroadcast(where(c, ct, z), x) if nx else None
        gy = unbroadcast(where(c, z, ct), y) if ny else None
        return None, gx, gy

    return out, where_pullback


def _where_samples(make: Any) -> list:
    c = make.int((2, 3), 0, 2) == 1  # not make(): its values may be complex
    return [
        ((c, make((2, 3)), make((2, 3))), {}),
        ((c, make((3,)), make((2, 1))), {}),
        ((c, make((2, 3)), 0.5), {}),
    ]


defrule(
    where,
    jvp=_where_jvp,
    vjp=_where_vjp,
    batch=elementwise_batch(where),
    pattern=patterns.where,  # a constant condition picks one side
    samples=_where_samples,
)


def clip(x: Any, /, min: Any = None, max: Any = None) -> Any:
    """``xp.clip``: derivative 1 inside ``[min, max]``, 0 outside (min/max may be traced)."""
    out = x
    if min is not None:
        out = F.maximum(out, min) if not is_scalar(min) else _clip_p(out, min, None)
    if max is not None:
        out = F.minimum(out, max) if not is_scalar(max) else _clip_p(out, None, max)
    return out


def _clip_impl(x: Any, lo: Any, hi: Any) -> Any:
    return xp_of(x).clip(x, lo, hi)


_clip_p = primitive("clip_scalar", _clip_impl, export_as=False)


def _clip_weight(x: Any, lo: Any, hi: Any) -> Any:
    """d clip / dx: 1 inside, 0 outside, 0.5 at a bound (per bound: 0.25 where
    ``lo == hi``), the same tie convention as ``maximum``/``minimum``, so a bound
    given as a Python number and one given as an array agree (JAX's values)."""
    w = None
    if lo is not None:
        w = _max_partial(x, lo, x)
    if hi is not None:
        u = _min_partial(x, hi, x)
        w = u if w is None else F.multiply(w, u)
    return w


def _clip_jvp(primals: list, tangents: list) -> tuple:
    x, lo, hi = primals
    out = _clip_p(x, lo, hi)
    return out, F.multiply(tangents[0], _clip_weight(x, lo, hi))


def _clip_vjp(primals: list, needs: list) -> tuple:
    x, lo, hi = primals

    def clip_pullback(ct: Any) -> tuple:
        return F.multiply(ct, _clip_weight(x, lo, hi)), None, None

    return _clip_p(x, lo, hi), clip_pullback


def _clip_batch(args: list, batched: list) -> tuple:
    return _clip_p(*args), True


defrule(
    _clip_p,
    jvp=_clip_jvp,
    vjp=_clip_vjp,
    batch=_clip_batch,
    pattern=patterns.elementwise,
    samples=lambda make: [((make((2, 3)), -0.5, 0.7), {}), ((make((4,)), None, 0.3), {})],
)
from ._registry import export as _export  # noqa: E402


def _where(condition: Any, x1: Any, x2: Any, /) -> Any:
    """``xp.where`` with the standard's signature."""
    return where(condition, x1, x2)


_export("clip", clip)
_export("where", _where)


# -- non-differentiable ------------------------------------------------------------
nondifferentiable(
    "floor",
    "ceil",
    "trunc",
    "round",
    "signbit",
    "isnan",
    "isinf",
    "isfinite",
    "logical_not",
    "bitwise_invert",
    nargs=1,
)
nondifferentiable(
    "nextafter",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "floor_divide",
    nargs=2,
)

# The functions the standard defines on complex inputs: the conformance suite
# checks their rules on complex128 samples too (holomorphic ones need nothing
# special under the transpose convention).
complex_ok(
    "exp",
    "expm1",
    "log",
    "log1p",
    "log2",
    "log10",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "reciprocal",
    "negative",
    "positive",
    "add",
    "subtract",
    "multiply",
    "divide",
    "pow",
    "where",
)
