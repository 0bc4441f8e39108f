"""The GPU run, stage by stage: ``bash benchmarks/gpu/run.sh [--dry-run]`` calls this.

Each stage is one subprocess with its own timeout (cut further so that the whole
run ends within ``--budget`` seconds), so a hang costs one stage, and a failing
stage does not stop the later ones. Everything lands in ``--out`` (``$OUT`` on
the device machine), in few files, since only 8 come back from it:

- ``stages.log``: every stage's command and full output;
- ``summary.md``: one line per stage (status, seconds, its last summary line);
- ``gpu.json``, ``gpu.md``: the benchmarks (``bench.py``); ``dask.json`` (``dask_cupy.py``).

``--dry-run`` runs the same stages on the CPU with tiny sizes (NumPy in place of
CuPy, torch on the CPU, JAX on the CPU where installed): the proof that the
flow works, which CI runs (tests/test_gpu_script.py). Standard library only:
the first stage installs what the others import.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WHEELS = HERE / "wheels"
#: the GPU machine's Python, as KINDS.md describes it (its pip has no index there)
TARGET = ("3.12", ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                   "manylinux2014_x86_64", "manylinux1_x86_64"])


def requirements(path: Path = HERE / "wheels.txt") -> list[str]:
    """The pinned requirements of ``wheels.txt`` (comments and blank lines dropped)."""
    out = []
    for line in path.read_text().splitlines():
        req = line.split("#", 1)[0].strip()
        if req:
            if "==" not in req:
                raise ValueError(f"{path}: {req!r} is not pinned (write name==version)")
            out.append(req)
    return out


@dataclass
class Stage:
    name: str
    #: the command (argv) for the GPU run and for the dry run; None: not run in that mode
    gpu: list[str] | None
    dry: list[str] | None
    timeout: float
    env: dict[str, str] = field(default_factory=dict)
    #: the dry run's environment in its place (CPU backends instead of CUDA ones)
    dry_env: dict[str, str] | None = None
    #: a reason to skip instead of running (checked just before the stage starts)
    skip_if: Callable[[bool], str | None] | None = None


def _pytest(*args: str) -> list[str]:
    # -p no:cacheprovider: the device's copy of the tree need not be written to
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]


def _no_wheels(dry: bool) -> str | None:
    if not glob.glob(str(WHEELS / "deps" / "*.whl")):
        return (f"no wheels in {WHEELS.relative_to(ROOT)}: run benchmarks/gpu/fetch_wheels.sh "
                f"here and carry that folder")
    return None


def stages(out: Path, site: Path) -> list[Stage]:
    py = sys.executable
    deps = str(WHEELS / "deps")
    plat = [a for p in TARGET[1] for a in ("--platform", p)]
    bench = [py, "-m", "benchmarks.gpu.bench", "--out", str(out)]
    # the dry run checks the carried set against wheels.txt for the device's Python
    # (every pin has a wheel for CPython 3.12 x86-64); it cannot import cp312 wheels here
    check = [py, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index",
             "--no-deps", "--only-binary=:all:", "--python-version", TARGET[0], *plat,
             "--target", str(site), "--find-links", deps, "-r", str(HERE / "wheels.txt")]
    install = ["bash", str(HERE / "install.sh"), str(site)]
    conf = ["conformance/test_rules.py", "--tb=line"]
    # on the device only (pytest-timeout is there): no single check may hold a stage
    each = ["-n", "8", "--timeout", "60"]
    return [
        Stage("install", install, check, 60, skip_if=_no_wheels),
        Stage("env", [py, "-m", "benchmarks.gpu.bench", "--env-only"],
              [py, "-m", "benchmarks.gpu.bench", "--env-only", "--dry-run"], 45),
        Stage("test_cupy", _pytest("tests/test_cupy.py"), _pytest("tests/test_cupy.py"), 60),
        Stage("docs_gpu", _pytest("tests/test_docs.py", "-k", "gpu.md"),
              _pytest("tests/test_docs.py", "-k", "gpu.md"), 45),
        # in the dry run, NumPy in CuPy's place: the same rules and checker, on the CPU
        Stage("conformance_cupy", _pytest(*conf, *each),
              _pytest(*conf, "-k", "tanh or matmul"), 90, {"XPGRAD_BACKENDS": "cupy"},
              {"XPGRAD_BACKENDS": "numpy"}),
        # a bench's --budget: no new column after it; the stage's timeout cuts a call
        Stage("bench", [*bench, "--rows", "W1,W3,W6,W7,W9", "--budget", "120"],
              [*bench, "--dry-run", "--rows", "W1,W3,W6,W7,W9"], 150),
        Stage("conformance_torch_cuda", _pytest(*conf, *each),
              _pytest(*conf, "-k", "tanh or matmul"), 80,
              {"XPGRAD_BACKENDS": "torch", "XPGRAD_TORCH_DEVICE": "cuda"},
              {"XPGRAD_BACKENDS": "torch", "XPGRAD_TORCH_DEVICE": "cpu"}),
        Stage("dask_cupy", [py, "-m", "benchmarks.gpu.dask_cupy", "--out", str(out),
                            "--processes"],
              [py, "-m", "benchmarks.gpu.dask_cupy", "--out", str(out), "--dry-run"], 60),
        Stage("bench_sparse", [*bench, "--rows", "sparse", "--budget", "30"],
              [*bench, "--dry-run", "--rows", "sparse"], 60),
    ]


def _last_line(text: str) -> str:
    """The stage's own summary: pytest's closing line, or the last non-empty line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.strip("= ").split(" ")[0].isdigit() and (" in " in ln or "passed" in ln):
            return ln.strip("= ")
    return lines[-1][:200] if lines else ""


def run_stage(st: Stage, dry: bool, timeout: float, env: dict, log: Path) -> dict:
    cmd = st.dry if dry else st.gpu
    if cmd is None:
        return {"status": "skipped", "why": "not part of this mode", "seconds": 0.0}
    why = st.skip_if(dry) if st.skip_if else None
    if why:
        return {"status": "skipped", "why": why, "seconds": 0.0}
    if timeout < 5:
        return {"status": "skipped", "why": "the run's time budget is spent", "seconds": 0.0}
    t0 = time.monotonic()
    with open(log, "a") as fh:
        fh.write(f"\n===== {st.name}: {' '.join(cmd)}  (timeout {timeout:.0f} s)\n")
        fh.flush()
        # a session of its own: on timeout the whole group goes (xdist workers, Dask's)
        extra = st.dry_env if dry and st.dry_env is not None else st.env
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, **extra}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            text, _ = proc.communicate(timeout=timeout)
            status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            text, _ = proc.communicate()
            status = f"timed out after {timeout:.0f} s"
        fh.write(text)
    seconds = time.monotonic() - t0
    tail = "\n".join(text.splitlines()[-15:])
    print(f"----- {st.name}: {status} in {seconds:.0f} s\n{tail}", flush=True)
    return {"status": status, "why": _last_line(text), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/gpu/run.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU (CI)")
    p.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "gpu-out"))
    p.add_argument("--budget", type=float, default=None,
                   help="seconds for the whole run (default 470 on the GPU, 300 dry)")
    p.add_argument("--only", default="", help="comma-separated stages to run (default: all)")
    p.add_argument("--site", default=None,
                   help="where the install stage puts the wheels (default /tmp/xpgrad-site; "
                        "a temporary folder in a dry run)")
    args = p.parse_args(argv)
    dry = args.dry_run
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="xpgrad-site-") if dry else None
    site = Path(args.site or tmp or "/tmp/xpgrad-site")
    budget = args.budget if args.budget is not None else (300.0 if dry else 470.0)
    deadline = time.monotonic() + budget
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    if not dry:  # later stages import what the install stage put there
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # JAX must not take 75% of the GPU at start: the other libraries share the device
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    log = out / "stages.log"
    log.write_text(f"benchmarks/gpu/run.sh {'--dry-run' if dry else ''}: budget {budget:.0f} s\n")
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    all_stages = stages(out, site)
    unknown = only - {s.name for s in all_stages}
    if unknown:
        raise SystemExit(f"--only: unknown stages {sorted(unknown)}; "
                         f"choose from {[s.name for s in all_stages]}")
    results = {}
    try:
        for st in all_stages:
            if only and st.name not in only:
                continue
            left = deadline - time.monotonic()
            results[st.name] = run_stage(st, dry, min(st.timeout, left), env, log)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"# GPU run{' (dry run on the CPU)' if dry else ''}: summary", "",
             "| stage | status | seconds | last line |", "|---|---|---|---|"]
    for name, r in results.items():
        why = r["why"].replace("|", "/")
        lines.append(f"| {name} | {r['status']} | {r['seconds']:.0f} | {why} |")
    text = "\n".join(lines) + "\n"
    (out / "summary.md").write_text(text)
    print("\n" + text, flush=True)
    return 0 if all(r["status"] in ("ok", "skipped") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
