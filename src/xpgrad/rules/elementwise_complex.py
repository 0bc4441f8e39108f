"""Elementwise functions that are not holomorphic: abs, sign, conj, real, imag.

The engine's complex convention (JAX's) pairs a cotangent ``ct`` with a tangent
``dz`` as ``Re(ct * dz)``, with no conjugation, and a pullback is the transpose
of the pushforward under that pairing. A holomorphic function's rule
``ct * f'(z)`` needs nothing more (``elementwise``); these five are only
real-linear or real-differentiable in ``z``, so each states its own:

- ``abs``: ``d|z| = Re(conj(z) dz) / |z|``, so the pullback is ``ct * conj(z) / |z|``
  (0 at ``z = 0``; ``sign(x)`` for real ``x``).
- ``sign``: ``sign(z) = z / |z|`` moves with ``z`` (a zero derivative only on
  reals): ``d sign = (dz - s Re(conj(s) dz)) / |z|``.
- ``conj``, ``real``, ``imag``: real-linear; ``real``'s transpose is
  ``ct + 0j``, ``imag``'s is ``-1j * ct``, ``conj``'s is ``conj``.

So ``gradient`` of a real-valued ``L(z)`` returns ``dL/dx - 1j * dL/dy``, the
conjugate of PyTorch's ``z.grad`` and the same as ``jax.grad``.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import raw as _raw
from ._registry import (
    F,
    complex_ok,
    defrule,
    elementwise_batch,
    linear,
    patterns,
    primitive,
    shapes_samples,
    xp_of,
)


# -- abs and sign: not holomorphic on complex inputs ---------------------------------
def _is_complex(x: Any) -> bool:
    return xp_of(_raw(x)).isdtype(x.dtype, "complex floating")


def _safe(r: Any) -> Any:
    """``r`` with zeros replaced by ones, to divide by where the result is masked anyway."""
    return F.where(F.equal(r, 0), F.ones_like(r), r)


abs_ = primitive("abs", nargs=1)


def _abs_partial(x: Any, out: Any) -> Any:
    # real x: sign(x), 0 at 0 (the subgradient JAX and PyTorch use).
    # complex z: d|z| = Re(conj(z) dz) / |z|, so the partial is conj(z) / |z| (0 at 0).
    if _is_complex(x):
        return F.divide(F.conj(x), _safe(out))
    return F.sign(x)


def _abs_jvp(primals: list, tangents: list) -> tuple:
    x, t = primals[0], tangents[0]
    out = abs_(x)
    dt = F.multiply(t, _abs_partial(x, out))
    return out, F.real(dt) if _is_complex(x) else dt


def _abs_vjp(primals: list, needs: list) -> tuple:
    x = primals[0]
    out = abs_(x)

    def abs_pullback(ct: Any) -> tuple:
        return (F.multiply(ct, _abs_partial(x, out)),)

    return out, abs_pullback


defrule(
    abs_,
    jvp=_abs_jvp,
    vjp=_abs_vjp,
    batch=elementwise_batch(abs_),
    pattern=patterns.elementwise,
    samples=shapes_samples(1, (0.2, 2.0)),
)

# sign is piecewise constant on reals (no derivative), but sign(z) = z / |z| moves
# with z on complex inputs: d sign = (dz - s Re(conj(s) dz)) / |z|.
sign = primitive("sign", nargs=1)


def _sign_jvp(primals: list, tangents: list) -> tuple:
    x, t = primals[0], tangents[0]
    s = sign(x)
    if not _is_complex(x):
        return s, None
    r = _safe(abs_(x))
    return s, F.divide(F.subtract(t, F.multiply(s, F.real(F.multiply(F.conj(s), t)))), r)


def _sign_vjp(primals: list, needs: list) -> tuple:
    x = primals[0]
    s = sign(x)
    if not _is_complex(x):
        return s, lambda ct: (None,)
    r = _safe(abs_(x))

    def sign_pullback(ct: Any) -> tuple:
        u = F.divide(ct, r)
        return (F.subtract(u, F.multiply(F.real(F.multiply(u, s)), F.conj(s))),)

    return s, sign_pullback


def _sign_samples(make: Any) -> list:
    # away from 0 (where sign jumps); complex values come from the complex pass
    return [
        ((make((3,), 0.3, 2.0),), {}),
        ((make((2, 3), 0.3, 2.0),), {}),
        ((make((3,), 0.3, 2.0) + 1j * make((3,), -2.0, 2.0),), {}),
    ]


defrule(
    sign,
    jvp=_sign_jvp,
    vjp=_sign_vjp,
    batch=elementwise_batch(sign),
    pattern=patterns.elementwise,
    samples=_sign_samples,
)


_conj = linear("conj", lambda ct, x: F.conj(ct), nargs=1)
_real = linear(
    "real",
    lambda ct, x: F.astype(ct, x.dtype) if ct.dtype != x.dtype else ct,
    nargs=1,
)
# imag(z) pairs with cotangent ct as Re(ct * imag(dz)) = Re(-1j * ct * dz)
_imag = linear("imag", lambda ct, x: F.multiply(F.astype(ct, x.dtype), -1j), nargs=1)
for _p in (_conj, _real):
    defrule(
        _p, batch=elementwise_batch(_p), pattern=patterns.elementwise, samples=shapes_samples(1)
    )
# imag takes complex inputs only (the standard's and array-api-strict's rule)
defrule(
    _imag,
    batch=elementwise_batch(_imag),
    pattern=patterns.elementwise,
    samples=lambda make: [((make(s) + 1j * make(s),), {}) for s in ((), (3,), (2, 3))],
)


complex_ok("abs", "sign", "conj", "real")
