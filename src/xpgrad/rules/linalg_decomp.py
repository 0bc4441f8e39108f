"""Triangular factorizations: cholesky and qr, real and complex.

- ``cholesky`` is defined on symmetric (Hermitian) matrices, and backends differ
  in which triangle they read. xpgrad applies it to the Hermitian part
  ``(A + A^H) / 2`` (the symmetric part for real ``A``; bit for bit the input
  when that is Hermitian), as JAX does, so the function and its derivative are
  the same on every backend and for every perturbation, and the cotangent of
  ``A`` is Hermitian. (Plain NumPy code run outside xpgrad on a non-Hermitian
  ``A`` reads one triangle instead: compare derivatives through a Hermitian
  parametrisation such as ``B + B^H``.)
- ``qr(mode="complete")`` of a tall matrix has arbitrary extra columns of ``Q``;
  differentiating it raises, naming the fix (``mode="reduced"``). Wide matrices
  are differentiated through their leading square block.
- Complex ``qr``: ``R``'s diagonal is real (LAPACK's Householder convention, on
  every backend), which fixes the phase of each column of ``Q``; so ``Q^H dQ``
  is anti-Hermitian with ``Im(diag(Q^H dQ)) = Im(diag(Q^H dA R^-1))`` and
  ``diag(dR)`` stays real, and no gauge is left to choose.
- Rank-deficient input: the rules solve with ``R`` or ``L``, so the backend's
  ``LinAlgError`` or ``inf``/``nan`` says the derivative does not exist.

Complex inputs follow the engine's convention (a pullback is the transpose of
the pushforward under ``Re(sum(a * b))``, no conjugation): the formulas below are
the real ones with ``^T`` replaced by ``^H`` where the factorization has it, and
their pullbacks the exact transposes (for instance ``conj(L)`` where the real
formula has ``L``).

Formulas: Murray 2016 and Seeger et al. 2017 (Cholesky); Walter and Lehmann 2018,
Liao et al. 2019 (QR, including the wide case); complex forms as in PyTorch's
``cholesky_jvp``/``linalg_qr_jvp`` (FunctionsManual.cpp), conjugated to this
convention.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import patterns_linalg as plinalg
from ._matrix import (
    check_unique,
    cj,
    eye_like,
    is_complex,
    linalg_impl,
    mH,
    mT,
    spd_sample,
    stack_batch,
    sym,
)
from ._registry import F, complex_ok, defrule, export, primitive
from .elementwise import multiply
from .linalg import matmul
from .linalg_solve import solve_p

mm = matmul
mul = multiply


def _phi(x: Any) -> Any:
    """The lower triangle with the diagonal halved."""
    return F.subtract(F.tril(x), mul(0.5 * x, eye_like(x, x.shape[-1])))


# -- cholesky ---------------------------------------------------------------------------------
cholesky_p = primitive(
    "cholesky", linalg_impl("cholesky", symmetric=True), module="linalg", export_as=False
)


def _cholesky_jvp(primals: list, tangents: list, upper: bool = False) -> tuple:
    # L dL^H + dL L^H = dA  =>  dL = L Phi(L^-1 dA L^-H)  (dA Hermitian: the tangent's
    # Hermitian part; diag(L^-1 dL) is real, as L's diagonal stays real)
    a, t = primals[0], tangents[0]
    out = cholesky_p(a, upper=upper)
    low = mH(out) if upper else out
    x = solve_p(low, mH(solve_p(low, sym(t))))
    dl = mm(low, _phi(x))
    return out, (mH(dl) if upper else dl)


def _cholesky_vjp(primals: list, needs: list, upper: bool = False) -> tuple:
    a = primals[0]
    out = cholesky_p(a, upper=upper)
    low = mH(out) if upper else out

    def cholesky_pullback(ct: Any) -> tuple:
        if upper:  # U = L^H: the transpose of dL -> dL^H is ct -> ct^H
            ct = mH(ct)
        # A_bar = herm(L^-T Phi(L^T L_bar) conj(L)^-1)  (real: sym(L^-T Phi(L^T L_bar) L^-1))
        lt = mT(low)
        z = solve_p(lt, _phi(mm(lt, ct)))
        return (sym(mT(solve_p(mH(low), mT(z)))),)

    return out, cholesky_pullback


def cholesky(x: Any, /, *, upper: bool = False) -> Any:
    """``xp.linalg.cholesky`` of the Hermitian (symmetric) part of ``x``; so is the cotangent.

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
    batch=stack_batch(cholesky_p),
    pattern=plinalg.stacked,
    samples=lambda make: [
        ((spd_sample(make, (3, 3)),), {}),
        ((spd_sample(make, (2, 3, 3)),), {}),
        ((spd_sample(make, (3, 3)),), {"upper": True}),
    ],
)
export("linalg.cholesky", cholesky)


# -- qr ------------------------------------------------------------------------------------------
class QRResult(NamedTuple):
    Q: Any
    R: Any


qr_p = primitive(
    "qr", linalg_impl("qr", multiple=True), module="linalg", multiple_results=True, export_as=False
)


def _columns(x: Any, start: int, stop: int) -> Any:
    """Columns ``start:stop`` of each matrix, as a product with a constant selection."""
    n = x.shape[-1]
    return mm(x, eye_like(x, n, stop - start, k=-start))


def _place_columns(x: Any, start: int, n: int) -> Any:
    """``x`` as columns ``start:start + x.shape[-1]`` of an ``n``-column matrix of zeros."""
    return mm(x, eye_like(x, x.shape[-1], n, k=start))


def _qr_square_jvp(da: Any, q: Any, r: Any) -> tuple:
    """(dQ, dR) for A = QR with A m x n, m >= n (the columns of R are A's)."""
    # C = Q^H dA R^-1 = Q^H dQ + dR R^-1 with Omega = Q^H dQ anti-Hermitian and
    # dR R^-1 upper triangular with a real diagonal (R's diagonal is real):
    # Omega = T - T^H with T = Phi(C) = tril(C, -1) + diag(C) / 2, so diag(Omega) =
    # i Im(diag(C)) (real: the diagonal cancels, T = tril(C, -1) is enough)
    dari = mT(solve_p(mT(r), mT(da)))
    c = mm(mH(q), dari)
    low = _phi(c) if is_complex(c) else F.tril(c, k=-1)
    om = F.subtract(low, mH(low))
    dr = mm(F.subtract(c, om), r)
    dq = F.add(mm(q, F.subtract(om, c)), dari)
    return dq, dr


def _qr_square_vjp(q: Any, r: Any, cq: Any, cr: Any) -> Any:
    # The transpose of the above: M = R_bar R^T - Q^T Q_bar,
    # A_bar = (conj(Q) N + Q_bar) R^-T with N = triu(M, 1) + triu(M, 1)^H + Re(diag(M))
    # (real: N = copyltu(M), Q conj(Q) = Q)
    parts = []
    if cr is not None:
        parts.append(mm(cr, mT(r)))
    if cq is not None:
        parts.append(-mm(mT(q), cq))
    mmat = parts[0] if len(parts) == 1 else F.add(parts[0], parts[1])
    upper = F.triu(mmat, k=1)
    diag = F.multiply(mmat, eye_like(mmat, mmat.shape[-1]))
    nmat = F.add(F.add(upper, mH(upper)), sym(diag))
    x = mm(cj(q), nmat)
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
    # wide: A = [X | Y] = Q [R1 | R2] with X square, R2 = Q^H Y
    r1 = _columns(r, 0, m)
    dq, dr1 = _qr_square_jvp(_columns(t, 0, m), q, r1)
    y, dy = _columns(a, m, n), _columns(t, m, n)
    dr2 = F.add(mm(mH(dq), y), mm(mH(q), dy))
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
            extra = mm(cj(_columns(a, m, n)), mH(cr2))  # through R2 = Q^H Y
            cq = extra if cq is None else F.add(cq, extra)
            gy = mm(cj(q), cr2)
        gx = _qr_square_vjp(q, r1, cq, cr1)
        g = _place_columns(gx, 0, n)
        if gy is not None:
            g = F.add(g, _place_columns(gy, m, n))
        return (g,)

    return (q, r), qr_pullback


def _check_reduced_qr(a: Any, mode: str) -> None:
    m, n = a.shape[-2:]
    check_unique(a, mode == "complete" and m > n, 'qr(mode="complete")', 'mode="reduced"')


def qr(x: Any, /, *, mode: str = "reduced") -> QRResult:
    """``xp.linalg.qr``: ``(Q, R)``; differentiable for full-rank input (``mode="reduced"``)."""
    return QRResult(*qr_p(x, mode=mode))


defrule(
    qr_p,
    jvp=_qr_jvp,
    vjp=_qr_vjp,
    batch=stack_batch(qr_p),
    pattern=plinalg.stacked,
    samples=lambda make: (
        [((make(s),), {}) for s in ((3, 2), (3, 3), (2, 3), (2, 4, 3))]
        + [((make((2, 3)),), {"mode": "complete"})]
    ),
    tol={"float32": (5e-2, 5e-3)},
)
export("linalg.qr", qr)

# Complex: Hermitian cholesky, and qr with R's real diagonal fixing Q's phases (no gauge).
complex_ok(cholesky_p, qr_p)
