"""Profile xpgrad on one workload: ``python -m benchmarks.profile W2 [--pyinstrument]``.

Runs the xpgrad column of the workload's first row (or ``--row``) repeatedly
under cProfile and prints the functions with the most own time, grouped by
file, so the per-operation cost of the engine can be read off directly.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from ._peers import Peers
from .workloads import WORKLOADS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("workload", help="W1..W9")
    p.add_argument("--row", type=int, default=0, help="which row of the workload (default 0)")
    p.add_argument("--lib", default="xpgrad", help="column to profile (default xpgrad)")
    p.add_argument("--seconds", type=float, default=3.0, help="how long to run (default 3)")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--pyinstrument", action="store_true", help="a pyinstrument call tree instead")
    a = p.parse_args(argv)
    cases = WORKLOADS[a.workload.upper()](Peers({"jax", "torch", "autograd"}
                                                if a.lib != "xpgrad" else set()))
    case = cases[a.row]
    fn = case.impls[a.lib]
    fn()
    t0 = time.perf_counter()
    fn()
    t1 = time.perf_counter() - t0
    n = max(1, int(a.seconds / max(t1, 1e-9)))
    print(f"{case.row} / {a.lib}: {t1 * 1e3:.2f} ms per call, profiling {n} calls")
    if a.pyinstrument:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.0002)
        prof.start()
        for _ in range(n):
            fn()
        prof.stop()
        print(prof.output_text(unicode=True, color=False, show_all=False))
        return 0
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        fn()
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.sort_stats("tottime").print_stats(a.top)
    print(s.getvalue())
    by_file: dict[str, float] = {}
    total = 0.0
    for (file, _, _), (_, _, tt, _, _) in st.stats.items():  # type: ignore[attr-defined]
        key = file.split("/src/")[-1] if "/src/" in file else file.rsplit("/", 1)[-1]
        by_file[key] = by_file.get(key, 0.0) + tt
        total += tt
    print("own time by file (per call):")
    for k, v in sorted(by_file.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {v / n * 1e3:8.3f} ms  {100 * v / total:5.1f}%  {k}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
