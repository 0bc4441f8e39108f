"""Values stay in the traced world: constants of the innermost trace, writes, wrt=.

What library code needs from a traced namespace (issue 20): a hashable
namespace, creation functions and non-differentiable results that are values
of the same namespace, ``x[key] = v`` as a differentiated functional update,
data arguments lifted to constants, and clear errors for NumPy habits.
Derivatives are checked against central differences (``check_grads``) and
across modes.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_compat.numpy as cnp
import array_api_strict as xs
import numpy as np
import pytest

import xpgrad
from xpgrad._core.batch import BatchConst
from xpgrad._core.forward import ForwardTracer
from xpgrad._core.reverse import ReverseTracer
from xpgrad._core.trace import Tracer, innermost
from xpgrad.testing import check_grads

BACKENDS = {"numpy": cnp, "strict": xs}


@pytest.fixture(params=sorted(BACKENDS))
def xp(request: Any) -> Any:
    return BACKENDS[request.param]


def ns(*xs: Any) -> Any:
    return array_api_compat.array_namespace(*xs)


def host(a: Any) -> np.ndarray:
    return np.asarray(xpgrad.backends.to_host(a))


# -- the namespace ---------------------------------------------------------------------


def test_traced_namespace_and_extensions_are_hashable_and_recognised(xp: Any) -> None:
    seen = []

    def f(x: Any) -> Any:
        t = ns(x)
        assert len({t, t.linalg, t.fft}) == 3  # usable in sets (SciPy's vendored compat)
        assert hash(t) == hash(x.__array_namespace__())
        # array-api-compat's checks are cached on the namespace: they hash it
        seen.append(array_api_compat.is_numpy_namespace(t))
        seen.append(array_api_compat.is_array_api_strict_namespace(t))
        return t.sum(x * x)

    xpgrad.gradient(f, xp.asarray([1.0, 2.0]))
    assert seen == [False, False]


# -- constants of the innermost trace ------------------------------------------------------


def test_creation_under_each_transformation_gives_constants_of_that_trace(xp: Any) -> None:
    kinds = []

    def f(x: Any) -> Any:
        t = ns(x)
        z = t.zeros(x.shape)
        kinds.append((type(z), z._trace is innermost()))
        # one namespace for what the function made and what it was given
        assert ns(z, x) is ns(x)
        return t.sum(x * x + z + t.ones_like(x) + t.asarray(2.0))

    x = xp.asarray([1.0, 2.0])
    xpgrad.gradient(f, x)
    xpgrad.jvp(f, (x,), (xp.asarray([1.0, 0.0]),))
    xpgrad.vmap(f)(xp.asarray([[1.0, 2.0], [3.0, 4.0]]))
    assert kinds == [(ReverseTracer, True), (ForwardTracer, True), (BatchConst, True)]


def test_outside_any_transformation_creation_is_the_backends(xp: Any) -> None:
    x = xp.asarray([1.0])
    t = xpgrad.gradient.__globals__["E"].namespace(ns(x))
    assert not isinstance(t.zeros(3), Tracer)
    assert not isinstance(t.asarray([1.0, 2.0]), Tracer)
    assert innermost() is None


def test_nested_transformations_create_constants_of_the_inner_one(xp: Any) -> None:
    levels = []

    def inner(y: Any) -> Any:
        c = ns(y).full(y.shape, 3.0)
        levels.append(c._trace is innermost() and c._trace.level == y._trace.level)
        return ns(y).sum(c * y * y)

    def outer(x: Any) -> Any:
        (g,) = xpgrad.gradient(inner, x)
        return ns(x).sum(g * x)

    x = xp.asarray([1.0, -2.0])
    # outer(x) = sum(6 x^2): gradient 12 x (no perturbation confusion through c)
    (g,) = xpgrad.gradient(outer, x)
    np.testing.assert_allclose(host(g), 12 * host(x))
    assert levels == [True]


def test_operations_on_constants_record_nothing(xp: Any) -> None:
    tapes = []

    def f(x: Any) -> Any:
        t = ns(x)
        tape = x._trace.tape
        n = len(tape)
        c = t.arange(4, dtype=x.dtype) * 2.0 + 1.0
        c = t.sin(c) ** 2 + t.where(c > 3.0, c, -c)
        tapes.append(len(tape) - n)
        return t.sum(x * c)

    x = xp.asarray([1.0, 2.0, 3.0, 4.0])
    (g,) = xpgrad.gradient(f, x)
    c = np.arange(4.0) * 2 + 1
    np.testing.assert_allclose(host(g), np.sin(c) ** 2 + np.where(c > 3, c, -c))
    assert tapes == [0]


def test_non_differentiable_results_are_constants_that_convert(xp: Any) -> None:
    def f(x: Any) -> Any:
        t = ns(x)
        k = t.argmax(x)
        m = x > 1.5
        assert isinstance(k, ReverseTracer) and isinstance(m, ReverseTracer)
        assert int(k) == 2 and float(t.sum(t.astype(m, x.dtype))) == 2.0
        assert np.from_dlpack(m).tolist() == [False, True, True]
        with pytest.raises(TypeError, match="silently drop its derivative"):
            float(t.sum(x))  # carries a derivative
        return x[k] * t.sum(t.where(m, x, 0.0))

    (g,) = xpgrad.gradient(f, xp.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(host(g), [0.0, 3.0, 8.0])


# -- writes ----------------------------------------------------------------------------


def _write_cases(t: Any) -> list:
    # each copies first, as library code does (``at(x)[k].set(v)``): the function is
    # also called on plain arrays (finite differences), which a write would change
    return [
        lambda x: _set(x, 1, x[0] * 3.0),
        lambda x: _set(x, slice(0, 2), t.sin(x[1:3])),
        lambda x: _set(x, x > 0.0, x[x > 0.0] ** 2),
        lambda x: _set(x, t.asarray([3, 0]), x[1:3] * x[0]),
        lambda x: _set(t.zeros_like(x), slice(1, None), x[:-1] * x[1:]),
    ]


def _set(a: Any, key: Any, v: Any) -> Any:
    a = array_api_compat.array_namespace(a).asarray(a, copy=True)
    a[key] = v
    return a


@pytest.mark.parametrize("case", range(5))
def test_writes_differentiate_in_every_mode(xp: Any, case: int) -> None:
    x = xp.asarray([0.5, -1.0, 2.0, 1.5])

    def f(v: Any) -> Any:
        return _write_cases(ns(v))[case](v) * 1.0

    J_rev = xpgrad.jacobian(f, x, mode="reverse")[0]
    J_fwd = xpgrad.jacobian(f, x, mode="forward")[0]
    if xp is cnp:
        check_grads(f, (x,), order=2)
    else:  # plain array-api-strict refuses integer-array writes: compare with NumPy's
        np.testing.assert_allclose(host(J_rev), xpgrad.jacobian(f, np.asarray(host(x)))[0])
    # the batch interpreter (vmap, and forward-mode jacobian) agrees with the reverse one
    np.testing.assert_allclose(host(J_fwd), host(J_rev))
    if case == 2:
        return  # a mask computed from x: under vmap each element selects another length
    batch = xp.asarray([[0.5, -1.0, 2.0, 1.5], [1.0, 2.0, -3.0, 0.25]])
    got = xpgrad.vmap(f)(batch)
    for i in range(2):  # (evaluated on NumPy: plain strict refuses integer-array writes)
        np.testing.assert_allclose(host(got)[i], f(host(batch)[i]))


def test_writes_in_the_sparsity_interpreter() -> None:
    def f(x: Any) -> Any:
        out = ns(x).zeros(4)
        out[1:] = x[:-1] * x[1:]
        return out

    pat = xpgrad.jacobian_sparsity(f, np.ones(4))
    dense = np.asarray(pat.todense()) if hasattr(pat, "todense") else None
    want = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool)
    if dense is not None:
        np.testing.assert_array_equal(dense != 0, want)
    J = xpgrad.sparse_jacobian(f, np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(
        np.asarray(J.todense()), xpgrad.jacobian(f, np.array([1.0, 2.0, 3.0, 4.0]))[0]
    )


def test_a_write_into_the_argument_keeps_its_gradient_slot(xp: Any) -> None:
    def f(x: Any) -> Any:
        x[0] = x[1] * 2.0  # rebinds the argument's tracer
        return ns(x).sum(x * x)

    (g,) = xpgrad.gradient(f, xp.asarray([5.0, 1.0, 2.0]))
    # f = (2 x1)^2 + x1^2 + x2^2: x0 does not reach the result
    np.testing.assert_allclose(host(g), [0.0, 10.0, 4.0])


def test_slices_and_copies_are_not_views(xp: Any) -> None:
    def f(x: Any) -> Any:
        t = ns(x)
        y = x[1:]
        y[0] = 0.0
        c = t.asarray(x, copy=True)
        c[2] = 10.0
        same = t.asarray(x)
        assert same is x
        return t.sum(x * x) + t.sum(y) + t.sum(c)

    (g,) = xpgrad.gradient(f, xp.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(host(g), [2 + 1, 4 + 1, 6 + 1 + 0])


def test_write_of_an_inner_value_into_an_outer_array_is_refused() -> None:
    def outer(x: Any) -> Any:
        out = ns(x).zeros(2)

        def inner(y: Any) -> Any:
            out[0] = ns(y).sum(y)
            return ns(y).sum(y)

        xpgrad.gradient(inner, x)
        return ns(x).sum(out)

    with pytest.raises(TypeError, match="made outside it"):
        xpgrad.gradient(outer, np.ones(2))


def test_write_into_a_plain_backend_array_made_outside_is_an_error() -> None:
    out = np.zeros(2)

    def f(x: Any) -> Any:
        out[0] = ns(x).sum(x)
        return out[0]

    # NumPy asks the tracer for a float, which refuses; NumPy then reports the
    # failed conversion in its own words
    with pytest.raises((TypeError, ValueError), match="drop its derivative|sequence"):
        xpgrad.gradient(f, np.ones(2))


# -- creation functions with traced arguments --------------------------------------------


def test_linspace_with_traced_endpoints(xp: Any) -> None:
    def f(ab: Any) -> Any:
        t = ns(ab)
        return t.linspace(ab[0], ab[1], 5) ** 2

    ab = xp.asarray([0.5, 2.0])
    check_grads(f, (ab,), order=2)
    np.testing.assert_allclose(host(f(ab)), np.linspace(0.5, 2.0, 5) ** 2)

    def g(ab: Any) -> Any:
        return ns(ab).linspace(ab[0], ab[1], 4, endpoint=False)

    np.testing.assert_allclose(host(g(ab)), np.linspace(0.5, 2.0, 4, endpoint=False))
    check_grads(g, (ab,), order=1)


def test_full_with_a_traced_fill_value() -> None:
    # (the standard's full takes a Python scalar; under tracing a traced one works)
    def f(x: Any) -> Any:
        t = ns(x)
        return t.full((2, 3), t.sum(x) * 2.0) * x[0]

    check_grads(f, (np.array([1.0, 3.0]),), order=2)
    (g,) = xpgrad.gradient(lambda x: ns(x).sum(f(x)), xs.asarray([1.0, 3.0]))
    np.testing.assert_allclose(host(g), [6 * (2 * 1 + 2 * 4), 6 * 2 * 1])


# -- wrt= and data arguments ---------------------------------------------------------------


def test_wrt_by_position_and_name_matches_full_gradient(xp: Any) -> None:
    def loss(w: Any, X: Any, y: Any) -> Any:
        t = ns(w)
        return t.sum((X @ w - y) ** 2)

    w, X, y = xp.asarray([1.0, -1.0]), xp.asarray([[1.0, 2.0], [3.0, 4.0]]), xp.asarray([0.5, 1.0])
    full = xpgrad.gradient(loss, w, X, y)
    for wrt in (0, "w", (0,), -3):
        gw, gX, gy = xpgrad.gradient(loss, w, X, y, wrt=wrt)
        np.testing.assert_allclose(host(gw), host(full[0]))
        assert gX is None and gy is None
    g = xpgrad.gradient(loss, w, X, y, wrt=("y", "X"))
    assert g[0] is None
    np.testing.assert_allclose(host(g[1]), host(full[1]))
    np.testing.assert_allclose(host(g[2]), host(full[2]))
    val, (gw2, _, _) = xpgrad.withgradient(loss, w, X, y, wrt=0)
    np.testing.assert_allclose(host(gw2), host(full[0]))
    _, back = xpgrad.pullback(lambda w, X: X @ w, w, X, wrt=1)
    bw, bX = back(xp.asarray([1.0, 0.0]))
    assert bw is None and host(bX).tolist() == [[1.0, -1.0], [0.0, 0.0]]


def test_data_arguments_are_constants_of_the_trace(xp: Any) -> None:
    seen = []

    def f(x: Any, data: Any) -> Any:
        seen.append(type(data))
        t = ns(x, data)  # array-api-strict refuses a raw array beside a tracer otherwise
        return t.sum(x * data)

    x, d = xp.asarray([1.0, 2.0]), xp.asarray([3.0, 4.0])
    (gx, gd) = xpgrad.gradient(f, x, d, wrt=0)
    assert gd is None and host(gx).tolist() == [3.0, 4.0]
    J = xpgrad.jacobian(lambda x, d: x * d, x, d, wrt=0)
    np.testing.assert_allclose(host(J[0]), np.diag([3.0, 4.0]))
    assert J[1] is None
    assert ReverseTracer in seen


def test_second_derivatives_with_wrt(xp: Any) -> None:
    def f(w: Any, X: Any) -> Any:
        return ns(w).sum((X @ w) ** 3)

    w, X = xp.asarray([1.0, 2.0]), xp.asarray([[1.0, 0.5], [0.2, 1.0]])
    Xn, wn = host(X), host(w)
    want = 6 * Xn.T @ np.diag(Xn @ wn) @ Xn
    for h in (xpgrad.hessian, xpgrad.hessian_reverse):
        np.testing.assert_allclose(host(h(f, w, X)), want)
        np.testing.assert_allclose(host(h(f, w, X, wrt="w")), want)
    v = xp.asarray([1.0, -1.0])
    np.testing.assert_allclose(host(xpgrad.hvp(f, w, X, v=v, wrt=0)), want @ [1.0, -1.0])
    # (a closure over X: on array-api-strict, X @ tracer is refused by X itself)
    if xp is cnp:
        got = xpgrad.hvp(lambda w: f(w, X), w, v)
        np.testing.assert_allclose(host(got), want @ [1.0, -1.0])
    d = xpgrad.diaghessian(f, w, X, wrt=0)
    np.testing.assert_allclose(host(d[0]), np.diag(want))
    assert d[1] is None
    with pytest.raises(ValueError, match="differentiates one argument"):
        xpgrad.hessian(f, w, X, wrt=(0, 1))


def test_wrt_errors_name_the_problem() -> None:
    def f(a: Any, b: Any) -> Any:
        return a * b

    with pytest.raises(ValueError, match="out of range"):
        xpgrad.gradient(f, 1.0, 2.0, wrt=2)
    with pytest.raises(ValueError, match="not a positional parameter of f .*a, b"):
        xpgrad.gradient(f, 1.0, 2.0, wrt="c")
    with pytest.raises(TypeError, match="positions .* or parameter names"):
        xpgrad.gradient(f, 1.0, 2.0, wrt=1.0)
    with pytest.raises(ValueError, match="twice"):
        xpgrad.gradient(f, 1.0, 2.0, wrt=(1, -1))
    w = xpgrad.param(np.ones(2))
    with pytest.raises(TypeError, match="with Params"):
        xpgrad.gradient(lambda: np.sum(w), xpgrad.Params([w]), wrt=0)


def test_pytree_arguments_named_by_wrt_get_their_structure() -> None:
    def f(d: Any, s: Any) -> Any:
        return d["a"] * d["b"] * s

    d = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    J = xpgrad.jacobian(f, d, 2.0, wrt=0)
    np.testing.assert_allclose(J[0]["a"], np.diag([6.0, 8.0]))
    np.testing.assert_allclose(J[0]["b"], np.diag([2.0, 4.0]))
    assert J[1] is None
    # without wrt, Zygote's contract (the seed): a container gives None
    assert xpgrad.jacobian(f, d, 2.0)[0] is None
    h = xpgrad.diaghessian(lambda d: np.sum(d["a"] ** 3) * d["b"][0], d, wrt=0)
    np.testing.assert_allclose(h[0]["a"], 6 * d["a"] * 3.0)
    np.testing.assert_allclose(h[0]["b"], [0.0, 0.0])
    with pytest.raises(TypeError, match="pytree"):
        xpgrad.hessian(lambda d: np.sum(d["a"]), d)


# -- clear errors instead of silent None ---------------------------------------------


class Holder:
    def __init__(self, w: Any):
        self.w = w


def test_an_object_hiding_arrays_is_refused_with_how_to_register_it() -> None:
    for api in (xpgrad.gradient, xpgrad.jacobian, xpgrad.diaghessian):
        with pytest.raises(TypeError, match="Holder holds arrays .*register_pytree_node"):
            api(lambda h: np.sum(h.w**2), Holder(np.ones(2)))


def test_dask_array_functions_on_tracers_are_refused() -> None:
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="dask.array function was applied to a traced value"):
        xpgrad.gradient(lambda x: da.sum(x * x), da.ones(4, chunks=2))


@pytest.mark.parametrize(
    ("fn", "exc", "names"),
    [
        (lambda x: x.sum(), AttributeError, "xp.sum"),
        (lambda x: x.reshape((2, 1)), AttributeError, "xp.reshape"),
        (lambda x: x.astype(np.float32), AttributeError, "xp.astype"),
        (lambda x: np.dot(x, x), TypeError, "xp.matmul"),
        (lambda x: np.einsum("i,i", x, x), TypeError, "xp.tensordot"),
        (lambda x: np.cumsum(x), TypeError, "xp.cumulative_sum"),
    ],
)
def test_numpy_habits_name_the_standard_function(fn: Any, exc: type, names: str) -> None:
    with pytest.raises(exc, match=names.replace(".", r"\.")):
        xpgrad.gradient(fn, np.ones(2))


def test_unknown_attributes_stay_plain_attribute_errors() -> None:
    def f(x: Any) -> Any:
        assert not hasattr(x, "__cuda_array_interface__")
        assert not hasattr(x, "no_such_thing")
        return ns(x).sum(x)

    xpgrad.gradient(f, np.ones(2))


def test_withjacobian_with_params_forwards_progress_and_refuses_wrt() -> None:
    w = xpgrad.param(np.array([1.0, 2.0]))
    res = xpgrad.withjacobian(lambda: w * w, xpgrad.Params([w]), progress=False)
    np.testing.assert_allclose(res.grad[w], np.diag([2.0, 4.0]))
    with pytest.raises(TypeError, match="with Params"):
        xpgrad.withjacobian(lambda: w * w, xpgrad.Params([w]), wrt=0)


def test_to_device_keeps_the_device_or_says_it_cannot_move(xp: Any) -> None:
    def f(x: Any) -> Any:
        assert x.to_device(x.device) is x
        if xp is xs:
            other = xs.Device("device1")
            with pytest.raises(NotImplementedError, match="move the arguments"):
                x.to_device(other)
        return ns(x).sum(x)

    xpgrad.gradient(f, xp.asarray([1.0, 2.0]))


def test_none_stands_for_a_zero_cotangent_or_tangent_leaf() -> None:
    # pullback's and jvp's docstrings: None is a zero (it used to be refused as
    # a different structure, since optree takes None for an empty subtree)
    x = np.array([1.0, 3.0])
    _, back = xpgrad.pullback(lambda x: (x * 2, x**2), x)
    np.testing.assert_allclose(back((np.ones(2), None))[0], [2.0, 2.0])
    np.testing.assert_allclose(back((None, np.ones(2)))[0], [2.0, 6.0])
    with pytest.raises(ValueError, match="structure of the output"):
        back((None,))
    _, t = xpgrad.jvp(lambda a, b: a * b, (x, np.array([3.0, 4.0])), (np.ones(2), None))
    np.testing.assert_allclose(t, [3.0, 4.0])
