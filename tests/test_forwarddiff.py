"""forwarddiff (api/forward.py, and its primitive in rules/forwarddiff.py)."""

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


# -- one chunk loop with jacobian(mode="forward"); the primitive lives in rules/ ----------


def _dense(xp: Any) -> Any:
    """A backend array of 5 elements, and the backend's name for the ids."""
    if xp == "dask":
        da = pytest.importorskip("dask.array")
        return da.from_array(np.linspace(-0.9, 1.3, 5), chunks=2)
    return xp.asarray(np.linspace(-0.9, 1.3, 5))


def _g(x: Any) -> Any:
    s = ns(x)
    return s.sin(x) * x[0] + x * x


@pytest.mark.parametrize("xp", [np, strict, "dask"], ids=["numpy", "strict", "dask"])
def test_forwarddiff_and_forward_jacobian_share_the_chunk_loop(xp: Any, monkeypatch: Any) -> None:
    import xpgrad._core.chunks as chunks

    x = _dense(xp)
    calls: list = []
    real = chunks.basis

    def spy(bxp: Any, start: int, k: int, n: int, *args: Any) -> Any:
        calls.append((start, k, n))
        return real(bxp, start, k, n, *args)

    monkeypatch.setattr(chunks, "basis", spy)
    (J,) = jacobian(_g, x, mode="forward", chunk_size=2)
    by_jacobian, calls[:] = list(calls), []
    ct = np.array([1.0, -2.0, 0.5, 3.0, -1.5])
    (g,) = gradient(lambda v: ns(v).sum(forwarddiff(_g, v, chunk_threshold=2) * ns(v).asarray(ct)), x)
    # the same basis chunks: three passes of 2, 2 and 1 columns (one pass on Dask,
    # whose basis is chunked by the backend instead)
    assert calls == by_jacobian
    assert by_jacobian == ([(0, 5, 5)] if xp == "dask" else [(0, 2, 5), (2, 2, 5), (4, 1, 5)])
    # and the same Jacobian: forwarddiff's pullback is ct @ J, J checked by differences
    J, g = np.asarray(host(J) if xp != "dask" else J.compute()), np.asarray(
        host(g) if xp != "dask" else g.compute())
    x0, h = np.linspace(-0.9, 1.3, 5), 1e-6
    fd = np.stack([(_g(x0 + h * e) - _g(x0 - h * e)) / (2 * h) for e in np.eye(5)], axis=1)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g, ct @ J, rtol=1e-13, atol=1e-13)


def test_an_output_independent_of_the_input_takes_one_pass_and_no_zero_blocks(
    monkeypatch: Any,
) -> None:
    import xpgrad._core.chunks as chunks

    calls: list = []
    monkeypatch.setattr(chunks, "zeros", lambda *a: calls.append(a))  # would make a zero block
    real = chunks.basis
    monkeypatch.setattr(chunks, "basis", lambda *a: calls.append(a[1:4]) or real(*a))
    x, w = np.linspace(-1.0, 1.0, 7), np.arange(3.0)

    def h(v: Any, w: Any) -> Any:  # the second output ignores v; the first does not
        y, c = forwarddiff(lambda v: (np.sin(v), 2.0 * w), v, chunk_threshold=3)
        return np.sum(y) + np.sum(c)

    gv, gw = gradient(h, x, w)
    np.testing.assert_allclose(gv, np.cos(x), rtol=1e-14)
    assert gw is None  # a closure: no derivative through forwarddiff (Zygote's rule)
    assert calls == [(0, 3, 7), (3, 3, 7), (6, 1, 7)]  # no zero block for 2 * w
    calls[:] = []
    (gv,) = gradient(lambda v: np.sum(forwarddiff(lambda v: 2.0 * w, v, chunk_threshold=3)), x)
    assert gv is None and calls == [(0, 3, 7)]  # nothing depends on v: one pass


def test_the_primitives_live_in_rules_modules() -> None:
    from xpgrad.rules import PRIMITIVES

    for name, module in [
        ("checkpointed", "xpgrad.rules.checkpoint"),
        ("forwarddiff", "xpgrad.rules.forwarddiff"),
    ]:
        p = PRIMITIVES[name]
        for rule in (p.jvp, p.vjp, p.batch, p.samples):
            assert rule.__module__ == module, (name, rule)
