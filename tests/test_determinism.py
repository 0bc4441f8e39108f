"""Determinism: the same call on NumPy gives bitwise-identical results twice (issue 7).

No transformation depends on hash order, object identity, timing or global
state left behind by an earlier call: repeating a call, or running it after
other calls, gives the same bits (dtype, shape and every value, NaN included).
"""

from __future__ import annotations

from typing import Any, Callable

import array_api_compat
import numpy as np
import optree
import pytest

import xpgrad

RNG = np.random.default_rng(7)
W = RNG.standard_normal((5, 4))
X = RNG.standard_normal(4)
V = RNG.standard_normal(4)


def loss(x: Any) -> Any:
    h = np.tanh(W @ x)
    return np.sum(h * h) + np.log(np.sum(np.exp(h))) + np.prod(np.cos(x)) + np.max(x * x)


def vector(x: Any) -> Any:
    xp = array_api_compat.array_namespace(x)
    return xp.concat([xp.cumulative_sum(xp.sin(W @ x)), xp.sort(x) ** 3])


def tree_loss(p: dict) -> Any:
    return np.sum(p["w"] @ p["b"][0]) + p["s"] ** 2 * np.sum(p["b"][1])


TREE = {"w": W, "b": (X, V), "s": 1.5, "name": "layer"}

CALLS: dict[str, Callable[[], Any]] = {
    "gradient": lambda: xpgrad.gradient(loss, X),
    "gradient_tree": lambda: xpgrad.gradient(tree_loss, TREE),
    "withgradient": lambda: xpgrad.withgradient(loss, X),
    "pullback": lambda: xpgrad.pullback(vector, X)[1](np.linspace(-1, 1, vector(X).shape[0])),
    "jvp": lambda: xpgrad.jvp(vector, (X,), (V,)),
    "jacobian_reverse": lambda: xpgrad.jacobian(vector, X, mode="reverse"),
    "jacobian_forward": lambda: xpgrad.jacobian(vector, X, mode="forward"),
    "jacobian_chunked": lambda: xpgrad.jacobian(vector, X, chunk_size=3),
    "hessian": lambda: xpgrad.hessian(loss, X),
    "hessian_chunked": lambda: xpgrad.hessian(loss, X, chunk_size=3),
    "hessian_reverse": lambda: xpgrad.hessian_reverse(loss, X),
    "diaghessian": lambda: xpgrad.diaghessian(loss, X),
    "hvp": lambda: xpgrad.hvp(loss, X, V),
    "vmap_gradient": lambda: xpgrad.vmap(lambda x: xpgrad.gradient(loss, x)[0])(
        np.stack([X, V, X * V])),
    "checkpointed": lambda: xpgrad.gradient(lambda x: xpgrad.checkpointed(loss, x), X),
    "nan": lambda: xpgrad.gradient(lambda x: np.sum(np.sqrt(x - 1.0)), X),
}


def leaves(tree: Any) -> list:
    return [np.asarray(v) for v in optree.tree_leaves(tree) if not isinstance(v, str)]


def assert_bitwise(a: Any, b: Any) -> None:
    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        assert u.dtype == v.dtype and u.shape == v.shape
        assert u.tobytes() == v.tobytes()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(CALLS))
def test_same_call_twice_is_bitwise_identical(name: str) -> None:
    first = CALLS[name]()
    second = CALLS[name]()
    assert_bitwise(first, second)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_results_do_not_depend_on_earlier_calls() -> None:
    first = {n: c() for n, c in CALLS.items()}
    for n in reversed(sorted(CALLS)):  # another order, after every other call
        assert_bitwise(CALLS[n](), first[n])
