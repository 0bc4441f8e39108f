"""Instructions per W2 gradient, counted by valgrind: ``python -m benchmarks.instructions``.

Timings on a shared machine drift by up to 2x; instruction counts (with a fixed
hash seed) vary by about 3% between runs of the same code, so run it a few
times and compare the spread before reading a small change. This runs W2's xpgrad gradient under
``valgrind --tool=callgrind`` twice, ``N`` times and zero times, and prints the
difference per gradient: the cost of one gradient with start-up and imports
taken out. Needs valgrind on the PATH (``apt install valgrind``); takes a few
minutes, as Python runs about 50x slower under it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile


def _run(n: int) -> int:
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, PYTHONHASHSEED="0")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/out",
               sys.executable, "-m", "benchmarks.instructions", "--inner", str(n)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        m = re.search(r"Collected : (\d+)", r.stderr)
        if m is None:
            raise RuntimeError(f"no instruction count in valgrind's output:\n{r.stderr[-2000:]}")
        return int(m.group(1))


def _inner(n: int) -> None:
    import numpy as np

    import xpgrad

    from .workloads import tiny_ops

    x = np.linspace(-1.0, 1.0, 8)

    def f(v):
        return tiny_ops(v.__array_namespace__(), v)

    xpgrad.gradient(f, x)  # warm-up: caches, lazy imports
    for _ in range(n):
        xpgrad.gradient(f, x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    p.add_argument("n", nargs="?", type=int, default=10, help="gradients counted (default 10)")
    p.add_argument("--inner", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.inner is not None:
        _inner(a.inner)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    per = (_run(a.n) - _run(0)) / a.n
    print(f"W2 tiny_ops_grad, xpgrad.gradient: {per / 1e6:.2f} M instructions per gradient")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
