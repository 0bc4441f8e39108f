"""W2 in instructions, counted by valgrind: ``python -m benchmarks.instructions``.

Timings on a shared machine drift by up to 2x; instruction counts (with a fixed
hash seed) vary by about 3% between runs of the same code, so run it a few
times and compare the spread before reading a small change. For each of W2's
NumPy forward, the bare NumPy tape (``benchmarks/bare_tape.py``) and xpgrad's
gradient, this runs the workload under ``valgrind --tool=callgrind`` twice,
``N`` times and zero times, and prints the difference per call: the cost of
one call with start-up and imports taken out, and its ratio to the forward.
Instructions are not seconds (NumPy's loops run more instructions per cycle
than the interpreter), but a change that removes instructions removes time.
Needs valgrind on the PATH (``apt install valgrind``); takes a few minutes, as
Python runs about 50x slower under it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Callable

WHAT = ("forward", "bare", "xpgrad")


def _run(what: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as d:
        # one BLAS thread: idle BLAS threads spinning would be counted too
        env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/out",
               sys.executable, "-m", "benchmarks.instructions", "--inner", what, str(n)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        m = re.search(r"Collected : (\d+)", r.stderr)
        if m is None:
            raise RuntimeError(f"no instruction count in valgrind's output:\n{r.stderr[-2000:]}")
        return int(m.group(1))


def _workload(what: str) -> Callable[[], Any]:
    import numpy as np

    from . import bare_tape
    from .workloads import tiny_ops

    x = np.linspace(-1.0, 1.0, 8)
    if what == "forward":
        return lambda: tiny_ops(np, x)
    if what == "bare":
        return lambda: bare_tape.grad(tiny_ops, x)
    import xpgrad

    def f(v: Any) -> Any:
        return tiny_ops(v.__array_namespace__(), v)

    return lambda: xpgrad.gradient(f, x)


def _inner(what: str, n: int) -> None:
    fn = _workload(what)
    fn()  # warm-up: caches, lazy imports
    for _ in range(n):
        fn()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    p.add_argument("n", nargs="?", type=int, default=10, help="calls counted (default 10)")
    p.add_argument("--only", default=",".join(WHAT),
                   help=f"comma-separated subset of {', '.join(WHAT)} (default: all)")
    p.add_argument("--inner", nargs=2, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.inner is not None:
        _inner(a.inner[0], int(a.inner[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    whats = [w for w in a.only.split(",") if w]
    unknown = set(whats) - set(WHAT)
    if unknown:
        p.error(f"unknown workload(s) {sorted(unknown)}; choose from {', '.join(WHAT)}")
    per = {w: (_run(w, a.n) - _run(w, 0)) / a.n for w in whats}
    for w in whats:
        line = f"W2 tiny_ops {w:8s}: {per[w] / 1e6:7.2f} M instructions per call"
        if "forward" in per and w != "forward":
            line += f"  ({per[w] / per['forward']:.2f}x the forward)"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
