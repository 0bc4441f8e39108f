"""Inverses and determinants: inv, solve, det, slogdet, matrix_power, pinv, matrix_rank.

Derivatives are Giles's (2008, "An extended collection of matrix derivative
results"): ``d inv(A) = -inv(A) dA inv(A)``, ``d det(A) = det(A) tr(A^-1 dA)``,
Golub and Pereyra's for the pseudo-inverse. Every function acts on the last two
axes, so batching only passes the stack through.

Singular matrices: ``inv``, ``solve``, ``det`` and ``slogdet`` differentiate
through a linear solve with ``A``, so at an exactly singular ``A`` the backend's
solver raises (NumPy: ``LinAlgError: Singular matrix``) rather than returning a
number; near-singular matrices give large, correct derivatives. (The
derivative of ``det`` at a singular matrix is the adjugate, which exists; we
chose one formula for every backend instead of a special case.) ``pinv`` is
differentiated with its rank held fixed: where a singular value crosses the
``rtol`` cut-off the function jumps and has no derivative.

Complex input follows the engine's convention (a pullback is the transpose of
the pushforward under ``Re(sum(a * b))``, no conjugation). ``inv``, ``solve``,
``det`` and ``matrix_power`` are holomorphic, so their rules are the real ones.
``slogdet`` is not: with ``tau = tr(A^-1 dA)``, ``d logabsdet = Re(tau)`` (real)
and ``d sign = i Im(tau) sign`` (the sign is ``det / |det|``, on the unit circle).
``pinv``'s formula has ``A^H`` and ``P^H`` in place of the transposes (Golub and
Pereyra's, for complex matrices), and its pullback the conjugates that transposing
them brings.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

from . import patterns_linalg as plinalg
from ._matrix import (
    cj,
    imag_part_i,
    is_complex,
    linalg_impl,
    mH,
    mT,
    stack_batch,
    well_conditioned_sample,
)
from ._registry import F, align_batched, complex_ok, defrule, export, primitive, unbroadcast
from .elementwise import multiply
from .linalg import matmul
from .linalg_vectors import trace_p

mm = matmul
mul = multiply


def _square_samples(make: Any) -> list:
    return [((well_conditioned_sample(make, s),), {}) for s in ((3, 3), (2, 3, 3), (1, 1))]


def _scale(ct: Any) -> Any:
    """A per-matrix scalar ``(...,)`` as ``(..., 1, 1)``, to multiply matrices."""
    return F.expand_dims(F.expand_dims(ct, axis=-1), axis=-1)


# -- inv -------------------------------------------------------------------------------------
inv_p = primitive("inv", linalg_impl("inv"), module="linalg")


def _inv_jvp(primals: list, tangents: list) -> tuple:
    y = inv_p(primals[0])
    return y, -mm(mm(y, tangents[0]), y)


def _inv_vjp(primals: list, needs: list) -> tuple:
    y = inv_p(primals[0])

    def inv_pullback(ct: Any) -> tuple:
        yt = mT(y)
        return (-mm(mm(yt, ct), yt),)

    return y, inv_pullback


defrule(
    inv_p,
    jvp=_inv_jvp,
    vjp=_inv_vjp,
    batch=stack_batch(inv_p),
    pattern=plinalg.stacked,
    samples=_square_samples,
)


# -- solve -----------------------------------------------------------------------------------
solve_p = primitive("solve", linalg_impl("solve"), module="linalg")


def _solve_jvp(primals: list, tangents: list) -> tuple:
    a, b = primals
    ta, tb = tangents
    out = solve_p(a, b)
    vec = b.ndim == 1  # the standard: a 1-D b is one right-hand side
    x = F.expand_dims(out, axis=-1) if vec else out
    # dX = A^-1 (dB - dA X)
    rhs = None
    if tb is not None:
        rhs = F.expand_dims(tb, axis=-1) if vec else tb
    if ta is not None:
        u = -mm(ta, x)
        rhs = u if rhs is None else F.add(rhs, u)
    t = solve_p(a, rhs)
    return out, (F.squeeze(t, axis=-1) if vec else t)


def _solve_vjp(primals: list, needs: list) -> tuple:
    a, b = primals
    out = solve_p(a, b)
    vec = b.ndim == 1

    def solve_pullback(ct: Any) -> tuple:
        c = F.expand_dims(ct, axis=-1) if vec else ct
        gb = solve_p(mT(a), c)  # A^-T ct, shaped like the broadcast result
        ga = None
        if needs[0]:
            x = F.expand_dims(out, axis=-1) if vec else out
            ga = unbroadcast(-mm(gb, mT(x)), a)
        if needs[1]:
            gb = unbroadcast(F.squeeze(gb, axis=-1) if vec else gb, b)
        else:
            gb = None
        return ga, gb

    return out, solve_pullback


def _solve_batch(args: list, batched: list) -> tuple:
    a, b = args
    ba, bb = batched
    vec = b.ndim - bb == 1
    if vec and bb:  # physically 2-D: make it an explicit column, then drop it again
        b = F.expand_dims(b, axis=-1)
    elif vec:  # an unbatched vector broadcasts against the batched stack as it is
        return solve_p(a, b), True
    a, b = align_batched([a, b], [ba, bb])
    out = solve_p(a, b)
    return (F.squeeze(out, axis=-1) if vec else out), True


def _solve_samples(make: Any) -> list:
    w = well_conditioned_sample
    return [
        ((w(make, (3, 3)), make((3,))), {}),
        ((w(make, (3, 3)), make((3, 2))), {}),
        ((w(make, (2, 3, 3)), make((3,))), {}),
        ((w(make, (2, 3, 3)), make((2, 3, 1))), {}),
        ((w(make, (3, 3)), make((2, 3, 2))), {}),
    ]


defrule(
    solve_p,
    jvp=_solve_jvp,
    vjp=_solve_vjp,
    batch=_solve_batch,
    pattern=plinalg.core(plinalg.solve_in, plinalg.solve_out),
    samples=_solve_samples,
)


# -- det and slogdet --------------------------------------------------------------------------
det_p = primitive("det", linalg_impl("det"), module="linalg")


def _det_jvp(primals: list, tangents: list) -> tuple:
    a, t = primals[0], tangents[0]
    d = det_p(a)
    return d, mul(d, trace_p(solve_p(a, t)))


def _det_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    d = det_p(a)

    def det_pullback(ct: Any) -> tuple:
        return (mul(_scale(mul(ct, d)), mT(inv_p(a))),)

    return d, det_pullback


defrule(
    det_p,
    jvp=_det_jvp,
    vjp=_det_vjp,
    batch=stack_batch(det_p),
    pattern=plinalg.matrix_reduction,
    samples=_square_samples,
)


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


slogdet_p = primitive(
    "slogdet",
    linalg_impl("slogdet", multiple=True),
    module="linalg",
    multiple_results=True,
    export_as=False,
)


def _slogdet_jvp(primals: list, tangents: list) -> tuple:
    # tau = d log det = tr(A^-1 dA): d logabsdet = Re(tau), d sign = i Im(tau) sign
    a, t = primals[0], tangents[0]
    sign, logabs = slogdet_p(a)
    tau = trace_p(solve_p(a, t))
    if not is_complex(tau):
        return (sign, logabs), (None, tau)  # a real sign is locally constant
    return (sign, logabs), (mul(sign, imag_part_i(tau)), F.real(tau))


def _slogdet_vjp(primals: list, needs: list) -> tuple:
    a = primals[0]
    sign, logabs = slogdet_p(a)
    complex_ = is_complex(sign)

    def slogdet_pullback(cts: list) -> tuple:
        # the transpose: tau_bar = logabsdet_bar + i Im(sign_bar sign), A_bar = tau_bar A^-T
        cs, ct = cts
        if not complex_:
            cs = None
        if cs is None and ct is None:
            return (None,)
        tau = None
        if cs is not None:
            tau = imag_part_i(mul(cs, sign))
        if ct is not None:
            tau = ct if tau is None else F.add(tau, ct)
        return (mul(_scale(tau), mT(inv_p(a))),)

    return (sign, logabs), slogdet_pullback


def _slogdet_samples(make: Any) -> list:
    b = 0.3 * make((2, 2))  # near a permutation: negative determinant when real
    flip = make.xp.asarray([[0.0, 1.0], [1.0, 0.0]], dtype=b.dtype)
    return _square_samples(make) + [((flip + b,), {})]


def slogdet(x: Any, /) -> SlogdetResult:
    """``xp.linalg.slogdet``: ``(sign, logabsdet)``.

    Real input: the sign is locally constant (no derivative). Complex input: the
    sign ``det / |det|`` moves on the unit circle, ``d sign = i Im(tr(A^-1 dA)) sign``,
    and ``d logabsdet = Re(tr(A^-1 dA))`` (real, as ``logabsdet`` is).
    """
    return SlogdetResult(*slogdet_p(x))


defrule(
    slogdet_p,
    jvp=_slogdet_jvp,
    vjp=_slogdet_vjp,
    batch=stack_batch(slogdet_p),
    pattern=plinalg.matrix_reduction,
    samples=_slogdet_samples,
)
export("linalg.slogdet", slogdet)


# -- matrix_power: binary powering, differentiated step by step ------------------------------
matrix_power_p = primitive(
    "matrix_power", linalg_impl("matrix_power", positional=("n",)), module="linalg", export_as=False
)


def _power_plan(n: int) -> tuple[list, int]:
    """Products computing ``B**n`` (n >= 1) by squaring: node 0 is ``B``, node k+1 is
    ``nodes[i] @ nodes[j]`` for the k-th pair ``(i, j)``; returns (pairs, result node)."""
    pairs: list[tuple[int, int]] = []
    square, result = 0, None
    while True:
        if n & 1:
            if result is None:
                result = square
            else:
                pairs.append((result, square))
                result = len(pairs)
        n >>= 1
        if not n:
            assert result is not None  # n >= 1 has a lowest set bit
            return pairs, result
        pairs.append((square, square))
        square = len(pairs)


def _power_base(a: Any, n: int) -> Any:
    return inv_p(a) if n < 0 else a


def _matrix_power_jvp(primals: list, tangents: list, n: int) -> tuple:
    a, t = primals[0], tangents[0]
    if n == 0:
        return matrix_power_p(a, n=0), None
    b = _power_base(a, n)
    db = -mm(mm(b, t), b) if n < 0 else t
    pairs, res = _power_plan(abs(n))
    vals, tans = [b], [db]
    for i, j in pairs:
        vals.append(mm(vals[i], vals[j]))
        tans.append(F.add(mm(tans[i], vals[j]), mm(vals[i], tans[j])))
    return vals[res], tans[res]


def _matrix_power_vjp(primals: list, needs: list, n: int) -> tuple:
    a = primals[0]
    if n == 0:
        return matrix_power_p(a, n=0), lambda ct: (None,)
    b = _power_base(a, n)
    pairs, res = _power_plan(abs(n))
    vals = [b]
    for i, j in pairs:
        vals.append(mm(vals[i], vals[j]))

    def matrix_power_pullback(ct: Any) -> tuple:
        cts: list = [None] * len(vals)
        cts[res] = ct
        for k in range(len(pairs) - 1, -1, -1):
            c = cts[k + 1]
            if c is None:
                continue
            i, j = pairs[k]
            for idx, g in ((i, mm(c, mT(vals[j]))), (j, mm(mT(vals[i]), c))):
                cts[idx] = g if cts[idx] is None else F.add(cts[idx], g)
        gb = cts[0]
        if n < 0:  # through B = A^-1
            bt = mT(b)
            gb = -mm(mm(bt, gb), bt)
        return (gb,)

    return vals[res], matrix_power_pullback


def matrix_power(x: Any, n: int, /) -> Any:
    """``xp.linalg.matrix_power``: ``x`` to the integer power ``n`` (negative: of ``inv(x)``)."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"linalg.matrix_power: n must be an integer, got {n!r}") from None
    return matrix_power_p(x, n=n)


def _matrix_power_samples(make: Any) -> list:
    a = make((3, 3), -1.0, 1.0)
    w = well_conditioned_sample
    return [((a,), {"n": k}) for k in (0, 1, 2, 3, 5)] + [
        ((w(make, (3, 3)),), {"n": -1}),
        ((w(make, (2, 3, 3)),), {"n": -3}),
        ((make((2, 3, 3), -1.0, 1.0),), {"n": 6}),
    ]


defrule(
    matrix_power_p,
    jvp=_matrix_power_jvp,
    vjp=_matrix_power_vjp,
    batch=stack_batch(matrix_power_p),
    pattern=plinalg.stacked,
    samples=_matrix_power_samples,
)
export("linalg.matrix_power", matrix_power)


# -- pinv ---------------------------------------------------------------------------------------
pinv_p = primitive("pinv", linalg_impl("pinv"), module="linalg", export_as=False)


def _pinv_jvp(primals: list, tangents: list, rtol: Any = None) -> tuple:
    # dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P   (Golub & Pereyra 1973)
    a, da = primals[0], tangents[0]
    p = pinv_p(a, rtol=rtol)
    ph, dah = mH(p), mH(da)
    t1 = -mm(mm(p, da), p)
    t2 = mm(p, mm(ph, F.subtract(dah, mm(mm(dah, a), p))))
    t3 = mm(F.subtract(dah, mm(p, mm(a, dah))), mm(ph, p))
    return p, F.add(F.add(t1, t2), t3)


def _pinv_vjp(primals: list, needs: list, rtol: Any = None) -> tuple:
    a = primals[0]
    p = pinv_p(a, rtol=rtol)

    def pinv_pullback(ct: Any) -> tuple:
        # the transpose: -P^T C P^T + (I - conj(A P)) C^H conj(P P^H)
        #                + conj(P^H P) C^H (I - conj(P A))   (real: conj is the identity)
        pt, pc, ac, cth = mT(p), cj(p), cj(a), mH(ct)
        t1 = -mm(mm(pt, ct), pt)
        x = mm(cth, mm(pc, pt))
        t2 = F.subtract(x, mm(ac, mm(pc, x)))
        y = mm(mm(pt, pc), cth)
        t3 = F.subtract(y, mm(mm(y, pc), ac))
        return (F.add(F.add(t1, t2), t3),)

    return p, pinv_pullback


def pinv(x: Any, /, *, rtol: Any = None) -> Any:
    """``xp.linalg.pinv``: the Moore-Penrose pseudo-inverse (derivative at fixed rank)."""
    return pinv_p(x, rtol=rtol)


defrule(
    pinv_p,
    jvp=_pinv_jvp,
    vjp=_pinv_vjp,
    batch=stack_batch(pinv_p),
    pattern=plinalg.stacked,
    samples=lambda make: [
        ((make((3, 2)),), {}),
        ((make((2, 3)),), {}),
        ((well_conditioned_sample(make, (3, 3)),), {}),
        ((make((2, 3, 2)),), {"rtol": 1e-8}),
    ],
)
export("linalg.pinv", pinv)


# -- matrix_rank: an integer, no derivative ------------------------------------------------------
matrix_rank_p = primitive(
    "matrix_rank", linalg_impl("matrix_rank"), module="linalg", export_as=False
)
matrix_rank_p.differentiable = False
matrix_rank_p.batch = stack_batch(matrix_rank_p)
matrix_rank_p.samples = lambda make: [((make((3, 2)),), {}), ((make((2, 3, 3)),), {"rtol": 0.1})]


def matrix_rank(x: Any, /, *, rtol: Any = None) -> Any:
    """``xp.linalg.matrix_rank``: the number of singular values above ``rtol * max``."""
    return matrix_rank_p(x, rtol=rtol)


export("linalg.matrix_rank", matrix_rank)

# Holomorphic: the rules above hold for complex input under the transpose convention.
complex_ok(inv_p, solve_p, det_p, matrix_power_p)
# Not holomorphic (|det|, conjugate transposes), with rules written for complex input too.
complex_ok(slogdet_p, pinv_p)
