"""checkpointed (api/checkpoint.py, rules/checkpoint.py): same values and derivatives, less memory."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any, Callable

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import checkpointed, gradient, hessian, jacobian, jvp, vmap
from xpgrad.testing import check_grads

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.from_dlpack(x)


def layer(h: Any, w: Any) -> Any:
    s = ns(w)
    return s.tanh(s.matmul(h, w))


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_values_and_derivatives_equal_the_plain_call(xp: Any) -> None:
    rng = np.random.default_rng(0)
    h, w1, w2 = (xp.asarray(rng.standard_normal(s)) for s in [(2, 3), (3, 3), (3, 3)])

    def loss(h: Any, w1: Any, w2: Any, ck: bool) -> Any:
        for w in (w1, w2):
            h = checkpointed(layer, h, w) if ck else layer(h, w)
        return ns(h).sum(h**2)

    g1 = gradient(loss, h, w1, w2, True)
    g2 = gradient(loss, h, w1, w2, False)
    for a, b in zip(g1[:3], g2[:3]):
        assert np.allclose(host(a), host(b), rtol=1e-14, atol=1e-15)
    check_grads(lambda h, w: checkpointed(layer, h, w), (h, w1), order=2)


def test_forward_pass_runs_again_in_the_backward_pass() -> None:
    calls = []

    def f(x: Any) -> Any:
        calls.append(type(x).__name__)
        return np.sin(x) * 2

    x = np.array([0.1, 0.2])
    (g,) = gradient(lambda x: np.sum(checkpointed(f, x)), x)
    assert np.allclose(g, 2 * np.cos(x))
    # forward: on the plain array (nothing recorded); backward: recorded again
    assert calls == ["ndarray", "ReverseTracer"]
    calls.clear()
    assert np.array_equal(checkpointed(f, x), f(x)) and calls == ["ndarray", "ndarray"]


def test_pytrees_static_leaves_and_other_transformations() -> None:
    def block(p: dict, h: Any, act: Callable, name: str) -> Any:
        return {"h": act(h @ p["w"] + p["b"]), "name": name}

    p = {"w": np.eye(2) * 0.5, "b": np.array([0.1, -0.2])}
    h = np.array([[1.0, 2.0]])

    def loss(p: dict, h: Any) -> Any:
        out = checkpointed(block, p, h, np.tanh, "blk")
        assert out["name"] == "blk"
        return np.sum(out["h"] ** 2)

    got = gradient(loss, p, h)
    want = gradient(lambda p, h: np.sum(block(p, h, np.tanh, "")["h"] ** 2), p, h)
    assert np.allclose(got[0]["w"], want[0]["w"]) and np.allclose(got[1], want[1])
    x = np.array([0.3, -0.5])
    sq = lambda x: np.tanh(x) ** 2
    assert np.allclose(hessian(lambda x: np.sum(checkpointed(sq, x)), x),
                       hessian(lambda x: np.sum(sq(x)), x))
    assert np.allclose(jacobian(lambda x: checkpointed(sq, x), x)[0], jacobian(sq, x)[0])
    assert np.allclose(jvp(lambda x: checkpointed(sq, x), (x,), (np.ones(2),))[1],
                       jvp(sq, (x,), (np.ones(2),))[1])
    xs = np.arange(4.0).reshape(2, 2)
    assert np.allclose(vmap(lambda r: checkpointed(sq, r))(xs), sq(xs))


def test_closing_over_a_differentiated_value_is_an_error() -> None:
    with pytest.raises(xpgrad.LeakedTracerError, match="pass it as an argument"):
        gradient(lambda x, w: np.sum(checkpointed(lambda h: h * w, x)), np.ones(2), np.ones(2))
    # closing over constants is fine
    w = np.array([2.0, 3.0])
    (g,) = gradient(lambda x: np.sum(checkpointed(lambda h: h * w, x)), np.ones(2))
    assert np.array_equal(g, w)


# -- memory -------------------------------------------------------------------------------------

N, LAYERS, BLOCK = 256, 40, 6


def _peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del out
    return peak


def _net() -> tuple[Any, list]:
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((N, N)) / np.sqrt(N) for _ in range(LAYERS)]
    return rng.standard_normal((N, N)), ws


def _loss(h: Any, ws: list, how: str) -> Any:
    if how == "blocks":
        def block(h: Any, *ws: Any) -> Any:
            for w in ws:
                h = layer(h, w)
            return h

        for k in range(0, len(ws), BLOCK):
            h = checkpointed(block, h, *ws[k:k + BLOCK])
    else:
        for w in ws:
            h = checkpointed(layer, h, w) if how == "layers" else layer(h, w)
    return np.sum(h)


def test_checkpointing_each_layer_never_costs_memory() -> None:
    # 40 layers h = tanh(h @ W_i), 256x256 float64 (512 KiB per array). The plain
    # tape keeps one array per layer (tanh's pullback keeps only its output; the
    # product h @ W is freed at once) and is consumed as the backward pass runs,
    # so per-layer checkpointing, which must keep each layer's input, cannot go
    # below it: it must not go above it either.
    h, ws = _net()
    plain = _peak(lambda: gradient(_loss, h, ws, "plain"))
    layers = _peak(lambda: gradient(_loss, h, ws, "layers"))
    mib = 2.0**20
    print(f"\npeak traced memory, gradient wrt h and all W_i: plain {plain / mib:.1f} MiB, "
          f"each layer checkpointed {layers / mib:.1f} MiB ({plain / layers:.2f}x)")
    assert layers <= 1.05 * plain


def test_checkpointing_blocks_saves_memory() -> None:
    h, ws = _net()
    plain = _peak(lambda: gradient(lambda h: _loss(h, ws, "plain"), h))
    layers = _peak(lambda: gradient(lambda h: _loss(h, ws, "layers"), h))
    blocks = _peak(lambda: gradient(lambda h: _loss(h, ws, "blocks"), h))
    mib = 2.0**20
    print(f"\npeak traced memory, gradient wrt h: plain {plain / mib:.1f} MiB, each layer "
          f"checkpointed {layers / mib:.1f} MiB ({plain / layers:.2f}x), blocks of {BLOCK} "
          f"layers checkpointed {blocks / mib:.1f} MiB ({plain / blocks:.2f}x)")
    assert layers <= 1.05 * plain
    # sqrt(n) checkpointing: 7 block inputs plus one recomputed block instead of 40 arrays
    assert plain > 2.5 * blocks


def test_the_recomputation_uses_the_recording_core_of_gradient(monkeypatch: Any) -> None:
    """checkpointed's pullback records with ``_core.calls.record`` as gradient does:
    each backward walk goes through ``Recording.backward``, two per gradient here."""
    import xpgrad._core.calls as calls
    from xpgrad.rules import PRIMITIVES

    assert PRIMITIVES["checkpointed"].vjp.__module__ == "xpgrad.rules.checkpoint"
    walks: list = []
    real = calls.backward
    monkeypatch.setattr(calls, "backward", lambda *a, **k: walks.append(1) or real(*a, **k))
    w, h = np.array([[0.5, -0.2], [0.1, 0.3]]), np.array([1.0, 2.0])

    def layer(h: Any, w: Any) -> Any:
        return np.tanh(h @ w)

    (g,) = xpgrad.gradient(lambda w: np.sum(xpgrad.checkpointed(layer, h, w)), w)
    assert len(walks) == 2  # the outer tape, and the recomputed layer's
    want = np.outer(h, 1 - np.tanh(h @ w) ** 2)  # d/dw sum(tanh(h @ w))
    np.testing.assert_allclose(g, want, rtol=1e-12)
