"""Dask arrays whose chunks are CuPy arrays, differentiated on a ``distributed.LocalCluster``.

``python -m benchmarks.gpu.dask_cupy [--dry-run] --out DIR``

Two checks, each on a LocalCluster of worker threads (one process, so the
workers share the GPU's context) and, where time allows, of worker processes:

- a lazy reverse-mode Jacobian of ``cumulative_sum(sin(x)) * flip(x)``
  (``benchmarks/dask_scale.py``'s function), reduced blockwise (its sum and its
  diagonal) and checked against the analytic values there;
- a Hessian-vector product of the Rosenbrock function, checked against its
  analytic tridiagonal Hessian (written out below, independent of xpgrad).

Each records whether the graph stayed lazy, the type of its chunks (``_meta``:
CuPy on the GPU, NumPy in a dry run), times and errors, into ``dask.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore", message="Increasing number of chunks")


def rosen_hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``H(x) @ v`` for ``sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)``, by hand.

    ``H[i,i] = 1200 x_i² - 400 x_{i+1} + 2`` (i < n-1) ``+ 200`` (i > 0),
    ``H[i,i+1] = H[i+1,i] = -400 x_i``.
    """
    d = np.zeros_like(x)
    d[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    hv = d * v
    hv[:-1] += -400 * x[:-1] * v[1:]
    hv[1:] += -400 * x[:-1] * v[:-1]
    return hv


def _rosen(x: Any) -> Any:
    from ..workloads import rosen, xpg

    return xpg(rosen)(x)


def check_jacobian(client: Any, lib: Any, n: int, chunk: int) -> dict:
    import dask.array as da

    import xpgrad

    from ..dask_scale import analytic, f

    xn = np.random.default_rng(0).uniform(-2.0, 2.0, n)
    x = da.from_array(lib.asarray(xn), chunks=chunk, asarray=False)
    t0 = time.perf_counter()
    (J,) = xpgrad.jacobian(f, x, mode="reverse", chunk_size=chunk)
    total, diag = J.sum(), da.diagonal(J)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    got_total, got_diag = client.compute([total, diag], sync=True)
    t_compute = time.perf_counter() - t0
    want_total, want_diag = analytic(xn)
    err_total = abs(float(got_total) - want_total) / max(1.0, abs(want_total))
    err_diag = float(np.max(np.abs(_host(got_diag) - want_diag)))
    return {"n": n, "chunk": chunk, "lazy": isinstance(J, da.Array),
            "chunk_type": _type(J), "result_type": type(got_diag).__module__.split(".")[0],
            "blocks": list(J.numblocks), "build_s": t_build, "compute_s": t_compute,
            "err_sum": err_total, "err_diag": err_diag,
            "ok": err_total < 1e-9 and err_diag < 1e-9}


def check_hvp(client: Any, lib: Any, n: int, chunk: int) -> dict:
    import dask.array as da

    import xpgrad

    rng = np.random.default_rng(1)
    xn, vn = rng.uniform(-1.0, 1.5, n), rng.standard_normal(n)
    x = da.from_array(lib.asarray(xn), chunks=chunk, asarray=False)
    v = da.from_array(lib.asarray(vn), chunks=chunk, asarray=False)
    t0 = time.perf_counter()
    hv = xpgrad.hvp(_rosen, x, v)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = client.compute(hv, sync=True)
    t_compute = time.perf_counter() - t0
    want = rosen_hvp(xn, vn)
    err = float(np.max(np.abs(_host(got) - want)) / np.max(np.abs(want)))
    return {"n": n, "chunk": chunk, "lazy": isinstance(hv, da.Array), "chunk_type": _type(hv),
            "result_type": type(got).__module__.split(".")[0], "build_s": t_build,
            "compute_s": t_compute, "rel_err": err, "ok": err < 1e-10}


def _type(a: Any) -> str:
    meta = getattr(a, "_meta", None)
    return f"{type(meta).__module__}.{type(meta).__name__}" if meta is not None else "?"


def _host(a: Any) -> np.ndarray:
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu.dask_cupy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run", action="store_true", help="NumPy chunks, tiny sizes")
    p.add_argument("--out", default=os.environ.get("OUT") or "gpu-out")
    p.add_argument("--processes", action="store_true",
                   help="also run on a cluster of 2 worker processes (each its own CUDA context)")
    args = p.parse_args(argv)
    import distributed

    if args.dry_run:
        lib, sizes = np, {"jacobian": (400, 100), "hvp": (10_000, 2_500)}
    else:
        import cupy as lib

        sizes = {"jacobian": (20_000, 5_000), "hvp": (10**7, 2_500_000)}
    results: dict = {"dry_run": args.dry_run, "chunks_of": lib.__name__, "runs": []}
    for processes in (False, True) if args.processes else (False,):
        kind = "processes" if processes else "threads"
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                      dashboard_address=":0", silence_logs=40) as cluster, \
                distributed.Client(cluster) as client:
            for name, check in (("jacobian", check_jacobian), ("hvp", check_hvp)):
                n, chunk = sizes[name]
                try:
                    r = check(client, lib, n, chunk)
                except Exception as e:  # noqa: BLE001 - reported, and the next check runs
                    r = {"n": n, "ok": False, "error": f"{type(e).__name__}: {str(e)[:300]}"}
                r.update(check=name, workers=kind)
                # the point of the check: the chunks stay the library's arrays throughout
                if r.get("chunk_type", "").split(".")[0] != lib.__name__:
                    r["ok"] = False
                results["runs"].append(r)
                print(json.dumps(r, default=str), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dask.json").write_text(json.dumps(results, indent=1, default=str))
    ok = all(r["ok"] for r in results["runs"])
    print(f"dask with {lib.__name__} chunks: " + ("all checks ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
