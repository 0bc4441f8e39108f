"""Indexing rules: ``x[key]``, ``take``, ``take_along_axis`` and their transposes.

Expected values are computed independently with NumPy (``np.add.at`` for the
accumulating transposes) or by hand; derivatives are checked against finite
differences with ``xpgrad.testing.check_grads``.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_compat.numpy as cnp
import array_api_strict as xs
import numpy as np
import pytest

import xpgrad
from xpgrad.rules import F
from xpgrad.rules._indexkeys import ARRAY, _gather_decomposed, _scatter_decomposed, split_key
from xpgrad.rules.indexing import getitem
from xpgrad.testing import check_grads

BACKENDS = {"numpy": cnp, "array_api_strict": xs}


@pytest.fixture(params=sorted(BACKENDS))
def xp(request: Any) -> Any:
    return BACKENDS[request.param]


def _np(a: Any) -> np.ndarray:
    return np.from_dlpack(a) if not isinstance(a, (np.ndarray, np.generic, float, int)) else np.asarray(a)


def _ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def _sum(y: Any) -> Any:
    return _ns(y).sum(y)


rng = np.random.default_rng(0)


# -- gradients -----------------------------------------------------------------------


def test_repeated_integer_indices_accumulate(xp: Any) -> None:
    x = xp.asarray([1.0, 2.0, 3.0])
    idx = xp.asarray([0, 0, 1])
    (g,) = xpgrad.gradient(lambda x: _sum(x[idx]), x)
    assert _np(g).tolist() == [2.0, 1.0, 0.0]


def test_repeated_rows_of_a_matrix_accumulate(xp: Any) -> None:
    x = xp.asarray(rng.normal(size=(3, 2)))
    idx = xp.asarray([2, 0, 2, 2])
    (g,) = xpgrad.gradient(lambda x: _sum(x[idx] * x[idx]), x)  # x[idx] on 2-D: beyond strict
    want = 2 * _np(x) * np.array([1.0, 0.0, 3.0])[:, None]
    np.testing.assert_allclose(_np(g), want)


def test_boolean_mask(xp: Any) -> None:
    xn = rng.normal(size=(3, 4))
    mask = xn > 0
    x = xp.asarray(xn)
    (g,) = xpgrad.gradient(lambda x: _sum(x[xp.asarray(mask)] ** 3), x)
    np.testing.assert_allclose(_np(g), np.where(mask, 3 * xn**2, 0.0))


def test_boolean_mask_inside_a_tuple(xp: Any) -> None:
    xn = rng.normal(size=(2, 3, 4))
    m = np.array([True, False, True])
    x = xp.asarray(xn)
    y = getitem(x, (slice(None), xp.asarray(m), 1))  # beyond array-api-strict's own
    np.testing.assert_allclose(_np(y), xn[:, m, 1])
    check_grads(lambda x: getitem(x, (slice(None), xp.asarray(m), 1)), (x,))


def test_negative_steps(xp: Any) -> None:
    xn = rng.normal(size=(7,))
    w = np.arange(4.0)
    x = xp.asarray(xn)
    (g,) = xpgrad.gradient(lambda x: _sum(x[::-2] * xp.asarray(w)), x)
    want = np.zeros(7)
    want[[6, 4, 2, 0]] = w
    np.testing.assert_allclose(_np(g), want)
    check_grads(lambda x: x[5:1:-3], (x,))


@pytest.mark.parametrize("key", [
    (1, Ellipsis), (slice(None), None, 0), (Ellipsis, slice(2, 0, -1)),
    (ARRAY, slice(None)), (slice(None), ARRAY, 1), (ARRAY, slice(None), ARRAY),
    (None, ARRAY, ARRAY), (0, slice(None), ARRAY),
])
def test_mixed_keys_match_numpy_and_differentiate(xp: Any, key: tuple) -> None:
    xn = rng.normal(size=(3, 4, 5))
    idx = [np.array([[2, 0], [-1, 2]]), np.array([1, 1])]
    it = iter(idx)
    key_np = tuple(next(it) if k is ARRAY else k for k in key)
    it = iter(idx)
    key_xp = tuple(xp.asarray(next(it)) if k is ARRAY else k for k in key)
    x = xp.asarray(xn)
    np.testing.assert_allclose(_np(getitem(x, key_xp)), xn[key_np])
    check_grads(lambda x: getitem(x, key_xp), (x,))


def test_python_list_index_is_a_clear_error() -> None:
    with pytest.raises(IndexError, match=r"xp\.asarray"):
        xpgrad.gradient(lambda x: _sum(x[[0, 1]]), np.ones(3))


# -- the decomposition that serves libraries with only the standard's indexing ---------


def _random_keys(count: int = 40) -> list:
    """Random valid NumPy keys for a (2, 3, 2, 3) array with at least one array or mask."""
    gen = np.random.default_rng(1)
    x = np.zeros((2, 3, 2, 3))
    keys: list = []
    while len(keys) < count:
        items: list = []
        for _ in range(gen.integers(1, 5)):
            kind = gen.choice(["int", "slice", "none", "ell", "arr", "arr", "mask"])
            if kind == "ell":
                items.append(Ellipsis)
            elif kind == "none":
                items.append(None)
            elif kind == "int":
                items.append(int(gen.integers(-2, 2)))
            elif kind == "slice":
                items.append(slice(None, None, int(gen.choice([1, 2, -1, -2]))))
            elif kind == "arr":
                items.append(gen.integers(-2, 2, size=(2, 3)[: gen.integers(0, 3)]))
            else:
                items.append(gen.random((2, 3)) > 0.4)
        key = tuple(items)
        if not any(isinstance(k, np.ndarray) and k.ndim for k in key):
            continue  # (a 0-d index array is an integer: a basic key)
        try:
            x[key]
        except IndexError:
            continue
        keys.append(key)
    return keys


@pytest.mark.parametrize("key", _random_keys(), ids=lambda k: repr(k)[:60])
def test_decomposition_equals_numpy_indexing(key: tuple) -> None:
    x = rng.normal(size=(2, 3, 2, 3))
    want = x[key]
    template, arrays = split_key(key)
    got = _gather_decomposed(cnp, x, template, arrays)
    np.testing.assert_allclose(got, want)
    ct = rng.normal(size=want.shape)
    ref = np.zeros_like(x)
    np.add.at(ref, key, ct)
    np.testing.assert_allclose(_scatter_decomposed(cnp, ct, template, arrays, x.shape), ref)


# -- take and take_along_axis ----------------------------------------------------------


def test_take_accumulates_and_checks_axis(xp: Any) -> None:
    x = xp.asarray(rng.normal(size=(3, 4)))
    idx = xp.asarray([3, 3, 0])
    (g,) = xpgrad.gradient(lambda x: _sum(_ns(x).take(x, idx, axis=1)), x)
    np.testing.assert_allclose(_np(g), np.tile([1.0, 0.0, 0.0, 2.0], (3, 1)))
    check_grads(lambda x: _ns(x).take(x, idx, axis=-1), (x,))
    with pytest.raises(ValueError, match="axis is required"):
        xpgrad.gradient(lambda x: _sum(_ns(x).take(x, idx)), x)


def test_take_along_axis_with_argsort_sorts(xp: Any) -> None:
    xn = rng.normal(size=(3, 4))
    x = xp.asarray(xn)
    order = xp.argsort(x, axis=0)

    def f(x: Any) -> Any:
        return _ns(x).take_along_axis(x, order, axis=0)

    np.testing.assert_allclose(_np(xpgrad.jvp(f, (x,), (x,))[0]), np.sort(xn, axis=0))
    check_grads(f, (x,))
    rep = xp.asarray([[0], [0], [2]])
    (g,) = xpgrad.gradient(lambda x: _sum(_ns(x).take_along_axis(
        x, rep, axis=1)), x)
    np.testing.assert_allclose(_np(g), [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]])


# -- vmap over index arrays ----------------------------------------------------------


@pytest.mark.parametrize("key", [
    (ARRAY,), (slice(None), ARRAY), (ARRAY, slice(None), ARRAY), (1, slice(None), ARRAY),
    (slice(None), 1, ARRAY), (None, slice(None), ARRAY, slice(None, None, -1)),
])
def test_vmap_over_index_arrays(xp: Any, key: tuple) -> None:
    xn = rng.normal(size=(4, 5, 6))
    ind = np.array([[0, 3, -1], [1, 1, 0]])  # one index array per batch element
    x = xp.asarray(xn)

    def f(i: Any) -> Any:
        return getitem(x, tuple(i if k is ARRAY else k for k in key))

    got = xpgrad.vmap(f)(xp.asarray(ind))
    for b in range(2):
        want = xn[tuple(ind[b] if k is ARRAY else k for k in key)]
        np.testing.assert_allclose(_np(got[b, ...]), want)


def test_vmap_over_array_and_indices_and_their_pullback(xp: Any) -> None:
    xn = rng.normal(size=(2, 4, 5))
    ind = np.array([[0, 3, 3], [1, 1, 0]])
    got = xpgrad.vmap(lambda x, i: x[:, i] * x[:, i])(xp.asarray(xn), xp.asarray(ind))
    for b in range(2):
        np.testing.assert_allclose(_np(got[b, ...]), xn[b][:, ind[b]] ** 2)

    x0 = xp.asarray(xn[0])

    def grad_at(i: Any) -> Any:
        return xpgrad.gradient(lambda x: _sum(x[:, i] * x[:, i]), x0)[0]

    grads = xpgrad.vmap(grad_at)(xp.asarray(ind))  # scatter-add with batched indices
    for b in range(2):
        want = np.zeros((4, 5))
        np.add.at(want, (slice(None), ind[b]), 2 * xn[0][:, ind[b]])
        np.testing.assert_allclose(_np(grads[b, ...]), want)


def test_vmap_over_take_indices(xp: Any) -> None:
    xn = rng.normal(size=(3, 5))
    ind = np.array([[4, 0], [2, 2]])
    x = xp.asarray(xn)
    got = xpgrad.vmap(lambda i: F.take(x, i, axis=1))(xp.asarray(ind))
    for b in range(2):
        np.testing.assert_allclose(_np(got[b, ...]), xn[:, ind[b]])
    got = xpgrad.vmap(lambda i: F.take_along_axis(x, i, axis=1))(
        xp.asarray(np.array([[[1], [0], [4]], [[3], [3], [2]]])))
    np.testing.assert_allclose(_np(got[1, ...])[:, 0], [xn[0, 3], xn[1, 3], xn[2, 2]])


def test_vmap_over_a_mask_is_a_clear_error(xp: Any) -> None:
    x = xp.asarray(rng.normal(size=(3,)))
    masks = xp.asarray(np.array([[True, False, True], [False, False, True]]))
    with pytest.raises(ValueError, match=r"xp\.where"):
        xpgrad.vmap(lambda m: getitem(x, m))(masks)
