"""The unique_* functions: their values carry the input's derivative (rules/sets.py).

A silent zero here made array-api-extra's ``union1d``/``setdiff1d`` and SciPy's
``stats.mode`` differentiate to zero (issue 20's real-library suite).
"""

from __future__ import annotations

from typing import Any

import array_api_strict as xs
import numpy as np
import pytest

import xpgrad
from xpgrad.testing import check_grads

BACKENDS = {"numpy": np, "array_api_strict": xs}


@pytest.fixture(params=sorted(BACKENDS))
def xp(request: Any) -> Any:
    return BACKENDS[request.param]


def _np(a: Any) -> np.ndarray:
    return np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else np.from_dlpack(a)


def _ns(x: Any) -> Any:
    return x.__array_namespace__()


VALUES = {
    "unique_values": lambda ns, x: ns.unique_values(x),
    "unique_all": lambda ns, x: ns.unique_all(x).values,
    "unique_counts": lambda ns, x: ns.unique_counts(x).values,
    "unique_inverse": lambda ns, x: ns.unique_inverse(x).values,
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_unique_values_differentiate_like_a_permutation(xp: Any, name: str) -> None:
    """Distinct values: the unique values are a sorted permutation of the input, checked
    against central differences and forward against reverse mode, to second order."""
    x = xp.asarray([[0.7, -0.2, 1.5], [0.1, 2.3, -1.1]])
    check_grads(lambda x: VALUES[name](_ns(x), x) ** 2, (x,), order=2)


def test_ties_send_the_cotangent_to_the_first_occurrence(xp: Any) -> None:
    x = xp.asarray([3.0, 1.0, 3.0, 1.0])
    (g,) = xpgrad.gradient(lambda x: _ns(x).sum(_ns(x).unique_values(x) * xp.asarray([1.0, 10.0])), x)
    np.testing.assert_array_equal(_np(g), [10.0, 1.0, 0.0, 0.0])


def test_the_other_fields_stay_constants(xp: Any) -> None:
    x = xp.asarray([2.0, 1.0, 2.0])

    def f(x: Any) -> Any:
        res = _ns(x).unique_all(x)
        assert _np(res.counts).tolist() == [1, 2] and _np(res.indices).tolist() == [1, 0]
        return _ns(x).sum(res.values)

    (g,) = xpgrad.gradient(f, x)
    np.testing.assert_array_equal(_np(g), [1.0, 1.0, 0.0])


def test_untraced_calls_return_the_backends_results() -> None:
    x = np.array([2.0, 1.0, 2.0])
    from xpgrad.rules.sets import unique_all, unique_values

    res = unique_all(x)
    assert type(res.values) is np.ndarray and res._fields[:2] == ("values", "indices")
    assert type(unique_values(x)) is np.ndarray
    np.testing.assert_array_equal(unique_values(x), [1.0, 2.0])


def test_lazy_backends_raise_instead_of_a_zero_derivative() -> None:
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.array([3.0, 1.0, 3.0]), chunks=2)
    with pytest.raises(ValueError, match="data-dependent shape"):
        xpgrad.gradient(lambda x: _ns(x).sum(_ns(x).unique_values(x) ** 2), x)
