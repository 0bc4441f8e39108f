"""xpgrad of two source trees side by side: is any row slower than before?

    python -m benchmarks.compare 09291d5            # that commit against this tree
    python -m benchmarks.compare 09291d5 --rows W2,W3 --reps 6
    python -m benchmarks.compare 09291d5 --impl "xpgrad jit"     # the staged rows
    python -m benchmarks.compare --base-src src --tune-allocator this   # the allocator alone

Each version runs in its own subprocess (``PYTHONPATH`` set to its ``src``),
alternately, ``--reps`` times; the benchmark workloads come from this tree for
both, so the same code is timed. A row's figure is the minimum over the runs of
the thread CPU time per call (``time.thread_time``), which other jobs on the
machine disturb far less than wall-clock medians do (on a loaded 2-core
machine the suite's medians swing by tens of percent; these by a few).

A commit is checked out once into ``benchmarks/results/.compare/<sha>`` (a
detached ``git worktree``); ``--base-src`` takes a ready ``src`` folder instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_ROWS = "W1,W2,W3,W4,W5,W6,W7,W8"


def _time_rows(rows: str, seconds: float, impl: str = "xpgrad") -> dict:
    """In the child: thread CPU seconds per call of each row's ``impl`` (min over repeats)."""
    import xpgrad

    from ._peers import Peers
    from .workloads import WORKLOADS

    out: dict = {"__file__": xpgrad.__file__}
    for w in rows.split(","):
        for case in WORKLOADS[w](Peers(set())):
            fn = case.impls.get(impl)
            if fn is None:
                continue
            fn()
            fn()
            t0 = time.thread_time()
            fn()
            one = max(time.thread_time() - t0, 1e-9)
            number = max(3, int(0.02 / one))
            ts: list[float] = []
            end = time.thread_time() + seconds
            while time.thread_time() < end or len(ts) < 5:
                t0 = time.thread_time()
                for _ in range(number):
                    fn()
                ts.append((time.thread_time() - t0) / number)
            out[case.row] = min(ts)
    return out


def _checkout(ref: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    dest = HERE / "results" / ".compare" / sha[:12]
    if not (dest / "src").is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-f", str(dest), sha],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
    return dest / "src"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.compare", description=__doc__.split("\n")[0]
    )
    ap.add_argument("base", nargs="?", help="a git commit (or ref) to compare this tree with")
    ap.add_argument("--base-src", help="the base's src folder, instead of a commit")
    ap.add_argument("--rows", default=DEFAULT_ROWS, help=f"rows (default {DEFAULT_ROWS})")
    ap.add_argument("--reps", type=int, default=4, help="alternating runs per version (default 4)")
    ap.add_argument("--seconds", type=float, default=0.4, help="timing per row and run")
    ap.add_argument("--impl", default="xpgrad",
                    help='what to time in each row: "xpgrad" (eager, default) or "xpgrad jit"')
    ap.add_argument("--tune-allocator", nargs="?", const="both", choices=("both", "this"),
                    help="run with xpgrad.backends.tune_host_allocator()'s setting: both "
                         "versions (default), or only this one (with --base-src src: the "
                         "allocator's own effect)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_time_rows(a.rows, a.seconds, a.impl)))
        return 0
    if (a.base is None) == (a.base_src is None):
        ap.error("give either a commit to compare with or --base-src")
    srcs = {"base": Path(a.base_src) if a.base_src else _checkout(a.base), "this": ROOT / "src"}
    for src in srcs.values():
        if not (src / "xpgrad" / "__init__.py").is_file():
            ap.error(f"{src} is not a source folder holding the xpgrad package")
    res: dict[str, dict[str, list[float]]] = {}
    for _ in range(a.reps):
        for name, src in srcs.items():
            env = dict(os.environ, PYTHONPATH=f"{src}{os.pathsep}{ROOT}", OMP_NUM_THREADS="1")
            if a.tune_allocator == "both" or (a.tune_allocator == "this" and name == "this"):
                # (glibc reads these at start-up: also for an older base)
                env.update(MALLOC_MMAP_THRESHOLD_="67108864", MALLOC_TRIM_THRESHOLD_="268435456")
            cmd = [sys.executable, "-m", "benchmarks.compare", "--child", "--rows", a.rows,
                   "--seconds", str(a.seconds), "--impl", a.impl]  # fmt: skip
            done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
            if done.returncode:
                sys.stderr.write(done.stderr)
                return done.returncode
            times = json.loads(done.stdout.strip().splitlines()[-1])
            got = Path(times.pop("__file__")).resolve()
            if not got.is_relative_to(src.resolve()):  # an installed copy came first
                sys.stderr.write(f"the {name} run imported {got}, not the one under {src}\n")
                return 1
            for row, t in times.items():
                res.setdefault(row, {}).setdefault(name, []).append(t)
    tuned = {None: "", "both": ", allocator tuned", "this": ", allocator tuned for this only"}[
        a.tune_allocator
    ]
    tuned += "" if a.impl == "xpgrad" else f", {a.impl}"
    print(
        f"thread CPU µs per call, min of {a.reps} alternating runs; base = "
        f"{a.base or a.base_src}{tuned}"
    )
    print("| row | base | this | change |\n|---|---|---|---|")
    for row, d in res.items():
        b, t = min(d["base"]) * 1e6, min(d["this"]) * 1e6
        print(f"| {row} | {b:.0f} | {t:.0f} | {100 * (t / b - 1):+.1f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
