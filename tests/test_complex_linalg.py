"""Complex linear algebra: the rules of issue 6, checked outside xpgrad's own machinery.

For each function, a real-valued loss of a complex matrix or vector that does
not depend on the phase of eigenvectors or singular vectors (a gauge-invariant
loss) is differentiated by ``xpgrad.gradient`` and compared with

- central finite differences in the real and imaginary parts, computed with
  NumPy alone (``dL/dx - i dL/dy``, the convention of ``tests/test_complex.py``);
- ``jax.grad`` (the same convention), with x64 enabled;
- PyTorch's ``z.grad`` conjugated (PyTorch returns ``dL/dx + i dL/dy``).

The losses are written once against the Array API, so the same code runs on
NumPy, on xpgrad's traced arrays, on ``jax.numpy`` and on
``array_api_compat.torch``. ``eigh``, ``eigvalsh`` and ``cholesky`` are defined
by xpgrad (and JAX) on the Hermitian part ``(A + A^H) / 2``; NumPy and PyTorch
read one triangle, so for them the loss takes the Hermitian part explicitly.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

import xpgrad
from test_complex import _fd_gradient  # dL/dx - i dL/dy by central differences


def _ns(x: Any) -> Any:
    return x.__array_namespace__()


def _crand(shape: tuple, seed: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, shape) + 1j * rng.uniform(lo, hi, shape)


def _herm(xp: Any, a: Any) -> Any:
    return 0.5 * a + 0.5 * xp.conj(xp.matrix_transpose(a))


def _mH(xp: Any, a: Any) -> Any:
    return xp.conj(xp.matrix_transpose(a))


def _k(xp: Any, c: Any, like: Any) -> Any:
    """The constant ``c`` in ``like``'s namespace and precision (real stays real).

    From NumPy arrays, never Python lists or scalars, which PyTorch would make
    single precision.
    """
    c = np.asarray(c)
    single = like.dtype in (xp.complex64, xp.float32)
    if np.iscomplexobj(c):
        return xp.asarray(c, dtype=xp.complex64 if single else xp.complex128)
    return xp.asarray(c, dtype=xp.float32 if single else xp.float64)


def _re_dot(xp: Any, w: np.ndarray, y: Any) -> Any:
    """``Re(sum(y * w))`` with the constant ``w`` moved to ``y``'s namespace (the
    traced value first: array-api-strict's operators refuse a tracer on the right)."""
    return xp.sum(xp.real(y * _k(xp, w, y)))


# Constant weights of the losses, fixed once (not from any derivative).
W33 = _crand((3, 3), 101)
W32 = _crand((3, 2), 102)
W23 = _crand((2, 3), 103)
C3 = np.array([1.0, -2.0, 0.5])
C2 = np.array([1.5, -1.0])


# -- the losses: (xp, z, explicit_herm) -> real scalar --------------------------------------
def cholesky_loss(xp, z, h):
    a = _herm(xp, z) if h else z
    return _re_dot(xp, W33, xp.linalg.cholesky(a))


def cholesky_upper_loss(xp, z, h):
    # the standard's upper=True is U = L^H; through L^H so every library can run it
    a = _herm(xp, z) if h else z
    return _re_dot(xp, W33, _mH(xp, xp.linalg.cholesky(a)))


def eigh_loss(xp, z, h):
    # w, projectors V diag(c) V^H and |V|^2: all independent of each eigenvector's phase
    a = _herm(xp, z) if h else z
    w, v = xp.linalg.eigh(a)
    c = _k(xp, C3, v)
    p = xp.matmul(v * c, _mH(xp, v))
    mod = xp.real(v * xp.conj(v))
    return (
        xp.sum(w * _k(xp, [0.3, -0.7, 1.1], v))
        + _re_dot(xp, W33, p)
        + xp.sum(mod * _k(xp, np.real(W33), v))
    )


def eigvalsh_loss(xp, z, h):
    a = _herm(xp, z) if h else z
    w = xp.linalg.eigvalsh(a)
    return xp.sum(w * _k(xp, C3, z)) + xp.sum(w**2)


def _svd_loss(w_us: np.ndarray, k: int) -> Callable:
    def loss(xp, z, h):
        # s, U diag(c) Vh, U diag(c) U^H, V diag(c) V^H: independent of the shared
        # phase of (u_i, v_i)
        u, s, vh = xp.linalg.svd(z, full_matrices=False)
        c = _k(xp, C2[:k], z)
        return (
            xp.sum(s * c)
            + _re_dot(xp, w_us, xp.matmul(u * c, vh))
            + _re_dot(xp, W33[: u.shape[0], : u.shape[0]], xp.matmul(u * c, _mH(xp, u)))
            + _re_dot(xp, W33[: vh.shape[1], : vh.shape[1]], xp.matmul(_mH(xp, vh) * c, vh))
        )

    return loss


def svdvals_loss(xp, z, h):
    s = xp.linalg.svdvals(z)
    return xp.sum(s * _k(xp, C2, z)) + xp.sum(s**3)


def _qr_loss(w_q: np.ndarray, w_r: np.ndarray) -> Callable:
    def loss(xp, z, h):
        # Q diag(c) Q^H and |R|^2: independent of a diagonal unitary D in (Q D, D^H R),
        # so the check does not lean on every library using LAPACK's real diag(R)
        q, r = xp.linalg.qr(z)
        c = _k(xp, C2, z)
        return _re_dot(xp, w_q, xp.matmul(q * c, _mH(xp, q))) + xp.sum(
            xp.real(r * xp.conj(r)) * _k(xp, np.real(w_r), z)
        )

    return loss


def slogdet_loss(xp, z, h):
    sign, logabs = xp.linalg.slogdet(z)
    return 0.7 * logabs + xp.real(sign * _k(xp, 0.4 - 1.3j, z))


def pinv_loss(xp, z, h):
    return _re_dot(xp, W23, xp.linalg.pinv(z))


def _vector_norm_loss(ord: Any) -> Callable:
    def loss(xp, z, h):
        return xp.linalg.vector_norm(z, ord=ord)

    return loss


def _matrix_norm_loss(ord: Any) -> Callable:
    def loss(xp, z, h):
        return xp.linalg.matrix_norm(z, ord=ord)

    return loss


def _hpd(seed: int) -> np.ndarray:
    b = _crand((3, 3), seed)
    return b @ b.conj().T + 3 * np.eye(3) + 0.2 * _crand((3, 3), seed + 50)  # not Hermitian


# name, loss, input, takes the Hermitian part
CASES = (
    [
        ("cholesky", cholesky_loss, _hpd(1), True),
        ("cholesky_upper", cholesky_upper_loss, _hpd(2), True),
        ("eigh", eigh_loss, _crand((3, 3), 3, -2, 2), True),
        ("eigvalsh", eigvalsh_loss, _crand((3, 3), 4, -2, 2), True),
        ("svd_tall", _svd_loss(W32, 2), _crand((3, 2), 5), False),
        ("svd_wide", _svd_loss(W23, 2), _crand((2, 3), 6), False),
        ("svdvals", svdvals_loss, _crand((3, 2), 7), False),
        ("qr_tall", _qr_loss(W33, W32[:2]), _crand((3, 2), 8), False),
        ("qr_wide", _qr_loss(W33[:2, :2], W23), _crand((2, 3), 9), False),
        ("slogdet", slogdet_loss, _crand((3, 3), 10) + 2 * np.eye(3), False),
        ("pinv", pinv_loss, _crand((3, 2), 11), False),
    ]
    + [
        (f"vector_norm_{o}", _vector_norm_loss(o), _crand((5,), 20 + i, -2, 2), False)
        for i, o in enumerate((2, 1, math.inf, -math.inf, 3, 0.5))
    ]
    + [
        (f"matrix_norm_{o}", _matrix_norm_loss(o), _crand((3, 3), 30 + i, -2, 2), False)
        for i, o in enumerate(("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf))
    ]
)
IDS = [c[0] for c in CASES]


def _ours(loss: Callable, z: Any) -> Any:
    (g,) = xpgrad.gradient(lambda a: loss(_ns(a), a, False), z)
    return g


def _numpy_loss(loss: Callable, herm: bool) -> Callable:
    return lambda z: float(loss(np, z, herm))


@pytest.mark.parametrize("name,loss,z,herm", CASES, ids=IDS)
def test_gradient_matches_finite_differences(name, loss, z, herm) -> None:
    g = _ours(loss, z)
    assert g.dtype == np.complex128 and g.shape == z.shape
    fd = _fd_gradient(_numpy_loss(loss, herm), z)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,loss,z,herm", CASES, ids=IDS)
def test_gradient_matches_jax(name, loss, z, herm) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    # JAX, like xpgrad, symmetrizes eigh/eigvalsh/cholesky input itself
    jg = jax.grad(lambda a: loss(jnp, a, False))(jnp.asarray(z))
    np.testing.assert_allclose(_ours(loss, z), np.asarray(jg), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name,loss,z,herm", CASES, ids=IDS)
def test_gradient_is_the_conjugate_of_torchs(name, loss, z, herm) -> None:
    torch = pytest.importorskip("torch")
    tx = pytest.importorskip("array_api_compat.torch")
    tz = torch.tensor(z, requires_grad=True)
    loss(tx, tz, herm).backward()
    np.testing.assert_allclose(_ours(loss, z), np.conj(tz.grad.numpy()), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", ["eigh", "svd_tall", "vector_norm_2", "matrix_norm_nuc"])
def test_complex64_at_order_one(name: str) -> None:
    _, loss, z, herm = CASES[IDS.index(name)]
    z64 = z.astype(np.complex64)
    (g,) = xpgrad.gradient(lambda a: loss(_ns(a), a, False), z64)
    assert g.dtype == np.complex64
    # the reference in double precision, at the rounded input
    fd = _fd_gradient(_numpy_loss(loss, herm), z64.astype(np.complex128))
    np.testing.assert_allclose(g, fd, rtol=2e-3, atol=2e-4)


def test_complex64_conformance_order_one() -> None:
    # the rules' own check (forward vs finite differences, reverse vs forward) in
    # single precision, with the float32 tolerances
    from xpgrad.rules import PRIMITIVES
    from xpgrad.testing import check_grads

    z = _crand((3, 3), 40).astype(np.complex64)
    a = (z + z.conj().T + 4 * np.eye(3)).astype(np.complex64)
    for name, arg in (
        ("linalg.eigvalsh", a),
        ("linalg.svdvals", z),
        ("linalg.slogdet", a),
        ("linalg.cholesky", a @ a.conj().T),
        ("linalg.qr", z),
    ):
        p = PRIMITIVES[name]
        check_grads(lambda x, p=p: p(x), (arg,), order=1, tol={"complex64": (5e-2, 5e-3)})


# -- real outputs have real tangents and cotangents -------------------------------------------
REAL_VALUED = [
    ("eigvalsh", lambda xp, a: xp.linalg.eigvalsh(a)),
    ("eigh.eigenvalues", lambda xp, a: xp.linalg.eigh(a).eigenvalues),
    ("svdvals", lambda xp, a: xp.linalg.svdvals(a)),
    ("svd.S", lambda xp, a: xp.linalg.svd(a, full_matrices=False)[1]),
    ("slogdet.logabsdet", lambda xp, a: xp.linalg.slogdet(a).logabsdet),
    ("vector_norm", lambda xp, a: xp.linalg.vector_norm(a, axis=-1)),
    ("matrix_norm_nuc", lambda xp, a: xp.linalg.matrix_norm(a, ord="nuc")),
    ("matrix_norm_inf", lambda xp, a: xp.linalg.matrix_norm(a, ord=math.inf)),
]


@pytest.mark.parametrize("name,f", REAL_VALUED, ids=[r[0] for r in REAL_VALUED])
def test_real_outputs_have_real_tangents(name, f) -> None:
    a = _crand((3, 3), 41) + 3 * np.eye(3)
    y, dy = xpgrad.jvp(lambda x: f(_ns(x), x), (a,), (_crand((3, 3), 42),))
    assert y.dtype == np.float64 and dy.dtype == np.float64
    # a real cotangent comes back complex (the input's dtype)
    _, back = xpgrad.pullback(lambda x: f(_ns(x), x), a)
    (g,) = back(np.ones(y.shape))
    assert g.dtype == np.complex128


def test_slogdet_sign_moves_on_the_unit_circle() -> None:
    # d sign = i Im(tr(A^-1 dA)) sign, d logabsdet = Re(tr(A^-1 dA)): compare with NumPy's
    # slogdet at A + eps dA
    a = _crand((3, 3), 43) + 2 * np.eye(3)
    da = _crand((3, 3), 44)
    (s, _), (ds, dla) = xpgrad.jvp(lambda x: tuple(_ns(x).linalg.slogdet(x)), (a,), (da,))
    eps = 1e-6
    sp, lp = np.linalg.slogdet(a + eps * da)
    sm, lm = np.linalg.slogdet(a - eps * da)
    np.testing.assert_allclose(ds, (sp - sm) / (2 * eps), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dla, (lp - lm) / (2 * eps), rtol=1e-6, atol=1e-8)
    assert abs(np.real(np.conj(s) * ds)) < 1e-12  # tangent to the unit circle


# -- the phase convention of eigenvectors and singular vectors --------------------------------
def test_eigenvector_tangent_keeps_the_phase() -> None:
    # diag(V^H dV) = 0 (so Im(diag(V^H dV)) = 0), and V^H dV is anti-Hermitian
    a = _crand((4, 4), 45)
    (_, v), (dw, dv) = xpgrad.jvp(
        lambda x: tuple(_ns(x).linalg.eigh(x)), (a,), (_crand((4, 4), 46),)
    )
    m = v.conj().T @ dv
    np.testing.assert_allclose(np.diag(m), 0, atol=1e-12)
    np.testing.assert_allclose(m, -m.conj().T, atol=1e-10)
    assert dw.dtype == np.float64


def test_singular_vector_tangents_keep_the_phase_of_v() -> None:
    # diag(V^H dV) = 0; diag(U^H dU) = i Im(diag(U^H dA V)) / s, which every gauge has
    # up to the phase shared with V (d arg u_i - d arg v_i = Im(u_i^H dA v_i) / s_i)
    a, da = _crand((4, 3), 47), _crand((4, 3), 48)
    (u, s, vh), (du, ds, dvh) = xpgrad.jvp(
        lambda x: tuple(_ns(x).linalg.svd(x, full_matrices=False)), (a,), (da,)
    )
    v, dv = vh.conj().T, dvh.conj().T
    np.testing.assert_allclose(np.diag(v.conj().T @ dv), 0, atol=1e-12)
    want = 1j * np.imag(np.diag(u.conj().T @ da @ v)) / s
    np.testing.assert_allclose(np.diag(u.conj().T @ du), want, atol=1e-10)
    np.testing.assert_allclose(ds, np.real(np.diag(u.conj().T @ da @ v)), atol=1e-12)


def test_hermitian_part_convention() -> None:
    # eigvalsh, eigh and cholesky see only the Hermitian part; the cotangent is Hermitian
    rng = np.random.default_rng(49)
    b = _crand((3, 3), 50)
    a = b @ b.conj().T + 3 * np.eye(3)
    skew = rng.uniform(-1, 1, (3, 3)) + 1j * rng.uniform(-1, 1, (3, 3))
    skew = skew - skew.conj().T  # anti-Hermitian
    xp = xpgrad.rules.NAMESPACE
    np.testing.assert_allclose(xp["linalg.cholesky"](a + skew), np.linalg.cholesky(a))
    np.testing.assert_allclose(xp["linalg.eigvalsh"](a + skew), np.linalg.eigvalsh(a))
    for f in (
        lambda x: _ns(x).sum(_ns(x).real(_ns(x).linalg.cholesky(x)[:, 0] * (1 + 2j))),
        lambda x: _ns(x).linalg.eigvalsh(x)[0],
        lambda x: _ns(x).sum(_ns(x).abs(_ns(x).linalg.eigh(x).eigenvectors[0, :]) ** 2 * C3),
    ):
        (g,) = xpgrad.gradient(f, a + skew)
        np.testing.assert_allclose(g, g.conj().T, atol=1e-12)


def test_complex_conformance_on_array_api_strict() -> None:
    xps = pytest.importorskip("array_api_strict")
    z = _crand((3, 2), 51)
    loss = _svd_loss(W32, 2)
    (g,) = xpgrad.gradient(lambda a: loss(_ns(a), a, False), xps.asarray(z))
    assert g.dtype == xps.complex128
    np.testing.assert_allclose(
        np.from_dlpack(g), _fd_gradient(_numpy_loss(loss, False), z), rtol=1e-6, atol=1e-7
    )
