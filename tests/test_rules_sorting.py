"""Sorting rules: ``sort`` differentiates as a permutation; ``argsort`` is a constant."""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_compat.numpy as cnp
import array_api_strict as xs
import numpy as np
import pytest

import xpgrad
from xpgrad.testing import check_grads

BACKENDS = {"numpy": cnp, "array_api_strict": xs}
rng = np.random.default_rng(3)


@pytest.fixture(params=sorted(BACKENDS))
def xp(request: Any) -> Any:
    return BACKENDS[request.param]


def _np(a: Any) -> np.ndarray:
    return np.from_dlpack(a) if not isinstance(a, (np.ndarray, np.generic, float, int)) else np.asarray(a)


def _ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


@pytest.mark.parametrize("shape, axis, descending", [
    ((6,), -1, False), ((6,), 0, True), ((3, 4), 0, False), ((3, 4), 1, True),
    ((2, 3, 4), 1, False),
])
def test_sort_gradient_matches_finite_differences(xp: Any, shape: tuple, axis: int,
                                                  descending: bool) -> None:
    x = xp.asarray(rng.normal(size=shape))  # distinct values: sort is smooth here
    check_grads(lambda x: _ns(x).sort(x, axis=axis, descending=descending), (x,))


def test_sort_values_and_gradient_by_hand(xp: Any) -> None:
    x = xp.asarray([3.0, 1.0, 2.0])
    w = xp.asarray([1.0, 10.0, 100.0])
    y, (g,) = xpgrad.withgradient(lambda x: _ns(x).sum(_ns(x).sort(x) * w), x)
    # sorted: [1 (from x[1]), 2 (x[2]), 3 (x[0])] -> weights go back to those positions
    assert _np(g).tolist() == [100.0, 1.0, 10.0]
    assert float(_np(y)) == 1.0 + 20.0 + 300.0


@pytest.mark.parametrize("descending, want", [(False, [2.0, 3.0, 1.0]),
                                              (True, [1.0, 2.0, 3.0])])
def test_ties_follow_the_stable_order(xp: Any, descending: bool, want: list) -> None:
    # x = [1, 1, 0]; a stable sort keeps the two 1s in input order, so ascending is
    # [x2, x0, x1] and descending [x0, x1, x2]; weight k goes to the element at k
    x = xp.asarray([1.0, 1.0, 0.0])
    w = xp.asarray([1.0, 2.0, 3.0])

    def f(x: Any) -> Any:
        return _ns(x).sum(_ns(x).sort(x, descending=descending, stable=False) * w)

    (g,) = xpgrad.gradient(f, x)
    assert _np(g).tolist() == want
    (t,) = (xpgrad.jvp(f, (x,), (xp.asarray([1.0, 0.0, 0.0]),))[1],)
    assert float(_np(t)) == want[0]  # forward mode agrees with reverse mode


def test_argsort_has_no_derivative_but_indexes(xp: Any) -> None:
    x = xp.asarray(rng.normal(size=(5,)))

    def f(x: Any) -> Any:
        order = _ns(x).argsort(x)
        return _ns(x).sum(_ns(x).take(x, order) * xp.asarray([1.0, 2.0, 3.0, 4.0, 5.0]))

    (g,) = xpgrad.gradient(f, x)
    want = np.empty(5)
    want[np.argsort(_np(x), kind="stable")] = [1.0, 2.0, 3.0, 4.0, 5.0]
    np.testing.assert_allclose(_np(g), want)


def test_sort_under_vmap_and_second_order(xp: Any) -> None:
    xn = rng.normal(size=(3, 4))
    got = xpgrad.vmap(lambda r: _ns(r).sort(r, descending=True))(xp.asarray(xn))
    np.testing.assert_allclose(_np(got), -np.sort(-xn, axis=1))
    # a smooth function of the sorted values: second order through sort's rules
    check_grads(lambda x: _ns(x).sort(x * x, axis=0), (xp.asarray(xn),), order=2)


def test_sort_of_a_0d_array_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one dimension"):
        xpgrad.gradient(lambda x: _ns(x).sort(x), 1.0)
