"""hessian / hessian_reverse / diaghessian / hvp: cross-checks, chunking, memory."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad._core.calls as gradient_module  # (where the backward pass is called)
from xpgrad import diaghessian, gradient, hessian, hessian_reverse, hvp, jacobian

BACKENDS = [pytest.param(np, id="numpy"), pytest.param(strict, id="strict")]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def npy(a: Any) -> np.ndarray:
    return np.asarray(a)


def f_mixed(x: Any) -> Any:
    n = ns(x)
    return n.sum(n.sin(x) * x**2) + n.sum(x) ** 2 / 3


def hand_mixed(x: np.ndarray) -> np.ndarray:
    """The Hessian of f_mixed, worked out by hand."""
    x = x.reshape(-1)
    d = 2 * np.sin(x) + 4 * x * np.cos(x) - x**2 * np.sin(x)
    return np.diag(d) + 2 / 3 * np.ones((x.size, x.size))


def f_quadratic(A: Any) -> Callable:
    return lambda x: ns(x).sum(x * ns(x).matmul(A, x)) / 2


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("shape", [(5,), (2, 3)])
def test_hessian_matches_hand_and_reverse_and_jacobian_of_gradient(xp: Any, shape: tuple) -> None:
    x0 = np.random.default_rng(0).standard_normal(shape)
    x = xp.asarray(x0)
    H = npy(hessian(f_mixed, x))
    Hr = npy(hessian_reverse(f_mixed, x))
    Jg = npy(jacobian(lambda v: gradient(f_mixed, v)[0], x)[0])
    want = hand_mixed(x0)
    assert H.shape == Hr.shape == Jg.shape == (x0.size, x0.size)
    assert np.allclose(H, want, rtol=1e-12, atol=1e-12)
    assert np.allclose(Hr, want, rtol=1e-12, atol=1e-12)
    assert np.allclose(Jg, want, rtol=1e-12, atol=1e-12)
    assert np.allclose(H, H.T, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("xp", BACKENDS)
def test_quadratic_form_gives_symmetric_part(xp: Any) -> None:
    A = np.random.default_rng(1).standard_normal((4, 4))
    x = xp.asarray(np.ones(4))
    for h in (hessian, hessian_reverse):
        assert np.allclose(npy(h(f_quadratic(xp.asarray(A)), x)), (A + A.T) / 2, atol=1e-14)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("h", [hessian, hessian_reverse], ids=["fwd_rev", "rev_rev"])
def test_every_chunk_size_gives_identical_results(xp: Any, h: Any) -> None:
    x = xp.asarray(np.random.default_rng(2).standard_normal(7))
    full = npy(h(f_mixed, x, chunk_size=7))
    for chunk in (1, 2, 3, 4, 6, 7, 50):
        assert np.array_equal(npy(h(f_mixed, x, chunk_size=chunk)), full), chunk


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("chunk", [1, 3, None])
def test_diaghessian_is_diagonal_of_hessian(xp: Any, chunk: Any) -> None:
    x0 = np.random.default_rng(3).standard_normal((2, 3))
    x = xp.asarray(x0)
    (d,) = diaghessian(f_mixed, x, chunk_size=chunk)
    assert d.shape == (2, 3)
    assert np.array_equal(npy(d).reshape(-1), np.diag(npy(hessian(f_mixed, x))))


def test_diaghessian_keeps_the_diagonal_exactly_next_to_infinite_entries() -> None:
    # d2/dx0 dx1 of x0 * log(x1) at x1 = 0 is infinite; the diagonal is finite (0 and inf)
    f = lambda x: x[0] * np.log(x[1]) + x[0] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        (d,) = diaghessian(f, np.array([1.0, 1.0]))
    assert np.array_equal(d, [2.0, -1.0])


def test_diaghessian_several_arguments_and_none() -> None:
    def f(x: Any, s: str, y: Any, k: int) -> Any:
        return np.sum(x**2) * np.sum(y) * len(s) + k**3 * np.sum(y)

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    dx, ds, dy, dk = diaghessian(f, x, "ab", y, 2)
    assert np.array_equal(dx, [48.0, 48.0]) and ds is None  # 2 * sum(y) * len(s)
    assert np.array_equal(dy, np.zeros(3))  # linear in y
    assert dk == 6 * 2 * 12.0 and type(dk) is float  # 6 k sum(y)


@pytest.mark.parametrize("xp", BACKENDS)
def test_hvp_is_hessian_times_v(xp: Any) -> None:
    rng = np.random.default_rng(4)
    x0, v0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    got = npy(hvp(f_mixed, xp.asarray(x0), xp.asarray(v0)))
    assert got.shape == (2, 3)
    assert np.allclose(got.reshape(-1), hand_mixed(x0) @ v0.reshape(-1), rtol=1e-12)


def test_scalars() -> None:
    h = hessian(lambda x: x**4, 2.0)
    assert type(h) is float and h == 48.0
    assert hessian_reverse(lambda x: x**4, 2.0) == 48.0
    h0 = hessian(lambda x: x**4, np.asarray(2.0))
    assert isinstance(h0, np.ndarray) and h0.shape == () and h0 == 48.0
    assert hvp(lambda x: x**3, 2.0, 0.5) == 6.0
    assert hessian(lambda x: 3.0 * x, 1.0) == 0.0  # linear: zero, not None


def test_function_ignoring_x() -> None:
    H = hessian(lambda x: np.float64(2.0) + 0 * np.sum(x), np.ones(3))
    assert np.array_equal(H, np.zeros((3, 3)))
    assert np.array_equal(hessian(lambda x: 1.0, np.ones(2)), np.zeros((2, 2)))


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"xpgrad.hessian: .*scalar"):
        hessian(lambda x: x * 2, np.ones(3))
    with pytest.raises(TypeError, match="real number or a numeric array"):
        hessian(lambda s: 1.0, "abc")
    with pytest.raises(TypeError, match="first argument must be the function"):
        diaghessian(3.0, 1.0)
    with pytest.raises(ValueError, match="chunk_size"):
        hessian(lambda x: np.sum(x**2), np.ones(3), chunk_size=0)


def test_hessian_passes(monkeypatch: Any) -> None:
    # hessian_reverse: ceil(n / chunk) batched backward passes of the recorded gradient
    calls = []
    real = gradient_module.backward
    monkeypatch.setattr(gradient_module, "backward",
                        lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    x = np.random.default_rng(5).standard_normal(10)
    hessian_reverse(f_mixed, x, chunk_size=4)
    # one unbatched pass (the gradient being recorded) + ceil(10 / 4) batched ones
    assert len(calls) == 1 + math.ceil(10 / 4)
    calls.clear()
    hessian(f_mixed, x, chunk_size=4)  # one batched gradient per chunk
    assert len(calls) == math.ceil(10 / 4)


def _peak(fn: Callable) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return out, peak


def test_chunked_hessian_peak_memory_stays_within_the_budget() -> None:
    n = 600
    x = np.random.default_rng(6).uniform(0.5, 1.5, n)

    def f(x: Any) -> Any:
        return np.sum(np.tanh(x) * x**2) + np.sum(np.exp(-x) * x)

    hessian(f, x[:3])  # warm-up: first calls allocate one-time caches (imports, pytrees)
    result_bytes = n * n * 8  # the Hessian itself, which no chunking can avoid
    budget = 2**20
    H, peak = _peak(lambda: hessian(f, x, memory_budget=budget))
    H_full, peak_full = _peak(lambda: hessian(f, x, chunk_size=n))
    assert np.array_equal(H, H_full)
    # the chunked run: result + work within the budget
    assert peak - result_bytes <= budget, (peak - result_bytes, budget)
    # the unchunked batch needs more than 10x the budget for its work
    assert peak_full - result_bytes > 10 * budget, (peak_full - result_bytes, budget)
    # and diaghessian never holds the n x n result: its whole peak is within the budget
    d, peak_d = _peak(lambda: diaghessian(f, x, memory_budget=budget)[0])
    assert np.array_equal(d, np.diag(H)) and peak_d <= budget, peak_d
