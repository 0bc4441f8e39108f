"""A Jacobian too big for one process, computed block by block on a Dask cluster.

``f(x) = cumulative_sum(sin(x)) * flip(x)`` for ``x`` of ``n`` float64 values in
chunks of 2,000. Its reverse-mode Jacobian is an ``n x n`` lazy Dask array
(3.2 GB at n = 20,000) whose row chunks are the chunks of basis cotangents
(``chunk_size``) and whose column chunks follow ``x``. It is reduced blockwise
-- its sum and its diagonal -- on a ``distributed.LocalCluster`` of 2 worker
processes with a memory limit of 1 GiB each, so it never exists whole anywhere,
and both reductions are checked against their analytic values:

    J[i, j] = cos(x[j]) * [j <= i] * x[n-1-i] + C[i] * [j == n-1-i],
    C = cumulative_sum(sin(x)),

    sum(J)  = sum_i x[n-1-i] * cumulative_sum(cos(x))[i] + sum_i C[i],
    diag(J) = cos(x) * flip(x) + C * [i == n-1-i].

Not a CI test. Run (about a minute per 20,000 on two cores)::

    python benchmarks/dask_scale.py                      # n = 20,000
    python benchmarks/dask_scale.py --n 5000 10000 20000 40000   # scaling
    python benchmarks/dask_scale.py --json benchmarks/results/dask_scale.json

Prints, for each n: the wall time of building the lazy Jacobian (no compute),
the wall time of computing both reductions on the cluster, the peak resident
memory of each worker process (sampled every 50 ms), and the errors against
the analytic values.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np

warnings.filterwarnings("ignore", message="Increasing number of chunks")  # 10x10 blocks: intended


def f(x: Any) -> Any:
    import array_api_compat

    xp = array_api_compat.array_namespace(x)
    return xp.cumulative_sum(xp.sin(x)) * xp.flip(x, axis=0)


def analytic(xn: np.ndarray) -> tuple[float, np.ndarray]:
    n = xn.size
    c = np.cumsum(np.sin(xn))
    r = xn[::-1]
    total = float(np.sum(r * np.cumsum(np.cos(xn))) + np.sum(c))
    diag = np.cos(xn) * r
    i = np.arange(n)
    diag = diag + np.where(i == n - 1 - i, c, 0.0)
    return total, diag


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakSampler:
    """Samples each worker process's resident memory while a computation runs."""

    def __init__(self, client: Any, interval: float = 0.05):
        self.client = client
        self.interval = interval
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for addr, rss in self.client.run(_rss).items():
                    self.peak[addr] = max(self.peak.get(addr, 0), rss)
            except Exception:  # a worker restarting; keep sampling
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def run_one(client: Any, n: int, chunk: int) -> dict:
    import dask.array as da

    import xpgrad

    rng = np.random.default_rng(0)
    xn = rng.uniform(-2.0, 2.0, n)
    x = da.from_array(xn, chunks=chunk)

    t0 = time.perf_counter()
    (J,) = xpgrad.jacobian(f, x, mode="reverse", chunk_size=chunk)
    total, diag = J.sum(), da.diagonal(J)
    t_build = time.perf_counter() - t0

    with PeakSampler(client) as sampler:
        t0 = time.perf_counter()
        got_total, got_diag = client.compute([total, diag], sync=True)
        t_compute = time.perf_counter() - t0

    want_total, want_diag = analytic(xn)
    err_total = abs(float(got_total) - want_total) / max(1.0, abs(want_total))
    err_diag = float(np.max(np.abs(np.asarray(got_diag) - want_diag)))
    ok = err_total < 1e-9 and err_diag < 1e-9
    return {
        "n": n,
        "chunk": chunk,
        "jacobian_shape": list(J.shape),
        "jacobian_chunks": list(J.numblocks),
        "jacobian_gb": J.size * 8 / 1e9,
        "graph_tasks": len(J.__dask_graph__()),
        "build_s": round(t_build, 3),
        "compute_s": round(t_compute, 3),
        "peak_worker_rss_mib": {a: round(v / 2**20, 1) for a, v in sampler.peak.items()},
        "rel_err_sum": err_total,
        "max_err_diag": err_diag,
        "matches_analytic": ok,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[20_000])
    ap.add_argument("--chunk", type=int, default=2_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1GiB")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)

    import distributed

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = []
    with distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True,
        memory_limit=args.memory_limit, dashboard_address=":0", silence_logs=40,
    ) as cluster, distributed.Client(cluster) as client:
        for n in args.n:
            r = run_one(client, n, args.chunk)
            results.append(r)
            peaks = ", ".join(f"{v:.0f}" for v in r["peak_worker_rss_mib"].values())
            print(
                f"n={n:>6}  J {r['jacobian_shape'][0]}x{r['jacobian_shape'][1]} "
                f"({r['jacobian_gb']:.2f} GB, {r['jacobian_chunks'][0]}x"
                f"{r['jacobian_chunks'][1]} blocks, {r['graph_tasks']} tasks)  "
                f"build {r['build_s']:.2f} s  compute {r['compute_s']:.1f} s  "
                f"peak worker RSS [{peaks}] MiB  "
                f"sum rel err {r['rel_err_sum']:.1e}  diag max err {r['max_err_diag']:.1e}  "
                f"{'OK' if r['matches_analytic'] else 'MISMATCH'}",
                flush=True,
            )
    if args.json:
        meta = {
            "command": "python benchmarks/dask_scale.py " + " ".join(sys.argv[1:] if argv is None
                                                                      else argv),
            "workers": args.workers,
            "memory_limit": args.memory_limit,
            "cpu_count": os.cpu_count(),
            "load_average_after": os.getloadavg(),  # other processes share the cores
            "python": platform.python_version(),
            "machine": platform.machine(),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=2)
    return 0 if all(r["matches_analytic"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
