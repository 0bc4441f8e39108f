"""The seed's examples for gradient and withgradient (zygote-utilities.txt), in C order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from xpgrad import gradient, withgradient


def test_gradient_understands_the_tuple() -> None:
    # gradient((a,t) -> sum(a .* t[1]) + t[2], [1,2,3], (4,5)) == ([4 4 4], (6, 1))
    ga, gt = gradient(lambda a, t: np.sum(a * t[0]) + t[1], np.array([1, 2, 3]), (4, 5))
    assert np.array_equal(ga, [4, 4, 4]) and ga.dtype.kind == "i"
    assert gt == (6, 1)


def test_withgradient_of_division() -> None:
    # y, ∇ = withgradient(/, 1, 2)  -> (val = 0.5, grad = (0.5, -0.25)); ∇ == gradient(/, 1, 2)
    y, grad = withgradient(lambda a, b: a / b, 1, 2)
    assert y == 0.5 and grad == (0.5, -0.25)
    assert grad == gradient(lambda a, b: a / b, 1, 2)


def test_withgradient_auxiliary_tuple() -> None:
    def f(x: Any) -> Any:
        z = 1 / x
        return np.sum(z), z  # z is an auxiliary output

    val, grad = withgradient(f, np.array([1, 2, 4]))
    assert val[0] == 1.75 and np.array_equal(val[1], [1.0, 0.5, 0.25])
    assert np.array_equal(grad[0], [-1.0, -0.25, -0.0625])


def test_withgradient_auxiliary_named() -> None:
    res = withgradient(lambda x, y: {"div": x / y, "mul": x * y}, 3.0, 4.0)
    assert res.val == {"div": 0.75, "mul": 12.0}
    assert res.grad == pytest.approx((0.25, -0.1875))
