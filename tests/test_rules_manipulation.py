"""The manipulation rules against values computed by hand, and the standard's signatures.

The generated conformance suite checks every rule on random samples. Here:
``repeat`` with an array of counts (its transpose is a segment sum), the
transposes of ``tile``/``roll``/``concat`` by hand, ``unstack`` with unused
outputs, joins of traced and constant arrays, vmap with unbatched arguments,
and that each exported function takes the standard's exact signature.
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
    return np.asarray(a._array) if hasattr(a, "_array") else np.asarray(a)


def _close(got, want, tol=1e-12) -> None:
    np.testing.assert_allclose(_host(got), np.asarray(want, dtype=np.float64), rtol=tol,
                               atol=tol)


def _ns(v):
    return v.__array_namespace__()


def _weighted(f, w):
    """sum(w * f(v)): its gradient is the transpose of f applied to w."""
    return lambda v: _ns(v).sum(f(v) * w)


def test_repeat_with_array_counts_is_a_segment_sum(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0])
    counts = xp.asarray([2, 0, 3])
    f = lambda v: _ns(v).repeat(v, counts)
    _close(f(x), [1, 1, 3, 3, 3])
    w = xp.asarray([1.0, 2.0, 3.0, 4.0, 5.0])
    (g,) = xpgrad.gradient(_weighted(f, w), x)
    _close(g, [1 + 2, 0.0, 3 + 4 + 5])  # an element repeated 0 times gets 0
    _, dy = xpgrad.jvp(f, (x,), (xp.asarray([1.0, 10.0, 100.0]),))
    _close(dy, [1, 1, 100, 100, 100])
    check_grads(f, (x,), order=2)


def test_repeat_with_array_counts_along_an_axis(xp) -> None:
    xn = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = xp.asarray(xn)
    counts = xp.asarray([1, 3])
    f = lambda v: _ns(v).repeat(v, counts, axis=1)
    wn = np.arange(8.0).reshape(2, 4)
    (g,) = xpgrad.gradient(_weighted(f, xp.asarray(wn)), x)
    _close(g, [[wn[0, 0], wn[0, 1:].sum()], [wn[1, 0], wn[1, 1:].sum()]])
    check_batching(f, (x,))  # the counts stay unbatched


def test_repeat_with_int_count_flattens_without_axis(xp) -> None:
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    wn = np.arange(8.0)
    (g,) = xpgrad.gradient(_weighted(lambda v: _ns(v).repeat(v, 2), xp.asarray(wn)), x)
    _close(g, wn.reshape(4, 2).sum(axis=1).reshape(2, 2))


def test_repeat_rejects_batched_counts() -> None:
    x = np.array([1.0, 2.0])
    counts = np.array([[1, 2], [2, 1]])
    with pytest.raises(NotImplementedError, match="counts"):
        xpgrad.vmap(lambda c: _ns(c).repeat(x, c), in_axes=0)(counts)


def test_repeat_rejects_a_float_count() -> None:
    with pytest.raises(TypeError, match="repeats"):
        NAMESPACE["repeat"](np.array([1.0]), 1.5)


def test_tile_sums_the_tiles(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0])
    wn = np.arange(12.0).reshape(2, 6)
    (g,) = xpgrad.gradient(_weighted(lambda v: _ns(v).tile(v, (2, 2)), xp.asarray(wn)), x)
    _close(g, wn[:, :3].sum(axis=0) + wn[:, 3:].sum(axis=0))


def test_roll_and_flip_transposes(xp) -> None:
    x = xp.asarray([1.0, 2.0, 3.0, 4.0])
    wn = np.array([1.0, 10.0, 100.0, 1000.0])
    w = xp.asarray(wn)
    (g,) = xpgrad.gradient(_weighted(lambda v: _ns(v).roll(v, 1), w), x)
    _close(g, np.roll(wn, -1))
    (g,) = xpgrad.gradient(_weighted(lambda v: _ns(v).flip(v), w), x)
    _close(g, wn[::-1])


def test_moveaxis_transpose(xp) -> None:
    x = xp.reshape(xp.arange(24.0), (2, 3, 4))
    wn = np.arange(24.0).reshape(4, 2, 3) ** 2
    (g,) = xpgrad.gradient(_weighted(lambda v: _ns(v).moveaxis(v, -1, 0), xp.asarray(wn)), x)
    _close(g, np.moveaxis(wn, 0, -1))


def test_concat_of_traced_and_constant_arrays(xp) -> None:
    c = xp.asarray([[5.0, 6.0]])
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    f = lambda v: _ns(v).concat([c, v, c], axis=0)
    wn = np.arange(8.0).reshape(4, 2)
    (g,) = xpgrad.gradient(_weighted(f, xp.asarray(wn)), x)
    _close(g, wn[1:3])
    _, dy = xpgrad.jvp(f, (x,), (xp.ones_like(x),))
    _close(dy, [[0, 0], [1, 1], [1, 1], [0, 0]])
    # axis=None joins the flattened arrays
    (g,) = xpgrad.gradient(_weighted(lambda v: _ns(v).concat([v, c], axis=None),
                                     xp.asarray(np.arange(6.0))), x)
    _close(g, [[0, 1], [2, 3]])
    col = xp.asarray([[7.0], [8.0]])
    check_batching(lambda v: _ns(v).concat([col, v], axis=-1), (x,))


def test_stack_and_unstack_are_each_others_transpose(xp) -> None:
    a, b = xp.asarray([1.0, 2.0]), xp.asarray([3.0, 4.0])
    wn = np.array([[1.0, 10.0], [100.0, 1000.0]])
    ga, gb = xpgrad.gradient(
        lambda u, v: _ns(u).sum(_ns(u).stack([u, v], axis=1) * xp.asarray(wn)), a, b)
    _close(ga, wn[:, 0])
    _close(gb, wn[:, 1])
    # only one of the unstacked outputs is used: the others get a zero cotangent
    m = xp.asarray([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    (g,) = xpgrad.gradient(lambda v: _ns(v).sum(_ns(v).unstack(v)[1] ** 2), m)
    _close(g, [[0, 0], [6, 8], [0, 0]])
    check_grads(lambda v: _ns(v).unstack(v, axis=1), (m,), order=2)


def test_existing_shape_functions(xp) -> None:
    x = xp.reshape(xp.arange(6.0), (2, 3))
    check_grads(lambda v: _ns(v).reshape(v, (3, 2)), (x,))
    check_grads(lambda v: _ns(v).broadcast_to(v[:1, :], (4, 3)), (x,))
    check_grads(lambda v: _ns(v).permute_dims(v, (1, 0)), (x,))
    check_grads(lambda v: _ns(v).expand_dims(v, axis=1), (x,))
    check_grads(lambda v: _ns(v).squeeze(v[:1, :], axis=0), (x,))
    check_grads(lambda v: _ns(v).matrix_transpose(v), (x,))
    for f in (lambda v: _ns(v).broadcast_to(v, (2, 2, 3)), lambda v: v.mT, lambda v: v.T):
        check_grads(f, (x,))
        check_batching(f, (x,))


# The standard's signatures (array_api_strict spells them out). expand_dims is the
# one difference: the standard has `axis=0` keyword-only, array_api_strict a
# positional `axis`; ours takes both spellings.
SIGNATURE_NAMES = ["concat", "stack", "unstack", "flip", "roll", "moveaxis", "tile", "repeat",
                   "reshape", "broadcast_to", "permute_dims", "squeeze", "matrix_transpose"]


@pytest.mark.parametrize("name", SIGNATURE_NAMES)
def test_signatures_follow_the_standard(name) -> None:
    strict = pytest.importorskip("array_api_strict")

    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(NAMESPACE[name]) == shape(getattr(strict, name))


def test_expand_dims_takes_axis_either_way() -> None:
    x = np.ones((2, 3))
    assert NAMESPACE["expand_dims"](x).shape == (1, 2, 3)
    assert NAMESPACE["expand_dims"](x, 1).shape == (2, 1, 3)
    assert NAMESPACE["expand_dims"](x, axis=-1).shape == (2, 3, 1)
