"""Derivatives handed to the caller own their memory and are writable (issue 16, #3 and #8).

Rules pass cotangents through as views (reshape, getitem), share one array
between inputs (add) and broadcast without copying (sum): free inside the
engine, but at the API edge a write into one gradient must never change
another, an argument, or raise because the result is a read-only view.
"""

from __future__ import annotations

from typing import Any

import array_api_strict as strict
import numpy as np
import pytest

import xpgrad


def _xp(x: Any) -> Any:
    return x.__array_namespace__()


def test_gradients_of_a_reshape_and_its_sibling_do_not_alias() -> None:
    x = np.array([1.0, 2.0, 3.0])

    def f(a, c):
        xp = _xp(a)
        return xp.sum((xp.reshape(a, (3,)) + c) * x)

    ga, gb = xpgrad.gradient(f, np.ones((1, 3)), np.ones(3))
    gb[0] = 100.0
    np.testing.assert_array_equal(ga, [[1.0, 2.0, 3.0]])


def test_params_foreach_scales_each_gradient_once() -> None:
    w, b = xpgrad.param(np.ones((1, 3))), xpgrad.param(np.ones(3))
    # reshape's pullback gives w a view of the cotangent that b gets
    gs = xpgrad.gradient(lambda: np.sum((np.reshape(w, (3,)) + b) * 2.0), xpgrad.Params([w, b]))
    gs.foreach(lambda g: g.__imul__(0.5))
    np.testing.assert_array_equal(gs[w], np.ones((1, 3)))
    np.testing.assert_array_equal(gs[b], np.ones(3))


@pytest.mark.parametrize("xp", [np, strict], ids=["numpy", "strict"])
def test_the_gradient_of_a_reduction_is_writable(xp: Any) -> None:
    g = xpgrad.gradient(lambda q: _xp(q).sum(q), xp.ones(3))[0]
    g *= 0.5
    g[0] = 3.0
    assert [float(v) for v in g] == [3.0, 0.5, 0.5]


def test_every_transformation_returns_writable_private_arrays() -> None:
    x = np.array([1.0, 2.0])

    def f(x):
        return _xp(x).sum(x)

    results = [
        xpgrad.gradient(f, x)[0],
        xpgrad.withgradient(f, x).grad[0],
        xpgrad.pullback(f, x)[1](1.0)[0],
        xpgrad.jvp(lambda x: x, (x,), (np.ones(2),))[1],
        xpgrad.jacobian(lambda x: _xp(x).broadcast_to(_xp(x).sum(x), (2,)), x)[0],
        xpgrad.hessian(lambda x: _xp(x).sum(x) ** 2, x),
        xpgrad.diaghessian(lambda x: _xp(x).sum(x) ** 2, x)[0],
    ]
    for r in results:
        r[...] = -1.0  # raises on a read-only view
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_an_identity_does_not_hand_back_the_callers_array() -> None:
    x, t = np.ones(3), np.ones(3)
    (g,) = xpgrad.gradient(lambda x: _xp(x).sum(x), x)
    dy = xpgrad.jvp(lambda x: x, (x,), (t,))[1]
    dy[0] = 5.0
    g[0] = 5.0
    assert t[0] == 1.0 and x[0] == 1.0


def test_torch_gradients_can_be_changed_in_place() -> None:
    torch = pytest.importorskip("torch")
    x = torch.ones(3, dtype=torch.float64)
    g = xpgrad.gradient(lambda q: _xp(q).sum(q), x)[0]  # sum's pullback expands ct
    g.mul_(0.5)
    assert g.tolist() == [0.5, 0.5, 0.5]
    ga, gb = xpgrad.gradient(
        lambda a, c: _xp(a).sum((_xp(a).reshape(a, (3,)) + c) * x), torch.ones((1, 3)).double(), x
    )
    gb[0] = 100.0
    assert ga.tolist() == [[1.0, 1.0, 1.0]]
