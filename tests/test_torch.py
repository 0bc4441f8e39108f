"""PyTorch tensors through the torch adapter: xpgrad differentiates, torch autograd is unused.

Expected values are the same derivatives taken on NumPy arrays (the sibling
backend), or by hand.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import xpgrad  # noqa: E402
import xpgrad.backends as B  # noqa: E402


def ns(x: Any) -> Any:
    import array_api_compat

    return array_api_compat.array_namespace(x)


def f_vec(x: Any) -> Any:
    xp = ns(x)
    return xp.cumulative_sum(xp.sin(x)) * xp.flip(x, axis=0)


def f_scalar(x: Any) -> Any:
    xp = ns(x)
    return xp.sum(xp.tanh(x) ** 3 + x * xp.roll(x, 1)) + xp.sum(x[::-1][:2] ** 2)


XN = np.linspace(-0.9, 1.3, 6)


@pytest.fixture
def x() -> Any:
    return torch.from_numpy(XN.copy())


@pytest.fixture
def no_autograd(monkeypatch: Any) -> Iterator[None]:
    """Fail if anything calls into torch's autograd."""

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("torch autograd was used")

    monkeypatch.setattr(torch.autograd, "grad", boom)
    monkeypatch.setattr(torch.autograd, "backward", boom)
    monkeypatch.setattr(torch.Tensor, "backward", boom)
    yield


def close(got: Any, want: Any) -> None:
    assert isinstance(got, torch.Tensor), type(got)
    assert not got.requires_grad and got.grad_fn is None
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_adapter_is_found() -> None:
    assert B.backend_of(torch.ones(1)) is B.get("torch")
    assert B.namespace_of(torch.ones(1)).__name__ == "array_api_compat.torch"


def test_gradient(x: Any, no_autograd: None) -> None:
    (g,) = xpgrad.gradient(f_scalar, x)
    close(g, xpgrad.gradient(f_scalar, XN)[0])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian(x: Any, mode: str, no_autograd: None) -> None:
    (J,) = xpgrad.jacobian(f_vec, x, mode=mode, chunk_size=4)
    n = XN.size
    want = np.tril(np.ones((n, n))) * np.cos(XN)[None, :] * XN[::-1][:, None]
    want[np.arange(n), n - 1 - np.arange(n)] += np.cumsum(np.sin(XN))
    close(J, want)


def test_hessians_and_vmap(x: Any, no_autograd: None) -> None:
    want = xpgrad.hessian(f_scalar, XN)
    close(xpgrad.hessian(f_scalar, x), want)
    close(xpgrad.hessian_reverse(f_scalar, x), want)
    close(xpgrad.diaghessian(f_scalar, x)[0], np.diag(want))
    xs = torch.stack([x, 2 * x])
    close(xpgrad.vmap(f_vec)(xs), np.stack([f_vec(XN), f_vec(2 * XN)]))


def test_float32_is_kept(no_autograd: None) -> None:
    x = torch.tensor([0.5, 1.5], dtype=torch.float32)
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(v ** 3), x)
    assert g.dtype == torch.float32
    np.testing.assert_allclose(g.numpy(), 3 * np.array([0.5, 1.5]) ** 2, rtol=1e-6)


def test_tensors_that_require_grad_are_plain_values_to_xpgrad() -> None:
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        (g,) = xpgrad.gradient(lambda v: ns(v).sum(v * v), x.detach())
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_integer_index_with_repeats(x: Any, no_autograd: None) -> None:
    idx = torch.tensor([0, 5, 5, 2, 0])
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(v[idx] ** 2), x)
    want = np.zeros_like(XN)
    np.add.at(want, idx.numpy(), 2 * XN[idx.numpy()])
    close(g, want)


def test_mixing_torch_and_numpy_is_a_type_error(x: Any) -> None:
    with pytest.raises(TypeError, match="two backends"):
        xpgrad.gradient(lambda a, b: ns(a).sum(a), x, XN)


def test_tensor_on_the_left_of_an_operator(x: Any) -> None:
    W = torch.arange(12.0, dtype=torch.float64).reshape(2, 6)
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(W @ v) + ns(v).sum(W[0] * v), x)
    close(g, W.numpy().sum(0) + W.numpy()[0])


def test_torch_functions_on_tracers(x: Any) -> None:
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(torch.sin(v)), x)
    close(g, np.cos(XN))
