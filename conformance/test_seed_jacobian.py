"""The seed's jacobian, withjacobian, hessian, hessian_reverse and diaghessian examples
(zygote-utilities.txt), transcribed to Python with C-order flattening, on NumPy and
array-api-strict.

Julia's ``1:7`` is ``arange(1, 8)``; ``a[1:3]`` is ``a[0:3]``; ``dims=2`` is
``axis=1``; Julia's column-major ``vec`` is replaced by C order, which permutes
the columns of Jacobians of matrices (written out by hand below). The implicit
``jacobian(f, Params(...))`` example belongs to the Params issue.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import diaghessian, hessian, hessian_reverse, jacobian, withjacobian

BACKENDS = [pytest.param(np, id="numpy"), pytest.param(strict, id="strict")]
HESSIANS = [pytest.param(hessian, id="hessian"), pytest.param(hessian_reverse, id="reverse")]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def npy(a: Any) -> np.ndarray:
    return np.asarray(a)


def is_int(a: Any) -> bool:
    return npy(a).dtype.kind == "i"


def needs(name: str) -> None:
    from xpgrad.rules import NAMESPACE

    if name not in NAMESPACE:
        pytest.skip(f"the {name!r} primitive is not registered yet")


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_first_index_is_output(xp: Any, mode: str) -> None:
    # jacobian(a -> 100*a[1:3].^2, 1:7)[1]  -> 3x7 Matrix{Int64}
    (J,) = jacobian(lambda a: 100 * a[0:3] ** 2, xp.arange(1, 8), mode=mode)
    want = np.zeros((3, 7), dtype=np.int64)
    want[0, 0], want[1, 1], want[2, 2] = 200, 400, 600
    assert J.shape == (3, 7) and is_int(J)
    assert np.array_equal(npy(J), want)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_scalar_argument_has_vector_jacobian(xp: Any, mode: str) -> None:
    # jacobian((a,x) -> a.^2 .* x, [1,2,3], 1)  -> ([2 0 0; 0 4 0; 0 0 6], [1, 4, 9])
    Ja, Jx = jacobian(lambda a, x: a**2 * x, xp.asarray([1, 2, 3]), 1, mode=mode)
    assert np.array_equal(npy(Ja), np.diag([2, 4, 6])) and is_int(Ja)
    assert Jx.shape == (3,) and np.array_equal(npy(Jx), [1, 4, 9]) and is_int(Jx)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_prod_along_dims(xp: Any, mode: str) -> None:
    # jacobian((a,d) -> prod(a, dims=d), [1 2; 3 4; 5 6], 2)
    #   -> ([2 0 … 0 0; 0 4 … 3 0; 0 0 … 0 5], [0, 0, 0])   (columns in Julia's column order)
    needs("prod")
    Ja, Jd = jacobian(
        lambda a, d: ns(a).prod(a, axis=d), xp.asarray([[1, 2], [3, 4], [5, 6]]), 1, mode=mode
    )
    # y = [a00*a01, a10*a11, a20*a21]; C-order columns are a00 a01 a10 a11 a20 a21
    want = np.array([[2, 1, 0, 0, 0, 0], [0, 0, 4, 3, 0, 0], [0, 0, 0, 0, 6, 5]])
    assert np.array_equal(npy(Ja), want) and is_int(Ja)
    assert Jd.shape == (3,) and np.array_equal(npy(Jd), [0, 0, 0])


@pytest.mark.parametrize("xp", BACKENDS)
def test_string_argument_gives_none(xp: Any) -> None:
    # jacobian((a,s) -> a.^length(s), [1,2,3], "str")  -> ([3 0 0; 0 12 0; 0 0 27], nothing)
    Ja, Js = jacobian(lambda a, s: a ** len(s), xp.asarray([1, 2, 3]), "str")
    assert np.array_equal(npy(Ja), np.diag([3, 12, 27])) and is_int(Ja)
    assert Js is None


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_tuple_argument_gives_none(xp: Any, mode: str) -> None:
    # jacobian((a,t) -> sum(a .* t[1]) + t[2], [1,2,3], (4,5))  -> ([4 4 4], nothing)
    # (gradient understands the tuple; jacobian does not: see test_seed_core)
    Ja, Jt = jacobian(lambda a, t: ns(a).sum(a * t[0]) + t[1], xp.asarray([1, 2, 3]), (4, 5),
                      mode=mode)
    assert Ja.shape == (1, 3) and np.array_equal(npy(Ja), [[4, 4, 4]]) and is_int(Ja)
    assert Jt is None


@pytest.mark.parametrize("xp", BACKENDS)
def test_withjacobian_cumsum(xp: Any) -> None:
    # withjacobian(cumsum, [1,2,3])  -> (val = [1, 3, 6], grad = ([1 0 0; 1 1 0; 1 1 1],))
    needs("cumulative_sum")
    res = withjacobian(lambda x: ns(x).cumulative_sum(x), xp.asarray([1, 2, 3]))
    assert np.array_equal(npy(res.val), [1, 3, 6])
    assert isinstance(res.grad, tuple) and len(res.grad) == 1
    assert np.array_equal(npy(res.grad[0]), [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    assert is_int(res.grad[0])
    val, grad = res  # a named tuple
    assert val is res.val and grad is res.grad


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("h", HESSIANS)
def test_hessian_of_a_product(xp: Any, h: Any) -> None:
    # hessian(x -> x[1]*x[2], randn(2))  -> [0.0 1.0; 1.0 0.0]
    x = xp.asarray(np.random.default_rng(0).standard_normal(2))
    H = h(lambda x: x[0] * x[1], x)
    assert H.shape == (2, 2) and np.array_equal(npy(H), [[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("h", HESSIANS)
def test_hessian_uses_linear_indexing(xp: Any, h: Any) -> None:
    # hessian(x -> sum(x.^3), [1 2; 3 4])  -> 4x4 Int, diag(6, 18, 12, 24) in column order,
    # which is diag(6, 12, 18, 24) in C order
    H = h(lambda x: ns(x).sum(x**3), xp.asarray([[1, 2], [3, 4]]))
    assert np.array_equal(npy(H), np.diag([6, 12, 18, 24])) and is_int(H)


@pytest.mark.parametrize("h", HESSIANS)
def test_hessian_of_sin_at_a_number(h: Any) -> None:
    # hessian(sin, pi/2)  -> -1.0
    H = h(lambda x: ns(x).sin(x), math.pi / 2)
    assert type(H) is float and H == -1.0


@pytest.mark.parametrize("xp", BACKENDS)
def test_diaghessian_of_cubes(xp: Any) -> None:
    # diaghessian(x -> sum(x.^3), [1 2; 3 4])[1]  -> [6 12; 18 24]
    # Diagonal(vec(ans)) == hessian(x -> sum(x.^3), [1 2; 3 4])  (the Hessian is diagonal)
    x = xp.asarray([[1, 2], [3, 4]])
    f = lambda x: ns(x).sum(x**3)
    (d,) = diaghessian(f, x)
    assert d.shape == (2, 2) and np.array_equal(npy(d), [[6, 12], [18, 24]]) and is_int(d)
    assert np.array_equal(np.diag(npy(d).reshape(-1)), npy(hessian(f, x)))


@pytest.mark.parametrize("xp", BACKENDS)
def test_diaghessian_two_array_arguments(xp: Any) -> None:
    # diaghessian((x,y) -> sum(x .* y .* y'), [1 22; 333 4], [0.5, 0.666])
    #   -> ([0.0 0.0; 0.0 0.0], [2.0, 8.0])
    def f(x: Any, y: Any) -> Any:
        n = ns(x)
        return n.sum(x * n.reshape(y, (2, 1)) * n.reshape(y, (1, 2)))

    dx, dy = diaghessian(f, xp.asarray([[1.0, 22.0], [333.0, 4.0]]), xp.asarray([0.5, 0.666]))
    assert dx.shape == (2, 2) and np.array_equal(npy(dx), np.zeros((2, 2)))
    assert np.allclose(npy(dy), [2.0, 8.0], rtol=1e-14)


@pytest.mark.parametrize("args", [(1, 2), (1.0, 2.0)], ids=["ints", "floats"])
def test_diaghessian_two_scalar_arguments(args: tuple) -> None:
    # diaghessian(atan, 1, 2)  -> (-0.16, 0.16)   (two-argument atan is atan2)
    if type(args[0]) is int:
        f = np.arctan2  # NumPy promotes the integers, like Julia
    else:
        f = lambda y, x: ns(y).atan2(y, x)
    hy, hx = diaghessian(f, *args)
    assert type(hy) is float and type(hx) is float
    assert (round(hy, 2), round(hx, 2)) == (-0.16, 0.16)
    # by hand: d2/dy2 atan2(y, x) = -2xy / r^4, d2/dx2 = 2xy / r^4 with r^2 = 5
    assert hy == pytest.approx(-4 / 25, rel=1e-14) and hx == pytest.approx(4 / 25, rel=1e-14)


@pytest.mark.parametrize("xp", BACKENDS)
@pytest.mark.parametrize("h", HESSIANS)
def test_hessian_of_atan2_is_not_diagonal(xp: Any, h: Any) -> None:
    # hessian(xy -> atan(xy[1], xy[2]), [1, 2])  -> [-0.16 -0.12; -0.12 0.16]
    H = h(lambda v: ns(v).atan2(v[0], v[1]), xp.asarray([1.0, 2.0]))
    assert np.array_equal(np.round(npy(H), 2), [[-0.16, -0.12], [-0.12, 0.16]])
    # by hand, with y = 1, x = 2, r^2 = 5: the mixed partial is (y^2 - x^2) / r^4
    assert npy(H)[0, 1] == pytest.approx(-3 / 25, rel=1e-14)


def test_jacobian_is_exported() -> None:
    assert xpgrad.jacobian is jacobian and xpgrad.WithJacobian is type(
        withjacobian(lambda x: x * 2.0, 1.0)
    )
