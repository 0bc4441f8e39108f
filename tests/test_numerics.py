"""NaN and infinity follow IEEE arithmetic and the rules' mathematics (issue 7).

A derivative is the rule's formula evaluated in IEEE arithmetic: ``sqrt`` at 0
has derivative ``+inf``, ``log`` at 0 ``+inf``, ``x / y`` at ``y = 0`` gives
``inf``; a NaN input gives NaN wherever the formula reads it. Nothing is
silently clamped or replaced. Two pitfalls follow from that and are shown
here with their safe patterns:

* the ``where`` pitfall: ``where(x > 0, sqrt(x), 0)`` has NaN (or inf)
  *gradients* at ``x <= 0`` although its value there is 0, because reverse
  mode multiplies the zero cotangent of the unselected branch by that
  branch's derivative, ``0 * inf = nan``. The safe pattern is the double
  ``where``: make the argument harmless first, ``sqrt(where(x > 0, x, 1))``,
  then select;
* an infinite intermediate: ``1 / (1 + exp(-x))`` at ``x = -1000`` has an
  ``inf / inf`` in its derivative; write it in a form whose intermediates
  stay finite.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad.backends import to_host

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BACKENDS = ["numpy", "strict", "dask"]


@pytest.fixture(params=BACKENDS)
def xp(request: Any) -> Any:
    if request.param == "numpy":
        return array_api_compat.array_namespace(np.ones(1))
    if request.param == "strict":
        return strict
    da = pytest.importorskip("dask.array")
    return array_api_compat.array_namespace(da.ones(1))


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def arr(xp: Any, *v: float) -> Any:
    return xp.asarray(list(v), dtype=xp.float64)


def grad_host(f: Any, *args: Any) -> list:
    return [None if g is None else to_host(g) for g in xpgrad.gradient(f, *args)]


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and the sign of infinities checked."""
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


# -- IEEE values through the rules ----------------------------------------------------------


def test_infinite_derivatives_at_the_edge_of_the_domain(xp: Any) -> None:
    x = arr(xp, 0.0, 1.0, 4.0)
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).sqrt(x)), x)
    assert same(g, [np.inf, 0.5, 0.25])  # 1 / (2 sqrt(x))
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).log(x)), x)
    assert same(g, [np.inf, 1.0, 0.25])  # 1 / x
    gx, gy = grad_host(lambda x, y: ns(x).sum(x / y), arr(xp, 1.0, -1.0), arr(xp, 0.0, 0.0))
    assert same(gx, [np.inf, np.inf]) and same(gy, [-np.inf, np.inf])  # 1/y, -x/y**2


def test_outside_the_domain_the_formula_is_evaluated(xp: Any) -> None:
    # log(-1) is NaN, but its rule's formula 1/x is -1 there: the derivative is the
    # formula's value, as in JAX and PyTorch
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).log(x)), arr(xp, -1.0))
    assert same(g, [-1.0])
    val, _ = xpgrad.withgradient(lambda x: ns(x).sum(ns(x).log(x)), arr(xp, -1.0))
    assert math.isnan(float(to_host(val)))


def test_nan_inputs(xp: Any) -> None:
    x = arr(xp, np.nan, 2.0)
    (g,) = grad_host(lambda x: ns(x).sum(3.0 * x), x)
    assert same(g, [3.0, 3.0])  # the derivative of a linear function does not read x
    (g,) = grad_host(lambda x: ns(x).sum(x * x), x)
    assert same(g, [np.nan, 4.0])  # 2x reads x: NaN stays NaN, the rest is untouched
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).sin(x)), x)
    assert same(g, [np.nan, np.cos(2.0)])
    _, t = xpgrad.jvp(lambda x: x * x, (x,), (arr(xp, 1.0, 1.0),))
    assert same(to_host(t), [np.nan, 4.0])
    # NaN in one element of a reduction reaches only what depends on it
    (g,) = grad_host(lambda x: ns(x).sum(x) * 2.0, x)
    assert same(g, [2.0, 2.0])


def test_infinite_inputs(xp: Any) -> None:
    x = arr(xp, np.inf, -np.inf, 0.0)
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).exp(-x)), arr(xp, np.inf))
    assert same(g, [-0.0])  # -exp(-inf)
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).sin(x)), x)
    assert same(g, [np.nan, np.nan, 1.0])  # cos(+-inf) is NaN
    gx, gy = grad_host(lambda x, y: ns(x).sum(x * y), arr(xp, 0.0), arr(xp, np.inf))
    assert same(gx, [np.inf]) and same(gy, [0.0])  # d/dx = y, d/dy = x
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).tanh(x)), arr(xp, 1e3, -1e3))
    assert same(g, [0.0, 0.0])  # 1 - tanh**2, exactly 0
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).exp(x)), arr(xp, 1e3))
    assert same(g, [np.inf])  # overflow is inf, as the value


def test_abs_and_max_at_ties(xp: Any) -> None:
    # the rules' conventions at non-differentiable points; finite, never NaN
    (g,) = grad_host(lambda x: ns(x).sum(ns(x).abs(x)), arr(xp, 0.0, -2.0, 3.0))
    assert same(g, [0.0, -1.0, 1.0])  # sign(x)
    (g,) = grad_host(lambda x: ns(x).max(x), arr(xp, 1.0, 1.0, 0.0))
    # whatever the split between tied entries, max(x + t) = max(x) + t along ones
    assert np.all(np.isfinite(g)) and g[2] == 0.0 and math.isclose(float(np.sum(g)), 1.0)


def test_pow_with_zero_exponent_array() -> None:
    # x ** 0 == 1 for every x (IEEE pow(0, 0) == 1): its derivative is 0 everywhere
    (g,) = grad_host(lambda x: np.sum(x ** np.zeros(2)), np.array([0.0, 2.0]))
    assert same(g, [0.0, 0.0])


# -- the where pitfall and the safe pattern ------------------------------------------------


def unsafe(x: Any) -> Any:
    n = ns(x)
    return n.where(x > 0, n.sqrt(x), 0.0)


def safe(x: Any) -> Any:
    n = ns(x)
    positive = x > 0
    return n.where(positive, n.sqrt(n.where(positive, x, 1.0)), 0.0)


def test_where_pitfall_reverse_mode(xp: Any) -> None:
    x = arr(xp, -1.0, 0.0, 4.0)
    assert same(to_host(unsafe(x)), to_host(safe(x)))  # equal values...
    (g,) = grad_host(lambda x: ns(x).sum(unsafe(x)), x)
    # ...but the unselected branch's derivative (NaN at -1, inf at 0) times its zero
    # cotangent is NaN: 0 * nan and 0 * inf
    assert same(g, [np.nan, np.nan, 0.25])
    (g,) = grad_host(lambda x: ns(x).sum(safe(x)), x)
    assert same(g, [0.0, 0.0, 0.25])


def test_where_pitfall_forward_mode_and_second_order(xp: Any) -> None:
    x = arr(xp, -1.0, 0.0, 4.0)
    ones = arr(xp, 1.0, 1.0, 1.0)
    # forward mode selects the tangent of the chosen branch: no NaN there
    _, t = xpgrad.jvp(unsafe, (x,), (ones,))
    assert same(to_host(t), [0.0, 0.0, 0.25])
    _, t = xpgrad.jvp(safe, (x,), (ones,))
    assert same(to_host(t), [0.0, 0.0, 0.25])
    # second order goes through reverse mode: the pitfall, and the safe pattern's cure
    H = to_host(xpgrad.hessian(lambda x: ns(x).sum(x * unsafe(x)), x))
    assert np.isnan(H[0, 0]) and np.isnan(H[1, 1])
    H = to_host(xpgrad.hessian(lambda x: ns(x).sum(x * safe(x)), x))
    want = np.diag([0.0, 0.0, 0.75 / np.sqrt(4.0)])  # d2/dx2 x**1.5 = 0.75 / sqrt(x)
    assert np.allclose(H, want)


def test_infinite_intermediate_pitfall() -> None:
    def naive(x: Any) -> Any:
        return 1.0 / (1.0 + np.exp(-x))

    def stable(x: Any) -> Any:  # the same function with finite intermediates
        return 0.5 * (np.tanh(x / 2.0) + 1.0)

    x = np.array([-1000.0, 0.0, 3.0])
    assert np.allclose(naive(x), stable(x))
    (g,) = xpgrad.gradient(lambda x: np.sum(naive(x)), x)
    assert np.isnan(g[0])  # exp(1000) = inf, then inf / inf
    (g,) = xpgrad.gradient(lambda x: np.sum(stable(x)), x)
    s = 1 / (1 + np.exp(-x[1:]))
    assert g[0] == 0.0 and np.allclose(g[1:], s * (1 - s))
