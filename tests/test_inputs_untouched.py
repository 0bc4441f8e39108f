"""Differentiation never modifies its inputs, and its results never alias them (issue 7).

NumPy arrays made read-only (``x.flags.writeable = False``) still work in every
transformation, ``Buffer`` and the optimisers. On every backend the inputs
hold the same values afterwards. Results (gradients, Jacobians, cotangents,
tangents) never share memory with the arguments, the cotangents or the
tangents passed in, and two results are never the same array. What is
documented otherwise: a *value* ``f`` returns is ``f``'s own (``pullback`` of
the identity gives back ``x`` as ``y``, as calling ``f`` would), and the
optimisers and ``Param`` boxes update their arrays in place by design (a
read-only array is replaced by a new one instead).
"""

from __future__ import annotations

from typing import Any, Callable

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import optimisers as opt
from xpgrad.backends import to_host


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def ro(values: Any, dtype: Any = np.float64) -> np.ndarray:
    a = np.array(values, dtype=dtype)
    a.flags.writeable = False
    return a


def leaves(tree: Any) -> list:
    import optree

    return [v for v in optree.tree_leaves(tree, none_is_leaf=False) if hasattr(v, "shape")]


def assert_no_alias(results: Any, inputs: list) -> None:
    """No result array shares memory with an input, and no two results are one array."""
    res = [r for r in leaves(results) if isinstance(r, np.ndarray)]
    for r in res:
        for x in inputs:
            assert not np.shares_memory(r, x), "a result aliases an input"
    for i, a in enumerate(res):
        for b in res[i + 1:]:
            assert a is not b, "two results are the same array"
            if a.flags.writeable and b.flags.writeable:
                assert not np.shares_memory(a, b), "two writeable results share memory"


X = [0.5, -1.0, 2.0]
V = [1.0, 0.5, -0.25]


def cube(x: Any) -> Any:
    return ns(x).sum(x**3)


# each case: (name, call(x, v) -> results); x and v are read-only
CASES: dict[str, Callable[[Any, Any], Any]] = {
    "gradient": lambda x, v: xpgrad.gradient(cube, x),
    "gradient_identity_sum": lambda x, v: xpgrad.gradient(lambda x: ns(x).sum(x), x),
    "gradient_two_args": lambda x, v: xpgrad.gradient(lambda a, b: ns(a).sum(a + b), x, v),
    "gradient_pytree": lambda x, v: xpgrad.gradient(
        lambda d: ns(d["a"]).sum(d["a"] * d["b"][0]), {"a": x, "b": [v, "tag"]}),
    "withgradient": lambda x, v: xpgrad.withgradient(cube, x).grad,
    "pullback": lambda x, v: xpgrad.pullback(lambda x: x * x, x)[1](v),
    "pullback_identity": lambda x, v: xpgrad.pullback(lambda x: x, x)[1](v),
    "pullback_reshape": lambda x, v: xpgrad.pullback(
        lambda x: ns(x).reshape(x, (3, 1)), x)[1](ns(v).reshape(v, (3, 1))),
    "pullback_two_inputs": lambda x, v: xpgrad.pullback(lambda a, b: a + b, x, x)[1](v),
    "jvp_identity": lambda x, v: xpgrad.jvp(lambda x: x, (x,), (v,))[1],
    "jvp": lambda x, v: xpgrad.jvp(lambda x: ns(x).sin(x), (x,), (v,))[1],
    "jacobian_identity": lambda x, v: xpgrad.jacobian(lambda x: x, x),
    "jacobian_forward": lambda x, v: xpgrad.jacobian(lambda x: x * v, x, mode="forward"),
    "jacobian_reverse": lambda x, v: xpgrad.jacobian(lambda x: x * v, x, mode="reverse"),
    "withjacobian": lambda x, v: xpgrad.withjacobian(lambda x: x * x, x).grad,
    "hessian": lambda x, v: xpgrad.hessian(cube, x),
    "hessian_reverse": lambda x, v: xpgrad.hessian_reverse(cube, x),
    "diaghessian": lambda x, v: xpgrad.diaghessian(cube, x),
    "hvp": lambda x, v: xpgrad.hvp(cube, x, v),
    "hvp_quadratic": lambda x, v: xpgrad.hvp(lambda x: ns(x).sum(x * x) / 2, x, v),
    "vmap_gradient": lambda x, v: xpgrad.vmap(lambda r: xpgrad.gradient(cube, r)[0])(
        ns(x).reshape(x, (3, 1))),
    "checkpointed": lambda x, v: xpgrad.gradient(
        lambda x: ns(x).sum(xpgrad.checkpointed(lambda a, b: a * b, x, v)), x),
    "forwarddiff": lambda x, v: xpgrad.gradient(
        lambda x: ns(x).sum(xpgrad.forwarddiff(lambda a: a * a, x)), x),
    "hook_identity": lambda x, v: xpgrad.gradient(
        lambda x: ns(x).sum(xpgrad.hook(lambda g: g, x)), x),
    "stop_gradient": lambda x, v: xpgrad.gradient(
        lambda x: ns(x).sum(x * xpgrad.stop_gradient(x)), x),
    "buffer": lambda x, v: xpgrad.gradient(_buffer_loss, x),
}


def _buffer_loss(x: Any) -> Any:
    b = xpgrad.Buffer(x)
    b[0] = x[1] * 2
    y = b.copy()
    return ns(y).sum(y * y)


@pytest.mark.parametrize("name", sorted(CASES))
def test_read_only_numpy_inputs_work_and_are_not_aliased(name: str) -> None:
    x, v = ro(X), ro(V)
    res = CASES[name](x, v)
    assert_no_alias(res, [x, v])
    assert np.array_equal(x, X) and np.array_equal(v, V)
    # the same call on writeable copies gives the same results
    want = CASES[name](np.array(X), np.array(V))
    for a, b in zip(leaves(res), leaves(want)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_inputs_keep_their_values_on_strict(name: str) -> None:
    x, v = strict.asarray(X, dtype=strict.float64), strict.asarray(V, dtype=strict.float64)
    res = CASES[name](x, v)
    assert np.array_equal(to_host(x), X) and np.array_equal(to_host(v), V)
    for r in leaves(res):
        assert r is not x and r is not v


def test_results_may_be_written_without_changing_inputs_or_each_other() -> None:
    # the failure aliasing would cause: an in-place update of one gradient changes
    # the caller's cotangent or another gradient
    x, y = np.array(X), np.array(V)
    ga, gb = xpgrad.gradient(lambda a, b: np.sum(np.exp(a + b)), x, y)
    ga += 1.0
    assert np.allclose(gb, np.exp(x + y))
    ct = np.ones(3)
    _, back = xpgrad.pullback(lambda a, b: a + b, x, y)
    ga, gb = back(ct)
    ga *= 5
    assert np.array_equal(ct, np.ones(3)) and np.array_equal(gb, np.ones(3))
    t = np.ones(3)
    _, dy = xpgrad.jvp(lambda a: a, (x,), (t,))
    dy -= 1
    assert np.array_equal(t, np.ones(3))


def test_values_returned_by_f_are_fs_own() -> None:
    # documented: pullback / withgradient / jvp return f's value as f returns it
    x = ro(X)
    y, _ = xpgrad.pullback(lambda x: x, x)
    assert y is x
    val, _ = xpgrad.withgradient(lambda x: (ns(x).sum(x), x), x)
    assert val[1] is x


def test_buffer_never_writes_into_its_source() -> None:
    x = ro(X)
    b = xpgrad.Buffer(x)
    b[1] = 7.0
    assert np.array_equal(b.copy(), [0.5, 7.0, 2.0]) and np.array_equal(x, X)
    s = strict.asarray(X, dtype=strict.float64)
    b = xpgrad.Buffer(s)
    b[1] = 7.0
    assert np.array_equal(to_host(s), X)


@pytest.mark.parametrize("rule", [opt.Descent(0.1), opt.Momentum(), opt.Adam()],
                         ids=["descent", "momentum", "adam"])
def test_optimisers_with_read_only_arrays(rule: Any) -> None:
    model = {"w": ro(X), "b": ro([1.0])}
    state = opt.setup(rule, model)
    (grads,) = xpgrad.gradient(lambda m: np.sum(m["w"] ** 2) + np.sum(m["b"]), model)
    state, new = opt.update(state, model, grads)
    # read-only arrays are replaced, never written
    assert np.array_equal(model["w"], X) and np.array_equal(model["b"], [1.0])
    assert not np.array_equal(new["w"], X)
    want_state = opt.setup(rule, {"w": np.array(X), "b": np.array([1.0])})
    _, want = opt.update(want_state, {"w": np.array(X), "b": np.array([1.0])}, grads)
    assert np.allclose(new["w"], want["w"]) and np.allclose(new["b"], want["b"])


def test_param_boxes_with_read_only_arrays() -> None:
    x = ro(X)
    w = xpgrad.param(x)
    gs = xpgrad.gradient(lambda: np.sum(w * w), xpgrad.Params([w]))
    assert np.array_equal(gs[w], 2 * np.array(X)) and not np.shares_memory(gs[w], x)
    state = opt.setup(opt.Descent(0.5), xpgrad.Params([w]))
    opt.update(state, xpgrad.Params([w]), gs)
    # the box now holds a new array; the read-only one is untouched
    assert np.array_equal(x, X)
    assert np.allclose(w.value, np.array(X) - np.array(X))
    w[0] = 3.0
    assert np.array_equal(x, X) and w.value[0] == 3.0
