"""Sparse Jacobians: passes, time and peak memory against the dense jacobian and sparsejac.

Two workloads, NumPy backend, float64:

- ``tridiagonal``: ``y = 2 sin(x) x - x[i-1] + x[i+1]**2`` (zero padding);
- ``laplacian``: a 2-D Poisson residual with a cubic term on an ``N x N`` grid,
  five-point stencil written with slicing, zero Dirichlet boundary.

Each case runs in its own process (so peak memory is per case):

- ``xpgrad sparse``: ``jacobian_sparsity`` (detection), the column coloring,
  a cold ``sparse_jacobian(..., cache=True)`` (detection + coloring + passes)
  and a warm one (cached pattern and coloring: the compressed passes and the
  recovery only). Checked against ``jvp`` along a random direction.
- ``xpgrad dense``: ``xpgrad.jacobian`` (``n`` directions), up to ``--dense-max``.
- ``sparsejac``: ``jax.jit(sparsejac.jacfwd(f, sparsity))`` with the pattern
  xpgrad detected (sparsejac has no detection), JAX on the CPU in float64:
  setup (its networkx coloring), first call (compilation) and warm call, up to
  ``--sparsejac-max`` unknowns. Checked against xpgrad's values.

Peak memory: ``tracemalloc`` for NumPy-based runs (NumPy reports its buffers to
it), the growth of the process's peak RSS for JAX (XLA's allocations are
invisible to tracemalloc).

    python -m benchmarks.sparse_bench                 # the full table (several minutes)
    python -m benchmarks.sparse_bench --quick         # small sizes only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

SIZES = {
    "tridiagonal": [1_000, 4_000, 10_000, 100_000, 1_000_000],
    "laplacian": [32 ** 2, 63 ** 2, 100 ** 2, 316 ** 2, 1000 ** 2],
}
QUICK = {"tridiagonal": [1_000, 10_000], "laplacian": [32 ** 2, 100 ** 2]}
LIBS = ("xpgrad sparse", "xpgrad dense", "sparsejac")


# -- workloads, written against the standard (they run on NumPy and JAX) ----------------------


def tridiagonal(x: Any) -> Any:
    xp = x.__array_namespace__()
    z = xp.zeros((1,), dtype=x.dtype, device=x.device)  # on x's device (GPU runs)
    left, right = xp.concat([z, x[:-1]]), xp.concat([x[1:], z])
    return 2 * xp.sin(x) * x - left + right * right


def laplacian(x: Any) -> Any:
    xp = x.__array_namespace__()
    N = math.isqrt(x.shape[0])
    u = xp.reshape(x, (N, N))
    zr = xp.zeros((1, N), dtype=x.dtype, device=x.device)  # on x's device (GPU runs)
    zc = xp.zeros((N + 2, 1), dtype=x.dtype, device=x.device)
    U = xp.concat([zc, xp.concat([zr, u, zr], axis=0), zc], axis=1)
    r = (4 * U[1:-1, 1:-1] - U[:-2, 1:-1] - U[2:, 1:-1] - U[1:-1, :-2] - U[1:-1, 2:]
         + u ** 3)
    return xp.reshape(r, (-1,))


WORKLOADS: dict[str, Callable] = {"tridiagonal": tridiagonal, "laplacian": laplacian}


# -- one case, in this process ------------------------------------------------------------------


def _timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _traced_peak(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def _point(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0.5, 1.5, n)


def case_xpgrad_sparse(f: Callable, n: int) -> dict:
    import xpgrad
    from xpgrad.api import coloring
    from xpgrad.api.sparse import clear_cache

    x = _point(n)
    t_detect, P = _timed(lambda: xpgrad.jacobian_sparsity(f, x))
    t_color, colors = _timed(lambda: coloring.column_coloring(np, P.rows, P.cols, P.shape))
    clear_cache()
    t_cold, S = _timed(lambda: xpgrad.sparse_jacobian(f, x, cache=True))
    t_warm, S = _timed(lambda: xpgrad.sparse_jacobian(f, x, cache=True), repeats=3)
    clear_cache()
    mem_cold = _traced_peak(lambda: xpgrad.sparse_jacobian(f, x, cache=True))
    mem_warm = _traced_peak(lambda: xpgrad.sparse_jacobian(f, x, cache=True))
    clear_cache()
    v = np.random.default_rng(1).normal(size=n)
    ok = np.allclose(S.to_scipy() @ v, xpgrad.jvp(f, (x,), (v,))[1], rtol=1e-10, atol=1e-10)
    return {"passes": S.npasses, "nnz": S.nnz, "detect_s": t_detect, "color_s": t_color,
            "cold_s": t_cold, "warm_s": t_warm, "peak_mib": mem_cold, "warm_peak_mib": mem_warm,
            "mode": S.mode, "colors_check": max(colors) + 1, "ok": bool(ok)}


def case_xpgrad_dense(f: Callable, n: int) -> dict:
    import xpgrad

    x = _point(n)
    t, (J,) = _timed(lambda: xpgrad.jacobian(f, x), repeats=2)
    mem = _traced_peak(lambda: xpgrad.jacobian(f, x))
    S = xpgrad.sparse_jacobian(f, x)
    ok = np.allclose(S.todense(), J, rtol=1e-12, atol=1e-12)
    return {"passes": n, "warm_s": t, "cold_s": t, "peak_mib": mem, "ok": bool(ok)}


def case_sparsejac(f: Callable, n: int) -> dict:
    try:
        import jax
        import sparsejac
        import sparsejac.sparsejac as sj
    except ImportError as e:
        return {"skipped": f"not installed ({e.name})"}
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    import xpgrad

    x = _point(n)
    S = xpgrad.sparse_jacobian(f, x)  # the reference values, and the pattern sparsejac needs
    idx = jnp.asarray(np.stack([S.rows, S.cols], axis=1))
    sparsity = jsparse.BCOO((jnp.ones(S.nnz), idx), shape=S.shape)
    seen: dict = {}
    greedy = sj._greedy_color

    def counting(*a: Any, **k: Any) -> Any:
        coloring, ncolors = greedy(*a, **k)
        seen["ncolors"] = int(ncolors)
        return coloring, ncolors

    sj._greedy_color = counting
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_setup, jf = _timed(lambda: jax.jit(sparsejac.jacfwd(f, sparsity=sparsity)))
    xj = jnp.asarray(x)
    t_first, J = _timed(lambda: jf(xj).data.block_until_ready())
    t_warm, J = _timed(lambda: jf(xj).data.block_until_ready(), repeats=3)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ok = np.allclose(np.asarray(J), S.values, rtol=1e-10, atol=1e-10)
    return {"passes": seen.get("ncolors"), "setup_s": t_setup, "cold_s": t_setup + t_first,
            "warm_s": t_warm, "rss_growth_mib": (rss1 - rss0) / 1024, "ok": bool(ok)}


CASES = {"xpgrad sparse": case_xpgrad_sparse, "xpgrad dense": case_xpgrad_dense,
         "sparsejac": case_sparsejac}


# -- the driver: one process per case ----------------------------------------------------------


def _run_case(workload: str, n: int, lib: str, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.sparse_bench", "--case", workload, str(n), lib]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=Path(__file__).resolve().parents[1], check=False)
    except subprocess.TimeoutExpired:
        return {"skipped": f"over {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return f"{v}{unit}"


def table(rows: list[dict]) -> str:
    head = ("| workload | n | library | passes | detect | color | cold total | warm | "
            "peak memory | check |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        res = r["result"]
        if "skipped" in res or "error" in res:
            note = res.get("skipped") or f"error: {res['error']}"
            lines.append(f"| {r['workload']} | {r['n']:,} | {r['lib']} | | | | | | | {note} |")
            continue
        mem = res.get("peak_mib")
        mem_s = f"{mem:.3g} MiB" if mem is not None else (
            f"{res['rss_growth_mib']:.3g} MiB RSS" if "rss_growth_mib" in res else "-")
        setup = res.get("setup_s")
        lines.append(
            f"| {r['workload']} | {r['n']:,} | {r['lib']} | {_fmt(res.get('passes'))} | "
            f"{_fmt(res.get('detect_s'), ' s')} | "
            f"{_fmt(res.get('color_s', setup), ' s')} | {_fmt(res.get('cold_s'), ' s')} | "
            f"{_fmt(res.get('warm_s'), ' s')} | {mem_s} | {'ok' if res.get('ok') else 'WRONG'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sparse_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes only")
    p.add_argument("--dense-max", type=int, default=4_000)
    p.add_argument("--sparsejac-max", type=int, default=100_000,
                   help="largest n for sparsejac (its networkx coloring of the 1e6-node "
                        "column graph needs minutes and gigabytes)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    p.add_argument("--only", default="", help="comma-separated workloads")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "sparse.json"))
    p.add_argument("--case", nargs=3, metavar=("WORKLOAD", "N", "LIB"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.case:
        workload, n, lib = args.case
        CASES[lib](WORKLOADS[workload], 16)  # warm-up: imports, backend discovery, JAX start
        print(json.dumps(CASES[lib](WORKLOADS[workload], int(n))))
        return 0
    sizes = QUICK if args.quick else SIZES
    names = [w for w in sizes if not args.only or w in args.only.split(",")]
    rows = []
    for w in names:
        for n in sizes[w]:
            for lib in LIBS:
                if lib == "xpgrad dense" and n > args.dense_max:
                    continue
                if lib == "sparsejac" and n > args.sparsejac_max:
                    res: dict = {"skipped": f"n > --sparsejac-max={args.sparsejac_max}"}
                else:
                    res = _run_case(w, n, lib, args.timeout)
                rows.append({"workload": w, "n": n, "lib": lib, "result": res})
                print(f"{w} n={n} {lib}: {res}", file=sys.stderr, flush=True)
    md = table(rows)
    print(md)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "cpus": os.cpu_count()}, indent=1))
    out.with_suffix(".md").write_text(md + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
