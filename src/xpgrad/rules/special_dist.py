"""More of SciPy's special functions: distribution functions, Bessel, elliptic, ...

SciPy looks these up in ``xp.special`` (``scipy/special/_support_alternative_backends.py``)
with its own names and argument orders, and ``scipy.stats`` reaches them through its
tests (``ttest_*`` call ``stdtr``, ``pearsonr`` ``betainc``, ``chisquare`` ``chdtrc``,
``f_oneway`` ``fdtrc``). The primals come from the adapters' ``special(name)`` hook, as
in :mod:`xpgrad.rules.special`; every derivative is written with traced calls, so it
differentiates again.

Three kinds of arguments:

- *data*, differentiated: ``x`` of ``gammainc(a, x)``, ``t`` of ``stdtr(df, t)``,
  ``p`` of ``bdtri(k, n, p)``. The partial is the distribution's density, in log
  space (``exp((a - 1) log x - x - gammaln(a))``) so it neither overflows nor
  underflows for large shape parameters; the inverses' partials are one over it;
- *parameters* whose derivative has no closed form here (the shapes ``a``, ``b`` of
  ``gammainc`` and ``betainc``, degrees of freedom, integer counts and orders). They
  must be constants of the differentiation (``scipy.stats`` computes degrees of
  freedom from shapes); one that carries a tangent, or whose cotangent is asked
  for, raises :class:`~xpgrad._core.trace.NoRuleError` naming the function and the
  argument: never a silent zero;
- both arguments of the two-argument functions with closed-form partials
  (``betaln``, ``binom``, ``poch``, ``boxcox``, ``huber`` ...).

Where a formula divides by a vanishing quantity its limit is used (``j1`` at 0,
``ellipk`` at 0) or a short series near it (``exprel``, ``sinc``, the ``lmbda``
partials of the Box-Cox functions), so first and second derivatives stay exact.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable, Sequence

from .. import backends
from .._core.arrays import raw
from .._core.trace import NoRuleError, Primitive, Tracer
from . import special as _special  # (also registers gammaln, digamma, xlogy: used below)
from ._registry import (
    F,
    binary,
    broadcast_tangent,
    defrule,
    elementwise_batch,
    export,
    is_scalar,
    nondifferentiable,
    patterns,
    primitive,
    unary,
    unbroadcast,
)

__all__ = ["DIST_NAMES"]

_PI = math.pi
_DEG = math.pi / 180.0
_SQRT_PI = math.sqrt(math.pi)


_impl = _special.special_impl  # the primal: the adapter's special(name)


# -- helpers on constants (Python numbers or arrays) and traced values --------------------


def _log(c: Any) -> Any:
    return math.log(c) if is_scalar(c) else F.log(c)


def _floor(c: Any) -> Any:
    return math.floor(c) if is_scalar(c) else F.floor(c)


def _lgamma(a: Any) -> Any:
    return math.lgamma(a) if is_scalar(a) else F.special_gammaln(a)


def _lbeta(a: Any, b: Any) -> Any:
    if is_scalar(a) and is_scalar(b):
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return betaln(a, b)


def _gamma_logpdf(a: Any, x: Any) -> Any:
    """log of the gamma density of shape ``a`` at ``x``: ``(a-1) log x - x - gammaln(a)``."""
    return F.subtract(F.subtract(F.special_xlogy(a - 1, x), x), _lgamma(a))


def _beta_logpdf(a: Any, b: Any, x: Any) -> Any:
    """log of the beta density: ``(a-1) log x + (b-1) log(1-x) - betaln(a, b)``."""
    s = F.add(F.special_xlogy(a - 1, x), F.special_xlog1py(b - 1, F.negative(x)))
    return F.subtract(s, _lbeta(a, b))


def _t_logpdf(df: Any, t: Any) -> Any:
    """log of Student's t density: ``-betaln(df/2, 1/2) - log(df)/2 - (df+1)/2 log1p(t²/df)``."""
    tail = F.multiply((df + 1) / 2, F.log1p(F.divide(F.multiply(t, t), df)))
    return F.subtract(F.negative(tail), _lbeta(df / 2, 0.5) + 0.5 * _log(df))


def _f_logpdf(d1: Any, d2: Any, x: Any) -> Any:
    """log of the F density, with ``log1p`` so that a large ``d2`` loses nothing."""
    head = F.special_xlogy(d1 / 2 - 1, x)
    tail = F.multiply((d1 + d2) / 2, F.log1p(F.multiply(d1 / d2, x)))
    const = _lbeta(d1 / 2, d2 / 2) - (d1 / 2) * _log(d1 / d2)
    return F.subtract(F.subtract(head, tail), const)


def _safe(x: Any) -> Any:
    """``x`` with its zeros replaced by ones, for a quotient whose limit at 0 is taken apart."""
    return F.where(x == 0, F.ones_like(x), x)


def _near(x: Any, r: float) -> Any:
    """Where ``|x| < r`` (a series is used there), and ``x`` moved off that region."""
    small = F.abs(x) < r
    return small, F.where(small, F.ones_like(x), x)


def _fill(y: Any, value: float) -> Any:
    return value * F.ones_like(y)


# -- one-argument functions -----------------------------------------------------------


def _unary(
    name: str, deriv: Callable, domain: tuple = (-2.0, 2.0), *, uses_x: bool = True
) -> Callable:
    p = unary(name, deriv, domain=domain, impl=_impl(name), module="special", uses_x=uses_x)
    return p.fast


def _exprel_deriv(x: Any, y: Any) -> Any:
    # (e^x - exprel(x)) / x, and its Taylor series 1/2 + x/3 + x²/8 + x³/30 near 0
    small, xs = _near(x, 1e-3)
    series = 0.5 + x * (1 / 3 + x * (1 / 8 + x / 30))
    return F.where(small, series, F.divide(F.exp(x) - y, xs))


def _sinc_deriv(x: Any, y: Any) -> Any:
    # sinc(x) = sin(pi x) / (pi x): (cos(pi x) - sinc(x)) / x, a series near 0
    small, xs = _near(x, 1e-2)
    x2 = x * x
    series = x * (-(_PI**2) / 3 + x2 * (_PI**4 / 30 - x2 * (_PI**6 / 840)))
    return F.where(small, series, F.divide(F.cos(_PI * x) - y, xs))


erfcx = _unary("erfcx", lambda x, y: 2 * (x * y) - 2 / _SQRT_PI)
exprel = _unary("exprel", _exprel_deriv)
exp2 = _unary("exp2", lambda x, y: math.log(2.0) * y, uses_x=False)
exp10 = _unary("exp10", lambda x, y: math.log(10.0) * y, uses_x=False)
cbrt = _unary("cbrt", lambda x, y: 1 / (3 * (y * y)), domain=(0.3, 2.0), uses_x=False)
cosm1 = _unary("cosm1", lambda x, y: -F.sin(x))
sinc = _unary("sinc", _sinc_deriv)

# trigonometric functions of degrees
cosdg = _unary("cosdg", lambda x, y: -_DEG * sindg(x), domain=(-80.0, 80.0))
sindg: Callable = _unary("sindg", lambda x, y: _DEG * cosdg(x), domain=(-80.0, 80.0))
tandg = _unary("tandg", lambda x, y: _DEG * (1 + y * y), domain=(-60.0, 60.0), uses_x=False)
cotdg = _unary("cotdg", lambda x, y: -_DEG * (1 + y * y), domain=(30.0, 150.0), uses_x=False)

# complete elliptic integrals of the parameter m: K' = (E - (1-m) K) / (2m(1-m)),
# E' = (E - K) / (2m), with their limits pi/8 and -pi/8 at m = 0
ellipk = _unary(
    "ellipk",
    lambda m, y: F.where(
        m == 0, _fill(y, _PI / 8), F.divide(ellipe(m) - (1 - m) * y, 2 * (_safe(m) * (1 - m)))
    ),
    domain=(0.1, 0.8),
)
ellipe: Callable = _unary(
    "ellipe",
    lambda m, y: F.where(m == 0, _fill(y, -_PI / 8), F.divide(y - ellipk(m), 2 * _safe(m))),
    domain=(0.1, 0.8),
)
# ellipkm1(p) = K(1 - p)
ellipkm1 = _unary(
    "ellipkm1",
    lambda p, y: F.where(
        p == 1,
        _fill(y, -_PI / 8),
        -F.divide(ellipe(1 - p) - p * y, 2 * (_safe(1 - p) * p)),
    ),
    domain=(0.1, 0.8),
)

# exponential integrals
exp1 = _unary("exp1", lambda x, y: -F.divide(F.exp(-x), x), domain=(0.3, 3.0))
expi = _unary("expi", lambda x, y: F.divide(F.exp(x), x), domain=(0.3, 3.0))

# Bessel functions: j1' = j0 - j1/x (limit 1/2 at 0), y1' = y0 - y1/x,
# k1' = -k0 - k1/x; the exponentially scaled k0e = e^x k0, k1e = e^x k1
j0 = _unary("j0", lambda x, y: -j1(x), domain=(-5.0, 5.0))
j1: Callable = _unary(
    "j1",
    lambda x, y: F.where(x == 0, _fill(y, 0.5), j0(x) - F.divide(y, _safe(x))),
    domain=(-5.0, 5.0),
)
y0 = _unary("y0", lambda x, y: -y1(x), domain=(0.5, 5.0))
y1: Callable = _unary("y1", lambda x, y: y0(x) - F.divide(y, x), domain=(0.5, 5.0))
k0 = _unary("k0", lambda x, y: -k1(x), domain=(0.5, 3.0))
k1: Callable = _unary("k1", lambda x, y: -k0(x) - F.divide(y, x), domain=(0.5, 3.0))
k0e = _unary("k0e", lambda x, y: y - k1e(x), domain=(0.5, 3.0))
k1e: Callable = _unary("k1e", lambda x, y: y - k0e(x) - F.divide(y, x), domain=(0.5, 3.0))

# the gamma function
rgamma = _unary("rgamma", lambda x, y: -y * F.special_digamma(x), domain=(0.5, 3.0))
loggamma = _unary("loggamma", lambda x, y: F.special_digamma(x), domain=(0.5, 3.0))
# spence(z) = integral from 1 to z of log(t) / (1 - t): limit -1 at z = 1
spence = _unary(
    "spence",
    lambda z, y: F.where(z == 1, _fill(y, -1.0), F.divide(F.log(z), _safe(1 - z))),
    domain=(0.3, 2.5),
)

(_gammasgn,) = nondifferentiable("gammasgn", module="special")
_gammasgn.impl = _impl("gammasgn")

# -- two arguments, both differentiated ----------------------------------------------------


def _pairs(xdom: tuple, ydom: tuple) -> Callable:
    shapes = (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)))

    def samples(make: Callable) -> list:
        return [((make(xs, *xdom), make(ys, *ydom)), {}) for xs, ys in shapes]

    return samples


def _binary(name: str, dx: Callable, dy: Callable, xdom: tuple, ydom: tuple) -> Callable:
    p = binary(f"special.{name}", dx, dy, impl=_impl(name), samples=_pairs(xdom, ydom))
    return p.fast


def _digamma(x: Any) -> Any:
    return F.special_digamma(x)


# log B(a, b): psi(a) - psi(a + b) and psi(b) - psi(a + b)
betaln = _binary(
    "betaln",
    lambda a, b, y: F.subtract(_digamma(a), _digamma(F.add(a, b))),
    lambda a, b, y: F.subtract(_digamma(b), _digamma(F.add(a, b))),
    (0.5, 3.0),
    (0.5, 3.0),
)
# binom(n, k) = Gamma(n+1) / (Gamma(k+1) Gamma(n-k+1)), for real n and k
binom = _binary(
    "binom",
    lambda n, k, y: y * F.subtract(_digamma(n + 1), _digamma(F.subtract(n, k) + 1)),
    lambda n, k, y: y * F.subtract(_digamma(F.subtract(n, k) + 1), _digamma(k + 1)),
    (3.0, 5.0),
    (0.5, 2.0),
)
# poch(z, m) = Gamma(z + m) / Gamma(z)
poch = _binary(
    "poch",
    lambda z, m, y: y * F.subtract(_digamma(F.add(z, m)), _digamma(z)),
    lambda z, m, y: y * _digamma(F.add(z, m)),
    (0.5, 3.0),
    (0.5, 2.0),
)


def _boxcox_dlmbda(log_x: Any, lmbda: Any, y: Any) -> Any:
    """d/dlmbda of (x^lmbda - 1) / lmbda, with L = log x and v = lmbda L:
    ``(x^lmbda L - y) / lmbda``, and ``L² (1/2 + v/3 + v²/8 + v³/30)`` near v = 0."""
    v = F.multiply(lmbda, log_x)
    small, _ = _near(v, 1e-2)
    lsafe = F.where(small, F.ones_like(v), F.add(lmbda, F.zeros_like(v)))
    series = F.multiply(log_x * log_x, 0.5 + v * (1 / 3 + v * (1 / 8 + v / 30)))
    exact = F.divide(F.subtract(F.multiply(F.exp(v), log_x), y), lsafe)
    return F.where(small, series, exact)


# boxcox(x, l) = (x^l - 1) / l (log x at l = 0): d/dx = x^(l - 1)
boxcox = _binary(
    "boxcox",
    lambda x, lm, y: F.exp(F.multiply(lm - 1, F.log(x))),
    lambda x, lm, y: _boxcox_dlmbda(F.log(x), lm, y),
    (0.4, 2.0),
    (-1.0, 1.5),
)
boxcox1p = _binary(
    "boxcox1p",
    lambda x, lm, y: F.exp(F.multiply(lm - 1, F.log1p(x))),
    lambda x, lm, y: _boxcox_dlmbda(F.log1p(x), lm, y),
    (0.0, 2.0),
    (-1.0, 1.5),
)


def _inv_boxcox_dlmbda(y: Any, lmbda: Any, out: Any) -> Any:
    """d/dlmbda of (1 + lmbda y)^(1/lmbda) = out * d/dlmbda[log1p(u) / lmbda], u = lmbda y:
    ``(u / (1 + u) - log1p(u)) / lmbda²``, a series in u near 0."""
    u = F.multiply(lmbda, y)
    small, _ = _near(u, 1e-2)
    lsafe = F.where(small, F.ones_like(u), F.add(lmbda, F.zeros_like(u)))
    series = F.multiply(y * y, -0.5 + u * (2 / 3 + u * (-0.75 + u * (0.8 - u * (5 / 6)))))
    exact = F.divide(F.divide(u, 1 + u) - F.log1p(u), lsafe * lsafe)
    return out * F.where(small, series, exact)


# inv_boxcox(y, l) = (1 + l y)^(1/l) (exp(y) at l = 0): d/dy = out / (1 + l y)
inv_boxcox = _binary(
    "inv_boxcox",
    lambda y, lm, out: F.divide(out, 1 + F.multiply(lm, y)),
    lambda y, lm, out: _inv_boxcox_dlmbda(y, lm, out),
    (-1.0, 2.0),
    (0.0, 0.4),
)
inv_boxcox1p = _binary(
    "inv_boxcox1p",
    lambda y, lm, out: F.divide(out + 1, 1 + F.multiply(lm, y)),
    lambda y, lm, out: _inv_boxcox_dlmbda(y, lm, out + 1),
    (-1.0, 2.0),
    (0.0, 0.4),
)

# huber(d, r) = r²/2 for |r| <= d, d (|r| - d/2) beyond
huber = _binary(
    "huber",
    lambda d, r, y: F.where(
        F.less_equal(F.abs(r), d), F.zeros_like(y), F.subtract(F.abs(r), d) + F.zeros_like(y)
    ),
    lambda d, r, y: F.where(
        F.less_equal(F.abs(r), d), F.add(r, F.zeros_like(y)), F.multiply(d, F.sign(r))
    ),
    (0.5, 1.5),
    (-2.0, 2.0),
)


def _pseudo_huber_dd(d: Any, r: Any, y: Any) -> Any:
    s = F.sqrt(1 + F.divide(r, d) ** 2)
    return F.divide(2 * y, d) - F.divide(F.multiply(r, r), F.multiply(d, s))


# pseudo_huber(d, r) = d² (sqrt(1 + (r/d)²) - 1)
pseudo_huber = _binary(
    "pseudo_huber",
    _pseudo_huber_dd,
    lambda d, r, y: F.divide(r, F.sqrt(1 + F.divide(r, d) ** 2)),
    (0.5, 1.5),
    (-2.0, 2.0),
)

# -- parameters, then data: derivatives in the data argument only ---------------------------


def _param_error(name: str, arg: str) -> NoRuleError:
    return NoRuleError(
        f"xpgrad: special.{name} is differentiated with respect to its last argument only; "
        f"its parameter {arg!r} has no derivative rule (none in closed form). Pass {arg!r} "
        f"as a constant: compute it outside the differentiated function, leave it out of "
        f"wrt=, or wrap it in xpgrad.stop_gradient(...) if its derivative may be dropped."
    )


def _as_out(c: Any, out: Any) -> Any:
    """A constant parameter in the output's dtype (an integer count beside a float
    array: array-api-strict refuses mixed kinds in the rules' arithmetic)."""
    if is_scalar(c) or c.dtype == out.dtype:
        return c
    return F.astype(c, out.dtype)


def _dist_pullback(deriv: Callable, args: tuple, out: Any, needs: Sequence[bool], ct: Any) -> tuple:
    g = F.multiply(ct, _partial(deriv, args, out))
    return (*(None for _ in args[:-1]), unbroadcast(g, args[-1]) if needs[-1] else None)


def _partial(deriv: Callable, args: Sequence[Any], out: Any) -> Any:
    """``deriv(*params, x, out)`` in the output's dtype (SciPy's ``xlogy`` of a Python
    number and a float32 array computes in float64)."""
    d = deriv(*(_as_out(c, out) for c in args[:-1]), args[-1], out)
    return d if d.dtype == out.dtype else F.astype(d, out.dtype)


def _dist(
    name: str,
    params: tuple[str, ...],
    deriv: Callable,
    values: Sequence[tuple],
    domain: tuple[float, float],
) -> Primitive:
    """``name(*params, x)``, differentiated in ``x`` with ``deriv(*params, x, out)``.

    ``values``: parameter values of the conformance samples (Python numbers, so
    that the check does not vary them); ``domain``: where ``x`` is drawn.
    """
    p = primitive(name, _impl(name), module="special", export_as=False)
    k = len(params)

    def jvp(primals: list, tangents: list) -> tuple:
        for i in range(k):
            if tangents[i] is not None:
                raise _param_error(name, params[i])
        out = p(*primals)
        t = tangents[k]
        if t is None:
            return out, None
        d = _partial(deriv, primals, out)
        return out, broadcast_tangent(F.multiply(t, d), out.shape)

    def vjp(primals: list, needs: list) -> tuple:
        for i in range(k):
            if needs[i]:
                raise _param_error(name, params[i])
        out = p(*primals)
        return out, partial(_dist_pullback, deriv, tuple(primals), out, tuple(needs))

    def samples(make: Callable) -> list:
        out: list = []
        for vals in values:
            for s in ((), (3,), (2, 3)):
                out.append(((*vals, make(s, *domain)), {}))
        return out

    defrule(
        p,
        jvp=jvp,
        vjp=vjp,
        batch=elementwise_batch(p),
        samples=samples,
        pattern=patterns.elementwise,
    )

    def fn(*args: Any) -> Any:
        if len(args) != k + 1:
            raise TypeError(
                f"xpgrad: special.{name}({', '.join(params)}, x) takes {k + 1} arguments, "
                f"got {len(args)}"
            )
        return p(*args)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``scipy.special.{name}({', '.join(params)}, x)``, differentiated in x."
    export(f"special.{name}", fn)
    return p


def _exp(logd: Any, sign: float = 1.0) -> Any:
    return F.exp(logd) if sign > 0 else F.negative(F.exp(logd))


# the regularised incomplete gamma functions and their inverses (in y)
gammainc = _dist("gammainc", ("a",), lambda a, x, y: _exp(_gamma_logpdf(a, x)),
                 [(0.5,), (2.5,), (30.0,)], (0.5, 3.0))  # fmt: skip
gammaincc = _dist("gammaincc", ("a",), lambda a, x, y: _exp(_gamma_logpdf(a, x), -1),
                  [(0.5,), (2.5,)], (0.5, 3.0))  # fmt: skip
gammaincinv = _dist("gammaincinv", ("a",), lambda a, q, y: _exp(-_gamma_logpdf(a, y)),
                    [(0.8,), (2.5,)], (0.2, 0.8))  # fmt: skip
gammainccinv = _dist("gammainccinv", ("a",), lambda a, q, y: _exp(-_gamma_logpdf(a, y), -1),
                     [(0.8,), (2.5,)], (0.2, 0.8))  # fmt: skip
# gdtr(a, b, x) = gammainc(b, a x): a is the rate, b the shape
gdtr = _dist("gdtr", ("a", "b"), lambda a, b, x, y: F.multiply(a, _exp(_gamma_logpdf(b, F.multiply(a, x)))),
             [(1.5, 2.0), (0.5, 4.0)], (0.5, 3.0))  # fmt: skip
gdtrc = _dist("gdtrc", ("a", "b"), lambda a, b, x, y: F.multiply(-a, _exp(_gamma_logpdf(b, F.multiply(a, x)))),
              [(1.5, 2.0)], (0.5, 3.0))  # fmt: skip

# the regularised incomplete beta function, its complement and inverse
betainc = _dist("betainc", ("a", "b"), lambda a, b, x, y: _exp(_beta_logpdf(a, b, x)),
                [(0.5, 2.0), (2.0, 3.5), (40.0, 25.0)], (0.2, 0.8))  # fmt: skip
betaincc = _dist("betaincc", ("a", "b"), lambda a, b, x, y: _exp(_beta_logpdf(a, b, x), -1),
                 [(2.0, 3.5)], (0.2, 0.8))  # fmt: skip
betaincinv = _dist("betaincinv", ("a", "b"), lambda a, b, q, y: _exp(-_beta_logpdf(a, b, y)),
                   [(2.0, 3.5), (0.8, 1.5)], (0.2, 0.8))  # fmt: skip

# Student's t: stdtr(df, t) and its inverse in p
stdtr = _dist("stdtr", ("df",), lambda df, t, y: _exp(_t_logpdf(df, t)),
              [(1.0,), (4.5,), (1e6,)], (-3.0, 3.0))  # fmt: skip
stdtrit = _dist("stdtrit", ("df",), lambda df, p, y: _exp(-_t_logpdf(df, y)),
                [(2.0,), (7.5,)], (0.2, 0.8))  # fmt: skip

# chi-squared: chdtr(v, x) = gammainc(v/2, x/2); chdtri inverts chdtrc
chdtr = _dist("chdtr", ("v",), lambda v, x, y: 0.5 * _exp(_gamma_logpdf(v / 2, x / 2)),
              [(1.0,), (3.0,), (60.0,)], (0.5, 4.0))  # fmt: skip
chdtrc = _dist("chdtrc", ("v",), lambda v, x, y: -0.5 * _exp(_gamma_logpdf(v / 2, x / 2)),
               [(1.0,), (3.0,)], (0.5, 4.0))  # fmt: skip
chdtri = _dist("chdtri", ("v",), lambda v, p, y: -2 * _exp(-_gamma_logpdf(v / 2, y / 2)),
               [(2.0,), (5.0,)], (0.2, 0.8))  # fmt: skip

# Fisher's F: fdtr(dfn, dfd, x); fdtri inverts fdtr
fdtr = _dist("fdtr", ("dfn", "dfd"), lambda a, b, x, y: _exp(_f_logpdf(a, b, x)),
             [(2.0, 3.0), (5.0, 1e5)], (0.3, 3.0))  # fmt: skip
fdtrc = _dist("fdtrc", ("dfn", "dfd"), lambda a, b, x, y: _exp(_f_logpdf(a, b, x), -1),
              [(2.0, 3.0), (4.0, 7.0)], (0.3, 3.0))  # fmt: skip
fdtri = _dist("fdtri", ("dfn", "dfd"), lambda a, b, p, y: _exp(-_f_logpdf(a, b, y)),
              [(3.0, 6.0)], (0.2, 0.8))  # fmt: skip


# Poisson: pdtr(k, m) = gammaincc(k + 1, m) with k floored; pdtri inverts pdtr in m
def _poisson_logpdf(k: Any, m: Any) -> Any:
    return _gamma_logpdf(_floor(k) + 1, m)


pdtr = _dist("pdtr", ("k",), lambda k, m, y: _exp(_poisson_logpdf(k, m), -1),
             [(0,), (3,)], (0.5, 4.0))  # fmt: skip
pdtrc = _dist("pdtrc", ("k",), lambda k, m, y: _exp(_poisson_logpdf(k, m)),
              [(0,), (3,)], (0.5, 4.0))  # fmt: skip
pdtri = _dist("pdtri", ("k",), lambda k, p, y: _exp(-_poisson_logpdf(k, y), -1),
              [(1,), (4,)], (0.2, 0.8))  # fmt: skip


# binomial: bdtr(k, n, p) = betainc(n - k, k + 1, 1 - p), bdtrc = betainc(k + 1, n - k, p);
# negative binomial: nbdtr(k, n, p) = betainc(n, k + 1, p); counts floored as SciPy does
def _bdtr_dp(k: Any, n: Any, p: Any, sign: float) -> Any:
    """d/dp of bdtr (sign -1) or bdtrc (sign 1): the beta(k + 1, n - k) density at p."""
    k, n = _floor(k), _floor(n)
    return _exp(_beta_logpdf(k + 1, n - k, p), sign)


bdtr = _dist("bdtr", ("k", "n"), lambda k, n, p, y: _bdtr_dp(k, n, p, -1),
             [(1, 5), (3, 4)], (0.2, 0.8))  # fmt: skip
bdtrc = _dist("bdtrc", ("k", "n"), lambda k, n, p, y: _bdtr_dp(k, n, p, 1),
              [(1, 5), (0, 3)], (0.2, 0.8))  # fmt: skip
bdtri = _dist("bdtri", ("k", "n"), lambda k, n, q, y: -1 / _bdtr_dp(k, n, y, 1),
              [(1, 5), (2, 6)], (0.2, 0.8))  # fmt: skip


def _nbinom_logpdf(k: Any, n: Any, p: Any) -> Any:
    return _beta_logpdf(_floor(n), _floor(k) + 1, p)


nbdtr = _dist("nbdtr", ("k", "n"), lambda k, n, p, y: _exp(_nbinom_logpdf(k, n, p)),
              [(1, 5), (3, 2)], (0.2, 0.8))  # fmt: skip
nbdtrc = _dist("nbdtrc", ("k", "n"), lambda k, n, p, y: _exp(_nbinom_logpdf(k, n, p), -1),
               [(1, 5)], (0.2, 0.8))  # fmt: skip
nbdtri = _dist("nbdtri", ("k", "n"), lambda k, n, q, y: _exp(-_nbinom_logpdf(k, n, y)),
               [(1, 5), (2, 3)], (0.2, 0.8))  # fmt: skip


# functions of an order and x: E_n' = -E_{n-1} (E_0(x) = e^-x / x),
# Y_n' = (Y_{n-1} - Y_{n+1}) / 2
def _expn_deriv(n: Any, x: Any, y: Any) -> Any:
    if is_scalar(n):
        if n >= 1:
            return F.negative(expn_p(n - 1, x))
        return F.negative(F.divide(F.exp(-x), x) * (1 + F.divide(1.0, x)))
    e0 = F.divide(F.exp(-x), x)
    lower = expn_p(F.where(n >= 1, n - 1, F.zeros_like(n)), x)
    return F.negative(F.where(n >= 1, lower, e0 * (1 + F.divide(1.0, x))))


expn_p: Primitive = _dist("expn", ("n",), _expn_deriv, [(0,), (1,), (3,)], (0.5, 3.0))
yn_p: Primitive = _dist("yn", ("n",), lambda n, x, y: (yn_p(n - 1, x) - yn_p(n + 1, x)) / 2,
             [(0,), (2,)], (0.5, 5.0))  # fmt: skip
# the confluent hypergeometric function: d/dx 1F1(a; b; x) = (a / b) 1F1(a + 1; b + 1; x)
hyp1f1_p: Primitive = _dist("hyp1f1", ("a", "b"), lambda a, b, x, y: F.multiply(a / b, hyp1f1_p(a + 1, b + 1, x)),
                 [(1.5, 2.5), (0.5, 3.0)], (-1.5, 1.5))  # fmt: skip
# associated Legendre functions: (x² - 1) dP/dx = v x P_v^m - (v + m) P_{v-1}^m
lpmv_p: Primitive = _dist(
    "lpmv",
    ("m", "v"),
    lambda m, v, x, y: F.divide(
        F.multiply(v, x * y) - F.multiply(v + m, lpmv_p(m, v - 1, x)), x * x - 1
    ),
    [(1, 2), (0, 3), (2, 3.5)],
    (-0.8, 0.8),
)

# -- functions composed of the rules above ------------------------------------------------


def _multigammaln_domain(a: Any, d: int) -> None:
    """SciPy's check that ``a > (d - 1) / 2`` everywhere (below, ``gammaln`` of a
    negative argument would give a number where SciPy raises), on the value under
    the tracers. A lazy value (Dask) is not computed for it; under ``jit`` the
    staging call's value is checked, as SciPy checks each call's."""
    v = raw(a)
    bound = 0.5 * (d - 1)
    if is_scalar(v):
        bad = v <= bound
    elif backends.is_lazy(v):
        return
    else:
        bad = bool(backends.namespace_of(v).any(v <= bound))
    if bad:
        raise ValueError(
            f"xpgrad: special.multigammaln(a, d) needs a > (d - 1) / 2 = {bound} everywhere "
            f"(as SciPy requires), got values of a at or below it"
        )


def multigammaln(a: Any, d: Any) -> Any:
    """``scipy.special.multigammaln(a, d)``: the log of the multivariate gamma function.

    ``log Gamma_d(a) = d (d-1)/4 log(pi) + sum_{j<d} gammaln(a - j/2)``; ``d`` is a
    positive integer (a Python int), derivatives are taken with respect to ``a``.
    """
    if isinstance(d, Tracer) or (not is_scalar(d) and len(getattr(d, "shape", (1,))) != 0):
        raise TypeError(
            "xpgrad: special.multigammaln's dimension d must be a Python int (it cannot be "
            "traced); derivatives are taken with respect to a only"
        )
    dd = int(d)
    if dd != d or dd < 1:
        raise ValueError(f"xpgrad: special.multigammaln's d must be a positive integer, got {d!r}")
    _multigammaln_domain(a, dd)
    out = F.special_gammaln(a)
    for j in range(1, dd):
        out = out + F.special_gammaln(a - j / 2)
    return out + dd * (dd - 1) / 4 * math.log(_PI)


_P64800 = _PI / 648000.0  # one second of arc in radians


def radian(d: Any, m: Any, s: Any) -> Any:
    """``scipy.special.radian(d, m, s)``: degrees, arc minutes and seconds in radians."""
    return F.multiply(F.add(F.multiply(F.add(F.multiply(d, 60.0), m), 60.0), s), _P64800)


export("special.multigammaln", multigammaln)
export("special.radian", radian)

# -- the Riemann and Hurwitz zeta functions ------------------------------------------------

#: ``B_2j / (2j)!`` for j = 1 .. 8: the Euler-Maclaurin corrections of ``_zeta_dx``
_EM_COEF = tuple(
    b / math.factorial(2 * j)
    for j, b in enumerate(
        (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510), start=1
    )
)
#: Terms of the series summed one by one before the Euler-Maclaurin tail
_EM_TERMS = 10


def _zeta_dx(x: Any, q: Any) -> Any:
    """``d/dx zeta(x, q) = -sum_k log(k + q) (k + q)^-x``, which has no closed form.

    Euler-Maclaurin summation of ``zeta(x, q) = sum_k (k + q)^-x``, differentiated
    term by term in ``x``: ten terms summed, then the tail ``w^(1-x) / (x - 1) +
    w^-x / 2 + sum_j B_2j / (2j)! x (x+1) ... (x+2j-2) w^(-x-2j+1)`` at ``w = q +
    10``, eight corrections. The neglected remainder is below 1e-19 of the result
    for ``x > 1`` and ``q >= 0.5``, and the formula is the analytic continuation
    to ``x < 1`` (Riemann's zeta, ``q = 1``): within 4e-14 of mpmath down to
    ``x = -1``, where ``_riemann_dx`` hands over to the functional equation.
    Traced calls throughout, so it differentiates again, in ``x`` and ``q``.
    """
    total = None
    for k in range(_EM_TERMS):
        lk = _log(q + k)
        term = lk * F.exp(-x * lk)
        total = -term if total is None else total - term
    w = q + _EM_TERMS
    lw = _log(w)
    wx = F.exp(-x * lw)  # w^-x
    xm1 = x - 1.0
    total = total + (wx * w) * (-(lw / xm1) - 1.0 / (xm1 * xm1))  # d/dx w^(1-x) / (x-1)
    total = total - (0.5 * lw) * wx  # d/dx w^-x / 2
    poly, dpoly = x, F.ones_like(x)  # x (x+1) ... (x+2j-2) and its derivative
    wpow = wx / w  # w^(-x-2j+1)
    for j, c in enumerate(_EM_COEF, start=1):
        total = total + c * wpow * (dpoly - lw * poly)
        a1, a2 = x + (2 * j - 1), x + 2 * j
        dpoly = dpoly * a1 * a2 + poly * (a1 + a2)
        poly = poly * a1 * a2
        wpow = wpow / (w * w)
    return total


_LOG_2PI = math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)


def _riemann_dx(x: Any) -> Any:
    """``d/dx`` of Riemann's zeta: ``_zeta_dx(x, 1)`` for ``x >= -1``; below, where
    Euler-Maclaurin loses digits to cancellation (1e-3 at ``x = -9.5``), the
    derivative of the functional equation ``zeta(x) = chi(x) zeta(1 - x)``, with
    ``chi(x) = (2 pi)^x / pi sin(pi x / 2) Gamma(1 - x)``, written without
    ``cot`` so that the trivial zeros (``sin = 0``) need no limit:

    ``(2 pi)^x / pi Gamma(1 - x) [(sin (log 2 pi - psi(1 - x)) + pi/2 cos)
    zeta(1 - x) - sin zeta'(1 - x)]``, the sine and cosine of ``pi x / 2``.

    Each branch gets a harmless stand-in where the other is used, so that no
    infinity of the unused branch turns into a NaN in a second derivative.
    """
    left = x < -1.0
    em = _zeta_dx(F.where(left, _fill(x, 2.0), x), 1.0)
    s = F.where(left, x, _fill(x, -2.0))
    u = 1.0 - s
    half = (0.5 * _PI) * s
    sn, cs = F.sin(half), F.cos(half)
    scale = F.exp(s * _LOG_2PI - _LOG_PI + F.special_gammaln(u))
    inner = (sn * (_LOG_2PI - F.special_digamma(u)) + (0.5 * _PI) * cs) * _riemann(u)
    refl = scale * (inner - sn * _zeta_dx(u, 1.0))
    return F.where(left, refl, em)


_hurwitz_impl = _impl("zeta")


def _riemann_impl(x: Any) -> Any:
    """SciPy's ``zeta(x)`` (Riemann's, continued to ``x < 1``); a backend whose
    ``zeta`` takes ``q`` always (``torch.special.zeta``) gets ``zeta(x, 1)``, which
    agrees for ``x > 1`` and is NaN below, as that backend itself gives."""
    try:
        return _hurwitz_impl(x)
    except TypeError:
        return _hurwitz_impl(x, backends.namespace_of(x).ones_like(x))


# zeta(x, q) = sum_k (k + q)^-x: d/dq = -x zeta(x + 1, q)
# (SciPy's Hurwitz zeta is NaN for x < 1: so is its derivative)
_hurwitz: Callable = binary(
    "special.hurwitz_zeta",
    lambda x, q, y: F.where(F.isnan(y), y, _zeta_dx(x, q)),
    lambda x, q, y: -x * _hurwitz(x + 1.0, q),
    impl=_hurwitz_impl,
    samples=_pairs((1.5, 4.0), (0.5, 3.0)),
    export_as=False,
).fast
_riemann: Callable = unary(
    "riemann_zeta",
    lambda x, y: _riemann_dx(x),
    domain=(1.5, 4.0),  # (torch.special.zeta is Hurwitz's only: NaN below 1)
    impl=_riemann_impl,
    module="special",
    export_as=False,
).fast
zetac = _unary("zetac", lambda x, y: _riemann_dx(x), domain=(-4.0, 4.0))


def zeta(x: Any, q: Any = None, out: Any = None) -> Any:
    """``scipy.special.zeta(x, q=None)``: Riemann's zeta, or Hurwitz's with ``q``.

    Differentiated in both arguments: in ``q`` by ``-x zeta(x + 1, q)``, in ``x``
    by Euler-Maclaurin summation (``_zeta_dx``), which has no closed form.
    """
    if out is not None:
        raise TypeError("xpgrad: special.zeta(..., out=) is not supported; use the result")
    return _riemann(x) if q is None else _hurwitz(x, q)


export("special.zeta", zeta)
_special.BACKEND_NAME.update(riemann_zeta="zeta", hurwitz_zeta="zeta")


#: The special functions this module adds to ``xp.special``, by SciPy's names.
DIST_NAMES = (
    "erfcx", "exprel", "exp2", "exp10", "cbrt", "cosm1", "sinc", "cosdg", "sindg", "tandg",
    "cotdg", "ellipk", "ellipe", "ellipkm1", "exp1", "expi", "j0", "j1", "y0", "y1", "k0",
    "k1", "k0e", "k1e", "rgamma", "loggamma", "spence", "gammasgn", "betaln", "binom",
    "poch", "boxcox", "boxcox1p", "inv_boxcox", "inv_boxcox1p", "huber", "pseudo_huber",
    "gammainc", "gammaincc", "gammaincinv", "gammainccinv", "gdtr", "gdtrc", "betainc",
    "betaincc", "betaincinv", "stdtr", "stdtrit", "chdtr", "chdtrc", "chdtri", "fdtr",
    "fdtrc", "fdtri", "pdtr", "pdtrc", "pdtri", "bdtr", "bdtrc", "bdtri", "nbdtr", "nbdtrc",
    "nbdtri", "expn", "yn", "hyp1f1", "lpmv", "multigammaln", "radian", "zeta", "zetac",
)  # fmt: skip
