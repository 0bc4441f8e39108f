"""Norms: vector_norm and matrix_norm, every ``ord`` of the standard.

A norm's derivative is a weight array ``G`` shaped like the input, with
``d norm = sum(G * dx)`` over the reduced axes. Conventions where a norm is not
differentiable:

- at zero (ord 2, ``"fro"``, and ``p``-norms with ``p >= 1``) the derivative is 0,
  a subgradient, as in PyTorch (not NaN);
- ``1``/``inf`` norms and ``abs`` give 0 for zero entries (a subgradient);
- a ``p``-norm with ``p < 0`` is 0 as soon as one entry is 0: every partial is
  then 0 (the other entries' are 0 in the limit, as JAX gives; the zero entry's
  is a kink, 0 as for ``abs``, where JAX gives NaN);
- ties in a max or min (``inf``, ``-inf``, matrix ``1``, ``-1``, ``inf``, ``-inf``, ``2``,
  ``-2``) share the derivative evenly, like the rules of ``max`` and ``min``; for
  ``2``/``-2`` that is the average over the tied singular pairs, which does not
  depend on the basis the SVD chose;
- ``ord=0`` (the number of nonzero entries) is piecewise constant: no derivative.

Complex input: every norm is a function of the moduli ``|x|`` (or, for
``"nuc"``, ``2``, ``-2``, of the singular values), so ``d norm = Re(sum(G * dx))``
with ``G`` the conjugate of the real formula's weights: ``conj(x) / norm`` for
the 2-norm and ``"fro"``, ``conj(sign(x))`` (``sign(z) = z / |z|``) in place of
``sign(x)``, ``conj(U) diag(w) conj(Vh)`` in place of ``U diag(w) Vh``. The
tangent is real, like the norm; the pullback ``ct * G`` is the transpose of
that pushforward in the engine's convention (``Re(sum(a * b))``, no
conjugation), so ``gradient`` of ``vector_norm(z)`` is ``conj(z) / norm``
(JAX's ``grad``; PyTorch's ``z.grad`` is its conjugate, ``z / norm``).
"""

from __future__ import annotations

import math
from typing import Any

from . import patterns_linalg as plinalg
from ._axes import kept_shape, normalize_axes, shift_axis
from ._matrix import cj, col, extremum_weights, is_complex, linalg_impl, safe_denominator
from ._registry import (
    F,
    complex_ok,
    defrule,
    export,
    patterns,
    primitive,
)
from .elementwise import multiply
from .linalg_spectral import svd_p

mul = multiply

# -- vector_norm ---------------------------------------------------------------------------------
vector_norm_p = primitive(
    "vector_norm", linalg_impl("vector_norm"), module="linalg", export_as=False
)


def _vector_weights(x: Any, nk: Any, axis: Any, ord: Any) -> Any:
    """``d norm / d x`` (None for ord 0); ``nk`` is the norm with the reduced axes kept."""
    if ord == 2:
        return F.divide(x, safe_denominator(nk))
    if ord == 1:
        return F.sign(x)
    if ord == math.inf or ord == -math.inf:
        return mul(F.sign(x), extremum_weights(F.abs(x), axis, ord > 0))
    if ord == 0:
        return None
    # (sum |x|^p)^(1/p): sign(x) (|x| / norm)^(p - 1)
    w = mul(F.sign(x), F.pow(F.divide(F.abs(x), safe_denominator(nk)), float(ord) - 1.0))
    if ord < 0:
        # one zero entry makes a negative-p norm 0 whatever the others are: their
        # partials are 0 (JAX's values); the zero entry's is a kink, 0 like abs's
        w = F.where(F.equal(nk, F.zeros_like(nk)), F.zeros_like(w), w)
    return w


def _real_pairing(w: Any, t: Any, axis: Any, keepdims: bool) -> Any:
    """``Re(sum(w * t))`` over the reduced axes: a norm's tangent (real, like the norm)."""
    d = F.sum(mul(w, t), axis=axis, keepdims=keepdims)
    return F.real(d) if is_complex(d) else d


def _kept(out: Any, shape: tuple, axis: Any, keepdims: bool) -> Any:
    if keepdims:
        return out
    return F.reshape(out, kept_shape(shape, normalize_axes(axis, len(shape))))


def _vector_norm_jvp(
    primals: list, tangents: list, axis: Any = None, keepdims: bool = False, ord: Any = 2
) -> tuple:
    x, t = primals[0], tangents[0]
    out = vector_norm_p(x, axis=axis, keepdims=keepdims, ord=ord)
    w = _vector_weights(x, _kept(out, tuple(x.shape), axis, keepdims), axis, ord)
    if w is None:
        return out, None
    return out, _real_pairing(cj(w), t, axis, keepdims)


def _vector_norm_vjp(
    primals: list, needs: list, axis: Any = None, keepdims: bool = False, ord: Any = 2
) -> tuple:
    x = primals[0]
    shape = tuple(x.shape)
    out = vector_norm_p(x, axis=axis, keepdims=keepdims, ord=ord)

    def vector_norm_pullback(ct: Any) -> tuple:
        w = _vector_weights(x, _kept(out, shape, axis, keepdims), axis, ord)
        if w is None:
            return (None,)
        return (mul(_kept(ct, shape, axis, keepdims), cj(w)),)

    return out, vector_norm_pullback


def _vector_norm_batch(args: list, batched: list, axis: Any = None, **params: Any) -> tuple:
    x = args[0]
    return vector_norm_p(x, axis=shift_axis(axis, x.ndim - 1), **params), True


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """``xp.linalg.vector_norm``; at zero the derivative of the 2-norm is 0 (a subgradient).

    >>> import numpy as np, xpgrad
    >>> xpgrad.gradient(lambda v: v.__array_namespace__().linalg.vector_norm(v),
    ...                 np.array([3.0, 4.0]))[0]
    array([0.6, 0.8])
    """
    if isinstance(axis, list):
        axis = tuple(axis)
    return vector_norm_p(x, axis=axis, keepdims=keepdims, ord=ord)


def _vector_norm_samples(make: Any) -> list:
    out: list = [((make((4,)),), {"ord": o}) for o in (2, 1, math.inf, -math.inf, 0, 3, 1.5)]
    out += [((make((4,), 0.5, 2.0),), {"ord": o}) for o in (0.5, -1)]
    out += [
        ((make((2, 3)),), {}),
        ((make((2, 3)),), {"axis": 1, "keepdims": True}),
        ((make((2, 3, 2)),), {"axis": (0, 2), "ord": 1}),
        ((make((2, 3)),), {"axis": -2, "ord": math.inf}),
        ((make((2, 3)),), {"axis": 0, "ord": 3, "keepdims": True}),
    ]
    return out


defrule(
    vector_norm_p,
    jvp=_vector_norm_jvp,
    vjp=_vector_norm_vjp,
    batch=_vector_norm_batch,
    pattern=patterns.reduction,
    samples=_vector_norm_samples,
)
export("linalg.vector_norm", vector_norm)


# -- matrix_norm ---------------------------------------------------------------------------------
matrix_norm_p = primitive(
    "matrix_norm", linalg_impl("matrix_norm"), module="linalg", export_as=False
)
_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def _matrix_weights(x: Any, nk: Any, ord: Any) -> Any:
    """``d norm / d x``, shaped like ``x``; ``nk`` is the norm shaped ``(..., 1, 1)``."""
    if ord == "fro":
        return F.divide(x, safe_denominator(nk))
    if ord in ("nuc", 2, -2):
        u, s, vh = svd_p(x, full_matrices=False)
        w = F.ones_like(s) if ord == "nuc" else extremum_weights(s, -1, ord == 2)
        return F.matmul(mul(u, col(w)), vh)
    ax = F.abs(x)
    if ord in (1, -1):  # max / min over columns of the column sums
        w = extremum_weights(F.sum(ax, axis=-2, keepdims=True), -1, ord == 1)
    else:  # inf / -inf: over rows of the row sums
        w = extremum_weights(F.sum(ax, axis=-1, keepdims=True), -2, ord > 0)
    return mul(F.sign(x), w)


def _matrix_kept(out: Any, keepdims: bool) -> Any:
    if keepdims:
        return out
    return F.expand_dims(F.expand_dims(out, axis=-1), axis=-1)


def _matrix_norm_jvp(
    primals: list, tangents: list, keepdims: bool = False, ord: Any = "fro"
) -> tuple:
    x, t = primals[0], tangents[0]
    out = matrix_norm_p(x, keepdims=keepdims, ord=ord)
    w = _matrix_weights(x, _matrix_kept(out, keepdims), ord)
    return out, _real_pairing(cj(w), t, (-2, -1), keepdims)


def _matrix_norm_vjp(primals: list, needs: list, keepdims: bool = False, ord: Any = "fro") -> tuple:
    x = primals[0]
    out = matrix_norm_p(x, keepdims=keepdims, ord=ord)

    def matrix_norm_pullback(ct: Any) -> tuple:
        w = _matrix_weights(x, _matrix_kept(out, keepdims), ord)
        return (mul(_matrix_kept(ct, keepdims), cj(w)),)

    return out, matrix_norm_pullback


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """``xp.linalg.matrix_norm`` over the last two axes, for every ``ord`` of the standard.

    >>> import numpy as np, xpgrad
    >>> g, = xpgrad.gradient(lambda a: a.__array_namespace__().linalg.matrix_norm(a, ord="nuc"),
    ...                      np.diag([3.0, 2.0]))
    >>> g
    array([[1., 0.],
           [0., 1.]])
    """
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"linalg.matrix_norm: ord must be one of {_MATRIX_ORDS}, got {ord!r}")
    return matrix_norm_p(x, keepdims=keepdims, ord=ord)


def _matrix_norm_samples(make: Any) -> list:
    out = [((make((3, 4)),), {"ord": o}) for o in _MATRIX_ORDS]
    out += [((make((2, 3, 3)),), {"ord": o, "keepdims": True}) for o in ("fro", 2, -math.inf)]
    out += [((make((2, 4, 3)),), {"ord": o}) for o in ("nuc", -1)]
    return out


defrule(
    matrix_norm_p,
    jvp=_matrix_norm_jvp,
    vjp=_matrix_norm_vjp,
    batch=lambda args, batched, **p: (matrix_norm_p(args[0], **p), True),
    pattern=plinalg.matrix_reduction,
    samples=_matrix_norm_samples,
)
export("linalg.matrix_norm", matrix_norm)

# Complex input: real-valued, the weights conjugated (see the module's notes).
complex_ok(vector_norm_p, matrix_norm_p)
