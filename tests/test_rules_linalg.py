"""The linear-algebra rules: gauge-invariant checks, degenerate points, conventions.

The generated conformance suite checks every linalg primitive on its samples.
Here: functions of eigenvectors and singular vectors that do not depend on the
sign the backend chose (``V diag(c) V^T``, ``U diag(c) Vh``), checked against
finite differences and the sibling mode to second order on every backend;
the documented behaviour at repeated eigenvalues, repeated singular values and
singular matrices; the symmetric-part convention; values computed by hand with
NumPy; and gradients cross-checked with PyTorch (skipped when not installed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad.testing import check_batching, check_grads

BACKENDS = [b for b in ("numpy", "array_api_strict") if b in B.available()]


def _ns(x):
    return x.__array_namespace__()


def _spd(rng, n, batch=()):
    b = rng.uniform(-1, 1, batch + (n, n))
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)


def _on(bname, a):
    xp = B.get(bname).namespace(None)
    return xp.asarray(a)


# -- gauge-invariant functions of eigenvectors, singular vectors and Q -----------------------
def eigh_projectors(a):
    xp = _ns(a)
    w, v = xp.linalg.eigh(a)
    c = xp.asarray([1.0, -2.0, 0.5], dtype=a.dtype)
    return w, xp.matmul(v * c, xp.matrix_transpose(v))


def svd_products(a):
    xp = _ns(a)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    c = xp.asarray([1.5, -1.0], dtype=a.dtype)
    return (s, xp.matmul(u * c, vh), xp.matmul(u * c, xp.matrix_transpose(u)),
            xp.matmul(xp.matrix_transpose(vh) * c, vh))


def qr_products(a):
    # Q diag(c) Q^T and R^T R (= A^T A) do not depend on the signs of Q's columns
    xp = _ns(a)
    q, r = xp.linalg.qr(a)
    c = xp.asarray([2.0, -1.0], dtype=a.dtype)
    return xp.matmul(q * c, xp.matrix_transpose(q)), xp.matmul(xp.matrix_transpose(r), r), q @ r


@pytest.mark.parametrize("bname", BACKENDS)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_eigh_gauge_invariant(bname, shape) -> None:
    # through B + B^T: eigh is defined on symmetric matrices, and NumPy's own eigh
    # (run by the finite differences) reads only one triangle
    b = _on(bname, np.random.default_rng(0).uniform(-2, 2, shape))

    def f(b):
        return eigh_projectors(b + _ns(b).matrix_transpose(b))

    check_grads(f, (b,), order=2)
    check_batching(f, (b,))


@pytest.mark.parametrize("bname", BACKENDS)
@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 2), (2, 4, 2)])
def test_svd_gauge_invariant(bname, shape) -> None:
    a = _on(bname, np.random.default_rng(1).uniform(-2, 2, shape))
    check_grads(svd_products, (a,), order=2)
    check_batching(svd_products, (a,))


@pytest.mark.parametrize("bname", BACKENDS)
@pytest.mark.parametrize("shape", [(3, 2), (2, 2), (2, 3), (2, 4, 2)])
def test_qr_gauge_invariant(bname, shape) -> None:
    a = _on(bname, np.random.default_rng(2).uniform(-2, 2, shape))
    check_grads(qr_products, (a,), order=2)
    check_batching(qr_products, (a,))


# -- degenerate points ---------------------------------------------------------------------------
def test_eigh_repeated_eigenvalues_vectors_not_finite_values_finite() -> None:
    a = np.diag([1.0, 1.0, 3.0])  # a doubly repeated eigenvalue
    g, = xpgrad.gradient(lambda a: _ns(a).sum(_ns(a).linalg.eigvalsh(a) ** 2), a)
    np.testing.assert_allclose(g, 2 * a)  # d sum(w^2) = d tr(A^2) = 2 A
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.eigh(a).eigenvalues[2], a)
    np.testing.assert_allclose(g, np.diag([0.0, 0.0, 1.0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        g, = xpgrad.gradient(lambda a: _ns(a).sum(_ns(a).linalg.eigh(a).eigenvectors[:, 0]), a)
    assert not np.all(np.isfinite(g)), "eigenvector derivative at a tie must not be finite"


def test_svd_repeated_singular_values() -> None:
    a = np.diag([2.0, 2.0, 1.0])
    g, = xpgrad.gradient(lambda a: _ns(a).sum(_ns(a).linalg.svdvals(a)), a)
    np.testing.assert_allclose(g, np.eye(3))  # nuclear norm of a PSD diagonal: U V^T = I
    with np.errstate(divide="ignore", invalid="ignore"):
        g, = xpgrad.gradient(lambda a: _ns(a).sum(_ns(a).linalg.svd(a).U[:, 0]), a)
    assert not np.all(np.isfinite(g))


def test_singular_matrix_raises() -> None:
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    for f in (lambda a: _ns(a).linalg.det(a), lambda a: _ns(a).linalg.slogdet(a).logabsdet,
              lambda a: _ns(a).sum(_ns(a).linalg.inv(a))):
        with pytest.raises(np.linalg.LinAlgError, match=r"[Ss]ingular"):
            xpgrad.gradient(f, a)


def test_non_unique_decompositions_raise() -> None:
    a = np.random.default_rng(3).uniform(-1, 1, (3, 2))
    with pytest.raises(ValueError, match="full_matrices=False"):
        xpgrad.gradient(lambda a: _ns(a).sum(_ns(a).linalg.svd(a).U), a)
    with pytest.raises(ValueError, match='mode="reduced"'):
        xpgrad.gradient(lambda a: _ns(a).sum(_ns(a).linalg.qr(a, mode="complete").Q), a)
    # square: full_matrices=True is the reduced SVD, and differentiable
    sq = np.random.default_rng(3).uniform(-1, 1, (2, 2))
    def full(a):
        u, s, vh = _ns(a).linalg.svd(a)  # full_matrices=True, the standard's default
        return u * _ns(a).asarray([1.5, -1.0]) @ vh, s

    check_grads(full, (sq,), order=1)


def test_norms_at_zero_give_zero_subgradient() -> None:
    z = np.zeros((2, 3))
    for f in (lambda x: _ns(x).linalg.vector_norm(x), lambda x: _ns(x).linalg.matrix_norm(x),
              lambda x: _ns(x).linalg.vector_norm(x, ord=3)):
        g, = xpgrad.gradient(f, z)
        np.testing.assert_array_equal(g, z)


def test_norm_ties_share_the_derivative() -> None:
    x = np.array([3.0, -3.0, 1.0])
    g, = xpgrad.gradient(lambda x: _ns(x).linalg.vector_norm(x, ord=math.inf), x)
    np.testing.assert_allclose(g, [0.5, -0.5, 0.0])
    a = np.diag([2.0, 2.0])  # spectral norm with a tied top singular value
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.matrix_norm(a, ord=2), a)
    np.testing.assert_allclose(g, 0.5 * np.eye(2))


# -- conventions -------------------------------------------------------------------------------
def test_symmetric_part_convention() -> None:
    rng = np.random.default_rng(4)
    a = _spd(rng, 3)
    skew = rng.uniform(-1, 1, (3, 3))
    skew = skew - skew.T
    xp = xpgrad.rules.NAMESPACE
    # the function sees only the symmetric part, on every backend
    np.testing.assert_allclose(xp["linalg.cholesky"](a + skew), np.linalg.cholesky(a))
    np.testing.assert_allclose(xp["linalg.eigvalsh"](a + skew), np.linalg.eigvalsh(a))
    # and the cotangent is symmetric
    for f in (lambda a: _ns(a).sum(_ns(a).linalg.cholesky(a)[:, 0]),
              lambda a: _ns(a).linalg.eigvalsh(a)[0],
              lambda a: _ns(a).sum(_ns(a).linalg.cholesky(a, upper=True)[0])):
        g, = xpgrad.gradient(f, a + skew)
        np.testing.assert_allclose(g, g.T, atol=1e-12)


# -- values computed by hand -----------------------------------------------------------------
def test_gradients_against_closed_forms() -> None:
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (3, 3)) + 3 * np.eye(3)
    ainv = np.linalg.inv(a)
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.det(a), a)
    np.testing.assert_allclose(g, np.linalg.det(a) * ainv.T)
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.slogdet(a).logabsdet, a)
    np.testing.assert_allclose(g, ainv.T)
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.trace(_ns(a).linalg.inv(a)), a)
    np.testing.assert_allclose(g, -(ainv @ ainv).T)
    u, _, vh = np.linalg.svd(a)
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.matrix_norm(a, ord="nuc"), a)
    np.testing.assert_allclose(g, u @ vh)
    g, = xpgrad.gradient(lambda a: _ns(a).linalg.matrix_norm(a, ord=2), a)
    np.testing.assert_allclose(g, np.outer(u[:, 0], vh[0]))
    # d tr(A^k) = k (A^(k-1))^T, also for negative k
    for k in (4, -2):
        g, = xpgrad.gradient(
            lambda a, k=k: _ns(a).linalg.trace(_ns(a).linalg.matrix_power(a, k)), a)
        np.testing.assert_allclose(g, k * np.linalg.matrix_power(a, k - 1).T)
    b = rng.uniform(-1, 1, 3)
    ga, gb = xpgrad.gradient(lambda a, b: _ns(a).sum(_ns(a).linalg.solve(a, b)), a, b)
    lam = np.linalg.solve(a.T, np.ones(3))
    np.testing.assert_allclose(gb, lam)
    np.testing.assert_allclose(ga, -np.outer(lam, np.linalg.solve(a, b)))


def test_tensordot_and_vecdot_axes_forms() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-1, 1, (2, 3, 4)), rng.uniform(-1, 1, (4, 3, 5))
    out = xpgrad.rules.NAMESPACE["tensordot"](x, y, axes=([-1, 1], [0, -2]))
    np.testing.assert_allclose(out, np.tensordot(x, y, axes=([2, 1], [0, 1])))
    check_grads(lambda x, y: _ns(x).tensordot(x, y, axes=([-1, 1], [0, -2])), (x, y))
    check_grads(lambda x, y: _ns(x).tensordot(x[0], y[:, 0], axes=1), (x, y))
    check_grads(lambda x, y: _ns(x).vecdot(x, y[:, :4], axis=0), (x[0], y[0]))
    np.testing.assert_allclose(xpgrad.rules.NAMESPACE["vecdot"](x[0], y[0, :, :4], axis=0),
                               np.sum(x[0] * y[0, :, :4], axis=0))
    with pytest.raises(ValueError, match="axes"):
        xpgrad.rules.NAMESPACE["tensordot"](x, y, axes=5)


def test_vmap_matmul_of_vectors() -> None:
    rng = np.random.default_rng(7)
    u, v, m = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3, 3))
    np.testing.assert_allclose(xpgrad.vmap(lambda a, b: a @ b)(u, v), np.sum(u * v, axis=1))
    np.testing.assert_allclose(xpgrad.vmap(lambda a: a @ m)(u), u @ m)
    np.testing.assert_allclose(xpgrad.vmap(lambda a: m @ a)(u), u @ m.T)
    np.testing.assert_allclose(xpgrad.vmap(lambda a: a @ u[0])(u), u @ u[0])


# -- against PyTorch -------------------------------------------------------------------------------
TORCH_CASES = [
    ("cholesky", lambda xp, a: xp.sum(xp.linalg.cholesky(a) ** 3),
     lambda t, a: (t.linalg.cholesky(a) ** 3).sum(), "spd"),
    ("eigh", lambda xp, a: xp.sum(eigh_projectors(a)[1] ** 2) + xp.sum(eigh_projectors(a)[0] ** 3),
     lambda t, a: _torch_eigh(t, a), "sym"),
    ("svd", lambda xp, a: xp.sum(svd_products(a)[1] ** 3) + xp.sum(svd_products(a)[0] ** 2),
     lambda t, a: _torch_svd(t, a), "rect"),
    ("qr", lambda xp, a: xp.sum(xp.sin(xp.linalg.qr(a).R)) + xp.sum(qr_products(a)[0] ** 3),
     lambda t, a: _torch_qr(t, a), "rect"),
    ("pinv", lambda xp, a: xp.sum(xp.sin(xp.linalg.pinv(a))),
     lambda t, a: t.sin(t.linalg.pinv(a)).sum(), "rect"),
    ("slogdet", lambda xp, a: xp.linalg.slogdet(a).logabsdet,
     lambda t, a: t.linalg.slogdet(a)[1], "spd"),
    ("matrix_norm", lambda xp, a: xp.linalg.matrix_norm(a, ord=-2) + xp.linalg.matrix_norm(a, ord=1),
     lambda t, a: t.linalg.matrix_norm(a, ord=-2) + t.linalg.matrix_norm(a, ord=1), "rect"),
    ("vector_norm", lambda xp, a: xp.linalg.vector_norm(a, ord=3, axis=0)[1],
     lambda t, a: t.linalg.vector_norm(a, ord=3, dim=0)[1], "rect"),
]


def _torch_eigh(t, a):
    w, v = t.linalg.eigh(a)
    c = t.tensor([1.0, -2.0, 0.5], dtype=a.dtype)
    return (((v * c) @ v.mT) ** 2).sum() + (w ** 3).sum()


def _torch_svd(t, a):
    u, s, vh = t.linalg.svd(a, full_matrices=False)
    c = t.tensor([1.5, -1.0], dtype=a.dtype)
    return (((u * c) @ vh) ** 3).sum() + (s ** 2).sum()


def _torch_qr(t, a):
    q, r = t.linalg.qr(a)
    c = t.tensor([2.0, -1.0], dtype=a.dtype)
    return t.sin(r).sum() + (((q * c) @ q.mT) ** 3).sum()


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_gradient_agrees_with_torch(case) -> None:
    torch = pytest.importorskip("torch")
    _, ours, theirs, kind = case
    rng = np.random.default_rng(8)
    if kind == "spd":
        a = _spd(rng, 3)
    elif kind == "sym":
        b = rng.uniform(-2, 2, (3, 3))
        a = b + b.T
    else:
        a = rng.uniform(-2, 2, (3, 2))
    g, = xpgrad.gradient(lambda a: ours(_ns(a), a), a)
    ta = torch.tensor(a, requires_grad=True)
    theirs(torch, ta).backward()
    expected = ta.grad.numpy()
    if kind in ("spd", "sym"):  # torch leaves the gradient unsymmetrized for some rules
        expected = 0.5 * (expected + expected.T)
    np.testing.assert_allclose(g, expected, rtol=1e-8, atol=1e-10)


def test_complex_input_is_differentiated() -> None:
    # every linalg rule takes complex input (issue 6); tests/test_complex_linalg.py checks
    # them against finite differences, JAX and PyTorch
    a = np.array([[2.0, 1j], [-1j, 3.0]])
    (g,) = xpgrad.gradient(lambda a: _ns(a).linalg.eigvalsh(a)[0], a)
    _, v = np.linalg.eigh(a)
    np.testing.assert_allclose(g, np.outer(v[:, 0].conj(), v[:, 0]), atol=1e-12)  # conj(v v^H)
    (g,) = xpgrad.gradient(lambda a: _ns(a).linalg.vector_norm(a), a)
    np.testing.assert_allclose(g, a.conj() / np.linalg.norm(a))
    # holomorphic rules take complex input: d det(A) = det(A) A^-T
    _, back = xpgrad.pullback(lambda a: _ns(a).linalg.det(a), a)
    np.testing.assert_allclose(back(np.ones((), dtype=complex))[0],
                               np.linalg.det(a) * np.linalg.inv(a).T)


# -- issue 16, defect 5: negative p-norms with a zero entry ---------------------------------
@pytest.mark.parametrize("p", [-1, -2, -0.5])
def test_negative_p_norm_with_a_zero_entry_has_zero_partials(p: float) -> None:
    def f(x):
        return x.__array_namespace__().linalg.vector_norm(x, ord=p)

    # the norm is 0 for any values of the other entries: their partials are 0
    g = xpgrad.gradient(f, np.array([0.0, 3.0, -4.0]))[0]
    np.testing.assert_array_equal(g, np.zeros(3))
    # away from zero the same rule agrees with central differences
    x = np.array([0.5, 3.0, -4.0])
    eps = 1e-6
    fd = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(xpgrad.gradient(f, x)[0], fd, rtol=1e-6)
