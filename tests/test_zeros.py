"""Typed symbolic zeros (``_core/zeros.py``): their arithmetic, and where the API uses them.

``Zero(shape, dtype)`` is a zero derivative that knows its shape; ``NoTangent()``
is the absence of one. Each behaviour that once needed a materialised zero
(a Jacobian, a Hessian, a custom rule's constant argument, a Buffer write) is
checked here against finite differences or the sibling mode, on NumPy and
array-api-strict.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest
from fd import fd_jacobian

import xpgrad
from xpgrad.extend import AbstractZero, NoTangent, Zero, instantiate, is_zero, zero_like
from xpgrad.testing import check_grads

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]
MODES = ["forward", "reverse"]


def host(x: Any) -> np.ndarray:
    return np.asarray(x) if not hasattr(x, "_array") else np.asarray(x._array)


# -- arithmetic -------------------------------------------------------------------


def test_adding_a_zero_returns_the_other_operand() -> None:
    z, y = Zero.like(np.ones(3)), np.arange(3.0)
    assert (z + y) is y and (y + z) is y and (z - y == -y).all() and (y - z) is y
    assert (z + 2.5) == 2.5 and (2.5 + z) == 2.5


def test_zeros_add_to_a_zero_of_the_broadcast_shape_and_promoted_dtype() -> None:
    a = Zero.like(np.ones((2, 1), dtype=np.float32))
    b = Zero.like(np.ones(3))
    s = a + b
    assert isinstance(s, Zero) and s.shape == (2, 3) and s.dtype == np.float64


def test_scaling_a_zero_gives_a_zero_of_the_broadcast_shape() -> None:
    z = Zero.like(np.ones(3, dtype=np.float32))
    for w in (z * np.ones((2, 3), dtype=np.float32), np.ones((2, 1), np.float32) * z):
        assert isinstance(w, Zero) and w.shape == (2, 3) and w.dtype == np.float32
    assert (2.0 * z).dtype == np.float32  # a Python scalar defers to the array's dtype
    assert isinstance(z / np.ones(3), Zero) and (z / np.ones(3)).dtype == np.float64
    assert -z is z and +z is z


def test_a_zero_meets_a_tracer_through_its_own_arithmetic() -> None:
    seen = []

    def f(x: Any) -> Any:
        z = Zero.like(x)
        seen.append((x + z is x, isinstance(x * z, Zero), z + x is x))
        return x * x

    xpgrad.gradient(lambda x: np.sum(f(x)), np.ones(2))
    xpgrad.jvp(f, (np.ones(2),), (np.ones(2),))
    assert seen == [(True, True, True)] * 2


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_instantiate_makes_zeros_on_the_backend(xp: Any) -> None:
    x = xp.ones((2, 3), dtype=xp.float32)
    a = instantiate(Zero.like(x))
    assert array_api_compat.array_namespace(a) is array_api_compat.array_namespace(x)
    assert a.shape == (2, 3) and a.dtype == xp.float32 and not bool(xp.any(a != 0))
    assert instantiate(Zero((), float)) == 0.0 and type(instantiate(Zero((), float))) is float
    assert instantiate(x) is x  # anything else passes through


def test_instantiate_without_a_backend_says_what_to_pass() -> None:
    with pytest.raises(ValueError, match="like="):
        instantiate(Zero((2,), np.float64))
    assert instantiate(Zero((2,), np.float64), like=np.ones(1)).shape == (2,)


def test_no_tangent_refuses_arithmetic_and_instantiation() -> None:
    nt = NoTangent()
    assert nt is NoTangent() and repr(nt) == "NoTangent()"
    for use in (
        lambda: nt + 1.0,
        lambda: 1.0 * nt,
        lambda: -nt,
        lambda: instantiate(nt),
        lambda: Zero.like(np.ones(2)) + nt,
        lambda: Zero.like(np.ones(2)) * nt,
    ):
        with pytest.raises(TypeError, match=r"NoTangent used in .* where a tangent is required"):
            use()


def test_the_zeros_have_no_truth_value() -> None:
    for z in (Zero.like(np.ones(2)), NoTangent()):
        with pytest.raises(TypeError, match="ambiguous"):
            bool(z)


def test_zero_like_tells_the_two_meanings_apart() -> None:
    assert zero_like(np.ones(2)).shape == (2,)
    assert zero_like(np.arange(3)).dtype == np.arange(3).dtype  # integer code is differentiated
    assert zero_like(2.0).dtype is float and zero_like(2.0).shape == ()
    for none in (np.ones(2, dtype=bool), True, "label", None, object()):
        assert zero_like(none) is NoTangent()
    assert is_zero(None) and is_zero(NoTangent()) and is_zero(Zero((), float))
    assert not is_zero(0.0) and isinstance(Zero((), float), AbstractZero)


# -- where the API used to materialise zeros -----------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_jacobian_of_an_ignored_argument_is_zero_of_the_agreed_shape_and_dtype(
    xp: Any, mode: str
) -> None:
    def f(a: Any, b: Any, c: Any) -> Any:
        return a * c[0]  # ignores b entirely; depends on c

    a = xp.asarray([1.0, 2.0, 3.0])
    b = xp.ones((2, 2), dtype=xp.float32)
    c = xp.asarray([2.0, 5.0])
    Ja, Jb, Jc = xpgrad.jacobian(f, a, b, c, mode=mode)
    assert Jb.shape == (3, 4) and Jb.dtype == xp.float64 and not bool(xp.any(Jb != 0))
    np.testing.assert_allclose(host(Ja), fd_jacobian(lambda v: v * 2.0, host(a)), atol=1e-8)
    want_c = fd_jacobian(lambda v: host(a) * v[0], host(c))
    np.testing.assert_allclose(host(Jc), want_c, atol=1e-8)


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_forward_and_reverse_agree_on_a_partly_ignored_argument(xp: Any) -> None:
    def f(x: Any, y: Any) -> Any:
        n = array_api_compat.array_namespace(x, y)
        return n.concat([x**2, n.zeros(2, dtype=x.dtype)])  # y is data only

    x, y = xp.asarray([1.0, -2.0]), xp.asarray([3.0])
    fwd = xpgrad.jacobian(f, x, y, mode="forward")
    rev = xpgrad.jacobian(f, x, y, mode="reverse")
    for jf, jr in zip(fwd, rev):
        assert jf.shape == jr.shape and jf.dtype == jr.dtype
        np.testing.assert_array_equal(host(jf), host(jr))


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_hessians_in_an_argument_the_function_ignores_are_zero(xp: Any) -> None:
    def f(x: Any, y: Any) -> Any:
        n = array_api_compat.array_namespace(y)
        return n.sum(y * y * y)

    x, y, v = xp.ones(2), xp.asarray([1.0, 2.0, 3.0]), xp.asarray([1.0, -1.0])
    H = xpgrad.hessian(f, x, y, wrt=0)
    Hr = xpgrad.hessian_reverse(f, x, y, wrt=0)
    for h in (H, Hr):
        assert h.shape == (2, 2) and h.dtype == xp.float64 and not bool(xp.any(h != 0))
    dx, dy = xpgrad.diaghessian(f, x, y)
    assert dx.shape == (2,) and not bool(xp.any(dx != 0))
    np.testing.assert_allclose(host(dy), 6 * host(y))  # the other argument still differentiated
    hv = xpgrad.hvp(f, x, y, v=v, wrt=0)
    assert hv.shape == (2,) and not bool(xp.any(hv != 0))
    # the sibling argument: forward over reverse against reverse over reverse
    np.testing.assert_allclose(
        host(xpgrad.hessian(f, x, y, wrt=1)), host(xpgrad.hessian_reverse(f, x, y, wrt=1))
    )


# -- custom rules receive typed zeros ---------------------------------------------------


def _scale() -> tuple:
    """``scale(x, c) = x * c`` with rules that record what they were given."""
    seen: dict = {"tangents": [], "needs": []}

    @xpgrad.custom_rule
    def scale(x: Any, c: Any) -> Any:
        return x * c

    @scale.defjvp
    def scale_jvp(primals: tuple, tangents: tuple) -> tuple:
        (x, c), (tx, tc) = primals, tangents
        seen["tangents"].append((tx, tc))
        return scale(x, c), tx * c + tc * x  # a Zero term drops out by its arithmetic

    @scale.defvjp
    def scale_vjp(primals: tuple, needs: tuple) -> tuple:
        x, c = primals
        seen["needs"].append(tuple(needs))

        def scale_pullback(ct: Any) -> tuple:
            return (ct * c if needs[0] else Zero.like(x), ct * x if needs[1] else NoTangent())

        return scale(x, c), scale_pullback

    return scale, seen


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_custom_jvp_gets_a_zero_for_a_constant_argument(xp: Any) -> None:
    scale, seen = _scale()
    c = xp.asarray([1.0, 2.0, 3.0])
    x = xp.asarray([0.5, -1.0, 2.0])
    (J,) = xpgrad.jacobian(lambda x: scale(x, c), x, mode="forward")
    tc = seen["tangents"][-1][1]
    assert isinstance(tc, Zero) and tc.shape == (3,) and tc.dtype == xp.float64
    np.testing.assert_allclose(host(J), fd_jacobian(lambda v: v * host(c), host(x)))
    (Jr,) = xpgrad.jacobian(lambda x: scale(x, c), x, mode="reverse")
    np.testing.assert_array_equal(host(J), host(Jr))
    assert seen["needs"][-1] == (True, False)


def test_custom_rules_check_out_in_both_modes_and_at_second_order() -> None:
    scale, _ = _scale()
    check_grads(scale, (np.array([0.5, -1.0]), np.array([2.0, 3.0])), order=2, modes=("fwd", "rev"))


def test_a_custom_jvp_may_return_a_zero() -> None:
    @xpgrad.custom_rule
    def step(x: Any) -> Any:
        return (x > 0) * 1.0

    @step.defjvp
    def step_jvp(primals: tuple, tangents: tuple) -> tuple:
        (x,) = primals
        return step(x), Zero.like(x)

    x = np.array([-1.0, 2.0])
    y, dy = xpgrad.jvp(step, (x,), (np.ones(2),))
    np.testing.assert_array_equal(y, [0.0, 1.0])
    assert isinstance(dy, np.ndarray) and np.array_equal(dy, np.zeros(2))
    (J,) = xpgrad.jacobian(step, x, mode="forward")
    assert J.shape == (2, 2) and not J.any()


def test_a_custom_jvp_gets_no_tangent_for_a_flag() -> None:
    @xpgrad.custom_rule
    def masked(x: Any, m: Any) -> Any:
        return x * m

    got = []

    @masked.defjvp
    def masked_jvp(primals: tuple, tangents: tuple) -> tuple:
        (x, m), (t, tm) = primals, tangents
        got.append(tm)
        return masked(x, m), t * m

    m = np.array([True, False])
    (J,) = xpgrad.jacobian(lambda x: masked(x, m), np.ones(2), mode="forward")
    assert got[-1] is NoTangent()
    np.testing.assert_array_equal(J, np.diag([1.0, 0.0]))


def test_an_old_style_vjp_is_refused_when_attached_with_the_new_spelling() -> None:
    @xpgrad.custom_rule
    def cube(x: Any) -> Any:
        return x * x * x

    with pytest.raises(TypeError, match=r"defvjp rule 'cube_vjp'.*\(x\).*\(primals, needs\)"):

        @cube.defvjp
        def cube_vjp(x: Any) -> Any:
            return cube(x), lambda ct: (3 * ct * x * x,)

    with pytest.raises(TypeError, match=r"takes two arguments, \(primals, needs\)"):
        cube.defvjp(lambda *primals: (cube(*primals), lambda ct: (ct,)))

    @xpgrad.custom_rule
    def mul(x: Any, y: Any) -> Any:
        return x * y

    with pytest.raises(TypeError, match=r"spread out as mul's own parameters"):

        @mul.defvjp
        def mul_vjp(x: Any, y: Any) -> Any:  # the old spelling, with two arguments
            return mul(x, y), lambda ct: (ct * y, ct * x)

    with pytest.raises(TypeError, match=r"defjvp rule .*\(primals, tangents\)"):
        cube.defjvp(lambda x: (cube(x), 3 * x * x))


# -- Buffer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_buffer_writes_of_a_traced_value_into_a_fresh_buffer(xp: Any) -> None:
    # the buffer's own entries are constants (a zero tangent), the written value is not
    def f(v: Any) -> Any:
        buf = xpgrad.Buffer(v, 2, 3)
        buf[0, :] = v * v
        buf[1, 1:] = v[1:]
        return buf.copy()

    v = xp.asarray([1.0, 2.0, 3.0])

    def f_host(u: np.ndarray) -> np.ndarray:
        out = np.zeros((2, 3))
        out[0, :] = u * u
        out[1, 1:] = u[1:]
        return out

    (Jf,) = xpgrad.jacobian(f, v, mode="forward")
    (Jr,) = xpgrad.jacobian(f, v, mode="reverse")
    np.testing.assert_array_equal(host(Jf), host(Jr))
    np.testing.assert_allclose(host(Jf), fd_jacobian(f_host, host(v)), atol=1e-8)


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_sparse_derivatives_on_a_given_pattern_where_the_function_ignores_x(xp: Any) -> None:
    # the pattern is the caller's (structurally non-empty), the derivative is zero:
    # the forward passes meet the pushforward's Zero and make zero values
    rows, cols = np.array([0, 1, 2, 0]), np.array([0, 1, 2, 1])
    x = xp.asarray([1.0, 2.0, 3.0])

    def linear(v: Any) -> Any:
        return array_api_compat.array_namespace(v).sum(2.0 * v)

    def constant(v: Any) -> Any:
        return array_api_compat.array_namespace(v).ones(3)

    H = xpgrad.sparse_hessian(linear, x, pattern=(rows, cols, (3, 3)))
    J = xpgrad.sparse_jacobian(constant, x, mode="forward", pattern=(rows, cols, (3, 3)))
    for S, dense in ((H, xpgrad.hessian(linear, x)), (J, xpgrad.jacobian(constant, x)[0])):
        assert S.shape == (3, 3) and not np.any(host(S.todense()))
        np.testing.assert_array_equal(host(S.todense()), host(dense))


def test_hessian_sparsity_of_a_function_that_ignores_its_argument_is_empty() -> None:
    x = np.ones(3)
    assert xpgrad.hessian_sparsity(lambda v: 3.0, x).nnz == 0
    H = xpgrad.sparse_hessian(lambda v: 3.0, x)
    assert H.shape == (3, 3) and H.nnz == 0
    np.testing.assert_array_equal(host(H.todense()), host(xpgrad.hessian(lambda v: 3.0, x)))


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_an_extend_rule_may_return_typed_zeros(xp: Any) -> None:
    # a primitive registered with xpgrad.extend whose rules return Zero / NoTangent
    # for its constant factor: the engine gets None, so the typed zero never reaches
    # the caller as a "gradient" or the next rule as an array
    from xpgrad import extend
    from xpgrad._core import tables

    with tables.saved():
        p = extend.primitive("scaled_by_typed_zero", lambda x, c: x * c)

        def vjp(primals: Any, needs: Any) -> tuple:
            x, c = primals
            return x * c, lambda ct: (ct * c, Zero.like(c))

        def jvp(primals: Any, tangents: Any) -> tuple:
            (x, c), (tx, _) = primals, tangents
            return x * c, (Zero.like(x) if tx is None else tx * c)

        extend.defrule(p, vjp=vjp, jvp=jvp)
        x, c = xp.asarray([1.0, -2.0, 0.5]), xp.asarray([0.0, 1.0, 2.0])
        ns = array_api_compat.array_namespace
        total = lambda x, c: ns(x).sum(ns(x).sin(p(x, c)))  # noqa: E731
        g = xpgrad.gradient(total, x, c)
        assert g[1] is None  # as for any argument with no cotangent, never a Zero
        expect = np.cos(host(x) * host(c)) * host(c)
        np.testing.assert_allclose(host(g[0]), expect, rtol=1e-14)
        for mode in MODES:
            Jx, Jc = xpgrad.jacobian(lambda x, c: ns(x).sin(p(x, c)), x, c, mode=mode)
            np.testing.assert_allclose(host(Jx), np.diag(expect), rtol=1e-14)
            assert not host(Jc).any() and tuple(Jc.shape) == (3, 3)
        # a constant x: the jvp rule's Zero tangent goes on as the engine's None
        (Jc,) = xpgrad.jacobian(lambda c: p(x, c), c, mode="forward")
        assert not host(Jc).any()
