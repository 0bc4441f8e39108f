"""PyTorch tensors through the torch adapter: xpgrad differentiates, torch autograd is unused.

Expected values are the same derivatives taken on NumPy arrays (the sibling
backend), or by hand.
"""

from __future__ import annotations

import os
import warnings
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
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(v**3), x)
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


# -- xpgrad.jit's lowering hook: torch.compile, opt-in, kept only within 1 ulp -----------


def _jitted_gradient() -> Any:
    return xpgrad.jit(lambda x: xpgrad.gradient(f_scalar, x)[0])


def test_jit_does_not_compile_by_default(x: Any) -> None:
    adapter = B.get("torch")
    assert adapter.compile_programs is False
    jf = _jitted_gradient()
    jf(x)
    assert jf.lower(x).run is jf.lower(x).fn  # the hook declined: xpgrad's function


@pytest.fixture
def compiling(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The torch adapter with ``compile_programs`` on and ``torch.compile`` replaced by
    ``make(fn)``, so the hook's checks are tested without compiling for seconds."""
    adapter = B.get("torch")
    monkeypatch.setattr(adapter, "compile_programs", True)
    calls: list = []

    def use(make: Any) -> list:
        def fake_compile(fn: Any, dynamic: bool = False) -> Any:
            assert dynamic is False  # one program per signature: static shapes
            inner = make(fn)

            def compiled(*args: Any) -> Any:
                calls.append(len(args))
                return inner(*args)

            return compiled

        monkeypatch.setattr(torch, "compile", fake_compile)
        return calls

    return use


def _shifted(ulps: int) -> Any:
    """A stand-in compiler whose results are ``ulps`` units of the last place off."""

    def make(fn: Any) -> Any:
        def run(*args: Any) -> tuple:
            outs = fn(*args)
            moved = []
            for o in outs:
                for _ in range(ulps):
                    o = torch.nextafter(o, torch.full_like(o, torch.inf))
                moved.append(o)
            return tuple(moved)

        return run

    return make


def test_a_compilation_within_one_ulp_is_kept_and_replays(compiling: Any, x: Any) -> None:
    calls = compiling(_shifted(1))
    jf = _jitted_gradient()
    jf(x)  # stages
    want = xpgrad.gradient(f_scalar, x)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = jf(x)  # the first replay checks the compiled results, returns xpgrad's
    assert torch.equal(first, want) and calls == [1]
    again = jf(x)  # later replays: the compiled function alone
    assert calls == [1, 1] and torch.equal(again, torch.nextafter(want, want + 1))


@pytest.mark.parametrize("ulps", [2, 40])
def test_a_compilation_that_changes_more_is_refused_with_a_warning(
    compiling: Any, x: Any, ulps: int
) -> None:
    calls = compiling(_shifted(ulps))
    jf = _jitted_gradient()
    jf(x)
    want = xpgrad.gradient(f_scalar, x)[0]
    with pytest.warns(RuntimeWarning, match=r"changed its results by more than 1 ulp"):
        assert torch.equal(jf(x), want)
    for _ in range(2):  # xpgrad's own function from then on, exact
        assert torch.equal(jf(x), want)
    assert calls == [1]


def test_a_program_torch_cannot_compile_runs_as_xpgrad_lowered_it(compiling: Any, x: Any) -> None:
    def make(fn: Any) -> Any:
        def fail(*args: Any) -> Any:
            raise RuntimeError("unsupported operation")

        return fail

    compiling(make)
    jf = _jitted_gradient()
    jf(x)
    want = xpgrad.gradient(f_scalar, x)[0]
    with pytest.warns(RuntimeWarning, match=r"torch.compile failed on it \(RuntimeError"):
        assert torch.equal(jf(x), want)
    assert torch.equal(jf(x), want)


def test_the_ulp_check_reads_nans_integers_and_numbers() -> None:
    from xpgrad_torch import _within_one_ulp as close

    a = torch.tensor([1.0, float("nan"), float("inf"), 0.0], dtype=torch.float64)
    assert close(a, a.clone())
    assert not close(torch.tensor([1.0, 0.0, float("inf"), 0.0], dtype=torch.float64), a)
    assert not close(a.to(torch.float32), a)  # a dtype change is never kept
    assert close(torch.tensor([3]), torch.tensor([3])) and not close(
        torch.tensor([4]), torch.tensor([3])
    )
    assert close(2.0, 2.0) and close(float("nan"), float("nan")) and not close(2.0, 3.0)
    z = torch.tensor([1 + 2j])
    assert close(z, z.clone()) and not close(z + 1e-3j, z)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("XPGRAD_TEST_TORCH_COMPILE"),
    reason="torch.compile takes seconds (minutes with a cold cache); set XPGRAD_TEST_TORCH_COMPILE=1",
)
def test_torch_compile_replays_an_elementwise_program_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(B.get("torch"), "compile_programs", True)

    def rosen(x: Any) -> Any:
        xp = ns(x)
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    hvp = xpgrad.jit(lambda x, v: xpgrad.hvp(rosen, x, v))
    x, v = torch.linspace(-1.0, 1.5, 1000, dtype=torch.float64), torch.cos(torch.arange(1000.0))
    v = v.to(torch.float64)
    hvp(x, v)  # stages
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="xpgrad_torch")  # a refused compilation
        for shift in (0.0, 0.1, 0.2):  # the first replay compiles and checks, the rest replay it
            got = hvp(x + shift, v)
            want = xpgrad.hvp(rosen, x + shift, v)
            # kept only within 1 ulp (the hook's check); at most eps relative
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2.3e-16, atol=0)
