"""jacobian / withjacobian: both modes, every chunk size, pass counts, conventions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest
from fd import fd_jacobian

import xpgrad
import xpgrad._core.calls as gradient_module  # (where the backward pass is called)
from xpgrad import gradient, jacobian, pullback, withjacobian

BACKENDS = [pytest.param(np, id="numpy"), pytest.param(strict, id="strict")]
MODES = ["auto", "reverse", "forward"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def npy(a: Any) -> np.ndarray:
    return np.asarray(a)


def count_backward_passes(monkeypatch: Any) -> list:
    """Count the walks of a reverse tape (batched or not) from now on."""
    calls = []
    real = gradient_module.backward

    def counting(*a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(gradient_module, "backward", counting)
    return calls


# -- functions used below: (f, args) with f written against the Array API -----------


def f_tanh_matmul(A: Any) -> Callable:
    return lambda x: ns(x).tanh(ns(x).matmul(A, x))


def f_two_args(a: Any, b: Any) -> Any:
    n = ns(a)
    return n.reshape(n.sin(a) * n.sum(b**2) + a * a, (-1,))


def f_matrix(x: Any) -> Any:
    n = ns(x)
    return n.exp(n.matmul(x, n.matrix_transpose(x)) / 4)  # (2,3) -> (2,2)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("chunk", [1, 3, 7, None, 5])
def test_forward_equals_reverse_equals_fd(xp: Any, chunk: Any) -> None:
    rng = np.random.default_rng(1)
    A = rng.standard_normal((9, 7))
    x = rng.standard_normal(7)
    f = f_tanh_matmul(xp.asarray(A))
    want = fd_jacobian(f_tanh_matmul(A), x)
    Jr = npy(jacobian(f, xp.asarray(x), mode="reverse", chunk_size=chunk)[0])
    Jf = npy(jacobian(f, xp.asarray(x), mode="forward", chunk_size=chunk)[0])
    hand = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    assert Jr.shape == Jf.shape == (9, 7)
    assert np.allclose(Jr, hand, rtol=1e-13, atol=1e-15)
    assert np.allclose(Jf, hand, rtol=1e-13, atol=1e-15)
    assert np.allclose(Jr, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_every_chunk_size_gives_identical_results(xp: Any, mode: str) -> None:
    rng = np.random.default_rng(2)
    a = xp.asarray(rng.standard_normal((2, 3)))
    b = xp.asarray(rng.standard_normal(4))
    full = jacobian(f_two_args, a, b, mode=mode, chunk_size=100)
    for chunk in (1, 2, 3, 4, 5, 6, 7):  # divisors, non-divisors, more than the size
        got = jacobian(f_two_args, a, b, mode=mode, chunk_size=chunk)
        for g, w in zip(got, full):
            assert np.array_equal(npy(g), npy(w)), (chunk, mode)


@pytest.mark.parametrize("xp", BACKENDS)
def test_several_arguments_forward_reverse_fd(xp: Any) -> None:
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal((2, 3)), rng.standard_normal(4)
    Jr = jacobian(f_two_args, xp.asarray(a0), xp.asarray(b0), mode="reverse")
    Jf = jacobian(f_two_args, xp.asarray(a0), xp.asarray(b0), mode="forward")
    assert npy(Jr[0]).shape == (6, 6) and npy(Jr[1]).shape == (6, 4)
    for r, f in zip(Jr, Jf):
        assert np.allclose(npy(r), npy(f), rtol=1e-13, atol=1e-14)
    assert np.allclose(npy(Jr[0]), fd_jacobian(lambda a: f_two_args(a, b0), a0), atol=1e-7)
    assert np.allclose(npy(Jr[1]), fd_jacobian(lambda b: f_two_args(a0, b), b0), atol=1e-7)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("mode", MODES)
def test_matrix_in_matrix_out_is_c_order(xp: Any, mode: str) -> None:
    x0 = np.arange(6.0).reshape(2, 3) / 5
    (J,) = jacobian(f_matrix, xp.asarray(x0), mode=mode)
    assert npy(J).shape == (4, 6)
    assert np.allclose(npy(J), fd_jacobian(f_matrix, x0), atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_scalar_output_gives_one_row(mode: str) -> None:
    Ja, Jx = jacobian(lambda a, x: np.sum(a) * x, np.array([1.0, 2.0]), 3.0, mode=mode)
    assert Ja.shape == (1, 2) and np.array_equal(Ja, [[3.0, 3.0]])
    assert Jx.shape == (1,) and np.array_equal(Jx, [3.0])


@pytest.mark.parametrize("mode", MODES)
def test_zero_d_array_argument_gives_vector(mode: str) -> None:
    (J,) = jacobian(lambda s: s * np.array([1.0, 2.0, 3.0]), np.asarray(2.0), mode=mode)
    assert J.shape == (3,) and np.array_equal(J, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("mode", MODES)
def test_unused_argument_gets_zeros(mode: str) -> None:
    Ja, Jb = jacobian(lambda a, b: a * 2.0, np.ones(3), np.ones(2), mode=mode)
    assert np.array_equal(Ja, 2 * np.eye(3))
    assert Jb.shape == (3, 2) and np.array_equal(Jb, np.zeros((3, 2)))


@pytest.mark.parametrize("mode", MODES)
def test_constant_function(mode: str) -> None:
    (J,) = jacobian(lambda a: np.ones(2), np.ones(3), mode=mode)
    assert J.shape == (2, 3) and np.array_equal(J, np.zeros((2, 3)))


@pytest.mark.parametrize("mode", MODES)
def test_non_array_arguments_give_none(mode: str) -> None:
    mask = np.array([True, False])
    J = jacobian(
        lambda a, m, s, t, z: np.where(m, a, 0.0) * len(s) * t[0],
        np.array([1.0, 2.0]),
        mask,
        "ab",
        (3.0, 4.0),
        None,
        mode=mode,
    )
    assert np.array_equal(J[0], np.diag([6.0, 0.0]))
    assert J[1:] == (None, None, None, None)


def test_no_arguments_and_all_none() -> None:
    assert jacobian(lambda: np.ones(2)) == ()
    assert jacobian(lambda s: np.ones(2), "x") == (None,)


def test_withjacobian_value_and_named_fields() -> None:
    res = withjacobian(lambda x: x**2, np.array([1.0, 2.0]))
    assert isinstance(res, xpgrad.WithJacobian)
    assert np.array_equal(res.val, [1.0, 4.0]) and np.array_equal(res.grad[0], np.diag([2.0, 4.0]))
    v, g = withjacobian(lambda x, y: x * y, 2.0, 3.0)
    assert v == 6.0 and type(v) is float
    assert np.array_equal(g[0], [3.0]) and np.array_equal(g[1], [2.0])


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32(mode: str) -> None:
    x = np.array([0.5, 1.5], dtype=np.float32)
    (J,) = jacobian(lambda x: np.sin(x) * x, x, mode=mode)
    assert J.dtype == np.float32
    assert np.allclose(J, np.diag(np.cos(x) * x + np.sin(x)), rtol=1e-6)


def test_jacobian_of_tanh_matmul_uses_ceil_n_over_chunk_passes(monkeypatch: Any) -> None:
    rng = np.random.default_rng(4)
    A = rng.standard_normal((400, 400)) / 20
    x = rng.standard_normal(400)
    f = f_tanh_matmul(A)
    calls = count_backward_passes(monkeypatch)
    ref = None
    for chunk in (1, 64, 100, 400):
        calls.clear()
        (J,) = jacobian(f, x, mode="reverse", chunk_size=chunk)
        assert len(calls) == math.ceil(400 / chunk)
        ref = J if ref is None else ref
        assert np.array_equal(J, ref)
    # the default budget (256 MiB) holds all 400 directions: one batched pass
    calls.clear()
    jacobian(f, x, mode="reverse")
    assert len(calls) == 1
    # a per-row loop of pullbacks, for contrast, needs one pass per row
    calls.clear()
    _y, back = pullback(f, x)
    rows = [back(np.eye(400)[k])[0] for k in range(400)]
    assert len(calls) == 400 and np.array_equal(np.stack(rows), ref)


def test_default_chunk_follows_the_memory_budget(monkeypatch: Any) -> None:
    A = np.random.default_rng(5).standard_normal((50, 30))
    x = np.ones(30)
    calls = count_backward_passes(monkeypatch)
    # one direction is estimated at 8 * itemsize * (n_in + n_out) bytes
    per_dir = 8 * 8 * (30 + 50)
    budget = 7 * per_dir + 5  # -> 7 directions per chunk
    (J,) = jacobian(f_tanh_matmul(A), x, mode="reverse", memory_budget=budget)
    assert len(calls) == math.ceil(50 / 7)
    calls.clear()
    with xpgrad.config.override(memory_budget=budget):
        (J2,) = jacobian(f_tanh_matmul(A), x, mode="reverse")
    assert len(calls) == math.ceil(50 / 7) and np.array_equal(J, J2)
    calls.clear()
    jacobian(f_tanh_matmul(A), x, mode="reverse", memory_budget=1)  # at least one direction
    assert len(calls) == 50


def test_auto_mode_picks_by_size(monkeypatch: Any) -> None:
    calls = count_backward_passes(monkeypatch)
    wide = np.random.default_rng(6).standard_normal((3, 20))
    jacobian(f_tanh_matmul(wide), np.ones(20))  # 3 outputs, 20 inputs: reverse
    assert len(calls) == 1
    calls.clear()
    tall = np.random.default_rng(7).standard_normal((20, 3))
    jacobian(f_tanh_matmul(tall), np.ones(3))  # 20 outputs, 3 inputs: forward
    assert len(calls) == 0


def test_nested_jacobian_matches_fd() -> None:
    # d/dx of J(x) where J is itself a jacobian: second derivatives through both modes
    def inner(x: Any) -> Any:
        return jacobian(lambda y: np.sin(y) * x[0], x, mode="forward")[0]

    x0 = np.array([0.3, -0.7])
    (J,) = jacobian(inner, x0, mode="reverse")
    assert J.shape == (4, 2)
    assert np.allclose(J, fd_jacobian(inner, x0), atol=1e-7)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("chunk", [None, 2])
def test_gradient_through_a_chunked_jacobian(mode: str, chunk: Any) -> None:
    # chunks of traced values are concatenated (not written in place)
    def f(x: Any) -> Any:
        (J,) = jacobian(lambda y: np.sin(y) * x, x, mode=mode, chunk_size=chunk)
        return np.sum(J**2)  # J = diag(x cos x)

    x0 = np.array([0.3, 0.5, 0.9])
    (g,) = gradient(f, x0)
    c, s = np.cos(x0), np.sin(x0)
    assert np.allclose(g, 2 * x0 * c**2 - 2 * x0**2 * c * s, rtol=1e-13)


def test_vmap_of_chunked_hessian() -> None:
    xs = np.random.default_rng(8).standard_normal((2, 3))
    H = xpgrad.vmap(lambda x: xpgrad.hessian(lambda y: np.sum(np.sin(y) * y), x, chunk_size=2))(xs)
    want = [np.diag(2 * np.cos(x) - x * np.sin(x)) for x in xs]
    assert H.shape == (2, 3, 3) and np.allclose(H, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_chunk_size(bad: Any) -> None:
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        jacobian(lambda x: x, np.ones(2), chunk_size=bad)


def test_bad_memory_budget_and_mode() -> None:
    with pytest.raises(ValueError, match="memory_budget must be a positive int"):
        jacobian(lambda x: x, np.ones(2), memory_budget=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        jacobian(lambda x: x, np.ones(2), mode="backward")


def test_bad_function_and_output() -> None:
    with pytest.raises(TypeError, match="first argument must be the function"):
        jacobian(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="must return an array or a number"):
        jacobian(lambda x: (x, x), np.ones(2))
    with pytest.raises(ValueError, match="boolean"):
        jacobian(lambda x: x > 0, np.ones(2))


def test_cpu_chunks_are_sized_to_the_cache() -> None:
    """On a CPU the default chunk keeps its basis near cpu_chunk_bytes, within the budget."""
    import xpgrad.api._chunks as C

    cfg = xpgrad.config
    assert (cfg.cpu_chunk_bytes, cfg.cpu_chunk_min, cfg.cpu_max_passes) == (4 * 2**20, 32, 8)
    assert cfg.chunk_work_factor == 8
    x, per = np.ones(3), 2008  # W4's shape: 2000 inputs + 8 outputs per direction
    k = C.choose_chunk(2000, per, 8, None, None, "jacobian", like=x)
    assert 1 < k < 2000
    assert k * 8 * per <= cfg.cpu_chunk_bytes < (k + 1) * 8 * per
    # a big problem is split into at most cpu_max_passes passes, however wide
    big = C.choose_chunk(3200, 6400, 8, None, None, "jacobian", like=x)
    assert big * 8 * 6400 > cfg.cpu_chunk_bytes
    assert -(-3200 // big) == cfg.cpu_max_passes
    # with no array to place it, only the memory budget counts: one pass
    assert C.choose_chunk(2000, per, 8, None, None, "jacobian") == 2000
    # a very wide direction still gets cpu_chunk_min of them, not one
    assert C.choose_chunk(100, 10**5, 8, None, None, "jacobian", like=x) == cfg.cpu_chunk_min
    # a smaller budget and an explicit chunk_size both win over the cache rule
    small = C.choose_chunk(2000, per, 8, None, 2**20, "jacobian", like=x)
    assert small * 8 * 8 * per <= 2**20 < (small + 1) * 8 * 8 * per
    assert C.choose_chunk(2000, per, 8, 1500, None, "jacobian", like=x) == 1500


def test_chunked_default_equals_one_pass() -> None:
    """The cache-sized chunks give the same Jacobian as one pass over every direction."""
    rng = np.random.default_rng(3)
    B, x = rng.standard_normal((8, 1500)), rng.standard_normal(1500)

    def f(v):
        xp = v.__array_namespace__()
        return xp.tanh(B @ xp.sin(v))

    for mode in ("forward", "reverse"):
        J = xpgrad.jacobian(f, x, mode=mode)[0]
        J1 = xpgrad.jacobian(f, x, mode=mode, chunk_size=1500)[0]
        np.testing.assert_array_equal(J, J1)
        expect = (1 - np.tanh(B @ np.sin(x)) ** 2)[:, None] * B * np.cos(x)[None, :]
        np.testing.assert_allclose(J, expect, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("xp", [np, strict])
@pytest.mark.parametrize("n", [1, 5, 32, 33])
def test_forward_small_input_evaluates_the_function_once(xp: Any, n: int) -> None:
    # up to CPU_CHUNK_MIN inputs, the one pushforward pass gives y too: the function
    # runs once, where a first evaluation only to size y would run it twice
    B = np.random.default_rng(n).standard_normal((3 * n + 2, n))
    calls = []

    def f(x: Any) -> Any:
        calls.append(1)
        x_ns = ns(x)
        return x_ns.tanh(x_ns.asarray(B) @ x_ns.sin(x))

    x0 = np.linspace(-1.0, 1.0, n)
    y, (J,) = withjacobian(f, xp.asarray(x0), mode="forward")
    assert len(calls) == (1 if n <= 32 else 2)
    calls.clear()
    (Jr,) = jacobian(f, xp.asarray(x0), mode="reverse")
    np.testing.assert_allclose(npy(J), npy(Jr), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(npy(y), np.tanh(B @ np.sin(x0)), rtol=1e-14)
    fd = fd_jacobian(lambda v: np.tanh(B @ np.sin(v)), x0)
    np.testing.assert_allclose(npy(J), fd, rtol=1e-6, atol=1e-8)


def test_forward_small_input_keeps_explicit_chunk_size_and_budget() -> None:
    # an explicit chunk size or memory budget is honoured as given: two evaluations
    calls = []

    def f(x: Any) -> Any:
        calls.append(1)
        return x * x

    x0 = np.arange(4.0)
    for kw in ({"chunk_size": 2}, {"memory_budget": 10**6}):
        calls.clear()
        (J,) = jacobian(f, x0, mode="forward", **kw)
        np.testing.assert_array_equal(J, np.diag(2 * x0))
        assert len(calls) > 1
    with pytest.raises(ValueError, match="memory_budget must be a positive int"):
        jacobian(f, x0, mode="forward", memory_budget=-1)
