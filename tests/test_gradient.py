"""gradient / withgradient / pullback / jvp: the core contract, on numpy and strict."""

from __future__ import annotations

import dataclasses
import threading
from collections import namedtuple
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import gradient, jvp, pullback, withgradient

BACKENDS = [np, strict]


def asx(xp: Any, v: Any) -> Any:
    return xp.asarray(v, dtype=xp.float64)


@pytest.mark.parametrize("xp", BACKENDS, ids=["numpy", "strict"])
def test_gradient_matches_hand_derivative(xp: Any) -> None:
    x = asx(xp, [0.5, -1.0, 2.0])

    def f(x: Any) -> Any:
        ns = array_api_compat.array_namespace(x)
        return ns.sum(ns.sin(x) * x**2)

    (g,) = gradient(f, x)
    want = np.cos([0.5, -1.0, 2.0]) * np.array([0.5, -1.0, 2.0]) ** 2 + 2 * np.sin(
        [0.5, -1.0, 2.0]
    ) * np.array([0.5, -1.0, 2.0])
    assert np.allclose(np.asarray(g), want)


def test_python_numbers_give_python_numbers() -> None:
    g = gradient(lambda a, b: a * b, 2, 3)
    assert g == (3, 2) and all(type(v) is int for v in g)
    g = gradient(lambda a, b: a / b, 1.0, 4.0)
    assert g == (0.25, -1.0 / 16) and all(type(v) is float for v in g)


def test_pytree_structures_and_non_differentiable_leaves() -> None:
    P = namedtuple("P", "w b")

    @dataclasses.dataclass
    class Model:
        w: Any
        name: str

    def f(p: P, d: dict, m: Model, s: str) -> Any:
        return np.sum(p.w * p.b) + d["k"][0] * 3.0 + np.sum(m.w**2) + len(s)

    p = P(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    g = gradient(f, p, {"k": [2.0, "label"]}, Model(np.array([1.0, -1.0]), "m"), "abc")
    gp, gd, gm, gs = g
    assert isinstance(gp, P) and np.allclose(gp.w, [3.0, 4.0]) and np.allclose(gp.b, [1.0, 2.0])
    assert gd["k"][0] == 3.0 and gd["k"][1] is None
    assert isinstance(gm, Model) and np.allclose(gm.w, [2.0, -2.0]) and gm.name is None
    assert gs is None


def test_unused_argument_gets_none() -> None:
    assert gradient(lambda x, y: x * 2.0, 1.0, 5.0) == (2.0, None)


def test_boolean_arrays_get_none() -> None:
    mask = np.array([True, False, True])
    g = gradient(lambda x, m: np.sum(np.where(m, x, 0.0)), np.ones(3), mask)
    assert np.allclose(g[0], [1.0, 0.0, 1.0]) and g[1] is None


def test_withgradient_aux_outputs() -> None:
    def f(x: Any) -> Any:
        z = 1 / x
        return np.sum(z), z

    val, grad = withgradient(f, np.array([1.0, 2.0, 4.0]))
    assert val[0] == pytest.approx(1.75) and np.allclose(val[1], [1.0, 0.5, 0.25])
    assert np.allclose(grad[0], [-1.0, -0.25, -0.0625])
    res = withgradient(lambda x, y: {"div": x / y, "mul": x * y}, 3.0, 4.0)
    assert res.val["div"] == pytest.approx(0.75) and res.val["mul"] == pytest.approx(12.0)
    assert res.grad == pytest.approx((0.25, -0.1875))


def test_pullback_many_calls_and_checks() -> None:
    x = np.array([1.0, 2.0, 3.0])
    y, back = pullback(lambda x: x * x, x)
    assert np.allclose(y, x * x)
    assert np.allclose(back(np.ones(3))[0], 2 * x)
    assert np.allclose(back(np.array([1.0, 0.0, 2.0]))[0], [2.0, 0.0, 12.0])
    with pytest.raises(ValueError, match="shape"):
        back(np.ones(4))
    with pytest.raises(ValueError, match="structure"):
        back((np.ones(3), np.ones(3)))


def test_jvp_against_reverse() -> None:
    x = np.array([0.3, -0.7, 1.1])
    v = np.array([1.0, 2.0, -1.0])
    f = lambda x: np.tanh(x) * np.exp(x)  # noqa: E731
    y, dy = jvp(f, (x,), (v,))
    _, back = pullback(f, x)
    u = np.array([0.5, -1.0, 2.0])
    assert np.allclose(np.sum(u * dy), np.sum(back(u)[0] * v))


def test_no_perturbation_confusion() -> None:
    # d/dx (x * d/dy (x + y)) == 1 at any x
    assert gradient(lambda x: x * gradient(lambda y: x + y, 1.0)[0], 1.0) == (1.0,)
    # forward-mode version of the same check
    inner = lambda x: jvp(lambda y: x + y, (1.0,), (1.0,))[1]  # noqa: E731
    assert jvp(lambda x: x * inner(x), (1.0,), (1.0,))[1] == 1.0


@pytest.mark.parametrize("order", ["rev-rev", "fwd-rev", "rev-fwd", "fwd-fwd"])
def test_second_derivatives_every_combination(order: str) -> None:
    f = lambda x: np.sin(x) * x  # noqa: E731
    d1_rev = lambda x: gradient(f, x)[0]  # noqa: E731
    d1_fwd = lambda x: jvp(f, (x,), (1.0,))[1]  # noqa: E731
    inner = d1_rev if order.endswith("rev") else d1_fwd
    outer = (lambda g, x: gradient(g, x)[0]) if order.startswith("rev") else (
        lambda g, x: jvp(g, (x,), (1.0,))[1])
    x = 0.7
    want = 2 * np.cos(x) - x * np.sin(x)
    assert outer(inner, x) == pytest.approx(want)


def test_sixth_derivative_of_sin() -> None:
    f = np.sin
    for _ in range(6):
        f = (lambda g: (lambda x: gradient(g, x)[0]))(f)
    assert f(0.4) == pytest.approx(-np.sin(0.4))


def test_long_chain_has_no_recursion_limit() -> None:
    def chain(x: Any) -> Any:
        for _ in range(100_000):
            x = x * 1.0000001
        return np.sum(x)

    (g,) = gradient(chain, np.ones(2))
    assert np.allclose(g, 1.0000001**100_000)


def test_data_dependent_control_flow_and_index() -> None:
    def f(x: Any, k: Any) -> Any:
        if np.all(x > 0):
            return np.sum(x[:k] ** 2)
        return np.sum(x)

    g = gradient(f, np.array([1.0, 2.0, 3.0]), 2)
    assert np.allclose(g[0], [2.0, 4.0, 0.0]) and g[1] is None
    assert np.allclose(gradient(f, np.array([-1.0, 2.0]), 1)[0], [1.0, 1.0])


def test_float_of_traced_value_is_an_error() -> None:
    with pytest.raises(TypeError, match="ignore_derivatives"):
        gradient(lambda x: float(x) * x, 2.0)
    assert gradient(lambda x: float(xpgrad.ignore_derivatives(x)) * x, 2.0) == (2.0,)


def test_array_namespace_of_a_tracer_is_the_traced_namespace() -> None:
    seen = []

    def f(x: Any) -> Any:
        ns = array_api_compat.array_namespace(x)
        seen.append(ns)
        return ns.sum(ns.exp(x))

    gradient(f, strict.asarray([1.0]))
    assert seen[0].__array_api_version__ == "2025.12"
    assert seen[0].float64 == strict.float64  # dtypes are the backend's own


def test_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="jacobian"):
        gradient(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match="complex"):
        gradient(lambda x: x * 1j, 1.0)
    with pytest.raises(TypeError, match="function to differentiate"):
        gradient(3.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="two backends"):
        gradient(lambda a, b: np.sum(a), np.ones(2), strict.ones(2))


def test_leaked_tracer_is_detected() -> None:
    box = []

    def f(x: Any) -> Any:
        box.append(x)
        return x * 2

    gradient(f, 1.0)
    with pytest.raises(xpgrad.LeakedTracerError, match="escapes"):
        gradient(lambda y: y * box[0], 1.0)


def test_missing_rule_names_the_function() -> None:
    from xpgrad.extend import Primitive

    # not registered: the conformance suite would otherwise meet it in the registry
    p = Primitive("test_rule_missing_demo", lambda x: x * 2)
    p.jvp = None
    p.vjp = None
    # a primitive registered as differentiable but without rules must not silently give 0
    with pytest.raises(Exception, match="test_rule_missing_demo"):
        gradient(lambda x: np.sum(p(x)), np.ones(2))


def test_custom_rule_is_used_and_differentiates_again() -> None:
    calls = []

    @xpgrad.custom_rule
    def cube(x: Any) -> Any:
        return x * x * x

    @cube.defvjp
    def cube_vjp(primals: tuple, needs: tuple) -> Any:
        (x,) = primals
        calls.append(1)
        return cube(x), lambda ct: (3 * ct * x * x,)

    @cube.defjvp
    def cube_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return cube(x), 3 * t * x * x

    assert gradient(cube, 2.0) == (12.0,)
    assert calls
    assert gradient(lambda x: gradient(cube, x)[0], 2.0) == (12.0,)  # 6x
    assert np.allclose(xpgrad.vmap(cube)(np.array([1.0, 2.0])), [1.0, 8.0])


def test_stop_gradient_keeps_batching() -> None:
    out = xpgrad.vmap(lambda r: xpgrad.stop_gradient(r) * 2)(np.ones((2, 3)))
    assert out.shape == (2, 3)


def test_numpy_functions_on_tracers_dispatch() -> None:
    (g,) = gradient(lambda x: np.sum(np.exp(x)) + np.mean(x), np.zeros(2))
    assert np.allclose(g, [1.5, 1.5])


def test_threads_do_not_share_tapes() -> None:
    results: dict = {}

    def work(i: int) -> None:
        out = []
        for k in range(50):
            x = float(i + k)
            out.append(gradient(lambda x: x**3, x)[0])
        results[i] = out

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert results[i] == [3 * float(i + k) ** 2 for k in range(50)]


def test_shared_shape_and_dtype_records_never_mix_libraries() -> None:
    """meta_of shares one record per (shape, dtype), and keeps libraries' dtypes apart."""
    import warnings

    from xpgrad.rules._registry import meta_of

    a, b = np.ones((2, 3)), np.zeros((2, 3))
    assert meta_of(a) is meta_of(b)
    assert meta_of(a) is not meta_of(np.ones((3, 2)))
    assert meta_of(a) is not meta_of(np.ones((2, 3), dtype=np.float32))
    xps = pytest.importorskip("array_api_strict")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # strict warns when its dtypes meet NumPy's
        m = meta_of(xps.ones((2, 3), dtype=xps.float64))
    assert m is not meta_of(a) and m.dtype == xps.float64 and m.shape == (2, 3)


@pytest.mark.parametrize("xp", BACKENDS, ids=["numpy", "strict"])
def test_a_value_times_itself(xp: Any) -> None:
    # x * x takes its own pullback (one product for both factors): every mode and
    # order must agree with d(x^2) = 2x and d2 = 2; two tape entries with one array
    # (hook(f, x) * x) must each get their own partial
    x = asx(xp, [1.5, -2.0, 0.25])
    xn = np.array([1.5, -2.0, 0.25])

    def ns(v: Any) -> Any:
        return array_api_compat.array_namespace(v)

    (g,) = gradient(lambda v: ns(v).sum(v * v * v), x)  # (v*v)*v: both rules on one value
    np.testing.assert_allclose(np.asarray(g), 3 * xn**2, rtol=1e-15)
    (g2,) = gradient(lambda v: ns(v).sum(v * v), x)
    np.testing.assert_allclose(np.asarray(g2), 2 * xn, rtol=1e-15)
    (gh,) = gradient(lambda v: ns(v).sum(xpgrad.hook(lambda c: 10 * c, v) * v), x)
    np.testing.assert_allclose(np.asarray(gh), 11 * xn, rtol=1e-15)
    H = xpgrad.hessian(lambda v: ns(v).sum(v * v), x)
    np.testing.assert_allclose(np.asarray(H), 2 * np.eye(3), rtol=1e-15)
    Hr = xpgrad.hessian_reverse(lambda v: ns(v).sum(v * v * v), x)
    np.testing.assert_allclose(np.asarray(Hr), np.diag(6 * xn), rtol=1e-15)
    (Jf,) = xpgrad.jacobian(lambda v: v * v, x, mode="forward")
    (Jr,) = xpgrad.jacobian(lambda v: v * v, x, mode="reverse")
    np.testing.assert_allclose(np.asarray(Jr), np.asarray(Jf), rtol=1e-15)
    np.testing.assert_allclose(np.asarray(Jr), np.diag(2 * xn), rtol=1e-15)
    # float32 stays float32, and complex follows the holomorphic rule ct * 2z
    (g32,) = gradient(lambda v: ns(v).sum(v * v), xp.asarray([1.5, -2.0], dtype=xp.float32))
    assert g32.dtype == xp.float32
    z = xp.asarray([1.0 + 2.0j, -0.5j])
    _, back = pullback(lambda v: v * v, z)
    (gz,) = back(xp.asarray([1.0 + 0.0j, 2.0 - 1.0j]))
    np.testing.assert_allclose(
        np.asarray(gz), np.array([1.0, 2.0 - 1.0j]) * 2 * np.array([1.0 + 2.0j, -0.5j])
    )
