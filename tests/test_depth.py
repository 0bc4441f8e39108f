"""Depth: a 100,000-operation chain and a 6th derivative both work (issue 7).

The backward pass is a loop over the tape, never recursion, so a long chain
hits no recursion limit (and freeing the tape is no recursion either). Nested
transformations stack levels without perturbation confusion, so
``d^6/dx^6 sin = -sin`` by six nested ``gradient`` calls, six nested ``jvp``
calls, or any mix of the two.
"""

from __future__ import annotations

import gc
import math
from typing import Any, Callable

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad.backends import to_host

STEPS = 33_334  # three operations each (sin, multiply, add): 100,002 in all
C = 1e-4


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def chain(x: Any) -> Any:
    n = ns(x)
    y = x
    for _ in range(STEPS):
        y = y + C * n.sin(y)
    return n.sum(y)


def chain_by_hand(x0: float) -> tuple[float, float]:
    """The chain's value and derivative, forward mode by hand in Python floats."""
    y, d = x0, 1.0
    for _ in range(STEPS):
        d *= 1.0 + C * math.cos(y)
        y = y + C * math.sin(y)
    return y, d


def test_hundred_thousand_operation_chain() -> None:
    x = np.asarray([0.3])
    y_want, d_want = chain_by_hand(0.3)
    assert 1.2 < d_want < 3.5  # a derivative far from 0 and 1: every step counts
    y, back = xpgrad.pullback(chain, x)
    (g,) = back(1.0)
    assert math.isclose(float(y), y_want, rel_tol=1e-12)
    assert math.isclose(float(g[0]), d_want, rel_tol=1e-10)
    # dropping the tape deallocates 100,000 linked nodes: no recursion there either
    del back
    gc.collect()
    _, t = xpgrad.jvp(chain, (x,), (np.ones(1),))
    assert math.isclose(float(t), d_want, rel_tol=1e-10)


def d_rev(f: Callable) -> Callable:
    # f is elementwise: the gradient of its sum is its elementwise derivative
    return lambda x: xpgrad.gradient(lambda x: ns(x).sum(f(x)), x)[0]


def d_fwd(f: Callable) -> Callable:
    return lambda x: xpgrad.jvp(f, (x,), (ns(x).ones_like(x),))[1]


def sin(x: Any) -> Any:
    return ns(x).sin(x)


@pytest.mark.parametrize("modes", ["rrrrrr", "ffffff", "frfrfr", "rrrfff"])
@pytest.mark.parametrize("xp", [np, strict], ids=["numpy", "strict"])
def test_sixth_derivative_of_sin(xp: Any, modes: str) -> None:
    f: Callable = sin
    for m in modes:  # the innermost derivative is the first letter
        f = d_rev(f) if m == "r" else d_fwd(f)
    pts = [-2.0, 0.7, 1.5, 3.0]
    got = to_host(f(xp.asarray(pts, dtype=xp.float64)))
    assert np.allclose(got, -np.sin(pts), rtol=1e-12, atol=1e-14)


def test_sixth_derivative_of_sin_on_python_numbers() -> None:
    f: Callable = np.sin
    for _ in range(6):
        f = d_rev(f)
    got = f(0.7)
    assert type(got) is float and math.isclose(got, -math.sin(0.7), rel_tol=1e-12)
    # and a hessian of a 4th derivative: the same 6th derivative
    g: Callable = np.sin
    for _ in range(4):
        g = d_fwd(g)
    assert math.isclose(xpgrad.hessian(g, 0.7), -math.sin(0.7), rel_tol=1e-12)
