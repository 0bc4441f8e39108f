"""Complex inputs: JAX's convention, checked by hand, against JAX and against PyTorch.

xpgrad's pullback is the transpose of the pushforward, with no conjugation
(JAX's convention). So for a real-valued ``L(z)`` of complex ``z = x + iy``,
``gradient`` returns ``dL/dx - i dL/dy``: the conjugate of PyTorch's ``z.grad``
(``dL/dx + i dL/dy``), and the same as ``jax.grad``. To step downhill with it,
use ``z - lr * conj(g)``.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad


def _xp(x):
    return x.__array_namespace__()


def _fd_gradient(L, z: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dL/dx - i dL/dy by central differences (independent of xpgrad; NumPy only)."""
    g = np.zeros(z.shape, dtype=np.complex128)
    for i in range(z.size):
        e = np.zeros(z.size, dtype=z.dtype)
        e[i] = eps
        e = e.reshape(z.shape)
        dx = (L(z + e) - L(z - e)) / (2 * eps)
        dy = (L(z + 1j * e) - L(z - 1j * e)) / (2 * eps)
        g.flat[i] = dx - 1j * dy
    return g


# name, domain of real and imaginary parts (off the branch cuts)
FUNCS = [
    ("exp", (-1, 1)), ("expm1", (-1, 1)), ("log", (0.3, 2)), ("log1p", (0.3, 2)),
    ("log2", (0.3, 2)), ("log10", (0.3, 2)), ("sqrt", (0.3, 2)), ("square", (-2, 2)),
    ("sin", (-1, 1)), ("cos", (-1, 1)), ("tan", (-0.5, 0.5)), ("sinh", (-1, 1)),
    ("cosh", (-1, 1)), ("tanh", (-0.5, 0.5)), ("asin", (-0.5, 0.5)), ("acos", (-0.5, 0.5)),
    ("atan", (-0.5, 0.5)), ("asinh", (0.2, 0.8)), ("acosh", (1.2, 2)), ("atanh", (-0.5, 0.5)),
    ("reciprocal", (0.3, 2)), ("abs", (0.3, 2)), ("sign", (0.3, 2)), ("conj", (-2, 2)),
    ("real", (-2, 2)), ("imag", (-2, 2)), ("negative", (-2, 2)),
]
NP = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
      "acosh": "arccosh", "atanh": "arctanh", "conj": "conjugate"}


def _sample(domain, shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    lo, hi = domain
    return rng.uniform(lo, hi, shape) + 1j * rng.uniform(lo, hi, shape)


def _loss(name: str, w: np.ndarray):
    """L(z) = Re(sum(w * f(z))): real-valued, touching both parts of f(z)."""

    def L(z):
        if isinstance(z, np.ndarray):
            fz = np.reciprocal(z) if name == "reciprocal" else getattr(np, NP.get(name, name))(z)
            return float(np.real(np.sum(w * fz)))
        xp = _xp(z)
        return xp.real(xp.sum(getattr(xp, name)(z) * w))

    return L


@pytest.mark.parametrize("name,domain", FUNCS, ids=[f[0] for f in FUNCS])
def test_gradient_is_dx_minus_i_dy(name: str, domain: tuple) -> None:
    z = _sample(domain)
    w = _sample((-1, 1), seed=1)
    L = _loss(name, w)
    (g,) = xpgrad.gradient(L, z)
    assert g.dtype == np.complex128 and g.shape == z.shape
    np.testing.assert_allclose(g, _fd_gradient(L, z), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,domain", FUNCS, ids=[f[0] for f in FUNCS])
def test_gradient_matches_jax(name: str, domain: tuple) -> None:
    jax = pytest.importorskip("jax")
    if name == "sign":
        pytest.skip("JAX gives sign a zero derivative even on complex inputs (defjvp_zero); "
                    "xpgrad differentiates sign(z) = z/|z| (finite differences, PyTorch's sgn)")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    z = _sample(domain)
    w = _sample((-1, 1), seed=1)
    (g,) = xpgrad.gradient(_loss(name, w), z)
    jname = {"conj": "conjugate"}.get(name, name)
    jfn = getattr(jnp, {"asin": "arcsin", "acos": "arccos", "atan": "arctan",
                        "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh"}
                  .get(jname, jname))
    jg = jax.grad(lambda a: jnp.real(jnp.sum(jfn(a) * jnp.asarray(w))))(jnp.asarray(z))
    np.testing.assert_allclose(g, np.asarray(jg), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,domain", FUNCS, ids=[f[0] for f in FUNCS])
def test_gradient_is_the_conjugate_of_torchs(name: str, domain: tuple) -> None:
    torch = pytest.importorskip("torch")
    z = _sample(domain)
    w = _sample((-1, 1), seed=1)
    (g,) = xpgrad.gradient(_loss(name, w), z)
    tz = torch.tensor(z, requires_grad=True)
    tfn = {"square": torch.square, "reciprocal": torch.reciprocal, "sign": torch.sgn,
           "conj": torch.conj_physical, "real": torch.real, "imag": torch.imag,
           "log2": torch.log2, "log10": torch.log10}.get(name) or getattr(torch, name)
    torch.real(torch.sum(tfn(tz) * torch.tensor(w))).backward()
    np.testing.assert_allclose(g, np.conj(tz.grad.numpy()), rtol=1e-10, atol=1e-12)


def test_abs_squared_has_gradient_2_conj_z() -> None:
    z = np.array([1 + 2j, -0.5 + 0.25j, 3 - 1j])
    (g,) = xpgrad.gradient(lambda a: _xp(a).sum(_xp(a).abs(a) ** 2), z)
    np.testing.assert_allclose(g, 2 * np.conj(z))


def test_holomorphic_pullback_is_not_conjugated() -> None:
    z = np.array([0.3 + 0.4j, -1.0 + 0.5j])
    ct = np.array([1.0 - 2.0j, 0.5 + 0.5j])
    _, back = xpgrad.pullback(lambda a: _xp(a).exp(a) * a, z)
    (g,) = back(ct)
    np.testing.assert_allclose(g, ct * (np.exp(z) * (1 + z)))
    _, dy = xpgrad.jvp(lambda a: _xp(a).exp(a) * a, (z,), (ct,))
    np.testing.assert_allclose(dy, ct * (np.exp(z) * (1 + z)))


def test_mixed_real_and_complex_arguments() -> None:
    # L = |x * z|^2 with real x: dL/dx is real, dL/dz complex (conjugated)
    x = np.array([0.5, -2.0])
    z = np.array([1 + 1j, 2 - 0.5j])
    gx, gz = xpgrad.gradient(lambda a, b: _xp(a).sum(_xp(a).abs(a * b) ** 2), x, z)
    assert gx.dtype == np.float64
    np.testing.assert_allclose(gx, 2 * x * np.abs(z) ** 2)
    np.testing.assert_allclose(gz, 2 * x**2 * np.conj(z))


def test_complex64_keeps_its_dtype() -> None:
    z = np.array([1 + 2j, 0.5 - 1j], dtype=np.complex64)
    (g,) = xpgrad.gradient(lambda a: _xp(a).sum(_xp(a).real(_xp(a).exp(a))), z)
    assert g.dtype == np.complex64
    # L = Re(sum(exp(z))): dL = Re(exp(z) dz), so the gradient is exp(z) itself
    np.testing.assert_allclose(g, np.exp(z), rtol=1e-6)


def test_complex_valued_output_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="complex scalar"):
        xpgrad.gradient(lambda a: _xp(a).sum(a * a), np.array([1 + 1j, 2j]))


def test_abs_at_zero_has_zero_derivative() -> None:
    z = np.array([0j, 3 + 4j])
    (g,) = xpgrad.gradient(lambda a: _xp(a).sum(_xp(a).abs(a)), z)
    np.testing.assert_allclose(g, [0, (3 - 4j) / 5])


def test_complex_on_array_api_strict() -> None:
    xps = pytest.importorskip("array_api_strict")
    z = xps.asarray([1 + 2j, -0.5 + 1j])

    def L(a):
        xp = _xp(a)
        return xp.sum(xp.real(xp.log(a) * a)) + xp.sum(xp.abs(a))

    (g,) = xpgrad.gradient(L, z)
    assert g.dtype == xps.complex128
    zn = np.array([1 + 2j, -0.5 + 1j])
    # d Re(z log z) = Re((log z + 1) dz); d|z| = Re(conj(z)/|z| dz)
    np.testing.assert_allclose(np.from_dlpack(g), np.log(zn) + 1 + np.conj(zn) / np.abs(zn))
