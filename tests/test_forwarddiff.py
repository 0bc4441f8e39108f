"""forwarddiff (api/forward.py)."""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

from xpgrad import forwarddiff, gradient, hessian, jacobian, jvp, vmap, withgradient
from xpgrad.testing import check_grads

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.from_dlpack(x)


def f(x: Any) -> Any:
    s = ns(x)
    return s.sin(x) * x[0] + s.cumulative_sum(x * x) if hasattr(s, "cumulative_sum") \
        else s.sin(x) * x[0] + x * x


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
@pytest.mark.parametrize("chunk", [1, 3, 7, 10, 100])
def test_same_derivative_as_reverse_mode_for_every_chunk(xp: Any, chunk: int) -> None:
    x = xp.asarray(np.linspace(-1, 1, 10))  # 10 elements: not a multiple of 3 or 7
    loss = lambda x: ns(x).sum(f(x) ** 2)
    (want,) = gradient(loss, x)
    (got,) = gradient(lambda x: ns(x).sum(forwarddiff(f, x, chunk_threshold=chunk) ** 2), x)
    assert np.allclose(host(got), host(want), rtol=1e-13, atol=1e-13)


def test_pytree_input_and_output() -> None:
    def g(p: dict) -> Any:
        return {"y": np.tanh(p["w"] @ p["x"]), "note": "kept", "n": p["k"] * 2}

    p = {"w": np.arange(6.0).reshape(2, 3) / 5, "x": np.array([1.0, -1.0, 0.5]), "k": 3}

    def loss(p: dict) -> Any:
        out = forwarddiff(g, p, chunk_threshold=4)
        assert out["note"] == "kept"
        return np.sum(out["y"] ** 2) + out["n"]

    (got,) = gradient(loss, p)
    (want,) = gradient(lambda p: np.sum(g(p)["y"] ** 2) + g(p)["n"], p)
    assert np.allclose(got["w"], want["w"]) and np.allclose(got["x"], want["x"])
    assert got["k"] == want["k"] == 2


def test_higher_order_jacobian_vmap_and_jvp() -> None:
    x = np.array([0.3, -0.7, 1.1])
    check_grads(lambda x: forwarddiff(f, x, chunk_threshold=2), (x,), order=2)
    assert np.allclose(hessian(lambda x: np.sum(forwarddiff(f, x)), x),
                       hessian(lambda x: np.sum(f(x)), x))
    for mode in ("reverse", "forward"):
        assert np.allclose(jacobian(lambda x: forwarddiff(f, x), x, mode=mode)[0],
                           jacobian(f, x, mode=mode)[0])
    xs = np.arange(6.0).reshape(2, 3) / 4
    assert np.allclose(vmap(lambda r: forwarddiff(f, r))(xs), np.stack([f(r) for r in xs]))
    assert np.allclose(jvp(lambda x: forwarddiff(f, x), (x,), (np.ones(3),))[1],
                       jvp(f, (x,), (np.ones(3),))[1])


def test_integer_inputs_and_values() -> None:
    val, (g,) = withgradient(lambda x: forwarddiff(lambda x: x * x * x, x), 2)
    assert val == 8 and g == 12 and type(g) is int
    assert forwarddiff(lambda x: x + 1, 4) == 5  # nothing to differentiate: just f(x)


def test_closures_get_no_derivative_and_inner_closures_are_refused() -> None:
    assert gradient(lambda a, b: forwarddiff(lambda a: a * b, a) * b, 2.0, 3.0) == (9.0, 6.0)

    def outer(a: Any) -> Any:
        # b is differentiated by the inner gradient, which runs inside forwarddiff's
        # transformation of a: its derivative cannot be dropped
        return gradient(lambda b: forwarddiff(lambda a: a * b, a), 1.0)[0]

    with pytest.raises(ValueError, match="closes over a value"):
        gradient(outer, 2.0)


def test_bad_chunk_threshold() -> None:
    for bad in (0, 2.5, None):
        with pytest.raises(ValueError, match="chunk_threshold"):
            forwarddiff(f, np.ones(3), chunk_threshold=bad)
    with pytest.raises(TypeError, match="function"):
        forwarddiff(np.ones(3), f)
