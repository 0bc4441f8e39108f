"""``python -m benchmarks``: run the suite, write JSON, plots and a Markdown table.

Examples::

    python -m benchmarks                       # everything (< 10 minutes on 2 cores)
    python -m benchmarks --quick --only W2     # smoke test
    python -m benchmarks --only W1,W3,S3 --peers jax,torch
    python -m benchmarks --unset-openblas-env  # see --help
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="xpgrad side by side with JAX (eager and jit), torch.func and HIPS autograd.")
    p.add_argument("--quick", action="store_true",
                   help="few repeats and small scaling sizes (a smoke test, not a measurement)")
    p.add_argument("--only", default="",
                   help="comma-separated rows to run: W1..W9, S3 and S6 (the scaling runs of W3 "
                        "and W6), or 'scaling' for both (default: everything)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"),
                   help="output folder (default: benchmarks/results)")
    p.add_argument("--peers", default="jax,torch,autograd",
                   help="comma-separated peers to compare with (jax, torch, autograd) or 'none'")
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument("--scaling-time", type=float, default=180.0,
                   help="seconds after which the scaling runs start no new size (default 180; "
                        "with the rows the suite then ends within 10 minutes on 2 cores)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit every library's thread pool (NumPy's BLAS, torch, and for 1 "
                        "also XLA's) to this many threads; default: each library's own default. "
                        "On a machine shared with other jobs, --threads 1 avoids spinning BLAS "
                        "threads fighting for cores")
    p.add_argument("--tune-allocator", action="store_true",
                   help="call xpgrad.backends.tune_host_allocator() first (glibc: freed memory "
                        "kept for reuse, for every library in the process alike); the JSON "
                        "records it")
    p.add_argument("--unset-openblas-env", action="store_true",
                   help="rerun this command with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset "
                        "(they pin an older, slower OpenBLAS kernel on some machines); the JSON "
                        "records what was unset")
    return p


def _reexec_without_openblas_env(argv: list[str]) -> None:
    """Re-run this process without the OpenBLAS pins (they are read when NumPy loads)."""
    found = [k for k in _OPENBLAS_VARS if k in os.environ]
    if not found:
        return
    env = dict(os.environ)
    env["XPGRAD_BENCH_UNSET"] = ";".join(f"{k}={env.pop(k)}" for k in found)
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], env)


def _limit_threads(n: int) -> None:
    """Set the thread-pool sizes before NumPy, torch or JAX is imported."""
    if n < 1:
        raise SystemExit("--threads must be at least 1")
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(n)
    if n == 1:  # XLA's CPU client has no thread-count flag other than "single-threaded"
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()


def _selection(only: str) -> tuple[list[str], list[str]]:
    from .scaling import BUILDERS
    from .workloads import WORKLOADS

    if not only:
        return list(WORKLOADS), list(BUILDERS)
    wanted = [t.strip().upper() for t in only.split(",") if t.strip()]
    if "SCALING" in wanted:
        wanted = [t for t in wanted if t != "SCALING"] + list(BUILDERS)
    bad = [t for t in wanted if t not in WORKLOADS and t not in BUILDERS]
    if bad:
        raise SystemExit(f"--only: unknown {bad}; choose from {list(WORKLOADS) + list(BUILDERS)} "
                         f"or 'scaling'")
    return [w for w in WORKLOADS if w in wanted], [s for s in BUILDERS if s in wanted]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.unset_openblas_env:
        _reexec_without_openblas_env(argv)
    if args.threads is not None:
        _limit_threads(args.threads)
    # imported only now, after a possible re-exec: NumPy reads the OpenBLAS variables on load
    from . import _report
    from ._harness import Settings, log, run_case
    from ._peers import LIBS, PEER_GROUPS, Peers
    from .scaling import QUICK_SIZES, SIZES, run_scalings
    from .workloads import WORKLOADS

    peers = {t.strip() for t in args.peers.split(",") if t.strip()} - {"none"}
    if peers - set(PEER_GROUPS):
        raise SystemExit(f"--peers: unknown {sorted(peers - set(PEER_GROUPS))}; choose from "
                         f"{sorted(PEER_GROUPS)} or 'none'")
    workloads, scalings = _selection(args.only)
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if hasattr(os, "getloadavg") and args.threads is None and os.getloadavg()[0] > (ncpu or 1):
        log(f"note: the machine is busy (load average {os.getloadavg()[0]:.1f} on {ncpu} CPUs); "
            f"multi-threaded BLAS slows down badly when other jobs hold the cores. "
            f"--threads 1 gives steadier numbers.")
    for k in _OPENBLAS_VARS:
        if os.environ.get(k):
            log(f"note: {k}={os.environ[k]} is set and may slow NumPy's BLAS; "
                f"--unset-openblas-env reruns without it")
    if args.tune_allocator:
        import xpgrad.backends

        tuned = xpgrad.backends.tune_host_allocator()
        os.environ["XPGRAD_BENCH_ALLOCATOR"] = "tuned" if tuned else "not glibc: unchanged"
        log(f"allocator: {os.environ['XPGRAD_BENCH_ALLOCATOR']}")
    t_start = time.perf_counter()
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    P = Peers(peers)
    if args.threads is not None and P.torch is not None:
        P.torch.set_num_threads(args.threads)
    # The peers' module graphs are hundreds of thousands of objects: freeze them so
    # the collections between repeats only walk what the workloads allocate.
    gc.collect()
    gc.freeze()
    if args.quick:
        s = Settings(repeats=2, min_time=0.0, max_total=0.5)
        ss, sizes, max_call = Settings(repeats=1, min_time=0.0, max_total=0.5), QUICK_SIZES, 0.5
    else:
        s = Settings(repeats=5, min_time=0.05, max_total=2.0)
        ss, sizes, max_call = Settings(repeats=3, min_time=0.02, max_total=1.5), SIZES, 2.0
    rows = []
    for w in workloads:
        log(f"[{w}]")
        for case in WORKLOADS[w](P):
            rows.append(run_case(case, s))
    # the scaling runs start no new size after this, to keep the suite within its limit
    deadline = time.perf_counter() + args.scaling_time
    scaling = run_scalings(scalings, P, ss, sizes, max_call, deadline)
    now = datetime.now(timezone.utc)
    record = {
        "created": now.isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(argv),
        "quick": args.quick,
        "settings": {"rows": vars(s) | {"libs": list(LIBS)},
                     "scaling": vars(ss) | {"libs": list(LIBS), "sizes": list(sizes),
                                            "max_call_s": max_call}},
        "dtype": "float64",
        "threads": args.threads,
        "scaling_time_s": args.scaling_time,
        "machine": _report.machine_info(P.versions),
        "skipped_peers": P.skipped,
        "rows": rows,
        "scaling": scaling,
    }
    record["targets"] = [list(t) for t in _report.targets(record)]
    record["elapsed_s"] = time.perf_counter() - t_start
    # other processes on the machine distort timings: keep the evidence with the numbers
    record["machine"]["loadavg_start"] = load_start
    record["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    out = Path(args.out)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    paths = _report.write_json(record, out, stamp)
    md = _report.markdown(record)
    m = record["machine"]
    md += (f"\n\n{m['processor']}, {m['cpus_usable']} usable CPUs, load average "
           f"{_load(load_start)} at start and {_load(m['loadavg_end'])} at the end; total "
           f"{record['elapsed_s']:.0f} s. Reproduce: `{record['command'].strip()}`")
    (out / "latest.md").write_text(md + "\n")
    if not args.no_plots:
        paths += _report.plots(record, out)
    print(md)
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _load(avg: tuple | None) -> str:
    return "n/a" if avg is None else f"{avg[0]:.1f}"


if __name__ == "__main__":
    sys.exit(main())
