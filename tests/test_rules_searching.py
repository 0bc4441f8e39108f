"""Searching and set functions: constants to every derivative (set functions' values
excepted, see test_rules_sets.py), with batch rules."""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_compat.numpy as cnp
import array_api_strict as xs
import numpy as np
import pytest

import xpgrad

BACKENDS = {"numpy": cnp, "array_api_strict": xs}
rng = np.random.default_rng(5)


@pytest.fixture(params=sorted(BACKENDS))
def xp(request: Any) -> Any:
    return BACKENDS[request.param]


def _np(a: Any) -> np.ndarray:
    return np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else np.from_dlpack(a)


def _ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def test_argmax_passes_through_a_gradient(xp: Any) -> None:
    x = xp.asarray([0.5, 3.0, -1.0, 3.0])

    def f(x: Any) -> Any:
        i = _ns(x).argmax(x)  # first maximum; an integer with no derivative
        return x[i] * x[i]

    (g,) = xpgrad.gradient(f, x)
    assert _np(g).tolist() == [0.0, 6.0, 0.0, 0.0]


@pytest.mark.parametrize("axis, keepdims", [(None, False), (None, True), (0, False),
                                            (-1, True)])
def test_argmin_argmax_under_vmap(xp: Any, axis: Any, keepdims: bool) -> None:
    xn = rng.normal(size=(3, 2, 4))
    for name in ("argmax", "argmin"):
        got = xpgrad.vmap(lambda r: getattr(_ns(r), name)(r, axis=axis, keepdims=keepdims))(
            xp.asarray(xn))
        want = np.stack([getattr(np, name)(r, axis=axis, keepdims=keepdims) for r in xn])
        np.testing.assert_array_equal(_np(got), want)


def test_count_nonzero_under_vmap(xp: Any) -> None:
    xn = np.floor(rng.uniform(-1, 2, size=(3, 4, 2)))
    got = xpgrad.vmap(lambda r: _ns(r).count_nonzero(r, axis=0))(xp.asarray(xn))
    np.testing.assert_array_equal(_np(got), np.count_nonzero(xn, axis=1))
    got = xpgrad.vmap(lambda r: _ns(r).count_nonzero(r))(xp.asarray(xn))
    np.testing.assert_array_equal(_np(got), [np.count_nonzero(r) for r in xn])


def test_nonzero_works_traced_and_refuses_vmap(xp: Any) -> None:
    x = xp.asarray([[0.0, 2.0], [3.0, 0.0]])

    def f(x: Any) -> Any:
        rows, cols = _ns(x).nonzero(x)
        return _ns(x).sum(x[rows, cols] ** 2)

    (g,) = xpgrad.gradient(f, x)
    assert _np(g).tolist() == [[0.0, 4.0], [6.0, 0.0]]
    with pytest.raises(ValueError, match="data-dependent shape"):
        xpgrad.vmap(lambda r: _ns(r).nonzero(r)[0])(x)


def test_searchsorted_with_batched_sequences_and_sorter(xp: Any) -> None:
    seqs = np.sort(rng.normal(size=(3, 5)), axis=1)
    vals = rng.normal(size=(3, 4))
    got = xpgrad.vmap(lambda s, v: _ns(s).searchsorted(s, v, side="right"))(
        xp.asarray(seqs), xp.asarray(vals))
    want = np.stack([np.searchsorted(s, v, side="right") for s, v in zip(seqs, vals)])
    np.testing.assert_array_equal(_np(got), want)
    # one shared sequence, batched values; and a sorter
    perm = rng.permutation(5)
    shuffled = xp.asarray(seqs[0][perm])
    sorter = xp.asarray(np.argsort(seqs[0][perm]))
    got = xpgrad.vmap(lambda v: _ns(v).searchsorted(shuffled, v, sorter=sorter))(
        xp.asarray(vals))
    np.testing.assert_array_equal(_np(got), np.searchsorted(seqs[0], vals))


def test_unique_functions_return_the_backends_named_tuples(xp: Any) -> None:
    x = xp.asarray([2.0, 1.0, 2.0, 5.0])

    def f(x: Any) -> Any:
        ns = _ns(x)
        res = ns.unique_all(x)
        assert _np(res.counts).tolist() == [1, 2, 1]
        detach = xpgrad.ignore_derivatives  # the values are traced (they carry x's derivative)
        assert _np(detach(ns.unique_counts(x).values)).tolist() == [1.0, 2.0, 5.0]
        assert _np(detach(ns.unique_values(x))).tolist() == [1.0, 2.0, 5.0]
        inv = ns.unique_inverse(x).inverse_indices
        return ns.sum(x * ns.take(res.values, inv))  # == sum(x * x)

    (g,) = xpgrad.gradient(f, x)
    # the unique values carry the derivative of their first occurrence (test_rules_sets.py):
    # f = sum_i x_i * x[first(i)], first = [0, 1, 0, 3] for x = [2, 1, 2, 5]
    np.testing.assert_allclose(_np(g), [2 + 2 + 2, 1 + 1, 2, 5 + 5])
    with pytest.raises(ValueError, match="unique_values cannot run under vmap"):
        xpgrad.vmap(lambda r: _ns(r).unique_values(r))(xp.asarray(np.ones((2, 3))))
