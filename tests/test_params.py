"""Param, Params, Grads and the flat-vector copies (api/params.py, api/grads.py)."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import Grads, Params, copy_from, copy_to, gradient, jacobian, jvp, param, withgradient
from xpgrad._core.namespace import traced_namespace

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.from_dlpack(x)


# -- the box behaves like its array --------------------------------------------------


def test_params_of_a_plain_array_explains_param() -> None:
    with pytest.raises(TypeError, match=r"xpgrad\.param\(array\)") as e:
        Params([np.ones(2)])
    assert "position 0" in str(e.value)
    with pytest.raises(TypeError, match="Param"):
        Params([param(np.ones(1)), [1.0]])


def test_param_rejects_tracers_and_strings() -> None:
    with pytest.raises(TypeError, match="concrete array"):
        gradient(lambda x: np.sum(param(x)), np.ones(2))
    with pytest.raises(TypeError, match="array or a number"):
        param("w")
    w = param(np.ones(2))
    assert param(w) is w
    assert param(2.0).value.shape == ()


def test_param_behaves_like_its_numpy_array() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = param(a)
    assert w.value is a  # a box around the array itself, not a copy
    assert w.shape == (2, 2) and w.dtype == a.dtype and w.ndim == 2 and w.size == 4
    assert len(w) == 2
    for got, want in [(w + 1, a + 1), (1 - w, 1 - a), (w * w, a * a), (w / 2, a / 2),
                      (2 ** w, 2**a), (w @ a, a @ a), (a @ w, a @ a), (-w, -a), (abs(-w), a),
                      (w.T, a.T), (w.mT, a.mT), (w[1], a[1]), (np.sin(w), np.sin(a)),
                      (np.sum(w, axis=0), a.sum(axis=0)), (np.asarray(w), a), (w > 2, a > 2)]:
        assert isinstance(got, np.ndarray) and np.array_equal(got, want)
    assert np.array_equal(w == w, np.ones((2, 2), bool))  # noqa: PLR0124 (elementwise)
    assert [float(r[0]) for r in w] == [1.0, 3.0]
    assert float(w[0, 1]) == 2.0 and int(w[1, 1]) == 4
    d = {w: "w"}  # hashed by identity
    assert d[w] == "w" and param(a) not in d
    assert "param(array(" in repr(w)


def test_param_namespace_is_xpgrads() -> None:
    w = param(strict.asarray([1.0, 2.0]))
    xp = ns(w)
    assert xp is traced_namespace(strict)  # the same as a tracer's: they mix freely
    out = xp.sum(xp.sin(w))  # outside a transformation: a strict array
    assert isinstance(out, strict.asarray(1.0).__class__)
    assert xp.float64 is strict.float64


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_in_place_updates_keep_identity(xp: Any) -> None:
    w = param(xp.asarray([1.0, 2.0, 3.0]))
    ps = Params([w])
    w[0] = 10.0
    w -= 1.0
    w *= 2.0
    w.value = xp.asarray([0.5, 0.5, 0.5])
    w += xp.asarray([1.0, 2.0, 3.0])
    assert np.array_equal(host(w.value), [1.5, 2.5, 3.5])
    assert list(ps) == [w]
    with pytest.raises(TypeError, match="backend array"):
        w.value = "x"


def test_copies_and_pickling() -> None:
    w = param(np.array([1.0, 2.0]))
    w2 = copy.deepcopy(w)
    w2[0] = 5.0
    assert w.value[0] == 1.0 and w2.value[0] == 5.0
    w3 = pickle.loads(pickle.dumps(w))
    assert isinstance(w3, xpgrad.Param) and np.array_equal(w3.value, w.value)


# -- implicit-mode gradients -------------------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_gradient_of_params_matches_hand_derivative(xp: Any) -> None:
    w = param(xp.asarray([0.5, -1.0, 2.0]))
    b = param(xp.asarray([0.1, 0.2, 0.3]))
    c = param(xp.asarray([9.0]))  # not used: None
    x = xp.asarray([1.0, 2.0, 3.0])

    def loss() -> Any:
        s = ns(w)
        return s.sum(s.sin(w * x + b) ** 2)

    gs = gradient(loss, Params([w, b, c]))
    z = host(w.value) * host(x) + host(b.value)
    assert np.allclose(host(gs[b]), 2 * np.sin(z) * np.cos(z))
    assert np.allclose(host(gs[w]), host(x) * 2 * np.sin(z) * np.cos(z))
    assert gs[c] is None
    # a parameter read but not in Params is a constant
    gs2 = gradient(loss, Params([w]))
    assert list(gs2) == [w] and np.allclose(host(gs2[w]), host(gs[w]))


def test_writing_a_watched_param_is_refused() -> None:
    w = param(np.ones(2))

    def f() -> Any:
        w[0] = 3.0
        return np.sum(w)

    with pytest.raises(TypeError, match="being differentiated"):
        gradient(f, Params([w]))
    assert np.array_equal(w.value, [1.0, 1.0])


def test_withgradient_params_keeps_auxiliary_outputs() -> None:
    w = param(np.array([1.0, 2.0]))
    val, gs = withgradient(lambda: (np.sum(w * w), w * 3), Params([w]))
    assert val[0] == 5.0 and np.array_equal(val[1], [3.0, 6.0])
    assert np.array_equal(gs[w], [2.0, 4.0])


def test_nested_implicit_gradients() -> None:
    w = param(np.array([1.0, 2.0]))

    def inner() -> Any:
        return gradient(lambda: np.sum(w**3), Params([w]))[w]  # 3 w^2

    gs = gradient(lambda: np.sum(inner()), Params([w]))
    assert np.allclose(gs[w], 6 * w.value)


def test_param_as_an_explicit_argument_and_in_forward_mode() -> None:
    w = param(np.array([1.0, 2.0]))
    (g,) = gradient(lambda v: np.sum(v * v), w)
    assert np.array_equal(g, [2.0, 4.0])
    y, t = jvp(lambda x: np.sum(x * w), (np.ones(2),), (np.ones(2),))  # w: a constant
    assert float(y) == 3.0 and float(t) == 3.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_params(mode: str) -> None:
    a = param(np.array([1.0, 2.0]))
    b = param(np.array([[3.0, 4.0], [5.0, 6.0]]))
    J = jacobian(lambda: a * b[0] + np.sum(b), Params([a, b]), mode=mode)
    assert np.array_equal(J[a], np.diag([3.0, 4.0]))
    want = np.ones((2, 4))
    want[0, 0] += 1.0
    want[1, 1] += 2.0
    assert np.array_equal(J[b], want)


def test_withjacobian_of_params_and_zero_argument_check() -> None:
    w = param(np.array([1.0, 2.0]))
    val, J = xpgrad.withjacobian(lambda: w * w, Params([w]))
    assert np.array_equal(val, [1.0, 4.0]) and np.array_equal(J[w], np.diag([2.0, 4.0]))
    with pytest.raises(TypeError, match="takes no arguments"):
        gradient(lambda x: np.sum(x * w), Params([w]))


# -- Grads ---------------------------------------------------------------------------------


def _grads() -> tuple[Any, Any, Grads]:
    w, b = param(np.array([1.0, 2.0])), param(np.array([3.0]))
    return w, b, Grads({w: np.array([1.0, -1.0]), b: None})


def test_grads_arithmetic_keeps_keys() -> None:
    w, b, gs = _grads()
    assert len(gs) == 2 and list(gs) == [w, b] and list(gs.keys()) == [w, b]
    assert w in gs and param(np.ones(1)) not in gs and "w" not in gs
    assert np.array_equal((gs + gs)[w], [2.0, -2.0]) and (gs + gs)[b] is None
    assert np.array_equal((gs * 0.5)[w], [0.5, -0.5]) and np.array_equal((0.5 * gs)[w], [0.5, -0.5])
    assert np.array_equal((gs / 2)[w], [0.5, -0.5])
    assert np.array_equal((-gs)[w], [-1.0, 1.0])
    other = {w: np.array([1.0, 1.0]), b: np.array([2.0])}
    assert np.array_equal((gs + other)[b], [2.0])  # None is zero
    assert np.array_equal((gs - other)[b], [-2.0])
    assert np.array_equal((other - gs)[w], [0.0, 2.0])
    assert (gs * other)[b] is None
    assert isinstance(gs + 1.0, Grads)
    before = gs
    gs += other
    assert gs is before and np.array_equal(gs[w], [2.0, 0.0]) and np.array_equal(gs[b], [2.0])
    gs *= 2
    assert np.array_equal(gs[w], [4.0, 0.0])


def test_grads_key_sets_must_match() -> None:
    w, _, gs = _grads()
    with pytest.raises(ValueError, match="same parameters"):
        gs + Grads({w: np.ones(2)})
    with pytest.raises(ValueError, match="same parameters"):
        gs += {w: np.ones(2), param(np.ones(1)): np.ones(1)}
    with pytest.raises(TypeError):
        gs + "x"
    with pytest.raises(KeyError, match="not one of the parameters"):
        gs[param(np.ones(2))]
    with pytest.raises(TypeError, match="Param"):
        Grads({"w": np.ones(1)})


def test_grads_map_foreach_items_and_identity() -> None:
    w, b, gs = _grads()
    m = gs.map(lambda g: g * 10)
    assert np.array_equal(m[w], [10.0, -10.0]) and m[b] is None and gs[w][0] == 1.0
    g_w = gs[w]
    gs.foreach(lambda g: np.clip(g, 0, 1, out=g))  # in place
    assert gs[w] is g_w and np.array_equal(g_w, [1.0, 0.0])
    gs.foreach(lambda g: g + 1)  # out of place: the result replaces the gradient
    assert np.array_equal(gs[w], [2.0, 1.0])
    assert [p for p, _ in gs.items()] == [w, b]
    same = gs
    assert gs == same and gs != gs.map(lambda g: g)  # identity, not elementwise
    assert "Grads(" in repr(gs) and isinstance(gs.params, Params)


# -- flat vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_copy_to_and_from_flat_vectors(xp: Any) -> None:
    w = param(xp.asarray([[1.0, 2.0], [3.0, 4.0]]))
    b = param(xp.asarray([5.0]))
    ps = Params([w, b])
    vec = copy_to(xp.zeros(5), ps)
    assert np.array_equal(host(vec), [1.0, 2.0, 3.0, 4.0, 5.0])  # C order
    assert np.array_equal(host(ps.to_vector()), host(vec))
    copy_from(ps, xp.asarray([9.0, 8.0, 7.0, 6.0, 5.0]))
    assert np.array_equal(host(w.value), [[9.0, 8.0], [7.0, 6.0]]) and list(ps) == [w, b]

    gs = gradient(lambda: ns(w).sum(w * w), ps)  # b unused: zeros in the vector
    assert np.array_equal(host(copy_to(xp.zeros(5), gs)), [18.0, 16.0, 14.0, 12.0, 0.0])
    src = xp.asarray([1.0, 2.0, 3.0, 4.0, 5.0])
    gs.copy_from(src)
    assert np.array_equal(host(gs[w]), [[1.0, 2.0], [3.0, 4.0]]) and host(gs[b])[0] == 5.0
    src[0] = 100.0  # the gradients are copies, not views of the vector
    assert host(gs[w])[0, 0] == 1.0
    with pytest.raises(ValueError, match="length 5"):
        copy_to(xp.zeros(4), ps)
    with pytest.raises(ValueError, match="length 5"):
        copy_from(gs, xp.zeros((5, 1)))
    with pytest.raises(TypeError, match="Params or Grads"):
        copy_to(xp.zeros(5), [w, b])
