"""The ``special`` extension: SciPy's special functions, with derivative rules.

The standard has no special functions, but SciPy looks up
``xp.special.<name>`` on a namespace it does not know (its
``_support_alternative_backends``), so offering them makes ``scipy.special.erf``
and friends differentiable on tracers. The primals come from the backend
adapters' ``special(name)`` hook (``scipy.special`` for NumPy, Dask and
array-api-strict, ``torch.special``, ``cupyx.scipy.special``); the traced
namespace has a ``special`` attribute only over a backend with that hook, and
only the functions it offers (:func:`special_namespace`).

Every derivative is written with these same primitives (and the standard's),
so derivatives of every order come free: ``digamma``'s is ``polygamma(1, .)``,
``polygamma(n, .)``'s is ``polygamma(n + 1, .)``, ``i0``'s is ``i1``. Where a
formula divides by ``x`` (``i1``, ``i1e``), its limit at ``x = 0`` is taken
for the first derivative, and the second derivative there (zero, as both
functions' first derivatives are even) comes from the constant branch; third
and higher derivatives at exactly ``x = 0`` are not exact.

Domains (where the conformance suite samples): ``gammaln``, ``digamma`` and
``polygamma`` on ``(0.5, 3)``, away from their poles; ``logit`` on
``(0.25, 0.75)``; ``entr`` and ``y`` of ``xlogy`` on positive values (the
batching check moves samples by up to 0.2).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .. import backends
from .._core.tables import EXTENSIONS
from .._core.trace import Tracer
from ._registry import (
    F,
    binary,
    defrule,
    elementwise_batch,
    export,
    is_scalar,
    patterns,
    primitive,
    unary,
)

__all__ = ["BACKEND_NAME", "SPECIAL_NAMES", "special_namespace", "special_impl", "polygamma"]

_SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def special_impl(name: str, static: Callable | None = None) -> Callable:
    """The primal: the adapter's ``special(name)``, looked up once per array type.

    ``static(params)``: leading arguments taken from the parameters
    (``polygamma``'s order ``n``), passed before the arrays as SciPy takes them.
    The result keeps the arguments' floating dtype: several SciPy functions have
    float64 loops only (``polygamma``; ``gammainc`` of a Python float and a
    float32 array). Python numbers go to a backend that takes tensors only
    (``torch.special``) as arrays of the first array's dtype.
    """
    cache: dict[type, Callable] = {}

    def impl(*args: Any, **params: Any) -> Any:
        arrays = [a for a in args if not is_scalar(a)]
        if not arrays:
            raise TypeError(f"xpgrad: special.{name} needs at least one array argument")
        x = arrays[0]
        fn = cache.get(type(x))
        if fn is None:
            fn = cache[type(x)] = backends.special(x, name)
        xp = backends.namespace_of(x)
        lead = static(params) if static is not None else ()
        try:
            out = fn(*lead, *args)
        except TypeError:  # torch.special takes tensors only: Python numbers as x's dtype
            args = tuple(xp.asarray(a, dtype=x.dtype) if is_scalar(a) else a for a in args)
            out = fn(*lead, *args)
        try:
            want = xp.result_type(*arrays)
        except TypeError:  # mixed kinds (an integer count beside a float array)
            return out
        if out.dtype != want and xp.isdtype(want, "real floating"):
            out = xp.astype(out, want)
        return out

    impl.__name__ = f"{name}_impl"
    return impl


def _special_unary(
    name: str, deriv: Callable, domain: tuple = (-2.0, 2.0), uses_x: bool = True
) -> Callable:
    p = unary(name, deriv, uses_x=uses_x, domain=domain, impl=special_impl(name), module="special")
    return p.fast


def _xlogy_samples(make: Callable) -> list:
    """``x`` of either sign, ``y`` positive (``log(y)``), with broadcasting pairs."""
    out: list = []
    for xs, ys in (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3))):
        out.append(((make(xs, -2.0, 2.0), make(ys, 0.4, 2.0)), {}))
    return out


# -- the error function and the normal distribution -----------------------------------

erf = _special_unary("erf", lambda x, y: _SQRT_2_OVER_PI * F.exp(-(x * x)))
erfc = _special_unary("erfc", lambda x, y: -_SQRT_2_OVER_PI * F.exp(-(x * x)))
ndtr = _special_unary("ndtr", lambda x, y: _INV_SQRT_2PI * F.exp(-0.5 * (x * x)))
# d log(ndtr(x)) = pdf(x) / ndtr(x), as exp(log pdf - log ndtr): no underflow far left
log_ndtr = _special_unary(
    "log_ndtr", lambda x, y: _INV_SQRT_2PI * F.exp(-0.5 * (x * x) - y), domain=(-4.0, 2.0)
)

# inverses: d f^-1(x) = 1 / f'(f^-1(x)), written with the output
erfinv = _special_unary(
    "erfinv",
    lambda x, y: (0.5 * math.sqrt(math.pi)) * F.exp(y * y),
    domain=(-0.7, 0.7),
    uses_x=False,
)
ndtri = _special_unary(
    "ndtri",
    lambda x, y: math.sqrt(2.0 * math.pi) * F.exp(0.5 * (y * y)),
    domain=(0.25, 0.75),
    uses_x=False,
)

# -- the logistic function and its inverse ---------------------------------------------

expit = _special_unary("expit", lambda x, y: y * (1 - y), uses_x=False)
logit = _special_unary("logit", lambda x, y: 1 / (x * (1 - x)), domain=(0.25, 0.75))

# -- x log y and entropy -----------------------------------------------------------------

# binary() has no ``module=``: the extension's key, "special.<name>", is the name itself
xlogy = binary(
    "special.xlogy",
    lambda x, y, out: F.log(y),
    lambda x, y, out: F.divide(x, y),
    impl=special_impl("xlogy"),
    samples=_xlogy_samples,
).fast
xlog1py = binary(
    "special.xlog1py",
    lambda x, y, out: F.log1p(y),
    lambda x, y, out: F.divide(x, 1 + y),
    impl=special_impl("xlog1py"),
    samples=_xlogy_samples,
).fast


def _positive_pairs(make: Callable) -> list:
    """Both arguments positive (``log(x / y)``), with broadcasting pairs."""
    shapes = (((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)))
    return [((make(xs, 0.4, 2.0), make(ys, 0.4, 2.0)), {}) for xs, ys in shapes]


# rel_entr(x, y) = x log(x / y) and kl_div(x, y) = x log(x / y) - x + y, for x, y > 0
rel_entr = binary(
    "special.rel_entr",
    lambda x, y, out: F.log(F.divide(x, y)) + 1,
    lambda x, y, out: -F.divide(x, y),
    impl=special_impl("rel_entr"),
    samples=_positive_pairs,
).fast
kl_div = binary(
    "special.kl_div",
    lambda x, y, out: F.log(F.divide(x, y)),
    lambda x, y, out: 1 - F.divide(x, y),
    impl=special_impl("kl_div"),
    samples=_positive_pairs,
).fast
# entr(x) = -x log x for x > 0
entr = _special_unary("entr", lambda x, y: -(F.log(x) + 1), domain=(0.3, 3.0))

# -- the gamma function's logarithm and its derivatives --------------------------------

polygamma_p = primitive(
    "polygamma",
    special_impl("polygamma", lambda params: (params["n"],)),
    module="special",
    export_as=False,
)


def _polygamma_jvp(primals: list, tangents: list, *, n: int) -> tuple:
    x = primals[0]
    return polygamma_p(x, n=n), F.multiply(tangents[0], polygamma_p(x, n=n + 1))


def _polygamma_pullback(x: Any, n: int, ct: Any) -> tuple:
    return (F.multiply(ct, polygamma_p(x, n=n + 1)),)


def _polygamma_vjp(primals: list, needs: list, *, n: int) -> tuple:
    x = primals[0]
    return polygamma_p(x, n=n), lambda ct: _polygamma_pullback(x, n, ct)


def _polygamma_samples(make: Callable) -> list:
    return [((make(s, 0.5, 3.0),), {"n": n}) for n in (0, 1, 2) for s in ((), (3,), (2, 3))]


defrule(
    polygamma_p,
    jvp=_polygamma_jvp,
    vjp=_polygamma_vjp,
    batch=elementwise_batch(polygamma_p),
    pattern=patterns.elementwise,
    samples=_polygamma_samples,
)


def polygamma(n: Any, x: Any, /) -> Any:
    """``scipy.special.polygamma(n, x)``: the ``n``-th derivative of ``digamma``.

    ``n`` is a non-negative integer (a Python int, or a concrete 0-d integer
    array); derivatives are taken with respect to ``x`` only.
    """
    n = _order(n)
    return polygamma_p(x, n=n)


def _order(n: Any) -> int:
    if isinstance(n, Tracer):
        raise TypeError(
            "xpgrad: special.polygamma's order n cannot be traced; pass a Python int "
            "(the derivative is taken with respect to x only)"
        )
    try:
        k = int(n) if is_scalar(n) or len(getattr(n, "shape", ())) == 0 else None
    except TypeError:
        k = None
    if k is None or k != n or k < 0:
        raise ValueError(
            f"xpgrad: special.polygamma's order n must be a non-negative integer "
            f"(a Python int or a 0-d integer array), got {n!r}"
        )
    return k


export("special.polygamma", polygamma)

gammaln = _special_unary("gammaln", lambda x, y: polygamma_p(x, n=0), domain=(0.5, 3.0))
digamma = _special_unary("digamma", lambda x, y: polygamma_p(x, n=1), domain=(0.5, 3.0))
gamma = _special_unary("gamma", lambda x, y: y * polygamma_p(x, n=0), domain=(0.5, 3.0))
# SciPy's own name for digamma, which its alternative-backend dispatch looks up
export("special.psi", digamma)

# -- modified Bessel functions of the first kind ------------------------------------------


def _safe(x: Any) -> Any:
    """``x`` with its zeros replaced by ones, for a quotient whose limit at 0 is taken apart."""
    return F.where(x == 0, F.ones_like(x), x)


# sign(x) is a constant (no derivative): multiply through the primitive, which
# accepts a constant of the backend on either side (array-api-strict's operators do not)
i0e = _special_unary("i0e", lambda x, y: F.special_i1e(x) - F.multiply(y, F.sign(x)))
# i1e(x) = exp(-|x|) i1(x): d = i0e - i1e / x - sign(x) i1e, with limit 1/2 at 0
i1e = _special_unary(
    "i1e",
    lambda x, y: F.where(
        x == 0, 0.5 * F.ones_like(y), i0e(x) - F.divide(y, _safe(x)) - F.multiply(y, F.sign(x))
    ),
)
i0 = _special_unary("i0", lambda x, y: F.special_i1(x))
# i1' = i0 - i1 / x, with limit 1/2 at 0
i1 = _special_unary(
    "i1", lambda x, y: F.where(x == 0, 0.5 * F.ones_like(y), i0(x) - F.divide(y, _safe(x)))
)

#: The special functions xpgrad differentiates, by the names ``xp.special`` gives them.
SPECIAL_NAMES = (
    "erf", "erfc", "erfinv", "ndtr", "ndtri", "log_ndtr", "expit", "logit", "xlogy",
    "xlog1py", "entr", "rel_entr", "kl_div", "gamma", "gammaln", "digamma", "psi",
    "polygamma", "i0", "i1", "i0e", "i1e",
)  # fmt: skip

#: Names whose backend function has another name: SciPy's aliases (``psi``) and
#: primitives that a SciPy function dispatches to (``zeta(x)`` is
#: ``riemann_zeta``). The conformance suite asks the adapters by these too.
BACKEND_NAME = {"psi": "digamma"}


class SpecialNamespace:
    """``xp.special`` of a traced namespace: the functions its backend offers.

    A function the backend lacks raises ``AttributeError`` naming the backend and
    the function (so ``getattr(xp.special, name, None)``, as SciPy does, still
    falls back quietly).
    """

    def __init__(self, backend: str, fns: dict[str, Callable], missing: tuple):
        self.__dict__.update(fns)
        self._backend = backend
        self._missing = missing

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._missing:
            raise AttributeError(
                f"xpgrad: special.{name} is not available over the {self._backend!r} "
                f"backend (its adapter's `special` hook does not provide it)"
            )
        known = sorted([k for k in vars(self) if not k.startswith("_")] + list(self._missing))
        raise AttributeError(
            f"xpgrad: special.{name} has no derivative rule in xpgrad; the {len(known)} "
            f"special functions it differentiates are {', '.join(known)}. Declare a rule "
            f"for it with xpgrad.extend (see docs/rules.md)"
        )

    def __repr__(self) -> str:
        return f"<xpgrad special functions over {self._backend!r}>"


def special_namespace(xp: Any, fns: dict[str, Callable]) -> SpecialNamespace | None:
    """The ``special`` extension of the traced namespace over ``xp``, or None.

    ``fns``: the exported special functions by name. Only those whose backend
    function the adapter provides are offered; None if it provides none.
    """
    ad = backends.special_adapter(xp)
    hook = getattr(ad, "special", None) if ad is not None else None
    if ad is None or hook is None:
        return None
    have = {}
    missing = []
    for name, fn in fns.items():
        if name.startswith("_"):  # the container's own attributes (``__name__``)
            continue
        if hook(BACKEND_NAME.get(name, name)) is not None:
            have[name] = fn
        else:
            missing.append(name)
    if not have:
        return None
    return SpecialNamespace(ad.name, have, tuple(missing))


EXTENSIONS["special"] = special_namespace
