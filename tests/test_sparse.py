"""Sparse Jacobians and Hessians equal the dense ones; pattern detection; the API's edges."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from array_api_compat import array_namespace

import xpgrad
import xpgrad.backends as B
from xpgrad.api.sparse import clear_cache

BACKENDS = [b for b in ("numpy", "array_api_strict", "torch") if b in B.available()]


@pytest.fixture(params=BACKENDS)
def xp(request: Any) -> Any:
    return B.get(request.param).namespace(None)


def host(a: Any) -> np.ndarray:
    return np.asarray(B.to_host(a))


def point(xp: Any, n: int, seed: int = 0) -> Any:
    return xp.asarray(np.random.default_rng(seed).uniform(0.5, 1.5, n))


def dense(S: Any) -> np.ndarray:
    """The sparse result as a NumPy matrix, built by hand (no todense)."""
    out = np.zeros(tuple(S.shape), dtype=host(S.values).dtype)
    out[host(S.rows), host(S.cols)] = host(S.values)
    return out


def assert_equals_dense(f: Any, x: Any, **kw: Any) -> Any:
    (J,) = xpgrad.jacobian(f, x)
    J = host(J).reshape(-1, math.prod(x.shape))
    for mode in ("reverse", "forward", "auto"):  # returns auto's result
        S = xpgrad.sparse_jacobian(f, x, mode=mode, **kw)
        np.testing.assert_allclose(dense(S), J, rtol=1e-12, atol=1e-12)
        assert S.nnz >= int((J != 0).sum())
    return S


# -- test functions, written against the standard --------------------------------------------


# the benchmark's workloads (benchmarks/sparse_bench.py), so tests and figures
# measure the same functions: a tridiagonal map and a 2-D Poisson residual with
# zero Dirichlet boundary, stencils written with slicing
from benchmarks.sparse_bench import laplacian as laplacian_residual  # noqa: E402
from benchmarks.sparse_bench import tridiagonal  # noqa: E402


def elementwise_map(x: Any) -> Any:
    xp = x.__array_namespace__()
    c = xp.reshape(xp.linspace(0.0, 1.0, 3, dtype=x.dtype), (3, 1))
    return xp.exp(xp.reshape(x, (1, -1))) * c / (1 + x ** 2)


def reductions(x: Any) -> Any:
    xp = x.__array_namespace__()
    a = xp.reshape(x, (3, 4))
    return xp.concat([xp.sum(a, axis=1), xp.mean(a ** 2, axis=0), xp.prod(a, axis=1),
                      xp.max(a, axis=0), xp.reshape(xp.var(a), (1,))])


def cumulative(x: Any) -> Any:
    xp = x.__array_namespace__()
    return xp.reshape(xp.cumulative_sum(xp.reshape(x, (3, 4)) ** 2, axis=1), (-1,))


def banded_matrix(xp: Any, n: int) -> Any:
    A = np.diag(np.full(n, 2.0)) + np.diag(np.full(n - 2, -1.0), 2) + np.diag(np.ones(n - 1), -1)
    return xp.asarray(A)


# -- sparse_jacobian equals jacobian ----------------------------------------------------------


def test_tridiagonal(xp: Any) -> None:
    S = assert_equals_dense(tridiagonal, point(xp, 9))
    assert S.npasses == 3


def test_laplacian_residual(xp: Any) -> None:
    S = assert_equals_dense(laplacian_residual, point(xp, 36))
    assert S.nnz == 5 * 36 - 4 * 6  # 5 per row, minus the boundary's missing neighbours


def test_elementwise_with_broadcasting(xp: Any) -> None:
    S = assert_equals_dense(elementwise_map, point(xp, 5))
    assert S.npasses == 1  # a diagonal in each block: one seed of ones


def test_reductions(xp: Any) -> None:
    assert_equals_dense(reductions, point(xp, 12))


def test_cumulative_sum(xp: Any) -> None:
    S = assert_equals_dense(cumulative, point(xp, 12))
    assert S.nnz == 3 * (1 + 2 + 3 + 4)


def test_matmul_with_a_constant_sparse_matrix(xp: Any) -> None:
    A = banded_matrix(xp, 8)

    def f(x: Any) -> Any:
        xn = x.__array_namespace__()
        return xn.matmul(A, xn.tanh(x))  # not A @ ...: array-api-strict refuses raw @ tracer

    S = assert_equals_dense(f, point(xp, 8))
    assert S.nnz == int((host(A) != 0).sum())  # exactly A's nonzeros
    assert S.npasses == 4


def test_block_structure_of_a_batched_matmul(xp: Any) -> None:
    W = xp.asarray(np.random.default_rng(1).normal(size=(3, 3)))

    def f(x: Any) -> Any:
        xn = x.__array_namespace__()
        return xn.reshape(xn.reshape(x, (4, 3)) @ W, (-1,))

    S = assert_equals_dense(f, point(xp, 12))
    assert S.nnz == 4 * 9 and S.npasses == 3


def test_where_with_a_constant_condition(xp: Any) -> None:
    boundary = xp.asarray(np.array([True] + [False] * 6 + [True]))

    def f(x: Any) -> Any:
        xn = x.__array_namespace__()
        return xn.where(boundary, x, tridiagonal(x))

    S = assert_equals_dense(f, point(xp, 8))
    assert S.nnz == 2 + 3 * 6  # boundary rows are identity rows


def test_dense_fallback_for_a_primitive_without_pattern_rule(xp: Any) -> None:
    @xpgrad.custom_rule
    def cube_sum(v: Any) -> Any:
        return array_namespace(v).sum(v ** 3, axis=-1, keepdims=True)

    @cube_sum.defjvp
    def _jvp(primals: tuple, tangents: tuple) -> tuple:
        (v,), (t,) = primals, tangents
        tn = array_namespace(t)  # the tangent first: it may be traced, v is not
        return cube_sum(v), tn.sum(t * (3 * v * v), axis=-1, keepdims=True)

    @cube_sum.defvjp
    def _vjp(primals: tuple, needs: tuple) -> tuple:
        (v,) = primals
        return cube_sum(v), lambda ct: (ct * (3 * v * v),)

    def f(x: Any) -> Any:
        return tridiagonal(cube_sum(x) * x)

    x = point(xp, 6)
    # a custom_rule function is traced through its body: exact pattern, no fallback
    exact = xpgrad.jacobian_sparsity(f, x)
    assert exact.nnz == 36 and not exact.fallbacks  # sum over the last axis couples all
    # without a pattern rule at all, the conservative dense fallback applies
    cube_sum.prim.pattern = None
    P = xpgrad.jacobian_sparsity(f, x)
    assert P.nnz == 36 and cube_sum.prim.name in P.fallbacks
    assert_equals_dense(f, x)


def test_custom_rule_pattern_comes_from_its_body(xp: Any) -> None:
    @xpgrad.custom_rule
    def neighbours(v: Any) -> Any:
        return v[1:] * v[:-1]

    @neighbours.defvjp
    def _vjp(primals: tuple, needs: tuple) -> tuple:
        (v,) = primals
        return neighbours(v), lambda ct: (None,)

    P = xpgrad.jacobian_sparsity(neighbours, point(xp, 6))
    assert P.nnz == 10 and not P.fallbacks  # two entries per output row


def test_output_independent_of_x(xp: Any) -> None:
    S = xpgrad.sparse_jacobian(lambda x: x.__array_namespace__().ones((3,)) + 1.0, point(xp, 4))
    assert S.nnz == 0 and S.shape == (3, 4) and S.npasses == 0
    assert not np.any(host(S.todense()))


def test_scalar_output_and_scalar_input(xp: Any) -> None:
    S = assert_equals_dense(lambda x: x.__array_namespace__().sum(x ** 2), point(xp, 5))
    assert S.shape == (1, 5)
    S = xpgrad.sparse_jacobian(lambda t: t ** 3, 2.0)
    assert S.shape == (1, 1) and float(host(S.values)[0]) == 12.0


# -- the number of passes does not grow with n ------------------------------------------------


def test_laplacian_colors_do_not_grow_with_the_grid() -> None:
    passes = {N: xpgrad.sparse_jacobian(laplacian_residual, point(np, N * N)).npasses
              for N in (6, 12, 24, 48)}
    assert set(passes.values()) == {7}, passes  # natural-order greedy on a 5-point stencil


def test_banded_colors_equal_the_bandwidth() -> None:
    for n in (10, 100, 1000):
        assert xpgrad.sparse_jacobian(tridiagonal, point(np, n)).npasses == 3


# -- sparse_hessian equals hessian --------------------------------------------------------------


def chain(x: Any) -> Any:
    xp = x.__array_namespace__()
    return xp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def laplacian_energy(x: Any) -> Any:
    xp = x.__array_namespace__()
    return xp.sum(laplacian_residual(x) ** 2) / 2 + xp.sum(xp.cos(x))


def arrow(x: Any) -> Any:
    xp = x.__array_namespace__()
    return x[0] * xp.sum(x[1:] ** 2) + xp.sum(xp.exp(x))


@pytest.mark.parametrize("f", [chain, laplacian_energy, arrow])
@pytest.mark.parametrize("coloring", ["auto", "star", "column"])
def test_sparse_hessian(xp: Any, f: Any, coloring: str) -> None:
    x = point(xp, 16)
    H = host(xpgrad.hessian(f, x))
    S = xpgrad.sparse_hessian(f, x, coloring=coloring)
    np.testing.assert_allclose(dense(S), H, rtol=1e-10, atol=1e-10)
    assert S.coloring in ("star", "column")


def test_star_coloring_needs_fewer_passes() -> None:
    x = point(np, 40)
    assert xpgrad.sparse_hessian(arrow, x, coloring="star").npasses == 2
    assert xpgrad.sparse_hessian(arrow, x, coloring="column").npasses == 40
    assert xpgrad.sparse_hessian(arrow, x).npasses == 2
    # the residual of a 5-point stencil squared: a 13-point Hessian pattern
    x = point(np, 144)
    star = xpgrad.sparse_hessian(laplacian_energy, x, coloring="star").npasses
    column = xpgrad.sparse_hessian(laplacian_energy, x, coloring="column").npasses
    assert star <= column


def test_hessian_sparsity_is_symmetric_and_exact_for_a_chain() -> None:
    P = xpgrad.hessian_sparsity(chain, point(np, 7))
    D = host(P.todense())
    assert (D == D.T).all()
    assert (D == (np.abs(np.subtract.outer(np.arange(7), np.arange(7))) <= 1)).all()


# -- the API: patterns, caching, conversions, errors --------------------------------------------


def test_given_patterns_skip_detection(xp: Any) -> None:
    x = point(xp, 10)
    P = xpgrad.jacobian_sparsity(tridiagonal, x)
    (J,) = xpgrad.jacobian(tridiagonal, x)
    for pattern in (P, (P.rows, P.cols, P.shape), (host(P.rows).tolist(),
                                                    host(P.cols).tolist(), (10, 10)),
                    P.to_scipy().tocsr()):
        calls = []

        def f(v: Any) -> Any:
            calls.append(type(v).__name__)
            return tridiagonal(v)

        S = xpgrad.sparse_jacobian(f, x, pattern=pattern)
        np.testing.assert_allclose(dense(S), host(J))
        assert "SparsityTracer" not in calls


def test_cache_detects_once() -> None:
    calls = []

    def f(v: Any) -> Any:
        calls.append(type(v).__name__)
        return tridiagonal(v)

    x = point(np, 10)
    for _ in range(3):
        xpgrad.sparse_jacobian(f, x, cache=True)
    assert calls.count("SparsityTracer") == 1
    xpgrad.sparse_jacobian(f, point(np, 11), cache=True)  # another shape: detected again
    assert calls.count("SparsityTracer") == 2
    clear_cache()
    xpgrad.sparse_jacobian(f, x, cache=True)
    assert calls.count("SparsityTracer") == 3


def test_conversions(xp: Any) -> None:
    x = point(xp, 9)
    S = xpgrad.sparse_jacobian(tridiagonal, x)
    np.testing.assert_allclose(host(S.todense()), dense(S))
    np.testing.assert_allclose(S.to_scipy().toarray(), dense(S))
    rows, cols, values, shape = S
    assert shape == (9, 9) and values.shape == rows.shape == cols.shape
    P = xpgrad.jacobian_sparsity(tridiagonal, x)
    assert (host(P.todense()) == (dense(S) != 0)).all()
    assert (P.to_scipy().toarray() == (dense(S) != 0)).all()


def test_chunks_give_the_same_result() -> None:
    x = point(np, 36)
    a = xpgrad.sparse_jacobian(laplacian_residual, x)
    for kw in ({"chunk_size": 1}, {"chunk_size": 3}, {"memory_budget": 4096}):
        b = xpgrad.sparse_jacobian(laplacian_residual, x, **kw)
        np.testing.assert_array_equal(host(b.values), host(a.values))
    h = xpgrad.sparse_hessian(laplacian_energy, x, chunk_size=2)
    np.testing.assert_allclose(dense(h), xpgrad.hessian(laplacian_energy, x), rtol=1e-10)


def test_errors() -> None:
    x = point(np, 5)
    with pytest.raises(ValueError, match="mode must be one of"):
        xpgrad.sparse_jacobian(tridiagonal, x, mode="sideways")
    with pytest.raises(ValueError, match="coloring must be one of"):
        xpgrad.sparse_hessian(chain, x, coloring="rainbow")
    with pytest.raises(TypeError, match="first argument must be the function"):
        xpgrad.sparse_jacobian(x, tridiagonal)
    with pytest.raises(TypeError, match="numeric array or a real number"):
        xpgrad.sparse_jacobian(tridiagonal, "abc")
    with pytest.raises(ValueError, match="shape"):
        xpgrad.sparse_jacobian(tridiagonal, x, pattern=([0], [0], (5, 4)))
    with pytest.raises(ValueError, match="outside the shape"):
        xpgrad.sparse_jacobian(tridiagonal, x, pattern=([0], [7], (5, 5)))
    with pytest.raises(TypeError, match="pattern must be"):
        xpgrad.sparse_jacobian(tridiagonal, x, pattern="dense")
    with pytest.raises(ValueError, match="f\\(x\\) has 5 elements"):
        xpgrad.sparse_jacobian(tridiagonal, x, pattern=([0], [0], (6, 5)))
    with pytest.raises(ValueError, match="scalar"):
        xpgrad.sparse_hessian(tridiagonal, x)


def test_too_dense_patterns_raise_a_clear_error() -> None:
    from xpgrad._core.sparsity import PatternTooLargeError
    from xpgrad.api import sparse_plan as sparse

    x = point(np, 50)
    f = lambda v: v * np.sum(v)  # noqa: E731  (dense: 2500 entries)
    old = sparse.MAX_NNZ
    sparse.MAX_NNZ = 1000
    try:
        with pytest.raises(PatternTooLargeError, match="too dense"):
            xpgrad.jacobian_sparsity(f, x)
    finally:
        sparse.MAX_NNZ = old


def test_nested_in_a_gradient() -> None:
    """The sparse Jacobian's values are differentiable like any other computation."""
    def g(x: Any) -> Any:
        return np.sum(xpgrad.sparse_jacobian(tridiagonal, x).values ** 2)

    x = point(np, 6)
    expect = xpgrad.gradient(lambda v: np.sum(xpgrad.jacobian(tridiagonal, v)[0] ** 2), x)[0]
    np.testing.assert_allclose(xpgrad.gradient(g, x)[0], expect, rtol=1e-10)


@pytest.mark.skipif("dask" not in B.available(), reason="dask is not installed")
def test_dask() -> None:
    import dask.array as da

    from dask.callbacks import Callback

    xn = point(np, 36)
    x = da.from_array(xn, chunks=12)
    computes = []

    class Count(Callback):
        def _start(self, dsk: Any) -> None:
            computes.append(len(dsk))

    with Count():  # detection works on the host, the passes build a graph
        S = xpgrad.sparse_jacobian(laplacian_residual, x)
    assert computes == [] and isinstance(S.values, da.Array)
    (J,) = xpgrad.jacobian(laplacian_residual, xn)
    np.testing.assert_allclose(dense(S), J, rtol=1e-12)
    H = xpgrad.sparse_hessian(laplacian_energy, x)
    np.testing.assert_allclose(dense(H), xpgrad.hessian(laplacian_energy, xn), rtol=1e-10)
