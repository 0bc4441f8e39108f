"""xpgrad.jit: staged programs equal eager code to the last bit, retrace only when
the signature changes, compose with every transformation both ways, and fail
clearly where a staged program cannot stand for the function."""

from __future__ import annotations

from typing import Any, Callable

import array_api_compat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import xpgrad
from xpgrad._core.lower import lower
from xpgrad._core.simplify import (
    common_subexpressions,
    dead_code,
    drop_identities,
    fold_constants,
    fold_negations,
    scalar_constants,
    simplify,
)
from xpgrad._core.staging import Program
from xpgrad.api._edge import flatten

strict = pytest.importorskip("array_api_strict")

BACKENDS: dict[str, Any] = {"numpy": np, "strict": strict}
try:  # torch CPU tensors too, where torch is installed
    import array_api_compat.torch as torch_xp
    import torch  # noqa: F401

    BACKENDS["torch"] = torch_xp
except ImportError:
    pass


def f_scalar(x: Any) -> Any:
    xp = array_api_compat.array_namespace(x)
    return xp.sum(xp.tanh(x) ** 2 * xp.sin(x)) + xp.sum(x[1:] * x[:-1]) + xp.mean(x**3)


def f_vector(x: Any) -> Any:
    xp = array_api_compat.array_namespace(x)
    return xp.tanh(x) * xp.sum(x**2) + xp.exp(-x)


def _tangent(x: Any) -> Any:
    xp = array_api_compat.array_namespace(x)
    return xp.cos(x) + 0.5


# Every derivative API, as a function of one array (what a user would jit).
APIS: dict[str, Callable] = {
    "gradient": lambda x: xpgrad.gradient(f_scalar, x),
    "withgradient": lambda x: xpgrad.withgradient(f_scalar, x),
    "pullback": lambda x: xpgrad.pullback(f_vector, x)[1](_tangent(x)),
    "jvp": lambda x: xpgrad.jvp(f_vector, (x,), (_tangent(x),)),
    "jacobian": lambda x: xpgrad.jacobian(f_vector, x),
    "jacobian_forward": lambda x: xpgrad.jacobian(f_vector, x, mode="forward"),
    "withjacobian": lambda x: xpgrad.withjacobian(f_vector, x),
    "hessian": lambda x: xpgrad.hessian(f_scalar, x),
    "hessian_reverse": lambda x: xpgrad.hessian_reverse(f_scalar, x),
    "diaghessian": lambda x: xpgrad.diaghessian(f_scalar, x),
    "hvp": lambda x: xpgrad.hvp(f_scalar, x, _tangent(x)),
    "vmap": lambda x: xpgrad.vmap(f_vector)(x[None, :] * x[:, None]),
    "vmap_gradient": lambda x: xpgrad.vmap(lambda r: xpgrad.gradient(f_scalar, r)[0])(
        x[None, :] * x[:, None]
    ),
    "checkpointed": lambda x: xpgrad.gradient(lambda y: xpgrad.checkpointed(f_scalar, y), x),
    "forwarddiff": lambda x: xpgrad.gradient(lambda y: xpgrad.forwarddiff(f_scalar, y), x),
}


def _leaves(tree: Any) -> list:
    return flatten(tree)[0]


def assert_same_bits(staged: Any, eager: Any) -> None:
    a, b = _leaves(staged), _leaves(eager)
    assert len(a) == len(b)
    for s, e in zip(a, b):
        assert type(s) is type(e)
        s, e = np.asarray(s), np.asarray(e)
        assert s.shape == e.shape and s.dtype == e.dtype
        np.testing.assert_array_equal(s, e, strict=True)


def _data(xp: Any, n: int, dtype: str, shift: float = 0.0) -> Any:
    x = np.linspace(-1.0, 1.2, n) + shift
    return xp.asarray(x, dtype=getattr(xp, dtype))


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("name", list(APIS))
def test_staged_equals_eager_bit_for_bit(name: str, backend: str) -> None:
    xp, fn = BACKENDS[backend], APIS[name]
    jitted = xpgrad.jit(fn)
    for shift in (0.0, 0.3, -0.2):  # the first call stages, the others replay
        x = _data(xp, 4, "float64", shift)
        assert_same_bits(jitted(x), fn(x))
    assert jitted.cache_info().traces == 1
    assert jitted.cache_info().hits == 2


@given(
    name=st.sampled_from(sorted(APIS)),
    backend=st.sampled_from(sorted(BACKENDS)),
    n=st.integers(2, 6),
    dtype=st.sampled_from(["float32", "float64"]),
    shift=st.floats(-0.5, 0.5),
)
def test_staged_equals_eager_over_shapes_and_dtypes(
    name: str, backend: str, n: int, dtype: str, shift: float
) -> None:
    xp, fn = BACKENDS[backend], APIS[name]
    jitted = xpgrad.jit(fn)
    jitted(_data(xp, n, dtype))  # stage on other values than the ones compared
    x = _data(xp, n, dtype, shift)
    assert_same_bits(jitted(x), fn(x))
    assert jitted.trace_count == 1


def _buffer_stack(x: Any) -> Any:
    buf = xpgrad.Buffer(x, x.shape[0], 3)
    for i in range(3):
        buf[:, i] = x * (i + 1.0)
    return buf.copy()


def _chain(x: Any) -> Any:
    return np.sum(x[1:] * x[:-1] ** 2)


# More of the library inside jit (NumPy): writes, sparse Hessians, linear algebra,
# sorting, where, hooks.
MORE: dict[str, Callable] = {
    "buffer": lambda x: xpgrad.gradient(lambda y: np.sum(_buffer_stack(y) ** 2), x),
    "sparse_hessian": lambda x: xpgrad.sparse_hessian(
        _chain, x, pattern=xpgrad.hessian_sparsity(_chain, np.ones(4))
    ).todense(),
    "det": lambda x: xpgrad.gradient(
        lambda y: y.__array_namespace__().linalg.det(y[:, None] * y[None, :] + np.eye(4)), x
    ),
    "sort": lambda x: xpgrad.gradient(lambda y: np.sum(np.sort(y)[:2] ** 3), x),
    "where": lambda x: xpgrad.hessian(lambda y: np.sum(np.where(y > 0.2, y**3, -y)), x),
    "hook": lambda x: xpgrad.gradient(lambda y: np.sum(xpgrad.hook(lambda g: g * 2, y) ** 2), x),
}


@pytest.mark.parametrize("name", list(MORE))
def test_more_of_the_library_staged_equals_eager(name: str) -> None:
    fn = MORE[name]
    jitted = xpgrad.jit(fn)
    for shift in (0.0, 0.3):
        x = _data(np, 4, "float64", shift)
        assert_same_bits(jitted(x), fn(x))
    assert jitted.trace_count == 1


def test_jitted_gradient_matches_central_differences() -> None:
    df = xpgrad.jit(lambda x: xpgrad.gradient(f_scalar, x)[0])
    x = np.linspace(-0.7, 0.9, 5)
    df(x + 1.0)  # the values compared below come from a replay
    h = 1e-6
    fd = [(f_scalar(x + h * e) - f_scalar(x - h * e)) / (2 * h) for e in np.eye(5)]
    np.testing.assert_allclose(df(x), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(APIS))
def test_on_dask_a_replay_builds_a_lazy_graph(name: str) -> None:
    da = pytest.importorskip("dask.array")
    fn = APIS[name]
    jitted = xpgrad.jit(fn)
    for shift in (0.0, 0.5):
        x = da.from_array(np.linspace(-1.0, 1.0, 6) + shift, chunks=3)
        outs, want = _leaves(jitted(x)), _leaves(fn(x))
        assert len(outs) == len(want)
        for out, w in zip(outs, want):
            assert isinstance(out, da.Array)  # nothing computed by the replay
            np.testing.assert_array_equal(np.asarray(out), np.asarray(w), strict=True)
    assert jitted.trace_count == 1


# -- transformations of a jitted function ----------------------------------------


def test_transformations_of_a_jitted_function() -> None:
    jf = xpgrad.jit(f_scalar)
    x = np.linspace(-0.5, 0.8, 4)
    assert_same_bits(xpgrad.gradient(jf, x), xpgrad.gradient(f_scalar, x))
    assert_same_bits(xpgrad.hessian(jf, x), xpgrad.hessian(f_scalar, x))
    jv = xpgrad.jit(f_vector)
    assert_same_bits(xpgrad.jacobian(jv, x), xpgrad.jacobian(f_vector, x))
    xs = np.stack([x, x + 1])
    assert_same_bits(xpgrad.vmap(jv)(xs), xpgrad.vmap(f_vector)(xs))
    assert jf.cache_info().inline == 2 and jf.trace_count == 0


def test_jit_of_gradient_of_jit_and_nested_jit() -> None:
    jf = xpgrad.jit(f_scalar)
    dj = xpgrad.jit(lambda x: xpgrad.gradient(jf, x)[0])
    outer = xpgrad.jit(lambda x: dj(x) * 2.0)
    x = np.linspace(-0.5, 0.8, 4)
    for s in (0.0, 0.1):
        assert_same_bits(outer(x + s), xpgrad.gradient(f_scalar, x + s)[0] * 2.0)
    assert outer.cache_info().traces == 1 and outer.cache_info().hits == 1


def test_closing_over_a_value_of_an_enclosing_transformation_runs_inline() -> None:
    x = np.linspace(0.0, 1.0, 3)

    def outer(y: Any) -> Any:
        inner = xpgrad.jit(lambda z: np.sum(np.sin(z * y)))
        return inner(x)

    assert xpgrad.gradient(outer, 2.0) == xpgrad.gradient(lambda y: np.sum(np.sin(x * y)), 2.0)


# -- signatures and retracing ----------------------------------------------------


def test_a_new_shape_or_dtype_traces_again_and_the_same_does_not() -> None:
    calls = []

    def f(x: Any) -> Any:
        calls.append(tuple(x.shape))
        return x * 2.0

    jf = xpgrad.jit(f)
    jf(np.ones(3))
    jf(np.zeros(3))
    assert jf.trace_count == 1 and calls == [(3,)]
    jf(np.ones(4))
    assert jf.trace_count == 2 and calls == [(3,), (4,)]
    jf(np.ones(4, dtype=np.float32))
    assert jf.trace_count == 3
    jf(np.ones(3))
    assert jf.cache_info() == xpgrad.api.jit.CacheInfo(hits=2, traces=3, inline=0, size=3)
    jf.clear_cache()
    assert jf.trace_count == 0


def test_static_arguments_are_part_of_the_signature() -> None:
    jf = xpgrad.jit(lambda x, n, scale=1.0: x[:n] * scale, static_argnums=1)
    x = np.arange(5.0)
    np.testing.assert_array_equal(jf(x, 2), x[:2])
    np.testing.assert_array_equal(jf(x, 3), x[:3])
    np.testing.assert_array_equal(jf(x, 3, scale=2.0), 2 * x[:3])
    assert jf.trace_count == 3
    jn = xpgrad.jit(lambda x, *, power: x**power, static_argnames="power")
    assert jn(x, power=2)[3] == 9.0 and jn(x, power=3)[3] == 27.0 and jn.trace_count == 2


def test_static_argnames_reach_only_positions_that_can_hold_them() -> None:
    def f(x: Any, *rest: Any, n: int) -> Any:
        return x * n + sum(rest)

    jf = xpgrad.jit(f, static_argnames="n")
    x = np.ones(2)
    # the third positional argument belongs to *rest: it stays a dynamic array
    np.testing.assert_array_equal(jf(x, x, np.ones(2) * 5, n=2), np.full(2, 8.0))
    np.testing.assert_array_equal(jf(x, x, np.ones(2) * 6, n=2), np.full(2, 9.0))
    assert jf.trace_count == 1


def test_integer_index_arrays_are_dynamic() -> None:
    g = xpgrad.jit(lambda x, i: xpgrad.gradient(lambda y: np.sum(y[i] ** 2), x)[0])
    x = np.arange(5.0)
    for idx in ([0, 2, 2], [1, 1, 4]):
        i = np.asarray(idx)
        assert_same_bits(g(x, i), xpgrad.gradient(lambda y: np.sum(y[i] ** 2), x)[0])
    assert g.trace_count == 1


def test_an_except_clause_cannot_swallow_jits_fallback() -> None:
    x = np.linspace(0.0, 1.0, 3)

    def outer(y: Any) -> Any:
        def inner(z: Any) -> Any:
            try:
                return np.sum(z * y)
            except Exception:  # noqa: BLE001 - what user code may do
                return np.sum(z)

        return xpgrad.jit(inner)(x)

    assert xpgrad.gradient(outer, 2.0) == (float(np.sum(x)),)


def test_python_numbers_are_static_and_signed_zeros_differ() -> None:
    jf = xpgrad.jit(lambda x, c: x / c)
    x = np.ones(2)
    with np.errstate(divide="ignore"):
        assert np.all(jf(x, 0.0) == np.inf)
        assert np.all(jf(x, -0.0) == -np.inf)
    assert jf.trace_count == 2


@pytest.mark.parametrize("backend", [b for b in ("numpy", "torch") if b in BACKENDS])
def test_results_never_alias_arguments_or_program_constants(backend: str) -> None:
    xp = BACKENDS[backend]  # the backends whose arrays can be written in place
    c = xp.arange(3.0, dtype=xp.float64)
    jf = xpgrad.jit(lambda x: (x, c * 1.0, x * 1.0))
    x = xp.ones(3, dtype=xp.float64)
    jf(x)
    out = jf(x)
    for o in out:
        o[0] = 99.0
    np.testing.assert_array_equal(x, np.ones(3))
    np.testing.assert_array_equal(jf(x)[1], c)


# -- errors --------------------------------------------------------------------------


def _branch(x: Any) -> Any:
    if np.sum(x) > 0:
        return x
    return -x


@pytest.mark.parametrize(
    ("fn", "what"),
    [
        (_branch, "bool()"),
        (lambda x: x[: int(x[0])], "int()"),
        (lambda x: float(x[0]) * x, "float()"),
        (lambda x: x[x > 1.0], "'getitem'"),
        (lambda x: x.__array_namespace__().nonzero(x)[0], "'nonzero'"),
    ],
)
def test_value_dependent_python_raises_naming_the_fixes(fn: Callable, what: str) -> None:
    with pytest.raises(xpgrad.StagingError) as e:
        xpgrad.jit(fn)(np.arange(3.0))
    msg = str(e.value)
    assert what in msg
    assert "static" in msg and "where" in msg


def test_control_flow_on_a_static_argument_is_fine() -> None:
    jf = xpgrad.jit(lambda x, up: x + 1 if up else x - 1, static_argnums=1)
    np.testing.assert_array_equal(jf(np.zeros(2), True), np.ones(2))
    np.testing.assert_array_equal(jf(np.zeros(2), False), -np.ones(2))


def test_a_leaked_staged_value_raises() -> None:
    leaked = []
    xpgrad.jit(lambda x: leaked.append(x * 2) or x)(np.ones(2))
    with pytest.raises(xpgrad.LeakedTracerError):
        leaked[0] + 1
    with pytest.raises(xpgrad.LeakedTracerError):
        bool(leaked[0][0])


def test_unhashable_static_arguments_raise() -> None:
    jf = xpgrad.jit(lambda x, shape: np.reshape(x, shape), static_argnums=1)
    with pytest.raises(TypeError, match=r"static argument 1 has the unhashable type list"):
        jf(np.ones(4), [2, 2])
    assert jf(np.ones(4), (2, 2)).shape == (2, 2)
    jn = xpgrad.jit(lambda x, opts: x, static_argnames="opts")
    with pytest.raises(TypeError, match=r"static argument 'opts' .* dict"):
        jn(np.ones(2), opts={"a": 1})


def test_jit_needs_a_callable() -> None:
    with pytest.raises(TypeError, match=r"xpgrad\.jit"):
        xpgrad.jit(3)


# -- the program and its text ------------------------------------------------------


def test_lower_shows_the_program_and_its_source() -> None:
    jf = xpgrad.jit(lambda x, w: np.sum(np.tanh(x @ w)))
    lowered = jf.lower(np.ones((2, 3)), np.ones((3, 4)))
    text = lowered.as_text()
    assert text.splitlines()[0] == "program(v0: float64[2,3], v1: float64[3,4]):"
    assert "= matmul(v0, v1)" in text and "= tanh(" in text and "= sum(" in text
    assert lowered.source.startswith("def program(v0, v1):")
    assert jf.trace_count == 1  # lowering staged it; a call now replays
    jf(np.ones((2, 3)), np.ones((3, 4)))
    assert jf.cache_info().hits == 1


def _staged(fn: Callable, *args: Any) -> Program:
    """The program of ``fn`` before simplification."""
    from xpgrad._core.staging import StagingTrace
    from xpgrad._core.trace import new_level
    from xpgrad.api import _edge as E

    with new_level(StagingTrace, E.namespace(np)) as trace:
        out = fn(*[trace.new_input(a) for a in args])
        return trace.program(_leaves(out))


def _run(program: Program, *args: Any) -> tuple:
    return lower(program)(*args)


def test_dead_code_drops_unused_equations() -> None:
    p = _staged(lambda x: (np.sin(x), np.cos(x))[0] * 2.0, np.ones(3))
    assert [e.prim.name for e in p.eqns] == ["sin", "cos", "multiply"]
    q = dead_code(p)
    assert [e.prim.name for e in q.eqns] == ["sin", "multiply"]
    x = np.linspace(0, 1, 3)
    np.testing.assert_array_equal(_run(q, x)[0], np.sin(x) * 2.0)


def test_common_subexpressions_are_computed_once() -> None:
    p = _staged(lambda x: np.sin(x) + np.sin(x) + (x + 0.0) + (x + -0.0), np.ones(3))
    q = dead_code(common_subexpressions(p))
    names = [e.prim.name for e in q.eqns]
    assert names.count("sin") == 1
    # x + 0.0 and x + -0.0 differ at x = -0.0: they must stay two equations
    assert sum(1 for e in q.eqns if e.prim.name == "add" and e.inputs[1] in (0.0,)) == 2
    x = np.array([-0.0, 1.0, 2.0])
    np.testing.assert_array_equal(_run(q, x)[0], _run(p, x)[0])


def test_fold_constants_evaluates_constant_equations() -> None:
    p = _staged(lambda x: x * 3.0, np.ones(3))
    (eq,) = p.eqns
    # a rewrite that made the input constant: the pass computes it once
    const = Program([], [eq._replace(inputs=(np.arange(3.0), 3.0))], p.outputs)
    q = fold_constants(const)
    assert q.eqns == []
    np.testing.assert_array_equal(q.outputs[0], np.arange(3.0) * 3.0)


def test_drop_identities_is_exact() -> None:
    p = _staged(lambda x: np.reshape(x * 1.0, (3,)) * np.ones(3) + x * np.ones((2, 3)), np.ones(3))
    q = dead_code(drop_identities(p))
    # x * 1.0, the reshape to its own shape and * ones(3) go; * ones((2, 3)) broadcasts: kept
    assert [e.prim.name for e in q.eqns] == ["multiply", "add"]
    x = np.array([-0.0, np.nan, 2.0])
    a, b = _run(q, x)[0], _run(p, x)[0]
    np.testing.assert_array_equal(a, b, strict=True)
    assert np.signbit(a[0, 0]) == np.signbit(b[0, 0])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_scalar_constants_replace_uniform_arrays_exactly(dtype: str) -> None:
    x = np.asarray([-0.0, 3.0, 7.0, -2.0], dtype=dtype)
    hundreds = np.full(4, 100, dtype=dtype)
    mixed = np.asarray([1, 2, 3, 4], dtype=dtype)
    p = _staged(lambda x: (x * hundreds - hundreds) / hundreds + mixed * x, x)
    q = scalar_constants(p)
    kinds = [[type(a).__name__ for a in e.inputs] for e in q.eqns]
    n_numbers = sum(k.count("float") + k.count("int") for k in kinds)
    # the three uses of hundreds (for integers, / makes floats: that one is kept);
    # mixed stays an array
    assert n_numbers == (2 if dtype == "int64" else 3)
    y = x + np.asarray(1.5 if dtype != "int64" else 1, dtype=dtype)
    np.testing.assert_array_equal(_run(q, y)[0], _run(p, y)[0], strict=True)
    # a constant that would change the result's dtype or shape is kept
    wide = _staged(lambda x: x * np.full((2, 4), 100, dtype=dtype), x)
    assert scalar_constants(wide).eqns[0].inputs == wide.eqns[0].inputs


# values where a sign could go astray: signed zeros, infinities, NaN, denormals
_SIGNS = np.array([-0.0, 0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 5e-324, -1e308])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fold_negations_is_exact(dtype: str) -> None:
    x = _SIGNS.astype(dtype)

    def f(x: Any) -> Any:
        n = -x
        return (
            -(-x),  # cancels
            -(3.0 * x),  # -> -3.0 * x
            2.0 * n,  # -> -2.0 * x
            n * 0.5,  # -> x * -0.5
            n / 4.0,  # -> x / -4.0
            -(x / 3.0),  # -> x / -3.0
            7.0 / n,  # -> -7.0 / x
            -(0.0 * x),  # -> -0.0 * x: a float zero keeps its sign
            2 * n,  # an int constant: -2
            0 * n,  # an int zero: -0 would be 0, losing a sign: kept
        )

    p = _staged(f, x)
    q = dead_code(fold_negations(p))
    names = [e.prim.name for e in q.eqns]
    assert names.count("negative") == 1  # only for 0 * n
    assert len(q.eqns) < len(p.eqns)
    with np.errstate(all="ignore"):
        for a, b in zip(_run(q, x), _run(p, x)):
            if not isinstance(b, np.ndarray):
                b = np.asarray(b)
            np.testing.assert_array_equal(a, b, strict=True)
            # signed zeros and infinities alike (IEEE 754 does not interpret a NaN's sign)
            num = ~np.isnan(b)
            np.testing.assert_array_equal(np.signbit(a[num]), np.signbit(b[num]))


def test_fold_negations_leaves_integers_and_arrays_alone() -> None:
    # integer negation wraps (-(INT_MIN)), and a product with an array constant has
    # no number to absorb the sign
    k = np.array([1, -2, np.iinfo(np.int64).min], dtype=np.int64)
    p = _staged(lambda k: -(3 * k), k)
    assert [e.prim.name for e in fold_negations(p).eqns] == ["multiply", "negative"]
    x = np.linspace(0.5, 1.5, 3)
    c = np.array([2.0, 3.0, 4.0])
    p = _staged(lambda x: -(c * x), x)
    assert [e.prim.name for e in fold_negations(p).eqns] == ["multiply", "negative"]


def test_a_pullbacks_negations_fold_into_its_constants() -> None:
    # the hvp of Rosenbrock's function: the pullback of subtract negates, and the
    # negations fold into the constants, where two products become one
    from benchmarks.workloads import rosen

    x = np.linspace(-1.0, 1.5, 50)
    v = np.cos(x)
    f = lambda x, v: xpgrad.hvp(lambda y: rosen(np, y), x, v)  # noqa: E731
    p = _staged(f, x, v)
    q = simplify(p)
    assert not [e for e in q.eqns if e.prim.name == "negative"]
    without = dead_code(common_subexpressions(drop_identities(scalar_constants(p))))
    assert len(q.eqns) <= len(without.eqns) - 3
    np.testing.assert_array_equal(_run(q, x, v)[0], _run(p, x, v)[0], strict=True)
    np.testing.assert_array_equal(_run(q, x, v)[0], f(x, v), strict=True)


def test_simplify_keeps_the_bits_of_a_whole_hessian() -> None:
    x = np.linspace(-0.5, 0.8, 4)
    p = _staged(lambda x: xpgrad.hessian(f_scalar, x), x)
    q = simplify(p)
    assert len(q.eqns) < len(p.eqns)
    y = x + 0.25
    np.testing.assert_array_equal(_run(q, y)[0], _run(p, y)[0], strict=True)


def test_arrays_created_inside_a_staged_function_can_be_written_into() -> None:
    # creation functions give staged constants (folded into the program), so library
    # code's ``out = xp.zeros(n); out[k] = x`` stages like eager code runs
    import xpgrad as _x

    def f(x: Any) -> Any:
        xp = x.__array_namespace__()
        out = xp.zeros(3)
        out[1:] = x[:2] * 2.0
        n = int(xp.sum(xp.ones(2)))  # a constant converts to a number
        return out * n

    j = _x.jit(f)
    for x in (np.arange(3.0), np.ones(3)):
        np.testing.assert_array_equal(j(x), f(x))
    (g,) = _x.gradient(lambda x: np.sum(j(x) ** 2), np.arange(3.0))
    (want,) = _x.gradient(lambda x: np.sum(f(x) ** 2), np.arange(3.0))
    np.testing.assert_array_equal(g, want)
    assert "const" in j.lower(np.ones(3)).as_text()


# -- the backends' lowering hook ---------------------------------------------------


@pytest.fixture
def strict_with_lower_hook() -> Any:
    """array-api-strict's arrays handled by a stand-in adapter with a ``lower`` hook.

    The hook records its calls and wraps xpgrad's function in one that counts its
    replays and adds 1 to each output, so a test can tell its callable ran.
    """
    import xpgrad.backends as B

    StrictArray = type(strict.asarray(0.0))
    calls: dict[str, list] = {"lower": [], "replays": []}

    class Adapter:
        name = "strict_lowering"

        def __init__(self) -> None:
            self.capabilities = {"inplace": True, "float64": True, "complex": True, "lazy": False}

        def is_array(self, x: Any) -> bool:
            return isinstance(x, StrictArray)

        def namespace(self, x: Any) -> Any:
            return strict

        def to_host(self, x: Any) -> Any:
            return np.from_dlpack(x)

        def lower(self, program: Program, fn: Callable) -> Callable | None:
            calls["lower"].append((program, fn))
            if getattr(self, "decline", False):
                return None

            def compiled(*args: Any) -> tuple:
                calls["replays"].append(len(args))
                return tuple(o + 1.0 for o in fn(*args))

            return compiled

    adapter = Adapter()
    B.disable("array_api_strict")
    B.register(adapter)
    try:
        yield adapter, calls
    finally:
        B.unregister(adapter.name)
        B.enable("array_api_strict")


def test_the_lower_hook_is_called_once_per_signature_and_its_callable_replays(
    strict_with_lower_hook: Any,
) -> None:
    _, calls = strict_with_lower_hook
    jf = xpgrad.jit(lambda x: xpgrad.gradient(f_scalar, x)[0])
    x = _data(strict, 4, "float64")
    first = jf(x)  # stages: the first result is the staged computation's own
    assert len(calls["lower"]) == 1 and calls["replays"] == []
    program, fn = calls["lower"][0]
    assert isinstance(program, Program) and program is jf.lower(x).program
    assert fn is jf.lower(x).fn and fn.source.startswith("def program(v0):")
    want = xpgrad.gradient(f_scalar, x)[0]
    assert_same_bits(first, want)
    for shift in (0.1, 0.2):  # replays go through the hook's callable
        y = _data(strict, 4, "float64", shift)
        assert_same_bits(jf(y), xpgrad.gradient(f_scalar, y)[0] + 1.0)
    assert calls["replays"] == [1, 1] and len(calls["lower"]) == 1
    jf(_data(strict, 5, "float64"))  # a new signature: lowered once more
    jf(_data(strict, 5, "float64", 0.3))
    assert len(calls["lower"]) == 2 and calls["replays"] == [1, 1, 1]
    assert jf.lower(x).run is not jf.lower(x).fn


def test_a_lower_hook_that_declines_keeps_xpgrads_function(strict_with_lower_hook: Any) -> None:
    adapter, calls = strict_with_lower_hook
    adapter.decline = True
    jf = xpgrad.jit(f_vector)
    for shift in (0.0, 0.4):
        x = _data(strict, 3, "float64", shift)
        assert_same_bits(jf(x), f_vector(x))
    assert len(calls["lower"]) == 1 and calls["replays"] == []
    assert jf.lower(x).run is jf.lower(x).fn


def test_a_lower_hook_that_returns_no_callable_is_named(strict_with_lower_hook: Any) -> None:
    adapter, _ = strict_with_lower_hook
    adapter.lower = lambda program, fn: "compiled"
    with pytest.raises(TypeError, match=r"'strict_lowering' returned str, not a callable"):
        xpgrad.jit(f_vector)(_data(strict, 3, "float64"))


def test_a_program_of_numbers_only_asks_no_backend(strict_with_lower_hook: Any) -> None:
    _, calls = strict_with_lower_hook
    jf = xpgrad.jit(lambda a: a * 2.0)
    assert jf(3.0) == 6.0 and jf(3.0) == 6.0
    assert calls["lower"] == []
