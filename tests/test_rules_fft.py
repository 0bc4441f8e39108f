"""The fft rules against independently built Jacobians, against JAX, and under vmap.

Every transform is linear, so its Jacobian is the transform applied to a basis;
NumPy's own ``numpy.fft`` builds it here, independently of xpgrad's transposes.
Under the engine's convention the pullback pairs with ``Re(sum(ct * dy))``, so
in real coordinates ``(re, im)`` the cotangent's vector is ``(re, -im)``.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import xpgrad
from xpgrad.rules import NAMESPACE, PRIMITIVES


def _xp(x):
    return x.__array_namespace__()


def _real_coords(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z)
    if np.iscomplexobj(z):
        return np.concatenate([z.real.ravel(), z.imag.ravel()])
    return z.ravel().astype(np.float64)


def _dual_coords(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z)
    if np.iscomplexobj(z):
        return np.concatenate([z.real.ravel(), -z.imag.ravel()])
    return z.ravel().astype(np.float64)


def _jacobian(f, x: np.ndarray) -> np.ndarray:
    """The real Jacobian of the linear ``f`` at ``x``: columns are f(basis)."""
    cols = []
    units = (1.0, 1j) if np.iscomplexobj(x) else (1.0,)
    for u in units:
        for i in range(x.size):
            e = np.zeros(x.size, dtype=x.dtype)
            e[i] = u
            cols.append(_real_coords(f(e.reshape(x.shape))))
    return np.stack(cols, axis=1)


def _cplx(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


# (name, numpy function, params, input maker)
CASES = [
    ("fft", np.fft.fft, {}, lambda r: _cplx(r, (5,))),
    ("fft", np.fft.fft, {"n": 7, "norm": "ortho"}, lambda r: _cplx(r, (5,))),
    ("ifft", np.fft.ifft, {"n": 3, "axis": 0}, lambda r: _cplx(r, (4, 2))),
    ("rfft", np.fft.rfft, {}, lambda r: r.standard_normal(6)),
    ("rfft", np.fft.rfft, {"n": 5, "norm": "forward"}, lambda r: r.standard_normal(6)),
    ("rfft", np.fft.rfft, {"n": 9, "norm": "ortho"}, lambda r: r.standard_normal(6)),
    ("irfft", np.fft.irfft, {}, lambda r: _cplx(r, (4,))),
    ("irfft", np.fft.irfft, {"n": 7}, lambda r: _cplx(r, (4,))),
    ("irfft", np.fft.irfft, {"n": 4, "norm": "forward"}, lambda r: _cplx(r, (5,))),
    ("hfft", np.fft.hfft, {}, lambda r: _cplx(r, (4,))),
    ("hfft", np.fft.hfft, {"n": 5, "norm": "ortho"}, lambda r: _cplx(r, (4,))),
    ("ihfft", np.fft.ihfft, {}, lambda r: r.standard_normal(5)),
    ("ihfft", np.fft.ihfft, {"n": 8, "norm": "forward"}, lambda r: r.standard_normal(5)),
    ("fftn", np.fft.fftn, {"axes": (0, 1)}, lambda r: _cplx(r, (3, 4))),
    ("fftn", np.fft.fftn, {"s": (2, 5), "axes": (1, 0), "norm": "ortho"},
     lambda r: _cplx(r, (3, 4))),
    ("ifftn", np.fft.ifftn, {"axes": (0, 2)}, lambda r: _cplx(r, (2, 2, 3))),
    ("rfftn", np.fft.rfftn, {"axes": (0, 1)}, lambda r: r.standard_normal((3, 5))),
    ("rfftn", np.fft.rfftn, {"s": (4, 3), "axes": (0, 1), "norm": "forward"},
     lambda r: r.standard_normal((3, 5))),
    ("irfftn", np.fft.irfftn, {"axes": (0, 1)}, lambda r: _cplx(r, (3, 3))),
    ("irfftn", np.fft.irfftn, {"s": (3, 5), "axes": (1, 0), "norm": "ortho"},
     lambda r: _cplx(r, (4, 3))),
    ("fftshift", np.fft.fftshift, {"axes": 0}, lambda r: r.standard_normal((5, 2))),
    ("ifftshift", np.fft.ifftshift, {}, lambda r: _cplx(r, (3, 4))),
]


def _ids(c):
    return f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_jvp_and_pullback_match_the_numpy_jacobian(case) -> None:
    name, np_fn, params, make = case
    rng = np.random.default_rng(0)
    x = make(rng)
    J = _jacobian(lambda a: np_fn(a, **params), x)

    def f(a):
        return getattr(_xp(a).fft, name)(a, **params)

    v = make(rng)
    y, dy = xpgrad.jvp(f, (x,), (v,))
    np.testing.assert_allclose(y, np_fn(x, **params), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_real_coords(dy), J @ _real_coords(v), rtol=1e-10, atol=1e-10)

    y, back = xpgrad.pullback(f, x)
    ct = _cplx(rng, y.shape) if np.iscomplexobj(y) else rng.standard_normal(y.shape)
    (g,) = back(ct)
    assert g.dtype == x.dtype and g.shape == x.shape
    np.testing.assert_allclose(_dual_coords(g), J.T @ _dual_coords(ct), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_pullback_agrees_with_jax(case) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    name, _, params, make = case
    rng = np.random.default_rng(1)
    x = make(rng)

    y, back = xpgrad.pullback(lambda a: getattr(_xp(a).fft, name)(a, **params), x)
    ct = _cplx(rng, y.shape) if np.iscomplexobj(y) else rng.standard_normal(y.shape)
    (g,) = back(ct)
    _, jback = jax.vjp(lambda a: getattr(jnp.fft, name)(a, **params), jnp.asarray(x))
    (jg,) = jback(jnp.asarray(ct))
    np.testing.assert_allclose(g, np.asarray(jg), rtol=1e-10, atol=1e-10)


def test_gradient_of_a_spectral_loss() -> None:
    # L = sum |rfft(x)|^2 * w, checked against central differences by hand
    rng = np.random.default_rng(2)
    x = rng.standard_normal(7)
    w = rng.uniform(0.5, 2.0, 4)

    def loss(a):
        xp = _xp(a)
        return xp.sum(xp.abs(xp.fft.rfft(a)) ** 2 * w)

    (g,) = xpgrad.gradient(loss, x)
    eps = 1e-6
    fd = np.array([
        (np.sum(np.abs(np.fft.rfft(x + eps * e)) ** 2 * w)
         - np.sum(np.abs(np.fft.rfft(x - eps * e)) ** 2 * w)) / (2 * eps)
        for e in np.eye(7)
    ])
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_vmap_moves_the_transform_axes() -> None:
    rng = np.random.default_rng(3)
    xs = _cplx(rng, (3, 4, 5))
    got = xpgrad.vmap(lambda a: _xp(a).fft.fftn(a, axes=(1,), s=(6,)))(xs)
    want = np.stack([np.fft.fftn(x, axes=(1,), s=(6,)) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    got = xpgrad.vmap(lambda a: _xp(a).fft.rfft(a, axis=0, n=3))(xs.real)
    np.testing.assert_allclose(got, np.fft.rfft(xs.real, axis=1, n=3), rtol=1e-12, atol=1e-12)
    got = xpgrad.vmap(lambda a: _xp(a).fft.fftshift(a))(xs)
    np.testing.assert_allclose(got, np.fft.fftshift(xs, axes=(1, 2)))


def test_second_derivative_through_a_transform() -> None:
    # f(x) = sum(irfft(rfft(x) * h)): linear, so its Hessian-vector product is 0,
    # and g(x) = sum(irfft(rfft(x)) ** 3) has H v = 6 x v (irfft(rfft(x)) == x)
    import xpgrad.testing as T

    x = np.random.default_rng(4).standard_normal(6)
    T.check_grads(lambda a: _xp(a).fft.irfft(_xp(a).fft.rfft(a), n=6) ** 3, (x,), order=2)


def test_signatures_are_the_standards() -> None:
    one = ("x", "n", "axis", "norm")
    for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
        sig = inspect.signature(NAMESPACE[f"fft.{name}"])
        assert tuple(sig.parameters) == one
        assert sig.parameters["x"].kind is inspect.Parameter.POSITIONAL_ONLY
        assert sig.parameters["n"].default is None and sig.parameters["axis"].default == -1
        assert sig.parameters["norm"].default == "backward"
    for name in ("fftn", "ifftn", "rfftn", "irfftn"):
        assert tuple(inspect.signature(NAMESPACE[f"fft.{name}"]).parameters) == (
            "x", "s", "axes", "norm")
    for name in ("fftshift", "ifftshift"):
        assert tuple(inspect.signature(NAMESPACE[f"fft.{name}"]).parameters) == ("x", "axes")
    assert "fft_resize" in PRIMITIVES and "fft_resize" not in NAMESPACE


def test_bad_norm_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="norm must be one of"):
        xpgrad.gradient(lambda a: _xp(a).sum(_xp(a).fft.rfft(a, norm="unitary").real),
                        np.ones(4))


def test_fftfreq_passes_through() -> None:
    def f(a):
        xp = _xp(a)
        return xp.sum(a * xp.fft.fftfreq(4, d=0.5))

    (g,) = xpgrad.gradient(f, np.ones(4))
    np.testing.assert_allclose(g, np.fft.fftfreq(4, d=0.5))


# -- issue 16, defect 1: a real signal gets a real gradient in its own dtype ------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name", ["fft", "ifft", "fftn", "ifftn", "irfft", "hfft", "irfftn"]
)
def test_real_input_to_a_complex_transform_gets_a_real_gradient(name: str, dtype) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(6).astype(dtype)
    w = rng.standard_normal(20)

    def f(x):
        xp = _xp(x)
        y = getattr(xp.fft, name)(x)
        y = xp.imag(y) if xp.isdtype(y.dtype, "complex floating") else y
        return xp.sum(y * xp.asarray(w[: y.shape[0]], dtype=y.dtype))

    g = xpgrad.gradient(f, x)[0]
    assert g.dtype == x.dtype
    # the gradient of a real function of a real vector, by central differences
    eps = 1e-6
    x64 = x.astype(np.float64)
    fd = np.array(
        [(f(x64 + eps * e) - f(x64 - eps * e)) / (2 * eps) for e in np.eye(x.shape[0])]
    )
    tol = 1e-4 if dtype == np.float32 else 1e-7
    np.testing.assert_allclose(g, fd, rtol=tol, atol=tol)


def test_imag_of_a_real_input_has_a_zero_gradient() -> None:
    x = np.array([1.0, 2.0, 3.0])
    g = xpgrad.gradient(lambda x: _xp(x).sum(_xp(x).imag(x) * 2.0 + x), x)[0]
    assert g.dtype == x.dtype
    np.testing.assert_array_equal(g, np.ones(3))
