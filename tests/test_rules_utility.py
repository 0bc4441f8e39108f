"""Utility rules: ``diff`` (differentiable), ``all``/``any``/``isin`` (constants)."""

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
rng = np.random.default_rng(7)


@pytest.fixture(params=sorted(BACKENDS))
def xp(request: Any) -> Any:
    return BACKENDS[request.param]


def _np(a: Any) -> np.ndarray:
    return np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else np.from_dlpack(a)


def _ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def _diff(x: Any, **kw: Any) -> Any:
    from xpgrad.rules.utility import diff

    return diff(x, **kw)


@pytest.mark.parametrize("shape, kw", [
    ((6,), {}), ((6,), {"n": 2}), ((3, 4), {"axis": 0}), ((3, 4), {"n": 3, "axis": -1}),
    ((3, 4), {"n": 0}),
])
def test_diff_values_and_derivatives(xp: Any, shape: tuple, kw: dict) -> None:
    xn = rng.normal(size=shape)
    x = xp.asarray(xn)
    np.testing.assert_allclose(_np(_diff(x, **kw)), np.diff(xn, **kw))
    check_grads(lambda x: _diff(x, **kw), (x,))


def test_diff_with_prepend_and_append(xp: Any) -> None:
    xn, pn, an = rng.normal(size=(2, 3)), rng.normal(size=(2, 1)), rng.normal(size=(2, 2))
    x, p, a = xp.asarray(xn), xp.asarray(pn), xp.asarray(an)
    got = _diff(x, axis=1, prepend=p, append=a)
    np.testing.assert_allclose(_np(got), np.diff(xn, axis=1, prepend=pn, append=an))
    check_grads(lambda x, p, a: _diff(x, axis=1, n=2, prepend=p, append=a), (x, p, a))
    np.testing.assert_allclose(_np(_diff(x, prepend=0.0)), np.diff(xn, prepend=0.0))


def test_diff_through_the_traced_namespace(xp: Any) -> None:
    x = xp.asarray([1.0, 4.0, 9.0])
    (g,) = xpgrad.gradient(lambda x: _ns(x).sum(_ns(x).diff(x) ** 2), x)
    # d/dx of (x1-x0)^2 + (x2-x1)^2
    assert _np(g).tolist() == [-6.0, 6.0 - 10.0, 10.0]


def test_diff_rejects_bad_arguments(xp: Any) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        _diff(xp.asarray([1.0, 2.0]), n=-1)
    with pytest.raises(ValueError, match="out of bounds"):
        _diff(xp.asarray([1.0, 2.0]), axis=1)


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, True), ((0, 1), False)])
def test_all_any_under_vmap(xp: Any, axis: Any, keepdims: bool) -> None:
    bn = rng.random(size=(4, 2, 3)) > 0.3
    for name in ("all", "any"):
        got = xpgrad.vmap(lambda r: getattr(_ns(r), name)(r, axis=axis, keepdims=keepdims))(
            xp.asarray(bn))
        want = np.stack([getattr(np, name)(r, axis=axis, keepdims=keepdims) for r in bn])
        np.testing.assert_array_equal(_np(got), want)


def test_all_as_control_flow_inside_a_gradient(xp: Any) -> None:
    def f(x: Any) -> Any:
        ns = _ns(x)
        return ns.sum(x * x) if ns.all(x > 0) else ns.sum(x)

    assert _np(xpgrad.gradient(f, xp.asarray([1.0, 2.0]))[0]).tolist() == [2.0, 4.0]
    assert _np(xpgrad.gradient(f, xp.asarray([-1.0, 2.0]))[0]).tolist() == [1.0, 1.0]


def test_isin_with_batched_test_sets(xp: Any) -> None:
    x1 = np.array([[0, 1, 2], [3, 1, 0]])
    x2 = np.array([[1, 3], [0, 0]])
    for invert in (False, True):
        both = xpgrad.vmap(lambda a, b: _ns(a).isin(a, b, invert=invert))(
            xp.asarray(x1), xp.asarray(x2))
        want = np.stack([np.isin(a, b, invert=invert) for a, b in zip(x1, x2)])
        np.testing.assert_array_equal(_np(both), want)
        shared = xpgrad.vmap(lambda b: _ns(b).isin(xp.asarray(x1[0]), b, invert=invert))(
            xp.asarray(x2))
        want = np.stack([np.isin(x1[0], b, invert=invert) for b in x2])
        np.testing.assert_array_equal(_np(shared), want)


# -- issue 16, defect 7: one tie convention for every kink ------------------------------------
def test_clip_at_a_bound_is_the_same_for_scalar_and_array_bounds() -> None:
    import numpy as np

    import xpgrad

    x = np.array([0.0, 0.5, 1.0, 2.0])
    scalar = xpgrad.gradient(lambda x: np.sum(np.clip(x, 0.0, 1.0)), x)[0]
    array = xpgrad.gradient(lambda x: np.sum(np.clip(x, np.asarray(0.0), np.asarray(1.0))), x)[0]
    np.testing.assert_array_equal(scalar, [0.5, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(array, scalar)
    # forward mode agrees
    t = xpgrad.jvp(lambda x: np.clip(x, 0.0, 1.0), (x,), (np.ones(4),))[1]
    np.testing.assert_array_equal(t, scalar)
    # both bounds at x: the composition of two ties
    assert xpgrad.gradient(lambda x: np.clip(x, 1.0, 1.0), 1.0) == (0.25,)
