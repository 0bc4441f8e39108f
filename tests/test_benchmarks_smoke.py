"""The benchmark suite still runs end to end (no timing is asserted: speed is measured
in ``benchmarks/``, never tested)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (ROOT / "benchmarks" / "__main__.py").exists(),
                    reason="benchmarks/ is not part of this checkout")
def test_quick_w2_without_peers(tmp_path: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "W2", "--peers", "none",
         "--no-plots", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "W2 tiny_ops_grad" in proc.stdout
    record = json.loads((tmp_path / "latest.json").read_text())
    assert (tmp_path / "latest.md").exists()
    assert [r["row"] for r in record["rows"]] == ["W2 tiny_ops_grad"]
    row = record["rows"][0]
    # xpgrad ran and was timed; every peer is reported as skipped, not silently dropped
    assert row["libs"]["xpgrad"]["status"] == "ok"
    assert row["libs"]["xpgrad"]["median_s"] > 0
    for peer in ("jax eager", "jax jit", "torch.func", "autograd"):
        assert row["libs"][peer]["status"] == "skipped"
    assert row["ratio_to_forward"]["xpgrad"] > 0
    assert record["machine"]["versions"]["numpy"]


@pytest.mark.skipif(not (ROOT / "benchmarks" / "compare.py").exists(),
                    reason="benchmarks/ is not part of this checkout")
def test_compare_runs_both_trees_and_reports_each_row() -> None:
    # this tree against itself: the table has one line per row and a change column
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "--base-src", str(ROOT / "src"),
         "--rows", "W2", "--reps", "1", "--seconds", "0.01"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("| W2")]
    assert len(lines) == 1
    base, this, change = (c.strip() for c in lines[0].split("|")[2:5])
    assert float(base) > 0 and float(this) > 0 and change.endswith("%")
    # the staged rows, with the allocator tuned for "this" only: the title says both
    jit = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "--base-src", str(ROOT / "src"),
         "--rows", "W2", "--reps", "1", "--seconds", "0.01", "--impl", "xpgrad jit",
         "--tune-allocator", "this"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert jit.returncode == 0, jit.stderr[-3000:]
    assert "allocator tuned for this only, xpgrad jit" in jit.stdout
    assert len([ln for ln in jit.stdout.splitlines() if ln.startswith("| W2")]) == 1
    # a base that is not a source folder is refused, not replaced by the installed copy
    bad = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", "--base-src", str(ROOT / "no-such-src")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert bad.returncode == 2 and "not a source folder" in bad.stderr


def test_gradient_matches_independent_numpy_derivative() -> None:
    """W2's xpgrad gradient equals the chain rule written out by hand in NumPy."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks._peers import Peers
        from benchmarks.workloads import WORKLOADS
    finally:
        sys.path.remove(str(ROOT))
    (case,) = WORKLOADS["W2"](Peers(set()))
    got = case.impls["xpgrad"]()
    x = np.linspace(-1.0, 1.0, 8)
    d = np.ones_like(x)
    for _ in range(200):  # d/dx of x -> sin(x)*0.5 + 0.1*x*x + 0.01, chained
        d = d * (0.5 * np.cos(x) + 0.2 * x)
        x = np.sin(x) * 0.5 + x * x * 0.1 + 0.01
    np.testing.assert_allclose(got, d, rtol=1e-10)
