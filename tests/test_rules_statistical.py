"""The statistical rules at their special points, against values computed by hand.

The generated conformance suite checks every rule on random samples. Here:
``prod`` and ``cumulative_prod`` where the input has zeros (first and second
derivatives against NumPy products built by deleting elements, never by
dividing), ties in ``max``/``min``, ``var``/``std`` with ``correction``, the
transposes of ``cumulative_sum``, and the standard's signatures.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad.rules import NAMESPACE
from xpgrad.testing import check_batching, check_grads

BACKENDS = [b for b in ("numpy", "array_api_strict") if b in B.available()]


@pytest.fixture(params=BACKENDS)
def xp(request):
    return B.get(request.param).namespace(None)


def _host(a):
    # array_api_strict arrays convert through the buffer protocol of their NumPy payload
    return np.asarray(a._array) if hasattr(a, "_array") else np.asarray(a)


def _close(got, want, tol=1e-10) -> None:
    np.testing.assert_allclose(_host(got), np.asarray(want, dtype=np.float64), rtol=tol,
                               atol=tol)


def _others(x: np.ndarray) -> np.ndarray:
    """d prod / dx_i = product of every element but x_i (by deletion, no division)."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


def _prod_hessian(x: np.ndarray) -> np.ndarray:
    n = x.size
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                h[i, j] = np.prod(np.delete(x, [i, j]))
    return h


ZERO_CASES = [
    [2.0, 0.0, 3.0, 4.0],  # one zero: only its derivative survives
    [0.0, 2.0, 0.0, 3.0],  # two zeros: the gradient vanishes, the Hessian does not
    [0.0, 0.0, 0.0],
    [1.5, -2.0, 0.5],
]


@pytest.mark.parametrize("vals", ZERO_CASES)
def test_prod_with_zeros_gradient_and_hessian(xp, vals) -> None:
    x = xp.asarray(vals, dtype=xp.float64)
    xn = np.asarray(vals)
    f = lambda v: v.__array_namespace__().prod(v)
    (g,) = xpgrad.gradient(f, x)
    _close(g, _others(xn))
    _close(xpgrad.hessian(f, x), _prod_hessian(xn))
    _close(xpgrad.hessian_reverse(f, x), _prod_hessian(xn))
    # forward mode: the directional derivative is <others, v>
    v = xp.asarray([1.0, -1.0, 0.5, 2.0][: len(vals)], dtype=xp.float64)
    _, dy = xpgrad.jvp(f, (x,), (v,))
    _close(dy, _others(xn) @ np.asarray([1.0, -1.0, 0.5, 2.0][: len(vals)]))


def test_prod_with_zeros_along_axes(xp) -> None:
    xn = np.array([[2.0, 0.0, 3.0], [0.0, 5.0, 0.0]])
    x = xp.asarray(xn)
    f = lambda v: v.__array_namespace__().prod(v, axis=1)
    jac = xpgrad.jacobian(f, x)[0]  # (outputs, C-order flattened inputs)
    want = np.zeros((2, 2, 3))
    for r in range(2):
        want[r, r] = _others(xn[r])
    _close(jac, want.reshape(2, 6))
    check_grads(lambda v: v.__array_namespace__().prod(v, axis=0, keepdims=True), (x,))
    check_batching(lambda v: v.__array_namespace__().prod(v, axis=1), (x,))


def test_prod_with_dtype_casts_back(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float32)
    (g,) = xpgrad.gradient(lambda v: v.__array_namespace__().prod(v, dtype=xp.float64), x)
    assert g.dtype == xp.float32
    _close(g, [6.0, 3.0, 2.0])


@pytest.mark.parametrize("name,vals,want", [
    ("max", [1.0, 3.0, 3.0, 2.0], [0.0, 0.5, 0.5, 0.0]),
    ("min", [1.0, 3.0, 1.0, 1.0], [1 / 3, 0.0, 1 / 3, 1 / 3]),
    ("max", [4.0, 4.0], [0.5, 0.5]),
])
def test_max_min_ties_split_evenly(xp, name, vals, want) -> None:
    x = xp.asarray(vals, dtype=xp.float64)
    (g,) = xpgrad.gradient(lambda v: getattr(v.__array_namespace__(), name)(v), x)
    _close(g, want)
    _, dy = xpgrad.jvp(lambda v: getattr(v.__array_namespace__(), name)(v), (x,),
                       (xp.ones_like(x),))
    _close(dy, 1.0)  # the weights sum to one


def test_max_ties_along_axis(xp) -> None:
    x = xp.asarray([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]])
    (g,) = xpgrad.gradient(lambda v: v.__array_namespace__().sum(
        v.__array_namespace__().max(v, axis=1) * xp.asarray([1.0, 2.0])), x)
    _close(g, [[0.5, 0.5, 0.0], [0.0, 1.0, 1.0]])


def test_std_and_var_with_correction(xp) -> None:
    xn = np.array([1.0, 2.0, 4.0, 7.0])
    x = xp.asarray(xn)
    n, c = xn.size, 1.0
    centred = xn - xn.mean()
    sd = np.sqrt((centred ** 2).sum() / (n - c))
    (g,) = xpgrad.gradient(lambda v: v.__array_namespace__().std(v, correction=1.0), x)
    _close(g, centred / ((n - c) * sd))
    (g,) = xpgrad.gradient(lambda v: v.__array_namespace__().var(v, correction=1), x)
    _close(g, 2 * centred / (n - c))
    # correction=0 (the default) divides by n
    (g,) = xpgrad.gradient(lambda v: v.__array_namespace__().var(v), x)
    _close(g, 2 * centred / n)
    m = xp.asarray([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    check_grads(lambda v: v.__array_namespace__().std(v, axis=0, correction=1, keepdims=True),
                (m,))


def test_cumulative_prod_with_a_zero(xp) -> None:
    xn = np.array([2.0, 0.0, 3.0, 5.0])
    x = xp.asarray(xn)
    f = lambda v: v.__array_namespace__().cumulative_prod(v)
    # J[k, i] = product of x[:k + 1] without x[i], for i <= k
    want = np.zeros((4, 4))
    for k in range(4):
        for i in range(k + 1):
            want[k, i] = np.prod(np.delete(xn[: k + 1], i))
    _close(xpgrad.jacobian(f, x, mode="forward")[0], want)
    _close(xpgrad.jacobian(f, x, mode="reverse")[0], want)
    # the derivative of the last entry is exactly prod's gradient
    _close(want[-1], _others(xn))
    check_grads(f, (x,), order=2)
    g = lambda v: v.__array_namespace__().cumulative_prod(
        v, axis=0, include_initial=True)
    check_grads(g, (xp.asarray([[0.0, 1.5], [2.0, 0.0], [0.0, -1.0]]),), order=2)


def test_cumulative_sum_include_initial(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0])
    w = xp.asarray([10.0, 1.0, 2.0, 4.0])  # weights of out = [0, 1, 3, 6]
    (g,) = xpgrad.gradient(lambda v: v.__array_namespace__().sum(
        v.__array_namespace__().cumulative_sum(v, include_initial=True) * w), x)
    _close(g, [7.0, 6.0, 4.0])  # out[0] is the constant 0: w[0] reaches nothing


def test_cumulative_axis_none_needs_1d(xp) -> None:
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="axis"):
        xpgrad.gradient(lambda v: v.__array_namespace__().sum(
            v.__array_namespace__().cumulative_prod(v)), x)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var", "std",
                                  "cumulative_sum", "cumulative_prod"])
def test_signatures_follow_the_standard(name) -> None:
    strict = pytest.importorskip("array_api_strict")

    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(NAMESPACE[name]) == shape(getattr(strict, name))


# -- issue 16, defect 4: complex var and std take the conjugate --------------------------------
def test_complex_var_and_std_derivatives_are_real_and_match_finite_differences() -> None:
    import numpy as np

    import xpgrad

    z = np.array([1 + 1j, 2 - 1j, 0.5 + 2j])
    dz = np.array([1.0 + 0j, -0.5j, 0.25 + 0.5j])
    for f in (np.var, np.std):
        t = xpgrad.jvp(f, (z,), (dz,))[1]
        eps = 1e-6
        fd = (f(z + eps * dz) - f(z - eps * dz)) / (2 * eps)
        assert np.isrealobj(t)
        np.testing.assert_allclose(t, fd, rtol=1e-6)
        # reverse mode: <grad, dz> with JAX's pairing Re(sum(g * dz))
        g = xpgrad.gradient(f, z)[0]
        np.testing.assert_allclose(np.real(np.sum(g * dz)), fd, rtol=1e-6)
