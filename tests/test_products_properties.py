"""Property tests (hypothesis) of the derivative products on random programs.

A program is a short chain of elementwise functions and matrix products applied
to a vector, optionally reduced with ``sum``. On every drawn program:
``hessian == hessian_reverse == jacobian(gradient)``, the Hessian is symmetric,
``diaghessian == diag(hessian)``, and forward and reverse jacobians agree, for
any chunk size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xpgrad import diaghessian, gradient, hessian, hessian_reverse, jacobian

SMALL = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])
BACKENDS = [pytest.param(np, id="numpy"), pytest.param(strict, id="strict")]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


# each op: (name, fn(v, M) -> v) where M is an n x n constant of the program
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "sin": lambda v, M: ns(v).sin(v),
    "cos": lambda v, M: ns(v).cos(v),
    "tanh": lambda v, M: ns(v).tanh(v),
    "exp": lambda v, M: ns(v).exp(v / 4),
    "square": lambda v, M: v * v,
    "affine": lambda v, M: 0.5 * v - 1.25,
    "matmul": lambda v, M: ns(v).matmul(M, v),
    "log1p_sq": lambda v, M: ns(v).log1p(v * v),
    "times_sum": lambda v, M: v * ns(v).sum(v),
}


@st.composite
def programs(draw: Any) -> tuple:
    n = draw(st.integers(1, 5))
    ops = draw(st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=4))
    seed = draw(st.integers(0, 2**16))
    x = draw(st.lists(st.floats(-1.5, 1.5), min_size=n, max_size=n))
    return ops, np.random.default_rng(seed).standard_normal((n, n)) / 2, np.array(x)


def make(ops: list, M: Any, scalar: bool) -> Callable:
    def f(x: Any) -> Any:
        v = x
        for name in ops:
            v = OPS[name](v, M)
        return ns(v).sum(v * x) if scalar else v  # `* x`: keeps Hessians non-diagonal

    return f


def close(a: Any, b: Any) -> bool:
    return np.allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xp", BACKENDS)
@SMALL
@given(prog=programs(), chunk=st.sampled_from([None, 1, 2, 3]))
def test_hessians_agree_and_are_symmetric(xp: Any, prog: tuple, chunk: Any) -> None:
    ops, M, x0 = prog
    f = make(ops, xp.asarray(M), scalar=True)
    x = xp.asarray(x0)
    H = np.asarray(hessian(f, x, chunk_size=chunk))
    Hr = hessian_reverse(f, x, chunk_size=chunk)
    Jg = jacobian(lambda v: gradient(f, v)[0], x, chunk_size=chunk)[0]
    assert H.shape == (x0.size, x0.size)
    assert close(H, Hr) and close(H, Jg)
    assert close(H, H.T)
    (d,) = diaghessian(f, x, chunk_size=chunk)
    assert close(d, np.diag(H))


@pytest.mark.parametrize("xp", BACKENDS)
@SMALL
@given(prog=programs(), chunk=st.sampled_from([None, 1, 2, 3]))
def test_forward_and_reverse_jacobians_agree(xp: Any, prog: tuple, chunk: Any) -> None:
    ops, M, x0 = prog
    f = make(ops, xp.asarray(M), scalar=False)
    x = xp.asarray(x0)
    Jf = jacobian(f, x, mode="forward", chunk_size=chunk)[0]
    Jr = jacobian(f, x, mode="reverse", chunk_size=chunk)[0]
    assert np.asarray(Jf).shape == (x0.size, x0.size)
    assert close(Jf, Jr)
    # chunking never changes a result
    assert np.array_equal(np.asarray(Jr), np.asarray(jacobian(f, x, mode="reverse")[0]))
    assert np.array_equal(np.asarray(Jf), np.asarray(jacobian(f, x, mode="forward")[0]))
