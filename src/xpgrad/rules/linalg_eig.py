"""``linalg.eig`` and ``linalg.eigvals`` (new in the 2025.12 standard): general matrices.

``A = V diag(w) V^-1``, with complex ``w`` and ``V`` whatever the input's
dtype (the standard asks for the complex dtype of the input's precision; NumPy
returns real arrays when every eigenvalue is real, so the primal casts).

Pushforward, with ``M = V^-1 dA V``: ``dw = diag(M)``, and
``dV = V (F o M)`` with ``F_ij = 1 / (w_j - w_i)`` off the diagonal, 0 on it,
then made to keep every column's 2-norm (the backend's eigenvectors have unit
norm): ``dV -= V Re(diag(V^H dV))``. The phase of each complex eigenvector is
arbitrary; the pushforward holds ``Im(diag(V^-1 dV)) = 0``, so only functions
that do not depend on the phases (the eigenvalues, ``|V|``, ``V diag(w) V^-1``)
have true derivatives, as with ``eigh`` (see ``linalg_spectral``). For a real
matrix with real, distinct eigenvalues the eigenvectors are real up to a sign,
and their derivatives are exact. Repeated eigenvalues give infinite derivatives
of the eigenvectors (``F``), never a finite wrong number.

The pullback is the transpose of that pushforward under the engine's bilinear
pairing ``Re(sum(a * b))``: ``A_bar = V^-T (diag(w_bar) + F o (V^T G)) V^T`` with
``G = V_bar - conj(V) Re(sum(V_bar * V, axis=-2))``, projected to the input's
realness. Both are written with traced calls (``eig`` itself, ``solve``), so
second derivatives come from the same rules. Formulas: Giles 2008, "An extended
collection of matrix derivative results"; JAX's ``eig_jvp_rule``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._core.arrays import device_of
from . import patterns_linalg as plinalg
from ._matrix import (
    col,
    eye_like,
    gap_reciprocals,
    linalg_impl,
    matrix_diagonal,
    mT,
    raw,
    stack_batch,
)
from ._registry import F, defrule, export, primitive, project, xp_of
from .elementwise import multiply
from .linalg import matmul

mm = matmul
mul = multiply


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


def _complex_dtype(xp: Any, dtype: Any) -> Any:
    if xp.isdtype(dtype, "complex floating"):
        return dtype
    return xp.complex64 if dtype == xp.float32 else xp.complex128


def _as_complex(name: str, multiple: bool) -> Any:
    """The backend's ``linalg.<name>``, cast to the input's complex dtype."""
    inner = linalg_impl(name, multiple=multiple)

    def impl(x: Any) -> Any:
        xp = xp_of(x)
        dt = _complex_dtype(xp, x.dtype)
        out = inner(x)
        if multiple:
            return tuple(o if o.dtype == dt else xp.astype(o, dt) for o in out)
        return out if out.dtype == dt else xp.astype(out, dt)

    impl.__name__ = f"{name}_impl"
    return impl


eig_p = primitive(
    "eig", _as_complex("eig", True), module="linalg", multiple_results=True, export_as=False
)
eigvals_p = primitive("eigvals", _as_complex("eigvals", False), module="linalg", export_as=False)


def _in_basis(v: Any, t: Any) -> Any:
    """``V^-1 dA V``, with a real ``dA`` cast to ``V``'s complex dtype."""
    if t.dtype != v.dtype:
        t = F.astype(t, v.dtype)
    return F.linalg_solve(v, mm(t, v))


def _keep_norms(v: Any, dv: Any) -> Any:
    """``dv`` less its change of each column's 2-norm: ``dv - V Re(diag(V^H dv))``."""
    return F.subtract(dv, mul(v, col(F.real(F.sum(mul(F.conj(v), dv), axis=-2)))))


def _eig_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    w, v = eig_p(a)
    m = _in_basis(v, t)
    dv = mm(v, mul(gap_reciprocals(w), m))
    return (w, v), (matrix_diagonal(m), _keep_norms(v, dv))


def _from_basis(v: Any, g: Any, like: Any) -> Any:
    """The transpose of ``_in_basis``: ``V^-T g V^T``, projected to ``like``'s dtype."""
    vt = mT(v)
    return project(mm(F.linalg_solve(vt, g), vt), like)


def _eig_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    w, v = eig_p(a)

    def eig_pullback(cts: list) -> tuple:
        cw, cv = cts
        g = None
        if cv is not None:
            cv = F.astype(cv, v.dtype) if cv.dtype != v.dtype else cv
            s = F.real(F.sum(mul(cv, v), axis=-2))
            g0 = F.subtract(cv, mul(F.conj(v), col(s)))
            g = mul(gap_reciprocals(w), mm(mT(v), g0))
        if cw is not None:
            d = mul(col(cw), eye_like(v, v.shape[-1]))
            g = d if g is None else F.add(g, d)
        if g is None:
            return (None,)
        return (_from_basis(v, g, a),)

    return (w, v), eig_pullback


def _eigvals_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    v = eig_p(a)[1]
    return eigvals_p(a), matrix_diagonal(_in_basis(v, t))


def _eigvals_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    v = eig_p(a)[1]

    def eigvals_pullback(ct: Any) -> tuple:
        return (_from_basis(v, mul(col(ct), eye_like(v, v.shape[-1])), a),)

    return eigvals_p(a), eigvals_pullback


def _distinct_real_spectrum(make: Any, shape: tuple) -> Any:
    """``2, 4, ..., 2n`` on the diagonal plus entries in (-0.3, 0.3): the Gershgorin
    discs (radius below 1 up to n = 4) are disjoint, so the eigenvalues are real and
    distinct and the eigenvectors real up to sign."""
    a = make(shape, -0.3, 0.3)
    r = raw(a)
    xp = xp_of(r)
    n = shape[-1]
    d = xp.astype(2 * xp.arange(1, n + 1, device=device_of(r)), r.dtype)
    return a + eye_like(a, n) * d


def _eig_samples(make: Any) -> list:
    return [((_distinct_real_spectrum(make, s),), {}) for s in ((3, 3), (2, 3, 3), (4, 4))]


for _p, _jvp, _vjp in ((eig_p, _eig_jvp, _eig_vjp), (eigvals_p, _eigvals_jvp, _eigvals_vjp)):
    defrule(
        _p,
        jvp=_jvp,
        vjp=_vjp,
        batch=stack_batch(_p),
        pattern=plinalg.stacked,
        samples=_eig_samples,
        tol={"float32": (5e-2, 5e-3)},
    )


def eig(x: Any, /) -> EigResult:
    """``xp.linalg.eig``: ``(eigenvalues, eigenvectors)`` of a general square matrix, complex.

    Derivatives of the eigenvectors hold their norms and phases fixed (module docstring).
    """
    w, v = eig_p(x)
    return EigResult(w, v)


def eigvals(x: Any, /) -> Any:
    """``xp.linalg.eigvals``: the eigenvalues of a general square matrix, complex."""
    return eigvals_p(x)


export("linalg.eig", eig)
export("linalg.eigvals", eigvals)
