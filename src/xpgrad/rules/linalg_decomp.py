"""Decompositions: cholesky, qr, svd, svdvals, eigh, eigvalsh.

Conventions (what a derivative means where the math is delicate):

- Symmetric input. ``cholesky``, ``eigh`` and ``eigvalsh`` are defined on
  symmetric (Hermitian) matrices, and backends differ in which triangle they
  read. xpgrad applies them to the symmetric part ``(A + A^T) / 2`` (bit for bit
  the input when it is symmetric), as JAX does, so the function and its
  derivative are the same on every backend and for every perturbation: the
  cotangent of ``A`` is symmetric.
- Repeated eigenvalues / singular values. Eigenvalues and singular values stay
  differentiable (at a tie, the derivative given is that of the sorted values
  along the decomposition the backend returned). The derivatives of
  eigenvectors and singular vectors involve ``1 / (w_j - w_i)`` and are
  undefined at an exact tie: xpgrad returns ``inf``/``nan`` there (never a
  finite wrong number). A pullback whose eigenvector (singular vector)
  cotangent is absent never forms those ratios, so functions of the values
  alone (``eigvalsh``, ``svdvals``, norms) stay finite.
- Gauge. Eigenvectors and singular vectors are defined up to sign; derivatives
  are those of the vectors the backend returned (the sign held fixed), which is
  what every gauge-invariant function of them (``V diag(w) V^T``, ``U diag(s) Vh``)
  needs.
- ``svd(full_matrices=True)`` and ``qr(mode="complete")`` of a non-square matrix
  have arbitrary extra columns; differentiating them raises, naming the fix.
- Singular or rank-deficient input to ``qr``/``cholesky``/``svd`` of a
  non-square matrix: the rules solve with ``R``, ``L`` or divide by ``s`` and
  give ``inf``/``nan`` or the backend's ``LinAlgError``.

Formulas: Giles 2008; Murray 2016 and Seeger et al. 2017 (Cholesky); Townsend
2016 (SVD); Walter and Lehmann / Liao et al. 2019 (QR).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._matrix import col, eye_like, gap_reciprocals, linalg_impl, matrix_diagonal, mT, row, sym
from ._registry import F, defrule, export, primitive
from .linalg_solve import solve_p

mm = F.matmul
mul = F.multiply


def _stack_batch(p: Any) -> Any:
    def batch(args: list, batched: list, **params: Any) -> tuple:
        return p(args[0], **params), True

    return batch


def _spd(make: Any, shape: tuple) -> Any:
    """A symmetric positive definite sample, B B^T + n I."""
    xp = make.xp
    b = make(shape, -1.0, 1.0)
    n = shape[-1]
    return xp.matmul(b, xp.linalg.matrix_transpose(b)) + n * xp.eye(n, dtype=b.dtype)


def _symmetric(make: Any, shape: tuple) -> Any:
    """A random symmetric sample (distinct eigenvalues with probability one)."""
    b = make(shape)
    return b + make.xp.linalg.matrix_transpose(b)


def _phi(x: Any) -> Any:
    """The lower triangle with the diagonal halved."""
    return F.subtract(F.tril(x), mul(0.5 * x, eye_like(x, x.shape[-1])))


# -- cholesky ---------------------------------------------------------------------------------
cholesky_p = primitive("cholesky", linalg_impl("cholesky", symmetric=True), module="linalg",
                       export_as=False)


def _cholesky_jvp(primals: list, tangents: list, upper: bool = False) -> tuple:
    # L dL^T + dL L^T = dA  =>  dL = L Phi(L^-1 dA L^-T)
    a, t = primals[0], tangents[0]
    out = cholesky_p(a, upper=upper)
    low = mT(out) if upper else out
    x = solve_p(low, mT(solve_p(low, sym(t))))
    dl = mm(low, _phi(x))
    return out, (mT(dl) if upper else dl)


def _cholesky_vjp(primals: list, needs: list, upper: bool = False) -> tuple:
    a = primals[0]
    out = cholesky_p(a, upper=upper)
    low = mT(out) if upper else out

    def cholesky_pullback(ct: Any) -> tuple:
        if upper:
            ct = mT(ct)
        # A_bar = sym(L^-T Phi(L^T L_bar) L^-1)
        lt = mT(low)
        z = solve_p(lt, _phi(mm(lt, ct)))
        return (sym(mT(solve_p(lt, mT(z)))),)

    return out, cholesky_pullback


def cholesky(x: Any, /, *, upper: bool = False) -> Any:
    """``xp.linalg.cholesky`` of the symmetric part of ``x``; the cotangent is symmetric.

    >>> import numpy as np, xpgrad
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> g, = xpgrad.gradient(lambda a: a.__array_namespace__().linalg.cholesky(a)[1, 1], a)
    >>> np.allclose(g, g.T)
    True
    """
    return cholesky_p(x, upper=upper)


defrule(
    cholesky_p,
    jvp=_cholesky_jvp,
    vjp=_cholesky_vjp,
    batch=_stack_batch(cholesky_p),
    samples=lambda make: [
        ((_spd(make, (3, 3)),), {}),
        ((_spd(make, (2, 3, 3)),), {}),
        ((_spd(make, (3, 3)),), {"upper": True}),
    ],
)
export("linalg.cholesky", cholesky)


# -- eigh and eigvalsh ------------------------------------------------------------------------
class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


eigh_p = primitive("eigh", linalg_impl("eigh", symmetric=True, multiple=True), module="linalg",
                   multiple_results=True, export_as=False)
eigvalsh_p = primitive("eigvalsh", linalg_impl("eigvalsh", symmetric=True), module="linalg",
                       export_as=False)


def _eigh_jvp(primals: list, tangents: list) -> tuple:
    # M = V^T dA V: dw = diag(M), dV = V (F o M) with F_ij = 1 / (w_j - w_i)
    a, t = primals[0], tangents[0]
    w, v = eigh_p(a)
    m = mm(mT(v), mm(sym(t), v))
    return (w, v), (matrix_diagonal(m), mm(v, mul(gap_reciprocals(w), m)))


def _eigh_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
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
    w, v = eigh_p(a)
    # dw_i = v_i^T dA v_i (the quadratic form ignores dA's antisymmetric part)
    return w, F.sum(mul(v, mm(t, v)), axis=-2)


def _eigvalsh_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
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
    return [((_symmetric(make, (3, 3)),), {}), ((_symmetric(make, (2, 3, 3)),), {}),
            ((_spd(make, (4, 4)),), {})]


defrule(eigh_p, jvp=_eigh_jvp, vjp=_eigh_vjp, batch=_stack_batch(eigh_p), samples=_eigh_samples,
        tol={"float32": (5e-2, 5e-3)})
defrule(eigvalsh_p, jvp=_eigvalsh_jvp, vjp=_eigvalsh_vjp, batch=_stack_batch(eigvalsh_p),
        samples=_eigh_samples, tol={"float32": (5e-2, 5e-3)})
export("linalg.eigh", eigh)
export("linalg.eigvalsh", eigvalsh)


# -- svd and svdvals -----------------------------------------------------------------------------
class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


svd_p = primitive("svd", linalg_impl("svd", multiple=True), module="linalg", multiple_results=True,
                  export_as=False)
svdvals_p = primitive("svdvals", linalg_impl("svdvals"), module="linalg", export_as=False)


def _check_reduced(x: Any, flag: bool, what: str, fix: str) -> None:
    m, n = x.shape[-2:]
    if flag and m != n:
        raise ValueError(
            f"xpgrad: {what} of a non-square ({m} x {n}) matrix has extra columns that are "
            f"not unique, so it has no derivative; use {fix}"
        )


def _svd_jvp(primals: list, tangents: list, full_matrices: bool = True) -> tuple:
    a, t = primals[0], tangents[0]
    _check_reduced(a, full_matrices, "svd(full_matrices=True)", "full_matrices=False")
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
    _check_reduced(a, full_matrices, "svd(full_matrices=True)", "full_matrices=False")
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
    u, s, vh = svd_p(a, full_matrices=False)
    # ds_i = u_i^T dA v_i
    return s, F.sum(mul(u, mm(t, mT(vh))), axis=-2)


def _svdvals_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
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


defrule(svd_p, jvp=_svd_jvp, vjp=_svd_vjp, batch=_stack_batch(svd_p), samples=_svd_samples,
        tol={"float32": (5e-2, 5e-3)})
defrule(svdvals_p, jvp=_svdvals_jvp, vjp=_svdvals_vjp, batch=_stack_batch(svdvals_p),
        samples=lambda make: [((make(s),), {}) for s in ((3, 2), (2, 3), (3, 3), (2, 3, 2))],
        tol={"float32": (5e-2, 5e-3)})
export("linalg.svd", svd)
export("linalg.svdvals", svdvals)


# -- qr ------------------------------------------------------------------------------------------
class QRResult(NamedTuple):
    Q: Any
    R: Any


qr_p = primitive("qr", linalg_impl("qr", multiple=True), module="linalg", multiple_results=True,
                 export_as=False)


def _columns(x: Any, start: int, stop: int) -> Any:
    """Columns ``start:stop`` of each matrix, as a product with a constant selection."""
    n = x.shape[-1]
    return mm(x, eye_like(x, n, stop - start, k=-start))


def _place_columns(x: Any, start: int, n: int) -> Any:
    """``x`` as columns ``start:start + x.shape[-1]`` of an ``n``-column matrix of zeros."""
    return mm(x, eye_like(x, x.shape[-1], n, k=start))


def _qr_square_jvp(da: Any, q: Any, r: Any) -> tuple:
    """(dQ, dR) for A = QR with A m x n, m >= n (the columns of R are A's)."""
    # C = Q^T dA R^-1; Q^T dQ = Omega, the antisymmetric part fixed by tril(C, -1)
    dari = mT(solve_p(mT(r), mT(da)))
    c = mm(mT(q), dari)
    low = F.tril(c, k=-1)
    om = F.subtract(low, mT(low))
    dr = mm(F.subtract(c, om), r)
    dq = F.add(mm(q, F.subtract(om, c)), dari)
    return dq, dr


def _qr_square_vjp(q: Any, r: Any, cq: Any, cr: Any) -> Any:
    # M = R_bar R^T - Q^T Q_bar; A_bar = (Q copyltu(M) + Q_bar) R^-T
    parts = []
    if cr is not None:
        parts.append(mm(cr, mT(r)))
    if cq is not None:
        parts.append(-mm(mT(q), cq))
    mmat = parts[0] if len(parts) == 1 else F.add(parts[0], parts[1])
    nmat = F.add(F.triu(mmat), mT(F.triu(mmat, k=1)))
    x = mm(q, nmat)
    if cq is not None:
        x = F.add(x, cq)
    return mT(solve_p(r, mT(x)))


def _qr_jvp(primals: list, tangents: list, mode: str = "reduced") -> tuple:
    a, t = primals[0], tangents[0]
    _check_reduced_qr(a, mode)
    q, r = qr_p(a, mode=mode)
    m, n = a.shape[-2:]
    if m >= n:
        return (q, r), _qr_square_jvp(t, q, r)
    # wide: A = [X | Y] = Q [R1 | R2] with X square, R2 = Q^T Y
    r1 = _columns(r, 0, m)
    dq, dr1 = _qr_square_jvp(_columns(t, 0, m), q, r1)
    y, dy = _columns(a, m, n), _columns(t, m, n)
    dr2 = F.add(mm(mT(dq), y), mm(mT(q), dy))
    return (q, r), (dq, F.add(_place_columns(dr1, 0, n), _place_columns(dr2, m, n)))


def _qr_vjp(primals: list, needs: list, mode: str = "reduced") -> tuple:
    a = primals[0]
    _check_reduced_qr(a, mode)
    q, r = qr_p(a, mode=mode)
    m, n = a.shape[-2:]

    def qr_pullback(cts: list) -> tuple:
        cq, cr = cts
        if cq is None and cr is None:
            return (None,)
        if m >= n:
            return (_qr_square_vjp(q, r, cq, cr),)
        r1 = _columns(r, 0, m)
        cr1 = _columns(cr, 0, m) if cr is not None else None
        gy = None
        if cr is not None:
            cr2 = _columns(cr, m, n)
            extra = mm(_columns(a, m, n), mT(cr2))  # through R2 = Q^T Y
            cq = extra if cq is None else F.add(cq, extra)
            gy = mm(q, cr2)
        gx = _qr_square_vjp(q, r1, cq, cr1)
        g = _place_columns(gx, 0, n)
        if gy is not None:
            g = F.add(g, _place_columns(gy, m, n))
        return (g,)

    return (q, r), qr_pullback


def _check_reduced_qr(a: Any, mode: str) -> None:
    m, n = a.shape[-2:]
    if mode == "complete" and m > n:
        _check_reduced(a, True, 'qr(mode="complete")', 'mode="reduced"')


def qr(x: Any, /, *, mode: str = "reduced") -> QRResult:
    """``xp.linalg.qr``: ``(Q, R)``; differentiable for full-rank input (``mode="reduced"``)."""
    return QRResult(*qr_p(x, mode=mode))


defrule(
    qr_p,
    jvp=_qr_jvp,
    vjp=_qr_vjp,
    batch=_stack_batch(qr_p),
    samples=lambda make: [((make(s),), {}) for s in ((3, 2), (3, 3), (2, 3), (2, 4, 3))]
    + [((make((2, 3)),), {"mode": "complete"})],
    tol={"float32": (5e-2, 5e-3)},
)
export("linalg.qr", qr)
