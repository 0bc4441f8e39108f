"""Spectral decompositions: eigh, eigvalsh, svd, svdvals, real and complex.

Conventions (what a derivative means where the math is delicate):

- ``eigh`` and ``eigvalsh`` act on the Hermitian part ``(A + A^H) / 2`` (the
  symmetric part for real ``A``), like ``cholesky`` (see ``linalg_decomp``):
  same function and derivative on every backend; the cotangent of ``A`` is
  Hermitian. Eigenvalues, singular values and their tangents and cotangents
  are real.
- Repeated eigenvalues / singular values. Eigenvalues and singular values stay
  differentiable (at a tie, the derivative given is that of the sorted values
  along the decomposition the backend returned). The derivatives of
  eigenvectors and singular vectors involve ``1 / (w_j - w_i)`` and are
  undefined at an exact tie: xpgrad returns ``inf``/``nan`` there (never a
  finite wrong number; JAX gives ``inf`` for eigh too, but silently zeros the
  tie for svd). A pullback whose eigenvector (singular vector) cotangent is
  absent never forms those ratios, so functions of the values alone
  (``eigvalsh``, ``svdvals``, norms) stay finite.
- Gauge. Eigenvectors and singular vectors are defined up to a sign (real) or a
  phase ``exp(i phi)`` (complex; for svd the same phase on ``u_i`` and on
  ``v_i``). Real: derivatives are those of the vectors the backend returned
  (the sign held fixed). Complex: the phase is held fixed *to first order*:
  the pushforward keeps ``diag(V^H dV) = 0`` (so ``Im(diag(V^H dV)) = 0``) for
  eigh (as JAX and PyTorch do) and for svd's ``V`` (as JAX does); svd's ``U``
  then has ``diag(U^H dU) = i Im(diag(U^H dA V)) / s``, since every gauge has
  ``Im(diag(U^H dU - V^H dV)) = Im(diag(U^H dA V)) / s``. (PyTorch's svd splits
  that term evenly between ``U`` and ``V``; gauge-invariant functions get the
  same derivative either way.) The pullback is the exact transpose of that
  pushforward.
  Every gauge-invariant function of the vectors (``V diag(w) V^H``,
  ``|V|``, ``U diag(s) Vh``, projectors ``v_i v_i^H``, ``u_i vh_i``) gets its true
  derivative. A function that depends on the phases (``Re(V[0, 0])``) has no
  derivative, since the backend's phase choice is arbitrary and need not be
  smooth; xpgrad then returns the derivative along the convention above and,
  unlike PyTorch (which compares ``Im(diag(V^H V_bar))`` with zero and raises),
  does not check, since that check would need concrete values (lazy and traced
  arrays have none). Finite differences of such a function will disagree.
- ``svd(full_matrices=True)`` (the standard's default) of a non-square matrix has
  arbitrary extra singular vectors; differentiating it raises, naming the fix
  (``full_matrices=False``). For square matrices both are the same and
  differentiable. A zero singular value of a non-square matrix makes the
  singular-vector derivative infinite.

Complex forms follow the engine's convention (a pullback is the transpose of the
pushforward under ``Re(sum(a * b))``, no conjugation), so they are the conjugates
of the conjugate-convention formulas (PyTorch's) at conjugated cotangents.

Formulas: Giles 2008 (eigh); Townsend 2016, "Differentiating the singular value
decomposition" (svd); complex eigh and svd (the phase terms) as in JAX's
``eigh_jvp_rule``/``_svd_jvp_rule`` (jax/_src/lax/linalg.py) and PyTorch's
``linalg_eig_backward``/``svd_backward`` (FunctionsManual.cpp); Wan and Zhang
2019, "Automatic differentiation for complex valued SVD".
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import patterns_linalg as plinalg
from ._matrix import (
    check_unique,
    cj,
    col,
    eye_like,
    gap_reciprocals,
    imag_part_i,
    is_complex,
    linalg_impl,
    matrix_diagonal,
    mH,
    mT,
    row,
    spd_sample,
    stack_batch,
    sym,
    symmetric_sample,
)
from ._registry import F, complex_ok, defrule, export, primitive
from .elementwise import multiply
from .linalg import matmul

mm = matmul
mul = multiply


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


def _real_diagonal(m: Any) -> Any:
    """``Re(diag(m))`` of a stack of (Hermitian) matrices, as a real array."""
    d = matrix_diagonal(m)
    return F.real(d) if is_complex(d) else d


def _eigh_jvp(primals: list, tangents: list) -> tuple:
    # M = V^H dA V: dw = Re(diag(M)), dV = V (F o M) with F_ij = 1 / (w_j - w_i) off the
    # diagonal and 0 on it (so diag(V^H dV) = 0: the phase convention)
    a, t = primals[0], tangents[0]
    w, v = eigh_p(a)
    m = mm(mH(v), mm(sym(t), v))
    return (w, v), (_real_diagonal(m), mm(v, mul(gap_reciprocals(w), m)))


def _eigh_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    w, v = eigh_p(a)

    def eigh_pullback(cts: list) -> tuple:
        cw, cv = cts
        # A_bar = herm(conj(V) (diag(w_bar) + F o (V^T V_bar)) V^T)
        # (real: sym(V (diag(w_bar) + F o (V^T V_bar)) V^T))
        inner = None
        if cv is not None:
            inner = mul(gap_reciprocals(w), mm(mT(v), cv))
        if cw is not None:
            dw = mul(col(cw), eye_like(v, v.shape[-1]))
            inner = dw if inner is None else F.add(inner, dw)
        if inner is None:
            return (None,)
        return (sym(mm(cj(v), mm(inner, mT(v)))),)

    return (w, v), eigh_pullback


def _eigvalsh_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    w, v = eigh_p(a)
    # dw_i = Re(v_i^H dA v_i) (the quadratic form's real part ignores dA's
    # anti-Hermitian part)
    return w, _real_sum(mul(cj(v), mm(t, v)))


def _real_sum(x: Any) -> Any:
    """``Re(sum(x, axis=-2))``: column sums, real."""
    s = F.sum(x, axis=-2)
    return F.real(s) if is_complex(s) else s


def _eigvalsh_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    w, v = eigh_p(a)

    def eigvalsh_pullback(ct: Any) -> tuple:
        # conj(V) diag(ct) V^T: Hermitian already
        return (mm(mul(cj(v), col(ct)), mT(v)),)

    return w, eigvalsh_pullback


def eigh(x: Any, /) -> EighResult:
    """``xp.linalg.eigh`` of the Hermitian part of ``x``: ``(eigenvalues, eigenvectors)``.

    Eigenvector derivatives are infinite or NaN at exactly repeated eigenvalues;
    eigenvalue derivatives stay finite. Complex eigenvectors have a phase
    freedom: the derivative keeps ``diag(V^H dV) = 0``, which is the true
    derivative of every function that does not depend on the phases (see the
    module's notes).

    >>> import numpy as np, xpgrad
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> g, = xpgrad.gradient(lambda a: a.__array_namespace__().linalg.eigh(a).eigenvalues[1], a)
    >>> np.round(g, 6)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return EighResult(*eigh_p(x))


def eigvalsh(x: Any, /) -> Any:
    """``xp.linalg.eigvalsh`` of the Hermitian part of ``x`` (ascending, real)."""
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
    pattern=plinalg.stacked,
    samples=_eigh_samples,
    tol={"float32": (5e-2, 5e-3)},
)
defrule(
    eigvalsh_p,
    jvp=_eigvalsh_jvp,
    vjp=_eigvalsh_vjp,
    batch=stack_batch(eigvalsh_p),
    pattern=plinalg.stacked,
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
    check_unique(a, full_matrices, "svd(full_matrices=True)", "full_matrices=False")
    u, s, vh = svd_p(a, full_matrices=full_matrices)
    v = mH(vh)
    m, n = a.shape[-2:]
    k = s.shape[-1]
    # dP = U^H dA V; dS = Re(diag(dP)); F_ij = 1 / (s_j^2 - s_i^2)
    # dU = U (F o (dP S + S dP^H) + i Im(diag(dP)) / S), dV = V (F o (S dP + dP^H S)):
    # diag(V^H dV) = 0 (the phase convention), diag(U^H dU) what it must then be
    dav = mm(t, v)
    dp = mm(mH(u), dav)
    f = gap_reciprocals(mul(s, s))
    dps = mul(dp, col(s))  # dP S
    sdp = mul(row(s), dp)  # S dP
    xu = mul(f, F.add(dps, mH(dps)))
    if is_complex(dp):
        xu = F.add(xu, F.divide(mul(imag_part_i(dp), eye_like(dp, k)), col(s)))
    du = mm(u, xu)
    dv = mm(v, mul(f, F.add(sdp, mH(sdp))))
    if m > k:  # the part of dA V outside span(U)
        du = F.add(du, F.divide(F.subtract(dav, mm(u, dp)), col(s)))
    if n > k:
        dau = mm(mH(t), u)
        dv = F.add(dv, F.divide(F.subtract(dau, mm(v, mH(dp))), col(s)))
    return (u, s, vh), (du, _real_diagonal(dp), mH(dv))


def _svd_vjp(primals: list, needs: list, full_matrices: bool = True) -> tuple:
    a = primals[0]
    check_unique(a, full_matrices, "svd(full_matrices=True)", "full_matrices=False")
    u, s, vh = svd_p(a, full_matrices=full_matrices)
    m, n = a.shape[-2:]
    k = s.shape[-1]
    complex_ = is_complex(u)

    def svd_pullback(cts: list) -> tuple:
        cu, cs, cvh = cts
        # The transpose of the pushforward, with J_u = U^T U_bar, J_v = V^T V_bar
        # (V_bar = Vh_bar^H, V^T = conj(Vh)):
        # A_bar = conj(U) [(F o (J_u - J_u^H)) S + i Im(diag(J_u)) / S + diag(s_bar)
        #                  + S (F o (J_v - J_v^H))] conj(Vh)
        #         + (I - conj(U) U^T) U_bar S^-1 conj(Vh)
        #         + conj(U) S^-1 (Vh_bar - J_v^H conj(Vh))
        # (real: conj is the identity, the real formula of Townsend 2016)
        uc, vhc = cj(u), cj(vh)
        inner = None
        extra = None
        if cs is not None:
            inner = mul(col(cs), eye_like(s, k))
        if cu is not None or cvh is not None:
            f = gap_reciprocals(mul(s, s))
        if cu is not None:
            ju = mm(mT(u), cu)
            j = mul(mul(f, F.subtract(ju, mH(ju))), col(s))
            if complex_:
                j = F.add(j, F.divide(mul(imag_part_i(ju), eye_like(ju, k)), col(s)))
            inner = j if inner is None else F.add(inner, j)
            if m > k:
                extra = mm(F.divide(F.subtract(cu, mm(uc, ju)), col(s)), vhc)
        if cvh is not None:
            jv = mm(vhc, mH(cvh))
            j = mul(row(s), mul(f, F.subtract(jv, mH(jv))))
            inner = j if inner is None else F.add(inner, j)
            if n > k:
                e = mm(uc, F.divide(F.subtract(cvh, mm(mH(jv), vhc)), row(s)))
                extra = e if extra is None else F.add(extra, e)
        g = mm(uc, mm(inner, vhc)) if inner is not None else None
        if extra is not None:
            g = extra if g is None else F.add(g, extra)
        return (g,)

    return (u, s, vh), svd_pullback


def _svdvals_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    u, s, vh = svd_p(a, full_matrices=False)
    # ds_i = Re(u_i^H dA v_i)
    return s, _real_sum(mul(cj(u), mm(t, mH(vh))))


def _svdvals_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    u, s, vh = svd_p(a, full_matrices=False)

    def svdvals_pullback(ct: Any) -> tuple:
        # conj(U) diag(ct) conj(Vh) (real: U diag(ct) Vh)
        return (mm(mul(cj(u), col(ct)), cj(vh)),)

    return s, svdvals_pullback


def svd(x: Any, /, *, full_matrices: bool = True) -> SVDResult:
    """``xp.linalg.svd``: ``(U, S, Vh)`` with ``x = U diag(S) Vh``.

    Differentiable with ``full_matrices=False`` (or for square matrices);
    singular-vector derivatives are infinite or NaN at exactly repeated
    singular values, and where a non-square matrix has a zero singular value.
    Complex singular vectors share a phase per pair ``(u_i, vh_i)``: the
    derivative keeps ``diag(V^H dV) = 0``, the true derivative of every function
    that does not depend on the phases (see the module's notes).
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
    pattern=plinalg.stacked,
    samples=_svd_samples,
    tol={"float32": (5e-2, 5e-3)},
)
defrule(
    svdvals_p,
    jvp=_svdvals_jvp,
    vjp=_svdvals_vjp,
    batch=stack_batch(svdvals_p),
    pattern=plinalg.stacked,
    samples=lambda make: [((make(s),), {}) for s in ((3, 2), (2, 3), (3, 3), (2, 3, 2))],
    tol={"float32": (5e-2, 5e-3)},
)
export("linalg.svd", svd)
export("linalg.svdvals", svdvals)


# -- the complex conformance pass ----------------------------------------------------------------
def _outer_columns(a: Any, b: Any) -> Any:
    """``out[..., i, :, :] = outer(a[..., :, i], b[..., i, :])``: one rank-one matrix per i."""
    return mul(F.expand_dims(mT(a), axis=-1), F.expand_dims(b, axis=-2))


def _eigh_observe(out: Any) -> tuple:
    """Eigenvalues and the projectors ``v_i v_i^H``: all of ``eigh`` but the phases."""
    w, v = out
    return w, _outer_columns(v, mH(v))


def _svd_observe(out: Any) -> tuple:
    """Singular values and the rank-one terms ``u_i vh_i``: all of ``svd`` but the phases."""
    u, s, vh = out
    return s, _outer_columns(u, vh)


complex_ok(eigh_p, observe=_eigh_observe)
complex_ok(svd_p, observe=_svd_observe)
complex_ok(eigvalsh_p, svdvals_p)
