"""linalg.eig and linalg.eigvals (2025.12) against closed forms that hold for any
matrix, including ones with complex eigenvalues: sum(w^k) = trace(A^k), and
V diag(w) V^-1 = A. The generated conformance suite checks both rules against
finite differences on matrices with real, distinct eigenvalues."""

from __future__ import annotations

import array_api_strict as xs
import numpy as np
import pytest

import xpgrad

RNG = np.random.default_rng(7)
A = RNG.standard_normal((4, 4))  # complex eigenvalues with probability > 0


def _torch(a):
    torch = pytest.importorskip("torch")
    return torch.asarray(a)


MAKES = pytest.mark.parametrize(
    "make", [np.asarray, xs.asarray, _torch], ids=["numpy", "array_api_strict", "torch"]
)


def ns(x):
    return x.__array_namespace__()


@MAKES
def test_eigvals_power_sums_are_traces(make) -> None:
    assert np.iscomplexobj(np.linalg.eigvals(A)) and np.abs(np.linalg.eigvals(A).imag).max() > 0

    def f(a):
        xp = ns(a)
        w = xp.linalg.eigvals(a)
        return xp.real(xp.sum(w * w * w))  # trace(A^3), gradient 3 (A^2)^T

    (g,) = xpgrad.gradient(f, make(A))
    np.testing.assert_allclose(np.asarray(g), 3 * (A @ A).T, rtol=1e-9, atol=1e-12)
    h = xpgrad.hessian(f, make(A))  # d/dA_kl 3 (A^2)_ji = 3 (δ_jk A_li + A_jk δ_il)
    want = 3 * (np.einsum("jk,li->ijkl", np.eye(4), A) + np.einsum("jk,il->ijkl", A, np.eye(4)))
    np.testing.assert_allclose(np.asarray(h), want.reshape(16, 16), rtol=1e-7, atol=1e-9)


@MAKES
def test_eig_reconstruction_has_the_identity_derivative(make) -> None:
    c = RNG.standard_normal((4, 4))

    def f(a):
        xp = ns(a)
        w, v = xp.linalg.eig(a)
        back = (v * w[None, :]) @ xp.linalg.inv(v)  # = A for every gauge of V
        return xp.sum(xp.real(back) * make(c))

    (g,) = xpgrad.gradient(f, make(A))
    np.testing.assert_allclose(np.asarray(g), c, rtol=1e-9, atol=1e-10)
    jv = xpgrad.jvp(f, (make(A),), (make(c),))[1]
    assert float(jv) == pytest.approx(float(np.sum(c * c)), rel=1e-9)


def test_eig_result_is_the_standards() -> None:
    out = xpgrad.gradient(lambda a: ns(a).sum(ns(a).real(ns(a).linalg.eig(a).eigenvalues)), A)
    np.testing.assert_allclose(out[0], np.eye(4), atol=1e-12)  # sum(w) = trace(A)
    from xpgrad._core.namespace import traced_namespace

    res = traced_namespace(xs).linalg.eig(xs.asarray(A, dtype=xs.float32))
    assert res._fields == ("eigenvalues", "eigenvectors")
    assert res.eigenvalues.dtype == xs.complex64 and res.eigenvectors.dtype == xs.complex64
