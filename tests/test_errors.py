"""Bad input gets a clear exception naming the problem and the fix (issue 7).

Every case checks the exception type and that the message names both what is
wrong and what to do instead. Never a wrong number, never an internal error
(``AttributeError``, ``KeyError``): ``tests/test_properties.py`` fuzzes the
same API with random malformed arguments.

Booleans and integers, decided once for the whole API: boolean arrays have no
derivative (``gradient``/``jacobian``/``diaghessian`` give ``None`` for them,
``jvp`` gives them no tangent, ``hessian``/``hvp`` of a boolean point raise
``TypeError``); integer arrays and Python ints are differentiated as reals,
with derivatives in the dtype the rules produce (integer Jacobians of
polynomials, as in the seed; ``x * 0.5`` gives ``0.5``, never a truncated 0).
"""

from __future__ import annotations

import itertools
import operator
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import extend
from xpgrad.backends import to_host

BACKENDS = ["numpy", "strict", "dask"]


def _namespace(name: str) -> Any:
    if name == "numpy":
        return array_api_compat.array_namespace(np.ones(1))
    if name == "strict":
        return strict
    da = pytest.importorskip("dask.array")
    return array_api_compat.array_namespace(da.ones(1))


@pytest.fixture(params=BACKENDS)
def xp(request: Any) -> Any:
    return _namespace(request.param)


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def vec(xp: Any, *v: float) -> Any:
    return xp.asarray(list(v), dtype=xp.float64)


# -- the output of gradient --------------------------------------------------------------


@pytest.mark.parametrize("api", ["gradient", "withgradient"])
def test_non_scalar_output(xp: Any, api: str) -> None:
    with pytest.raises(ValueError, match=r"must return a scalar.*shape \(3,\).*xp.sum.*jacobian"):
        getattr(xpgrad, api)(lambda x: x * 2, vec(xp, 1, 2, 3))


@pytest.mark.parametrize("api", ["gradient", "withgradient"])
def test_non_array_output(api: str) -> None:
    with pytest.raises(ValueError, match=r"real scalar.*got str.*jacobian"):
        getattr(xpgrad, api)(lambda x: "loss", 1.0)
    with pytest.raises(ValueError, match=r"real scalar.*got NoneType"):
        getattr(xpgrad, api)(lambda x: None, 1.0)


def test_complex_output(xp: Any) -> None:
    if xp is not strict and "dask" not in xp.__name__:
        with pytest.raises(ValueError, match=r"complex scalar.*xp.real\(y\)"):
            xpgrad.gradient(lambda x: x * 1j, 2.0)
    x = xp.asarray([1 + 1j, 2 - 1j])
    with pytest.raises(ValueError, match=r"complex scalar.*real-valued.*xp.abs\(y\)\*\*2"):
        xpgrad.gradient(lambda x: ns(x).sum(x * x), x)
    # the suggested fix works
    (g,) = xpgrad.gradient(lambda x: ns(x).sum(ns(x).real(x * ns(x).conj(x))), x)
    assert g is not None


# -- the function ------------------------------------------------------------------------

_CALLS = {
    "gradient": lambda f: xpgrad.gradient(f, 1.0),
    "withgradient": lambda f: xpgrad.withgradient(f, 1.0),
    "pullback": lambda f: xpgrad.pullback(f, 1.0),
    "jvp": lambda f: xpgrad.jvp(f, (1.0,), (1.0,)),
    "jacobian": lambda f: xpgrad.jacobian(f, 1.0),
    "withjacobian": lambda f: xpgrad.withjacobian(f, 1.0),
    "hessian": lambda f: xpgrad.hessian(f, 1.0),
    "hessian_reverse": lambda f: xpgrad.hessian_reverse(f, 1.0),
    "diaghessian": lambda f: xpgrad.diaghessian(f, 1.0),
    "hvp": lambda f: xpgrad.hvp(f, 1.0, 1.0),
    "vmap": lambda f: xpgrad.vmap(f),
    "checkpointed": lambda f: xpgrad.checkpointed(f, 1.0),
    "forwarddiff": lambda f: xpgrad.forwarddiff(f, 1.0),
}


@pytest.mark.parametrize("api", sorted(_CALLS))
@pytest.mark.parametrize("f", [3.0, None, "sin", np.ones(2)], ids=["float", "None", "str", "array"])
def test_not_callable(api: str, f: Any) -> None:
    with pytest.raises(TypeError, match=rf"xpgrad.{api}: the first argument must be the function"
                                        rf".*got {type(f).__name__}.*Call it as {api}\(f"):
        _CALLS[api](f)


def test_arguments_in_the_wrong_order() -> None:
    # gradient(x, f): the array is not callable, and the message says how to call it
    with pytest.raises(TypeError, match=r"gradient\(f, \*args\)"):
        xpgrad.gradient(np.ones(2), np.sum)  # type: ignore[arg-type]


def test_hook_needs_a_callable_and_an_array_back() -> None:
    with pytest.raises(TypeError, match=r"hook\(fn, x\)"):
        xpgrad.hook(np.ones(2), np.ones(2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"must return the new cotangent.*got list"):
        xpgrad.gradient(lambda x: np.sum(xpgrad.hook(lambda g: [1.0], x)), np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(3,\) for one of shape \(2,\); keep the shape"):
        xpgrad.gradient(lambda x: np.sum(xpgrad.hook(lambda g: np.ones(3), x)), np.ones(2))


# -- pullback cotangents and jvp tangents ------------------------------------------------


def _two_outputs(xp: Any) -> tuple:
    x = vec(xp, 1, 2, 3)
    return xpgrad.pullback(lambda x: (x * 2, ns(x).sum(x)), x)


def test_pullback_wrong_number_of_cotangents(xp: Any) -> None:
    _, back = _two_outputs(xp)
    with pytest.raises(ValueError, match=r"structure of the output.*2 leaves.*1 leaves.*one "
                                         r"cotangent per output"):
        back((xp.ones(3, dtype=xp.float64),))
    with pytest.raises(ValueError, match=r"2 leaves.*3 leaves"):
        back((xp.ones(3, dtype=xp.float64), 1.0, 1.0))
    with pytest.raises(ValueError, match=r"structure of the output"):
        back([xp.ones(3, dtype=xp.float64), 1.0])  # a list for a tuple


def test_pullback_wrong_shape(xp: Any) -> None:
    _, back = _two_outputs(xp)
    with pytest.raises(ValueError, match=r"cotangent of shape \(4,\).*output of shape \(3,\).*must "
                                         r"match"):
        back((xp.ones(4, dtype=xp.float64), 1.0))
    with pytest.raises(ValueError, match=r"shape \(1,\).*shape \(\)"):
        back((xp.ones(3, dtype=xp.float64), xp.ones(1, dtype=xp.float64)))


def test_pullback_wrong_dtype(xp: Any) -> None:
    _, back = _two_outputs(xp)
    with pytest.raises(TypeError, match=r"boolean cotangent.*floating array of the output's dtype"):
        back((xp.ones(3, dtype=xp.bool), 1.0))
    with pytest.raises(ValueError, match=r"complex cotangent.*real output; pass a real one"):
        back((xp.ones(3, dtype=xp.complex128), 1.0))
    with pytest.raises(TypeError, match=r"must be an array or a number.*got str"):
        back(("one", 1.0))
    with pytest.raises(TypeError, match=r"got bool"):
        back((xp.ones(3, dtype=xp.float64), True))


def test_pullback_numeric_cotangents_take_the_outputs_dtype(xp: Any) -> None:
    # an integer or float32 cotangent for a float64 output: cast, as ProjectTo does
    _, back = _two_outputs(xp)
    (g,) = back((xp.ones(3, dtype=xp.int64), 1))
    assert g.dtype == xp.float64
    assert np.array_equal(to_host(g), [3.0, 3.0, 3.0])
    x32 = xp.asarray([1.0, 2.0], dtype=xp.float32)
    _, back32 = xpgrad.pullback(lambda x: x * 3, x32)
    (g32,) = back32(xp.asarray([1.0, 1.0], dtype=xp.float64))
    assert g32.dtype == xp.float32


def test_pullback_cotangent_from_another_backend() -> None:
    _, back = xpgrad.pullback(lambda x: x * 2, np.ones(2))
    with pytest.raises(TypeError, match=r"two backends.*Convert them to one library"):
        back(strict.ones(2, dtype=strict.float64))


def test_jvp_tangents(xp: Any) -> None:
    x = vec(xp, 1, 2)
    with pytest.raises(ValueError, match=r"tangent of shape \(3,\).*argument of shape \(2,\)"):
        xpgrad.jvp(lambda x: x, (x,), (vec(xp, 1, 2, 3),))
    with pytest.raises(TypeError, match=r"boolean tangent"):
        xpgrad.jvp(lambda x: x, (x,), (xp.ones(2, dtype=xp.bool),))
    with pytest.raises(TypeError, match=r"tangent must be an array or a number.*got bool"):
        xpgrad.jvp(lambda x: x, (1.0,), (True,))
    with pytest.raises(ValueError, match=r"complex tangent.*real argument"):
        xpgrad.jvp(lambda x: x, (x,), (xp.ones(2, dtype=xp.complex128),))
    with pytest.raises(ValueError, match=r"structure of primals"):
        xpgrad.jvp(lambda x: x, (x,), (x, x))
    with pytest.raises(TypeError, match=r"must be tuples.*one entry per argument"):
        xpgrad.jvp(lambda x: x, x, x)
    # integer tangents of a float argument are cast to its dtype
    _, t = xpgrad.jvp(lambda x: x * 2, (x,), (xp.asarray([1, 0]),))
    assert t.dtype == xp.float64 and np.array_equal(to_host(t), [2.0, 0.0])


# -- booleans and integers ---------------------------------------------------------------


def test_booleans_have_no_derivative(xp: Any) -> None:
    x = vec(xp, 1, 2, 3)
    m = xp.asarray([True, False, True])

    def f(x: Any, m: Any) -> Any:
        return ns(x).sum(ns(x).where(m, x * x, 0.0))

    g = xpgrad.gradient(f, x, m)
    assert g[1] is None and np.array_equal(to_host(g[0]), [2.0, 0.0, 6.0])
    assert xpgrad.gradient(lambda b: 1.0 if b else 0.0, True) == (None,)
    J = xpgrad.jacobian(lambda x, m: ns(x).where(m, x, 0.0), x, m)
    assert J[1] is None
    assert xpgrad.diaghessian(f, x, m)[1] is None
    # jvp: a boolean argument gets no tangent (its tangent entry is ignored)
    _, t = xpgrad.jvp(lambda m: ns(m).astype(m, ns(m).float64) * 2.0, (m,), (m,))
    assert np.array_equal(to_host(t), [0.0, 0.0, 0.0])
    for api in (xpgrad.hessian, xpgrad.hessian_reverse):
        with pytest.raises(TypeError, match=r"dtype \S*bool, which has no derivative"):
            api(lambda m: ns(m).sum(ns(m).astype(m, ns(m).float64)), m)
    with pytest.raises(ValueError, match=r"boolean array, which has no derivative"):
        xpgrad.jacobian(lambda x: x > 1, x)


def test_integers_are_differentiated_as_reals(xp: Any) -> None:
    xi = xp.asarray([1, 2, 3])
    (g,) = xpgrad.gradient(lambda x: ns(x).sum(x**2), xi)
    assert xp.isdtype(g.dtype, "integral") and np.array_equal(to_host(g), [2, 4, 6])
    (J,) = xpgrad.jacobian(lambda x: x**3, xi)
    assert xp.isdtype(J.dtype, "integral") and np.array_equal(to_host(J), np.diag([3, 12, 27]))
    # a float factor gives float derivatives, never truncated to the integer dtype
    (g,) = xpgrad.gradient(lambda x: ns(x).sum(ns(x).astype(x, ns(x).float64) * 0.5), xi)
    assert np.array_equal(to_host(g), [0.5, 0.5, 0.5])
    assert xpgrad.gradient(lambda n: n * 0.5, 3) == (0.5,)
    assert xpgrad.gradient(lambda a, b: a * b, 2, 3) == (3, 2)


# -- implicit parameters -----------------------------------------------------------------


def test_params_given_plain_arrays(xp: Any) -> None:
    x = vec(xp, 1, 2)
    with pytest.raises(TypeError, match=r"expected Param boxes, got .* at position 1.*"
                                        r"xpgrad.param\(array\)"):
        xpgrad.Params([xpgrad.param(x), x])
    with pytest.raises(TypeError, match=r"expected Param boxes"):
        xpgrad.Params([1.0])
    with pytest.raises(TypeError, match=r"takes no arguments.*Params\(\[w, b\]\)"):
        w = xpgrad.param(x)
        xpgrad.gradient(lambda w: ns(w).sum(w), xpgrad.Params([w]))


def test_grads_with_different_key_sets(xp: Any) -> None:
    w, b = xpgrad.param(vec(xp, 1, 2)), xpgrad.param(vec(xp, 3))
    g1 = xpgrad.gradient(lambda: ns(w).sum(w * w), xpgrad.Params([w]))
    g2 = xpgrad.gradient(lambda: ns(w).sum(w * b), xpgrad.Params([w, b]))
    for op, sym in ((operator.add, "+"), (operator.sub, "-")):
        with pytest.raises(ValueError, match=rf"\{sym} needs the same parameters.*Take both "
                                             rf"gradients with the same Params"):
            op(g1, g2)
    with pytest.raises(ValueError, match=r"same parameters"):
        g1 + {b: vec(xp, 1)}
    with pytest.raises(ValueError, match=r"\+= needs the same parameters"):
        g1 += g2
    with pytest.raises(TypeError, match=r"mapping from Param boxes"):
        xpgrad.Grads([1, 2])  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"not one of the parameters.*Param boxes"):
        g1[b]  # a Mapping: a missing key is a KeyError, with a message


def test_copy_to_and_from_check_the_vector(xp: Any) -> None:
    ps = xpgrad.Params([xpgrad.param(vec(xp, 1, 2))])
    with pytest.raises(ValueError, match=r"shape \(3,\).*pass a 1-d vector of length 2"):
        xpgrad.copy_from(ps, vec(xp, 1, 2, 3))
    with pytest.raises(TypeError, match=r"1-d backend array of length 2, got NoneType"):
        xpgrad.copy_to(None, ps)
    with pytest.raises(TypeError, match=r"expected Params or Grads"):
        xpgrad.copy_to(vec(xp, 1, 2), [vec(xp, 1, 2)])  # type: ignore[arg-type]


# -- Buffer --------------------------------------------------------------------------------


def test_buffer_write_after_copy(xp: Any) -> None:
    buf = xpgrad.Buffer(vec(xp, 1, 2, 3))
    buf[0] = 5.0
    out = buf.copy()
    with pytest.raises(RuntimeError, match=r"frozen by copy\(\).*Make a new Buffer"):
        buf[1] = 7.0
    assert np.array_equal(to_host(out), [5.0, 2.0, 3.0])  # the copy is unchanged

    def f(x: Any) -> Any:
        b = xpgrad.Buffer(x)
        b[0] = x[1]
        y = b.copy()
        b[1] = 0.0  # inside a derivative too
        return ns(y).sum(y)

    with pytest.raises(RuntimeError, match=r"frozen"):
        xpgrad.gradient(f, vec(xp, 1, 2, 3))


def test_buffer_arguments() -> None:
    with pytest.raises(TypeError, match=r"first argument must be an array.*got list"):
        xpgrad.Buffer([1.0, 2.0])
    with pytest.raises(TypeError, match=r"shape must be non-negative ints"):
        xpgrad.Buffer(np.ones(2), -1)
    with pytest.raises(TypeError, match=r"not an array.*buf.copy\(\)"):
        np.asarray(xpgrad.Buffer(np.ones(2)))


# -- two backends in one call --------------------------------------------------------------


def _other_pairs() -> list:
    pairs = [("numpy", "strict")]
    try:
        import dask.array  # noqa: F401

        pairs += [("numpy", "dask"), ("strict", "dask")]
    except ImportError:
        pass
    return pairs


@pytest.mark.parametrize("a,b", _other_pairs())
def test_two_backends_in_one_call(a: str, b: str) -> None:
    xa, xb = _namespace(a), _namespace(b)
    u, v = vec(xa, 1, 2), vec(xb, 3, 4)
    msg = r"two backends in one call.*Convert them to one library first"
    with pytest.raises(TypeError, match=msg):
        xpgrad.gradient(lambda u, v: ns(u).sum(u) + ns(v).sum(v), u, v)
    with pytest.raises(TypeError, match=msg):
        xpgrad.gradient(lambda d: 0.0, {"u": u, "v": [v]})
    with pytest.raises(TypeError, match=msg):
        xpgrad.jacobian(lambda u, v: u, u, v)
    with pytest.raises(TypeError, match=msg):
        xpgrad.jvp(lambda u: u, (u,), (v,))
    with pytest.raises(TypeError, match=msg):
        xpgrad.hvp(lambda u: ns(u).sum(u * u), u, v)
    with pytest.raises(TypeError, match=msg):
        xpgrad.vmap(lambda u, v: u)(u, v)
    with pytest.raises(TypeError, match=msg):
        xpgrad.diaghessian(lambda u, v: ns(u).sum(u * u), u, v)
    buf = xpgrad.Buffer(u)
    with pytest.raises(TypeError, match=msg):
        buf[0] = v[0]
    with pytest.raises(TypeError, match=msg):
        xpgrad.copy_to(vec(xb, 0, 0), xpgrad.Params([xpgrad.param(u)]))


# -- no rule -------------------------------------------------------------------------------

# A bare Primitive, not registered: registering it would put a rule-less primitive
# into the registry that the conformance suite checks (and fails) in the same run.
_noderiv = extend.Primitive("reliability_noderiv", lambda x: x * 2)


def test_function_with_no_rule() -> None:
    x = np.array([1.0, 2.0])
    fix = r"'reliability_noderiv' has no {} rule.*defrule\('reliability_noderiv'.*custom_rule"
    assert np.array_equal(_noderiv(x), [2.0, 4.0])  # the primal works
    with pytest.raises(xpgrad.NoRuleError, match=fix.format(r"reverse-mode \(vjp\)")):
        xpgrad.gradient(lambda x: np.sum(_noderiv(x)), x)
    with pytest.raises(xpgrad.NoRuleError, match=fix.format(r"forward-mode \(jvp\)")):
        xpgrad.jvp(_noderiv, (x,), (x,))
    with pytest.raises(xpgrad.NoRuleError, match=r"reliability_noderiv"):
        xpgrad.jacobian(_noderiv, x, mode="forward")
    with pytest.raises(xpgrad.NoRuleError, match=r"reliability_noderiv"):
        xpgrad.hessian(lambda x: np.sum(_noderiv(x)), x)
    with pytest.raises(xpgrad.NoRuleError):
        xpgrad.vmap(_noderiv)(np.ones((2, 2)))  # no batch rule either
    assert issubclass(xpgrad.NoRuleError, NotImplementedError)


def test_a_function_without_any_array_rule_is_a_clear_type_error() -> None:
    # a NumPy function outside the standard: numpy itself says it has no implementation
    if not hasattr(np, "nanmean"):
        pytest.skip("numpy without nanmean")
    with pytest.raises(TypeError, match=r"nanmean"):
        xpgrad.gradient(lambda x: np.nanmean(x), np.ones(2))


# -- leaked tracers ------------------------------------------------------------------------

_LEAK = r"already returned.*'{}'.*global, a closure.*Return the value"


def test_tracer_leaked_through_a_global(xp: Any) -> None:
    leaked: list = []

    def f(x: Any) -> Any:
        leaked.append(x * 2)
        return ns(x).sum(x)

    x = vec(xp, 1, 2)
    xpgrad.gradient(f, x)
    (t,) = leaked
    with pytest.raises(xpgrad.LeakedTracerError, match=_LEAK.format("add")):
        t + 1
    with pytest.raises(xpgrad.LeakedTracerError, match=_LEAK.format("sin")):
        ns(t).sin(t)
    with pytest.raises(xpgrad.LeakedTracerError):
        bool(t[0] > 0)
    # inside a later transformation (which may reuse the same level): an error too,
    # never a constant
    with pytest.raises(xpgrad.LeakedTracerError):
        xpgrad.gradient(lambda y: ns(y).sum(y * t), x)
    with pytest.raises(xpgrad.LeakedTracerError):
        xpgrad.jvp(lambda y: y * t, (x,), (x,))
    with pytest.raises(xpgrad.LeakedTracerError):
        xpgrad.jacobian(lambda y: y + t, x)


def test_tracer_leaked_through_a_closure(xp: Any) -> None:
    def f(x: Any) -> Any:
        def later() -> Any:
            return x * 3

        return ns(x).sum(x), later

    val, _ = xpgrad.withgradient(f, vec(xp, 1, 2))
    later = val[1]
    with pytest.raises(xpgrad.LeakedTracerError, match=_LEAK.format("multiply")):
        later()
    with pytest.raises(xpgrad.LeakedTracerError):
        xpgrad.gradient(lambda y: ns(y).sum(y * later()), vec(xp, 1, 2))


def test_tracer_leaked_from_jvp_and_vmap() -> None:
    leaked: list = []
    xpgrad.jvp(lambda x: leaked.append(x) or x, (np.ones(2),), (np.ones(2),))
    xpgrad.vmap(lambda x: leaked.append(x) or x)(np.ones((3, 2)))
    for t in leaked:
        with pytest.raises(xpgrad.LeakedTracerError):
            t * 2
    assert issubclass(xpgrad.LeakedTracerError, RuntimeError)


# -- checkpointed --------------------------------------------------------------------------


def test_checkpointed_recomputation_that_differs(xp: Any) -> None:
    calls = itertools.count(1)

    def drifting(x: Any) -> Any:  # reads state that changes between the passes
        return x * next(calls)

    def loss(x: Any) -> Any:
        return ns(x).sum(xpgrad.checkpointed(drifting, x))

    if "dask" in xp.__name__:
        # lazy backends: the values are not compared (that would compute the graph);
        # checkpointed documents that the function must be deterministic
        xpgrad.gradient(loss, vec(xp, 1, 2))
    else:
        with pytest.raises(ValueError, match=r"different result when it was recomputed.*sum "
                                             r"to 3, then to 6.*deterministic function"):
            xpgrad.gradient(loss, vec(xp, 1, 2))

    def shrinking(x: Any) -> Any:
        return x[: 2 - next(calls) % 2]

    with pytest.raises(ValueError, match=r"different result.*shape"):
        xpgrad.gradient(lambda x: ns(x).sum(xpgrad.checkpointed(shrinking, x)), vec(xp, 1, 2))


def test_checkpointed_deterministic_function_passes(xp: Any) -> None:
    # values that only differ by rounding between the primal and the rules are accepted
    def layer(h: Any, w: Any) -> Any:
        n = ns(h)
        return n.tanh(h @ w) + n.exp(h) / 3 + n.sqrt(h * h + 1.0)

    h = xp.asarray([[0.1, -0.2], [0.3, 0.4]], dtype=xp.float32)
    w = xp.asarray([[1.0, 2.0], [-0.5, 0.25]], dtype=xp.float32)
    g1 = xpgrad.gradient(lambda h, w: ns(h).sum(xpgrad.checkpointed(layer, h, w)), h, w)
    g2 = xpgrad.gradient(lambda h, w: ns(h).sum(layer(h, w)), h, w)
    for a, b in zip(g1, g2):
        assert np.allclose(to_host(a), to_host(b), rtol=1e-6)


# -- the user's own errors ---------------------------------------------------------------


def test_errors_raised_by_f_propagate_unchanged() -> None:
    class Mine(KeyError):
        pass

    err = Mine("from f")

    def f(x: Any) -> Any:
        raise err

    for call in (lambda: xpgrad.gradient(f, 1.0), lambda: xpgrad.jvp(f, (1.0,), (1.0,)),
                 lambda: xpgrad.jacobian(f, np.ones(2)), lambda: xpgrad.hessian(f, np.ones(2)),
                 lambda: xpgrad.vmap(f)(np.ones(2))):
        with pytest.raises(Mine) as info:
            call()
        assert info.value is err
    # and the next call starts from a clean trace stack
    assert xpgrad.gradient(lambda x: x * x, 3.0) == (6.0,)
    assert xpgrad.hessian(lambda x: x**3, 2.0) == 12.0


# -- issue 16, defects 10 and 11 ------------------------------------------------------------
@pytest.mark.parametrize(
    "f",
    [
        lambda x: x > 0,
        lambda x: True,
        lambda x: x.__array_namespace__().astype(x, x.__array_namespace__().int64)[0],
        lambda x: x.__array_namespace__().argmax(x),
    ],
    ids=["bool-array", "bool", "astype-int", "argmax"],
)
def test_gradient_of_a_boolean_or_integer_output_raises(f: Any) -> None:
    with pytest.raises(ValueError, match=r"gradient: the function returned a result of dtype "
                       r"(bool|int64), which has no derivative; return a floating value"):
        xpgrad.gradient(f, np.array([1.0, 2.0]))


def test_gradient_of_an_integer_polynomial_is_still_an_integer() -> None:
    assert xpgrad.gradient(lambda x: x * x, 3) == (6,)


def test_hessian_of_a_custom_rule_with_only_defvjp_names_defjvp_and_hessian_reverse() -> None:
    @xpgrad.custom_rule
    def sq(x: Any) -> Any:
        return x * x

    @sq.defvjp
    def sq_vjp(primals: tuple, needs: tuple) -> Any:
        (x,) = primals
        return sq(x), lambda ct: (2 * x * ct,)

    f = lambda x: np.sum(sq(x))  # noqa: E731
    with pytest.raises(xpgrad.NoRuleError, match=r"sq' has no forward-mode.*@sq\.defjvp.*"
                       r"hessian_reverse"):
        xpgrad.hessian(f, np.ones(2))
    np.testing.assert_allclose(xpgrad.hessian_reverse(f, np.ones(2)), 2 * np.eye(2))


def test_gradient_of_a_custom_rule_with_only_defjvp_names_defvjp() -> None:
    @xpgrad.custom_rule
    def sq(x: Any) -> Any:
        return x * x

    @sq.defjvp
    def sq_jvp(primals: Any, tangents: Any) -> Any:
        return sq(primals[0]), 2 * primals[0] * tangents[0]

    with pytest.raises(xpgrad.NoRuleError, match=r"sq' has no reverse-mode.*@sq\.defvjp"):
        xpgrad.gradient(lambda x: np.sum(sq(x)), np.ones(2))
    np.testing.assert_allclose(xpgrad.jacobian(sq, np.ones(2), mode="forward")[0], 2 * np.eye(2))
