"""Random compositions of standard functions: xpgrad against JAX (issue 16).

Optional: skipped without JAX. Hypothesis draws a chain of 3 to 6 functions
of the standard (elementwise, reductions broadcast back, linear maps, kinks at
ties), a float64 point and a weight vector; the same code, written against the
array namespace, runs on NumPy under xpgrad and on ``jax.numpy`` under JAX,
and ``gradient``, ``jacobian`` (both modes) and ``hessian`` must agree.
The number of examples follows the loaded hypothesis profile (``ci``: 20,
derandomised; see ``conftest.py``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpgrad

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

_A = np.array([[0.7, -0.2, 0.4, 0.1], [0.3, 0.9, -0.5, 0.2], [-0.6, 0.1, 0.8, -0.3],
               [0.2, -0.4, 0.1, 0.5]])


def _matvec(xp: Any, x: Any) -> Any:
    n = x.shape[0]
    return xp.asarray(_A[:n, :n]) @ x


# name -> f(xp, x) on a 1-D float64 array; every one smooth on the values the
# chain can produce, or a kink whose convention xpgrad shares with JAX
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "sin": lambda xp, x: xp.sin(x),
    "cos": lambda xp, x: xp.cos(x),
    "tanh": lambda xp, x: xp.tanh(x),
    "atan": lambda xp, x: xp.atan(x),
    "asinh": lambda xp, x: xp.asinh(x),
    "square": lambda xp, x: x * x,
    "softplus": lambda xp, x: xp.logaddexp(x, xp.zeros_like(x)),
    "sqrt1p": lambda xp, x: xp.sqrt(x * x + 1.0),
    "log1p_sq": lambda xp, x: xp.log1p(x * x),
    "exp_tanh": lambda xp, x: xp.exp(xp.tanh(x)),
    "recip": lambda xp, x: 1.0 / (x * x + 0.5),
    "cumsum": lambda xp, x: xp.cumulative_sum(x),
    "flip": lambda xp, x: xp.flip(x),
    "matvec": _matvec,
    "center": lambda xp, x: x - xp.mean(x),
    "scale_by_norm": lambda xp, x: x / (1.0 + xp.linalg.vector_norm(x)),
    "softmax": lambda xp, x: xp.exp(x - xp.max(x)) / xp.sum(xp.exp(x - xp.max(x))),
    "leaky": lambda xp, x: xp.maximum(x, 0.1 * x),
    "prod_mix": lambda xp, x: x * xp.prod(xp.cos(x)),
    "std_mix": lambda xp, x: x + xp.std(x),
    "sort": lambda xp, x: xp.sort(x),
    "pow3": lambda xp, x: x**3 / 3.0,
}

chains = st.lists(st.sampled_from(sorted(OPS)), min_size=3, max_size=6)
# values on a grid of 1/64: no subnormals, and distinct values stay apart (std
# and sort are singular where values coincide, so points with ties are skipped)
_grid = st.integers(-96, 96).map(lambda k: k / 64)
points = st.integers(2, 4).flatmap(
    lambda n: st.tuples(
        st.lists(_grid, min_size=n, max_size=n, unique=True),
        st.lists(st.integers(-64, 64).map(lambda k: k / 64), min_size=n, max_size=n),
    )
)


def _composed(chain: list, w: Any) -> Callable:
    def f(x: Any) -> Any:
        xp = x.__array_namespace__() if hasattr(x, "__array_namespace__") else jnp
        for name in chain:
            x = OPS[name](xp, x)
        return x

    def loss(x: Any) -> Any:
        xp = x.__array_namespace__() if hasattr(x, "__array_namespace__") else jnp
        return xp.sum(f(x) * xp.asarray(w))

    return f, loss


def _close(got: Any, want: Any, what: str, chain: list) -> None:
    np.testing.assert_allclose(
        np.asarray(got), np.asarray(want), rtol=1e-7, atol=1e-9, err_msg=f"{what} of {chain}"
    )


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chain=chains, point=points)
def test_random_compositions_agree_with_jax(chain: list, point: tuple) -> None:
    xs, ws = point
    x = np.asarray(xs, dtype=np.float64)
    w = np.asarray(ws, dtype=np.float64)
    f, loss = _composed(chain, w)
    xj = jnp.asarray(x)

    _close(xpgrad.gradient(loss, x)[0], jax.grad(loss)(xj), "gradient", chain)
    want_j = jax.jacfwd(f)(xj)
    _close(xpgrad.jacobian(f, x, mode="forward")[0], want_j, "forward jacobian", chain)
    _close(xpgrad.jacobian(f, x, mode="reverse")[0], want_j, "reverse jacobian", chain)
    _close(xpgrad.hessian(loss, x), jax.hessian(loss)(xj), "hessian", chain)
