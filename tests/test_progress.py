"""``progress=True`` on the chunked Jacobians and Hessians (src/xpgrad/api/_chunks.py).

tqdm is replaced by a recorder, so the tests see exactly which totals and
updates the chunk loops report, and that the results do not change.
"""

from __future__ import annotations

import sys
import types
from typing import Any, ClassVar

import array_api_compat
import numpy as np
import pytest

import xpgrad


class Recorder:
    """Stands in for ``tqdm.auto.tqdm``: records the bars made and their updates."""

    bars: ClassVar[list[Recorder]] = []

    def __init__(self, total: int, desc: str, **kwargs: Any) -> None:
        self.total, self.desc, self.updates, self.closed = total, desc, [], False
        Recorder.bars.append(self)

    def update(self, n: int = 1) -> None:
        self.updates.append(n)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> list[Recorder]:
    Recorder.bars = []
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=Recorder))
    return Recorder.bars


def f_vec(x: Any) -> Any:
    xp = array_api_compat.array_namespace(x)
    return xp.cumulative_sum(xp.sin(x)) * xp.flip(x)


def f_scalar(x: Any) -> Any:
    return np.sum(np.sin(x) ** 3 + x * np.roll(x, 1))


X = np.linspace(-0.9, 1.3, 10)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_reports_each_chunk(bars: list, mode: str) -> None:
    want = xpgrad.jacobian(f_vec, X, mode=mode)[0]
    got = xpgrad.jacobian(f_vec, X, mode=mode, chunk_size=4, progress=True)[0]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    (bar,) = bars
    assert bar.total == 10 and bar.updates == [4, 4, 2] and bar.closed
    assert bar.desc == "jacobian"


def test_forward_jacobian_of_two_arguments_shares_one_bar(bars: list) -> None:
    xpgrad.jacobian(
        lambda a, b: a * b[0] + b[1],
        X,
        np.array([2.0, 3.0]),
        mode="forward",
        chunk_size=3,
        progress=True,
    )
    (bar,) = bars
    assert bar.total == 12 and sum(bar.updates) == 12 and len(bar.updates) == 4 + 1


def test_withjacobian_and_params(bars: list) -> None:
    xpgrad.withjacobian(f_vec, X, chunk_size=5, progress=True)
    w = xpgrad.param(X.copy())
    J = xpgrad.jacobian(lambda: f_vec(w), xpgrad.Params([w]), chunk_size=5, progress=True)
    np.testing.assert_allclose(J[w], xpgrad.jacobian(f_vec, X)[0], rtol=1e-14)
    assert [b.updates for b in bars] == [[5, 5], [5, 5]]


@pytest.mark.parametrize("fn", ["hessian", "hessian_reverse"])
def test_hessians_report_each_chunk(bars: list, fn: str) -> None:
    H = getattr(xpgrad, fn)(f_scalar, X, chunk_size=3, progress=True)
    np.testing.assert_allclose(H, xpgrad.hessian(f_scalar, X), rtol=1e-12, atol=1e-14)
    (bar,) = bars
    assert bar.total == 10 and bar.updates == [3, 3, 3, 1] and bar.desc == fn and bar.closed


def test_diaghessian_counts_every_argument(bars: list) -> None:
    d = xpgrad.diaghessian(
        lambda x, s, y: np.sum(x**3) * y, X, "skip", 2.0, chunk_size=4, progress=True
    )
    np.testing.assert_allclose(d[0], 12 * X, rtol=1e-12)
    assert d[1] is None and d[2] == 0.0
    (bar,) = bars
    assert bar.total == 11 and bar.updates == [4, 4, 2, 1] and bar.closed


def test_off_by_default_and_no_bar(bars: list) -> None:
    xpgrad.jacobian(f_vec, X, chunk_size=2)
    xpgrad.hessian(f_scalar, X, chunk_size=2, progress=False)
    assert bars == []


def test_bar_is_closed_when_the_function_fails(bars: list) -> None:
    def bad(x: Any) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        xpgrad.hessian(bad, X, progress=True)
    assert all(b.closed for b in bars)


def test_progress_without_tqdm_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install tqdm.*progress=False"):
        xpgrad.jacobian(f_vec, X, progress=True)


def test_progress_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="progress must be True or False"):
        xpgrad.hessian(f_scalar, X, progress="yes")  # type: ignore[arg-type]


def test_real_tqdm_writes_a_bar(capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("tqdm")
    xpgrad.jacobian(f_vec, X, chunk_size=3, progress=True)
    assert "jacobian" in capsys.readouterr().err


def test_real_tqdm_keeps_its_final_line(capsys: pytest.CaptureFixture) -> None:
    # tqdm users expect the finished bar to stay on screen (leave=True), not to be erased
    pytest.importorskip("tqdm")
    xpgrad.jacobian(f_vec, X, chunk_size=3, progress=True)
    err = capsys.readouterr().err
    final = err.rstrip("\n").rsplit("\r", 1)[-1]
    assert err.endswith("\n"), repr(err)
    assert final.startswith("jacobian") and f"{X.size}/{X.size}" in final, repr(err)


def test_dask_bar_builds_the_graph_only(bars: list) -> None:
    da = pytest.importorskip("dask.array")
    import dask

    def no_compute(dsk: Any, keys: Any, **kw: Any) -> Any:
        raise AssertionError("computed")

    x = da.from_array(X, chunks=5)
    with dask.config.set(scheduler=no_compute):
        (J,) = xpgrad.jacobian(f_vec, x, mode="reverse", chunk_size=5, progress=True)
    (bar,) = bars
    assert "Dask" in bar.desc and bar.updates == [10]
    np.testing.assert_allclose(J.compute(), xpgrad.jacobian(f_vec, X)[0], rtol=1e-12)
