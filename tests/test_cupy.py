"""CuPy arrays on a CUDA GPU; skipped cleanly where CuPy or a CUDA device is absent.

Each derivative is compared with the same one taken on NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B


def _cupy_with_a_device() -> Any:
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as exc:  # CUDA driver or runtime missing
        pytest.skip(f"CUDA unavailable: {exc}")
    return cupy


pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp() -> Any:
    return _cupy_with_a_device()


def ns(x: Any) -> Any:
    import array_api_compat

    return array_api_compat.array_namespace(x)


def f_vec(x: Any) -> Any:
    xp = ns(x)
    return xp.cumulative_sum(xp.sin(x)) * xp.flip(x, axis=0)


def f_scalar(x: Any) -> Any:
    xp = ns(x)
    return xp.sum(xp.tanh(x) ** 3 + x * xp.roll(x, 1))


XN = np.linspace(-0.9, 1.3, 7)


def close(cp: Any, got: Any, want: Any) -> None:
    assert isinstance(got, cp.ndarray), type(got)
    np.testing.assert_allclose(cp.asnumpy(got), want, rtol=1e-10, atol=1e-12)


def test_adapter(cp: Any) -> None:
    x = cp.ones(2)
    assert B.backend_of(x) is B.get("cupy")
    assert isinstance(B.to_host(x), np.ndarray)
    a = B.get("cupy").random(0)((2, 3), 0.0, 1.0, cp.float64)
    assert isinstance(a, cp.ndarray) and a.shape == (2, 3)


def test_scatter_add_with_repeats(cp: Any) -> None:
    got = B.scatter_add(cp, cp.zeros(4), (cp.asarray([0, 3, 3]),), cp.asarray([1.0, 2.0, 4.0]))
    close(cp, got, [1.0, 0.0, 0.0, 6.0])


def test_gradient_jacobian_hessian_vmap(cp: Any) -> None:
    x = cp.asarray(XN)
    close(cp, xpgrad.gradient(f_scalar, x)[0], xpgrad.gradient(f_scalar, XN)[0])
    for mode in ("reverse", "forward"):
        close(cp, xpgrad.jacobian(f_vec, x, mode=mode, chunk_size=3)[0],
              xpgrad.jacobian(f_vec, XN, mode=mode)[0])
    close(cp, xpgrad.hessian(f_scalar, x), xpgrad.hessian(f_scalar, XN))
    close(cp, xpgrad.vmap(f_vec)(cp.stack([x, -x])), np.stack([f_vec(XN), f_vec(-XN)]))


def test_jit_replays_equal_eager_on_cupy(cp: Any) -> None:
    # issue 17: staged programs on CuPy (run by benchmarks/gpu/run.sh on a GPU)
    x = cp.asarray([0.3, -1.2, 0.7])
    for api in (
        lambda x: xpgrad.gradient(f_scalar, x)[0],
        lambda x: xpgrad.jacobian(f_vec, x)[0],
        lambda x: xpgrad.hessian(f_scalar, x),
    ):
        staged = xpgrad.jit(api)
        want = api(x)
        for _ in range(2):  # the first call stages, the second replays
            got = staged(x)
            assert type(got) is type(want) and got.shape == want.shape
            close(cp, got, cp.asnumpy(want))
        assert staged.trace_count == 1
