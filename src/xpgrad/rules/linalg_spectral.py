"""Spectral decompositions: eigh, eigvalsh, svd, svdvals.

Conventions (what a derivative means where the math is delicate):

- ``eigh`` and ``eigvalsh`` act on the symmetric part ``(A + A^T) / 2``, like
  ``cholesky`` (see ``linalg_decomp``): same function and derivative on every
  backend; the cotangent of ``A`` is symmetric.
- Repeated eigenvalues / singular values. Eigenvalues and singular values stay
  differentiable (at a tie, the derivative given is that of the sorted values
  along the decomposition the backend returned). The derivatives of
  eigenvectors and singular vectors involve ``1 / (w_j - w_i)`` and are
  undefined at an exact tie: xpgrad returns ``inf``/``nan`` there (never a
  finite wrong number; JAX gives ``inf`` for eigh too, but silently zeros the
  tie for svd). A pullback whose eigenvector (singular vector) cotangent is
  absent never forms those ratios, so functions of the values alone
  (``eigvalsh``, ``svdvals``, norms) stay finite.
- Gauge. Eigenvectors and singular vectors are defined up to sign; derivatives
  are those of the vectors the backend returned (the sign held fixed), which is
  what every gauge-invariant function of them (``V diag(w) V^T``, ``U diag(s) Vh``)
  needs.
- ``svd(full_matrices=True)`` (the standard's default) of a non-square matrix has
  arbitrary extra singular vectors; differentiating it raises, naming the fix
  (``full_matrices=False``). For square matrices both are the same and
  differentiable. A zero singular value of a non-square matrix makes the
  singular-vector derivative infinite.

Formulas: Giles 2008 (eigh); Townsend 2016, "Differentiating the singular value
decomposition" (svd).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._matrix import (
    check_unique,
    col,
    eye_like,
    gap_reciprocals,
    linalg_impl,
    matrix_diagonal,
    mT,
    real_only,
    row,
    spd_sample,
    stack_batch,
    sym,
    symmetric_sample,
)
from ._registry import F, defrule, export, primitive

mm = F.matmul
mul = F.multiply


# -- eigh and eigvalsh ------------------------------------------------------------------------
class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


eigh_p = primitive(
    "eigh",
    linalg_impl("eigh", symmetric=True, multiple=True),
    module="linalg",
    multiple_results=True,
    export_as=False,
)
eigvalsh_p = primitive(
    "eigvalsh", linalg_impl("eigvalsh", symmetric=True), module="linalg", export_as=False
)


def _eigh_jvp(primals: list, tangents: list) -> tuple:
    # M = V^T dA V: dw = diag(M), dV = V (F o M) with F_ij = 1 / (w_j - w_i)
    a, t = primals[0], tangents[0]
    real_only(a, "linalg.eigh")
    w, v = eigh_p(a)
    m = mm(mT(v), mm(sym(t), v))
    return (w, v), (matrix_diagonal(m), mm(v, mul(gap_reciprocals(w), m)))


def _eigh_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    real_only(a, "linalg.eigh")
    w, v = eigh_p(a)

    def eigh_pullback(cts: list) -> tuple:
        cw, cv = cts
        # A_bar = sym(V (diag(w_bar) + F o (V^T V_bar)) V^T)
        inner = None
        if cv is not None:
            inner = mul(gap_reciprocals(w), mm(mT(v), cv))
        if cw is not None:
            dw = mul(col(cw), eye_like(v, v.shape[-1]))
            inner = dw if inner is None else F.add(inner, dw)
        if inner is None:
            return (None,)
        return (sym(mm(v, mm(inner, mT(v)))),)

    return (w, v), eigh_pullback


def _eigvalsh_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    real_only(a, "linalg.eigvalsh")
    w, v = eigh_p(a)
    # dw_i = v_i^T dA v_i (the quadratic form ignores dA's antisymmetric part)
    return w, F.sum(mul(v, mm(t, v)), axis=-2)


def _eigvalsh_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    real_only(a, "linalg.eigvalsh")
    w, v = eigh_p(a)

    def eigvalsh_pullback(ct: Any) -> tuple:
        return (mm(mul(v, col(ct)), mT(v)),)

    return w, eigvalsh_pullback


def eigh(x: Any, /) -> EighResult:
    """``xp.linalg.eigh`` of the symmetric part of ``x``: ``(eigenvalues, eigenvectors)``.

    Eigenvector derivatives are infinite or NaN at exactly repeated eigenvalues;
    eigenvalue derivatives stay finite.

    >>> import numpy as np, xpgrad
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> g, = xpgrad.gradient(lambda a: a.__array_namespace__().linalg.eigh(a).eigenvalues[1], a)
    >>> np.round(g, 6)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return EighResult(*eigh_p(x))


def eigvalsh(x: Any, /) -> Any:
    """``xp.linalg.eigvalsh`` of the symmetric part of ``x`` (ascending)."""
    return eigvalsh_p(x)


def _eigh_samples(make: Any) -> list:
    return [
        ((symmetric_sample(make, (3, 3)),), {}),
        ((symmetric_sample(make, (2, 3, 3)),), {}),
        ((spd_sample(make, (4, 4)),), {}),
    ]


defrule(
    eigh_p,
    jvp=_eigh_jvp,
    vjp=_eigh_vjp,
    batch=stack_batch(eigh_p),
    samples=_eigh_samples,
    tol={"float32": (5e-2, 5e-3)},
)
defrule(
    eigvalsh_p,
    jvp=_eigvalsh_jvp,
    vjp=_eigvalsh_vjp,
    batch=stack_batch(eigvalsh_p),
    samples=_eigh_samples,
    tol={"float32": (5e-2, 5e-3)},
)
export("linalg.eigh", eigh)
export("linalg.eigvalsh", eigvalsh)


# -- svd and svdvals -----------------------------------------------------------------------------
class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


svd_p = primitive(
    "svd",
    linalg_impl("svd", multiple=True),
    module="linalg",
    multiple_results=True,
    export_as=False,
)
svdvals_p = primitive("svdvals", linalg_impl("svdvals"), module="linalg", export_as=False)


def _svd_jvp(primals: list, tangents: list, full_matrices: bool = True) -> tuple:
    a, t = primals[0], tangents[0]
    real_only(a, "linalg.svd")
    check_unique(a, full_matrices, "svd(full_matrices=True)", "full_matrices=False")
    u, s, vh = svd_p(a, full_matrices=full_matrices)
    v = mT(vh)
    m, n = a.shape[-2:]
    k = s.shape[-1]
    # dP = U^T dA V; dS = diag(dP); F_ij = 1 / (s_j^2 - s_i^2)
    dav = mm(t, v)
    dp = mm(mT(u), dav)
    f = gap_reciprocals(mul(s, s))
    dps = mul(dp, col(s))  # dP S
    sdp = mul(row(s), dp)  # S dP
    du = mm(u, mul(f, F.add(dps, mT(dps))))
    dv = mm(v, mul(f, F.add(sdp, mT(sdp))))
    if m > k:  # the part of dA V outside span(U)
        du = F.add(du, F.divide(F.subtract(dav, mm(u, dp)), col(s)))
    if n > k:
        dau = mm(mT(t), u)
        dv = F.add(dv, F.divide(F.subtract(dau, mm(v, mT(dp))), col(s)))
    return (u, s, vh), (du, matrix_diagonal(dp), mT(dv))


def _svd_vjp(primals: list, needs: list, full_matrices: bool = True) -> tuple:
    a = primals[0]
    real_only(a, "linalg.svd")
    check_unique(a, full_matrices, "svd(full_matrices=True)", "full_matrices=False")
    u, s, vh = svd_p(a, full_matrices=full_matrices)
    m, n = a.shape[-2:]
    k = s.shape[-1]

    def svd_pullback(cts: list) -> tuple:
        cu, cs, cvh = cts
        # A_bar = U [(F o (U^T U_bar - U_bar^T U)) S + diag(s_bar)
        #            + S (F o (V^T V_bar - V_bar^T V))] V^T
        #         + (I - U U^T) U_bar S^-1 V^T + U S^-1 V_bar^T (I - V V^T)
        inner = None
        extra = None
        if cs is not None:
            inner = mul(col(cs), eye_like(s, k))
        if cu is not None or cvh is not None:
            f = gap_reciprocals(mul(s, s))
        if cu is not None:
            utu = mm(mT(u), cu)
            j = mul(mul(f, F.subtract(utu, mT(utu))), col(s))
            inner = j if inner is None else F.add(inner, j)
            if m > k:
                extra = mm(F.divide(F.subtract(cu, mm(u, utu)), col(s)), vh)
        if cvh is not None:
            cv = mT(cvh)
            vtv = mm(vh, cv)
            j = mul(row(s), mul(f, F.subtract(vtv, mT(vtv))))
            inner = j if inner is None else F.add(inner, j)
            if n > k:
                e = mm(u, F.divide(F.subtract(cvh, mm(mT(vtv), vh)), row(s)))
                extra = e if extra is None else F.add(extra, e)
        g = mm(u, mm(inner, vh)) if inner is not None else None
        if extra is not None:
            g = extra if g is None else F.add(g, extra)
        return (g,)

    return (u, s, vh), svd_pullback


def _svdvals_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    real_only(a, "linalg.svdvals")
    u, s, vh = svd_p(a, full_matrices=False)
    # ds_i = u_i^T dA v_i
    return s, F.sum(mul(u, mm(t, mT(vh))), axis=-2)


def _svdvals_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    real_only(a, "linalg.svdvals")
    u, s, vh = svd_p(a, full_matrices=False)

    def svdvals_pullback(ct: Any) -> tuple:
        return (mm(mul(u, col(ct)), vh),)

    return s, svdvals_pullback


def svd(x: Any, /, *, full_matrices: bool = True) -> SVDResult:
    """``xp.linalg.svd``: ``(U, S, Vh)`` with ``x = U diag(S) Vh``.

    Differentiable with ``full_matrices=False`` (or for square matrices);
    singular-vector derivatives are infinite or NaN at exactly repeated
    singular values, and where a non-square matrix has a zero singular value.
    """
    return SVDResult(*svd_p(x, full_matrices=full_matrices))


def svdvals(x: Any, /) -> Any:
    """``xp.linalg.svdvals``: the singular values, descending."""
    return svdvals_p(x)


def _svd_samples(make: Any) -> list:
    shapes = ((3, 2), (2, 3), (3, 3), (2, 3, 2))
    out = [((make(s),), {"full_matrices": False}) for s in shapes]
    return out + [((make((3, 3)),), {"full_matrices": True})]


defrule(
    svd_p,
    jvp=_svd_jvp,
    vjp=_svd_vjp,
    batch=stack_batch(svd_p),
    samples=_svd_samples,
    tol={"float32": (5e-2, 5e-3)},
)
defrule(
    svdvals_p,
    jvp=_svdvals_jvp,
    vjp=_svdvals_vjp,
    batch=stack_batch(svdvals_p),
    samples=lambda make: [((make(s),), {}) for s in ((3, 2), (2, 3), (3, 3), (2, 3, 2))],
    tol={"float32": (5e-2, 5e-3)},
)
export("linalg.svd", svd)
export("linalg.svdvals", svdvals)
