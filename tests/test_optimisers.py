"""xpgrad.optimisers and eager_update (api/optimisers.py, api/eager.py)."""

from __future__ import annotations

import dataclasses
import gc
import weakref
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import Params, checkpointed, eager_update, gradient, param
from xpgrad import optimisers as opt

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.from_dlpack(x)


# -- rules, setup and update ----------------------------------------------------------------


def reference_steps(rule: str, x: np.ndarray, grads: list) -> np.ndarray:
    """The update rules written out by hand (Optimisers.jl's formulas)."""
    x = x.copy()
    v = np.zeros_like(x)
    m = np.zeros_like(x)
    for t, g in enumerate(grads, start=1):
        if rule == "descent":
            x -= 0.1 * g
        elif rule == "momentum":
            v = 0.9 * v + 0.01 * g
            x -= v
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            x -= 0.001 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return x


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
@pytest.mark.parametrize("name,rule", [("descent", opt.Descent()), ("momentum", opt.Momentum()),
                                       ("adam", opt.Adam())])
def test_rules_match_the_formulas_and_update_in_place(xp: Any, name: str, rule: Any) -> None:
    x0 = np.array([1.0, -2.0, 0.5])
    grads = [np.array([0.3, -0.1, 2.0]), np.array([-1.0, 0.2, 0.0]), np.array([0.5, 0.5, 0.5])]
    model = {"w": xp.asarray(x0.copy()), "name": "layer", "bias": None}
    w = model["w"]
    state = opt.setup(rule, model)
    assert isinstance(state["w"], opt.Leaf) and state["name"] is None
    for g in grads:
        state, new = opt.update(state, model, {"w": xp.asarray(g), "name": None, "bias": None})
        assert new is model and model["w"] is w  # in place: the same arrays
    assert np.allclose(host(w), reference_steps(name, x0, grads), rtol=1e-12, atol=1e-15)


def test_without_in_place_writes_new_arrays_are_returned(monkeypatch: Any) -> None:
    monkeypatch.setattr(xpgrad.api.optimisers.backends, "capabilities",
                        lambda x: {"inplace": False})
    model = (np.array([1.0, 2.0]), np.array([3.0]))
    state = opt.setup(opt.Descent(0.5), model)
    state, new = opt.update(state, model, (np.array([2.0, 2.0]), None))
    assert new is not model and np.array_equal(new[0], [0.0, 1.0]) and new[1] is model[1]
    assert np.array_equal(model[0], [1.0, 2.0])


@dataclasses.dataclass
class Dense:
    w: Any
    b: Any
    act: Any = np.tanh


def test_dataclass_models_params_and_missing_gradients() -> None:
    m = [Dense(np.eye(2), np.zeros(2)), Dense(np.eye(2), np.ones(2))]
    state = opt.setup(opt.Descent(1.0), m)
    (g,) = gradient(lambda m: np.sum(m[0].act(np.ones(2) @ m[0].w + m[0].b)), m)
    assert g[1].w is None  # the second layer is unused
    state, m2 = opt.update(state, m, g)
    assert m2 is m and np.array_equal(m[1].w, np.eye(2))
    assert not np.array_equal(m[0].w, np.eye(2))
    # a whole subtree of None is accepted too
    state, _ = opt.update(state, m, [None, None])

    w = param(np.array([1.0, 2.0]))
    ps = Params([w])
    st = opt.setup(opt.Descent(0.5), ps)
    gs = gradient(lambda: np.sum(w * w), ps)
    st, out = opt.update(st, ps, gs)
    assert out is ps and np.array_equal(w.value, [0.0, 0.0])


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="init"):
        opt.setup("adam", {"w": np.ones(2)})
    state = opt.setup(opt.Adam(), {"w": np.ones(2)})
    with pytest.raises(ValueError, match="structure"):
        opt.update(state, {"w": np.ones(2)}, {"w": np.ones(2), "extra": np.ones(1)})
    with pytest.raises(ValueError, match="setup"):
        opt.update([None], {"w": np.ones(2)}, {"w": np.ones(2)})


# -- eager_update ------------------------------------------------------------------------------


def make_model(xp: Any, seed: int = 3) -> list:
    rng = np.random.default_rng(seed)
    return [{"w": xp.asarray(rng.standard_normal((4, 4)) / 2), "b": xp.asarray(rng.random(4))}
            for _ in range(3)]


def apply(layer: dict, h: Any) -> Any:
    s = ns(layer["w"])
    return s.tanh(s.matmul(h, layer["w"]) + layer["b"])


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
@pytest.mark.parametrize("ck", [False, True], ids=["eager", "eager+checkpointed"])
def test_training_with_eager_update_equals_ordinary_update(xp: Any, ck: bool) -> None:
    x = xp.asarray(np.linspace(-1, 1, 12).reshape(3, 4))
    target = xp.asarray(np.linspace(0, 1, 12).reshape(3, 4))
    eager, plain = make_model(xp), make_model(xp)
    rule = opt.Momentum(0.1, 0.8)
    st_e, st_p = opt.setup(rule, eager), opt.setup(rule, plain)

    def loss(model: list, states: list | None) -> Any:
        h = x
        for i, layer in enumerate(model):
            if states is not None:
                layer = eager_update(states[i], layer, opt.update)
                h = checkpointed(apply, layer, h) if ck else apply(layer, h)
            else:
                h = apply(layer, h)
        return ns(h).sum((h - target) ** 2)

    for _ in range(4):
        (g_e,) = gradient(lambda m: loss(m, st_e), eager)
        assert all(gl["w"] is None and gl["b"] is None for gl in g_e)
        (g_p,) = gradient(lambda m: loss(m, None), plain)
        st_p, plain = opt.update(st_p, plain, g_p)
    for le, lp in zip(eager, plain):
        for k in ("w", "b"):
            assert np.allclose(host(le[k]), host(lp[k]), rtol=1e-12, atol=1e-14)
    assert not np.allclose(host(eager[0]["w"]), host(make_model(xp)[0]["w"]))  # it trained


def test_discarded_gradients_are_not_retained() -> None:
    model = make_model(np)
    state = opt.setup(opt.Descent(0.01), model)
    refs: list = []
    order: list = []

    def update(st: Any, layer: dict, grad: dict) -> Any:
        refs.extend(weakref.ref(g) for g in grad.values())
        order.append(next(i for i, m in enumerate(model) if m["w"] is layer["w"]))
        return opt.update(st, layer, grad)

    def loss(model: list) -> Any:
        h = np.ones((2, 4))
        for i, layer in enumerate(model):
            h = apply(eager_update(state[i], layer, update), h)
        return np.sum(h)

    (g,) = gradient(loss, model)
    gc.collect()
    assert order == [2, 1, 0]  # each layer as soon as its gradient was complete
    assert len(refs) == 6 and all(r() is None for r in refs)  # nobody kept the gradients
    assert all(v is None for gl in g for v in gl.values())


def test_eager_update_with_params_and_edge_cases() -> None:
    w = param(np.array([1.0, 2.0]))
    st = opt.setup(opt.Descent(0.5), {"w": w})
    gs = gradient(lambda: np.sum(eager_update(st, {"w": w}, opt.update)["w"] ** 2), Params([w]))
    assert gs[w] is None and np.array_equal(w.value, [0.0, 0.0])

    layer = {"w": np.ones(2)}
    assert eager_update(None, layer, opt.update) is layer  # nothing differentiated: unchanged
    with pytest.raises(TypeError, match="update function"):
        eager_update(None, layer, None)

    def out_of_place(st: Any, layer: dict, grad: dict) -> Any:
        return st, {"w": layer["w"] - grad["w"]}

    with pytest.raises(RuntimeError, match="in place"):
        gradient(lambda m: np.sum(eager_update(None, m, out_of_place)["w"]), {"w": np.ones(2)})


# -- issue 16, defect 6: the update never changes an array the tape still needs ----------------
def test_eager_update_after_a_direct_use_waits_for_the_backward_pass() -> None:
    layer = {"w": np.array([1.0, 2.0])}
    st = opt.setup(opt.Descent(0.5), layer)

    def f(m: Any) -> Any:
        # m["w"] ** 3 is recorded before the eager node: its pullback runs after it
        return np.sum(m["w"] ** 3) + np.sum(eager_update(st, m, opt.update)["w"] ** 2)

    (g,) = gradient(f, layer)
    np.testing.assert_allclose(g["w"], 3 * np.array([1.0, 2.0]) ** 2)  # at the old weights
    np.testing.assert_allclose(layer["w"], np.array([1.0, 2.0]) - 0.5 * 2 * np.array([1.0, 2.0]))


def test_eager_update_before_any_use_still_updates_during_the_pass() -> None:
    layer = {"w": np.array([1.0, 2.0])}
    st = opt.setup(opt.Descent(0.5), layer)
    seen = []

    def update(state: Any, m: Any, g: Any) -> Any:
        seen.append(len(seen))
        return opt.update(state, m, g)

    def f(m: Any) -> Any:
        u = eager_update(st, m, update)
        return np.sum(u["w"] ** 2) + np.sum(m["w"] ** 3)  # a direct use after the call

    (g,) = gradient(f, layer)
    np.testing.assert_allclose(g["w"], 3 * np.array([1.0, 2.0]) ** 2)
    assert seen == [0]
