"""The GPU run (benchmarks/gpu/) works end to end on the CPU: its dry run, the wheel
list it carries, its stage runner, and the check that compares the columns.

No GPU and no network needed: the dry run uses NumPy where the GPU run uses CuPy
(and no peers, to stay well under a minute on two cores).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "benchmarks" / "gpu"

pytestmark = pytest.mark.skipif(not (GPU / "run.sh").exists(),
                                reason="benchmarks/ is not part of this checkout")


@pytest.fixture(scope="module")
def gpu_modules():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.gpu import bench, stages

        yield stages, bench
    finally:
        sys.path.remove(str(ROOT))


# -- the wheels that travel to the GPU machine ------------------------------------------


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_wheel_list_parses_and_is_pinned(gpu_modules, tmp_path) -> None:
    stages, _ = gpu_modules
    reqs = stages.requirements()
    names = [_norm(r.split("==")[0]) for r in reqs]
    assert len(names) == len(set(names)), "one version of each (two stop the whole install)"
    assert {"array-api-compat", "optree", "array-api-strict", "dask", "distributed"} <= set(names)
    bad = tmp_path / "wheels.txt"
    bad.write_text("# a comment\noptree\n")
    with pytest.raises(ValueError, match="not pinned"):
        stages.requirements(bad)


def test_wheel_list_is_closed_over_dependencies(gpu_modules) -> None:
    """Every requirement of a carried package (CPython 3.12, dask's 'array' extra) is
    carried too or on the device already: --no-deps installs nothing else."""
    from packaging.requirements import Requirement

    stages, _ = gpu_modules
    carried = {_norm(r.split("==")[0]) for r in stages.requirements()}
    device = {_norm(line.strip()) for line in (GPU / "device_packages.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert {"numpy", "torch", "cupy-cuda13x", "jax", "pytest"} <= device
    missing = {}
    for name in sorted(carried):
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # not installed here: its metadata cannot be read (CI installs them all)
        for text in requires:
            req = Requirement(text)
            env = {"python_version": "3.12", "python_full_version": "3.12.3",
                   "sys_platform": "linux", "platform_system": "Linux",
                   "platform_machine": "x86_64", "implementation_name": "cpython"}
            wanted = any(req.marker is None or req.marker.evaluate({**env, "extra": extra})
                         for extra in ("", "array"))
            if wanted and _norm(req.name) not in carried | device:
                missing.setdefault(name, []).append(req.name)
    assert not missing, f"requirements neither carried nor on the device: {missing}"


# -- the dry run ---------------------------------------------------------------------------


def test_dry_run_runs_every_stage_and_writes_the_results(tmp_path) -> None:
    env = dict(os.environ, PYTHON=sys.executable, XPGRAD_GPU_PEERS="none", MPLBACKEND="Agg")
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(GPU / "run.sh"), "--dry-run", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = (tmp_path / "summary.md").read_text()
    rows = {ln.split("|")[1].strip(): ln.split("|")[2].strip()
            for ln in summary.splitlines() if ln.startswith("| ") and "---" not in ln}
    rows.pop("stage")
    assert list(rows) == ["install", "env", "test_cupy", "docs_gpu", "conformance_cupy", "bench",
                          "conformance_torch_cuda", "dask_cupy", "bench_sparse"]
    has_wheels = any((GPU / "wheels" / "deps").glob("*.whl"))
    assert rows.pop("install") == ("ok" if has_wheels else "skipped")
    assert set(rows.values()) == {"ok"}, summary
    assert "passed" in summary  # the conformance subset ran on NumPy
    record = json.loads((tmp_path / "gpu.json").read_text())
    assert record["dry_run"] is True
    by = {r["workload"]: r for r in record["rows"]}
    assert set(by) == {"W1", "W3", "W6", "W7", "W9", "sparse"}  # both bench stages merged
    for r in record["rows"]:
        assert r["libs"]["xpgrad numpy"]["status"] == "ok", r
        assert r["libs"]["xpgrad numpy"]["median_s"] > 0
        assert r["libs"]["torch.func"]["status"] == "skipped"
    assert by["sparse"]["jvp_check"] is True
    assert "peak_mib" in by["W9"]["libs"]["xpgrad numpy"]
    md_text = (tmp_path / "gpu.md").read_text()
    assert "dry run" in md_text and "W9 checkpoint_mem plain" in md_text
    dask = json.loads((tmp_path / "dask.json").read_text())
    assert [r["check"] for r in dask["runs"]] == ["jacobian", "hvp"]
    assert all(r["ok"] and r["lazy"] and r["chunk_type"] == "numpy.ndarray" for r in dask["runs"])
    log = (tmp_path / "stages.log").read_text()
    assert "===== bench_sparse" in log
    assert len(list(tmp_path.iterdir())) <= 8  # what comes back from the device's $OUT


def test_a_hanging_or_failing_stage_does_not_stop_the_next(gpu_modules, tmp_path,
                                                          monkeypatch) -> None:
    stages, _ = gpu_modules
    py = sys.executable

    def fake(out: Path, site: Path) -> list:
        return [
            stages.Stage("hang", None, [py, "-c", "import time; time.sleep(60)"], 5),
            stages.Stage("fail", None, [py, "-c", "raise SystemExit(3)"], 30),
            stages.Stage("pass", None, [py, "-c", "print('4 passed in 0.1s')"], 30),
            stages.Stage("gpu only", [py, "-c", "pass"], None, 30),
        ]

    monkeypatch.setattr(stages, "stages", fake)
    assert stages.main(["--dry-run", "--out", str(tmp_path)]) == 1
    summary = (tmp_path / "summary.md").read_text()
    assert "| hang | timed out after 5 s |" in summary
    assert "| fail | failed (exit 3) |" in summary
    assert "| pass | ok |" in summary and "4 passed in 0.1s" in summary
    assert "| gpu only | skipped |" in summary
    with pytest.raises(SystemExit, match="unknown stages"):
        stages.main(["--dry-run", "--out", str(tmp_path), "--only", "nope"])


# -- the benchmark's check between columns ------------------------------------------------


def test_fingerprint_reads_dicts_in_key_order(gpu_modules) -> None:
    _, bench = gpu_modules
    a = {"W1": np.arange(3.0), "b1": np.ones(2)}
    b = {"b1": np.ones(2), "W1": np.arange(3.0)}  # JAX returns dicts sorted by key
    np.testing.assert_array_equal(bench.summary(a), bench.summary(b))
    assert bench.summary(a)[0] == pytest.approx(np.sqrt(5.0))


def test_a_column_that_disagrees_is_reported_as_a_mismatch(gpu_modules, monkeypatch) -> None:
    _, bench = gpu_modules
    from benchmarks._harness import Settings

    P = bench.Platform(True, "none")
    P.columns = ["xpgrad numpy", "right", "wrong", "broken"]
    monkeypatch.setattr(P, "available", lambda col: None)
    monkeypatch.setattr(P, "lib_of", lambda col: "primary")
    x = np.linspace(0.0, 1.0, 50)

    class Fake(bench.Row):
        def make(self, P, col):
            if col == "broken":
                raise RuntimeError("no kernel")
            return lambda: np.cos(x) + (1e-3 if col == "wrong" else 0.0)

    res = bench.run_row(P, Fake("fake", "W0", 50, {}), Settings(repeats=1, min_time=0.0),
                        deadline=float("inf"))
    st = {c: e["status"] for c, e in res["libs"].items()}
    assert st == {"xpgrad numpy": "ok", "right": "ok", "wrong": "mismatch", "broken": "error"}
    assert "no kernel" in res["libs"]["broken"]["reason"]


# -- torch samples on a chosen device ------------------------------------------------------


def test_torch_samples_go_to_the_device_named_by_the_environment(monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("conformance_conftest",
                                                  ROOT / "conformance" / "conftest.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    import xpgrad.backends as B
    from xpgrad.rules import PRIMITIVES

    monkeypatch.setattr(conf, "_TORCH_DEVICE", "meta")  # a device every torch build has
    make = conf.Maker(B.get("torch"))
    for args, _ in make.samples(PRIMITIVES["take"]):
        for a in args:
            if isinstance(a, torch.Tensor):
                assert a.device.type == "meta"
    assert torch.get_default_device().type == "cpu"  # only the samples were placed
    monkeypatch.setattr(conf, "_TORCH_DEVICE", None)
    (args, _), *_ = conf.Maker(B.get("torch")).samples(PRIMITIVES["sin"])
    assert args[0].device.type == "cpu"
