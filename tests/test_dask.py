"""Dask arrays in, Dask arrays out, nothing computed; on the default scheduler and a cluster.

Every transformation is run under ``forbid_compute``: a scheduler that raises,
so any compute xpgrad did not announce fails the test (array-api-extra's
``lazy_xp_function`` idea). Results are then computed here and compared with
the same derivative taken on NumPy arrays (the sibling backend) or by hand.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import array_api_compat  # noqa: E402

import xpgrad  # noqa: E402

pytestmark = pytest.mark.dask


class UnplannedCompute(AssertionError):
    pass


@contextlib.contextmanager
def forbid_compute() -> Iterator[None]:
    """Fail on any Dask compute inside the block."""

    def scheduler(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        raise UnplannedCompute("xpgrad computed a Dask graph it was asked only to build")

    with dask.config.set(scheduler=scheduler):
        yield


@contextlib.contextmanager
def count_computes() -> Iterator[list]:
    """Count Dask computes inside the block (they still run, synchronously)."""
    calls: list = []

    def scheduler(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        calls.append(keys)
        return dask.get(dsk, keys, **kwargs)

    with dask.config.set(scheduler=scheduler):
        yield calls


def xp_of(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def f_vec(x: Any) -> Any:
    """The scale benchmark's function: cumulative_sum(sin(x)) * flip(x)."""
    xp = xp_of(x)
    return xp.cumulative_sum(xp.sin(x)) * xp.flip(x, axis=0)


def f_scalar(x: Any) -> Any:
    xp = xp_of(x)
    return xp.sum(xp.sin(x) ** 3 + x * xp.roll(x, 1))


XN = np.linspace(-0.9, 1.3, 10)


@pytest.fixture
def x() -> Any:
    return da.from_array(XN, chunks=4)


def as_np(v: Any) -> Any:
    return np.asarray(v.compute()) if isinstance(v, da.Array) else np.asarray(v)


def assert_dask_close(got: Any, want: Any) -> None:
    assert isinstance(got, da.Array), f"expected a Dask array, got {type(got).__name__}"
    np.testing.assert_allclose(as_np(got), want, rtol=1e-10, atol=1e-12)


# -- the test helper itself -----------------------------------------------------------


def test_forbid_compute_catches_a_compute(x: Any) -> None:
    with forbid_compute(), pytest.raises(UnplannedCompute):
        float(x.sum())


# -- first order -------------------------------------------------------------------------


def test_gradient_is_lazy(x: Any) -> None:
    with forbid_compute():
        (g,) = xpgrad.gradient(f_scalar, x)
    assert_dask_close(g, xpgrad.gradient(f_scalar, XN)[0])


def test_withgradient_pullback_jvp_are_lazy(x: Any) -> None:
    with forbid_compute():
        val, (g,) = xpgrad.withgradient(f_scalar, x)
        y, back = xpgrad.pullback(f_vec, x)
        (ct,) = back(y)
        _, dy = xpgrad.jvp(f_vec, (x,), (x,))
    assert_dask_close(val, f_scalar(XN))
    assert_dask_close(g, xpgrad.gradient(f_scalar, XN)[0])
    assert_dask_close(ct, xpgrad.pullback(f_vec, XN)[1](f_vec(XN))[0])
    assert_dask_close(dy, xpgrad.jvp(f_vec, (XN,), (XN,))[1])


def test_integer_indexing_with_repeats_is_lazy(x: Any) -> None:
    """The pullback of x[idx] scatter-adds (Dask adapter: bincount), lazily."""
    idx = np.array([0, 3, 3, 9, 0, 0])

    def f(v: Any) -> Any:
        xp = xp_of(v)
        return xp.sum(v[xp.asarray(idx)] ** 2)

    with forbid_compute():
        (g,) = xpgrad.gradient(f, x)
    want = np.zeros_like(XN)
    np.add.at(want, idx, 2 * XN[idx])
    assert_dask_close(g, want)


def test_vmap_is_lazy(x: Any) -> None:
    xs = da.stack([x, 2 * x, -x])
    with forbid_compute():
        out = xpgrad.vmap(f_vec)(xs)
    assert_dask_close(out, np.stack([f_vec(v) for v in (XN, 2 * XN, -XN)]))


# -- Jacobians and Hessians ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_is_lazy_and_chunked(x: Any, mode: str) -> None:
    with forbid_compute():
        (J,) = xpgrad.jacobian(f_vec, x, mode=mode, chunk_size=3)
    # the basis chunks of 3 directions are Dask chunks of the result
    axis = 0 if mode == "reverse" else 1
    assert J.chunks[axis] == (3, 3, 3, 1)
    n = XN.size
    c, r = np.cumsum(np.sin(XN)), XN[::-1]
    want = np.tril(np.ones((n, n))) * np.cos(XN)[None, :] * r[:, None]
    want[np.arange(n), n - 1 - np.arange(n)] += c
    assert_dask_close(J, want)


def test_reverse_jacobian_default_chunks_follow_the_input(x: Any) -> None:
    with forbid_compute():
        (J,) = xpgrad.jacobian(f_vec, x, mode="reverse")
    assert J.numblocks[0] > 1 and J.numblocks[1] > 1
    assert_dask_close(J, xpgrad.jacobian(f_vec, XN, mode="reverse")[0])


def test_hessians_are_lazy(x: Any) -> None:
    with forbid_compute():
        H = xpgrad.hessian(f_scalar, x, chunk_size=4)
        Hr = xpgrad.hessian_reverse(f_scalar, x, chunk_size=4)
        (d,) = xpgrad.diaghessian(f_scalar, x, chunk_size=4)
        hv = xpgrad.hvp(f_scalar, x, x)
    want = xpgrad.hessian(f_scalar, XN)
    assert_dask_close(H, want)
    assert_dask_close(Hr, want)
    assert_dask_close(d, np.diag(want))
    assert_dask_close(hv, want @ XN)


def test_withjacobian_is_lazy(x: Any) -> None:
    with forbid_compute():
        val, (J,) = xpgrad.withjacobian(f_vec, x)
    assert_dask_close(val, f_vec(XN))
    assert_dask_close(J, xpgrad.jacobian(f_vec, XN)[0])


# -- utilities ---------------------------------------------------------------------------


def test_utilities_are_lazy(x: Any) -> None:
    def layer(h: Any, w: Any) -> Any:
        return xp_of(h).tanh(h * w)

    def with_buffer(v: Any) -> Any:
        xp = xp_of(v)
        buf = xpgrad.Buffer(v, 2 * v.shape[0])
        buf[0:10] = v * v
        buf[10:20] = xp.sin(v)
        return xp.sum(buf.copy())

    with forbid_compute():
        (g1,) = xpgrad.gradient(lambda w: xp_of(w).sum(xpgrad.checkpointed(layer, w, w)), x)
        (g2,) = xpgrad.gradient(lambda v: xp_of(v).sum(xpgrad.forwarddiff(f_vec, v)), x)
        (g3,) = xpgrad.gradient(lambda v: xp_of(v).sum(xpgrad.ignore_derivatives(v) * v), x)
        (g4,) = xpgrad.gradient(with_buffer, x)
    assert_dask_close(g1, (1 - np.tanh(XN * XN) ** 2) * 2 * XN)
    assert_dask_close(g2, xpgrad.gradient(lambda v: np.sum(f_vec(v)), XN)[0])
    assert_dask_close(g3, XN)
    assert_dask_close(g4, 2 * XN + np.cos(XN))


def test_implicit_params_are_lazy(x: Any) -> None:
    w = xpgrad.param(x)
    with forbid_compute():
        gs = xpgrad.gradient(lambda: xp_of(w).sum(w * w * w), xpgrad.Params([w]))
    assert_dask_close(gs[w], 3 * XN ** 2)


# -- where a compute is forced, by the standard ----------------------------------------------


def test_bool_of_a_traced_value_computes_once(x: Any) -> None:
    """``if`` on an array needs its value: the one documented compute."""

    def f(v: Any) -> Any:
        xp = xp_of(v)
        return xp.sum(v * v) if xp.sum(v) > 0 else xp.sum(v)

    with count_computes() as calls:
        (g,) = xpgrad.gradient(f, x)
    assert len(calls) == 1
    assert_dask_close(g, 2 * XN)


def test_python_number_results_compute() -> None:
    """A derivative for a Python float argument is a Python float: computed by design."""
    y = da.from_array(np.array([1.0, 2.0]), chunks=1)
    with count_computes() as calls:
        gx, gy = xpgrad.gradient(lambda s, v: xp_of(v).sum(s * v), 3.0, y)
    assert gx == pytest.approx(3.0) and len(calls) == 1
    assert isinstance(gy, da.Array)


# -- a real distributed cluster ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[Any]:
    # Not the default client, and closed with this module: otherwise every later
    # dask computation in the worker process (docs examples writing files in their
    # own cwd, the leak tests counting live blocks) would run on, or beside, it.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="512MiB",
        dashboard_address=":0", silence_logs=40,
    ) as cluster, distributed.Client(cluster, set_as_default=False) as client:
        yield client


def test_jacobian_on_a_local_cluster(cluster_client: Any) -> None:
    n = 64
    xn = np.linspace(-1.0, 1.0, n)
    x = da.from_array(xn, chunks=16)
    with forbid_compute():
        (J,) = xpgrad.jacobian(f_vec, x, mode="reverse", chunk_size=16)
        total, diag = J.sum(), da.diagonal(J)
    assert J.numblocks == (4, 4)
    # computed by the cluster's two worker processes, block by block
    total, diag = cluster_client.compute([total, diag], sync=True)
    want = xpgrad.jacobian(f_vec, xn, mode="reverse")[0]
    np.testing.assert_allclose(total, want.sum(), rtol=1e-10)
    np.testing.assert_allclose(diag, np.diag(want), rtol=1e-10, atol=1e-12)
    workers = cluster_client.scheduler_info()["workers"]
    assert len(workers) == 2


def test_gradient_and_hessian_on_a_local_cluster(cluster_client: Any) -> None:
    x = da.from_array(XN, chunks=5)
    with forbid_compute():
        (g,) = xpgrad.gradient(f_scalar, x)
        H = xpgrad.hessian(f_scalar, x)
    g, H = cluster_client.compute([g, H], sync=True)
    np.testing.assert_allclose(g, xpgrad.gradient(f_scalar, XN)[0], rtol=1e-10)
    np.testing.assert_allclose(H, xpgrad.hessian(f_scalar, XN), rtol=1e-10, atol=1e-12)
