"""GPU benchmarks: xpgrad on CuPy and on torch CUDA tensors beside torch.func and JAX.

``python -m benchmarks.gpu.bench [--dry-run] [--rows W1,W3,W6,W7,W9,sparse] --out DIR``

One process, one device, float64. The workload functions are the CPU suite's
(``benchmarks/workloads.py``, the sparse Laplacian of ``sparse_bench.py``) at the
sizes where a GPU matters (``SIZES``); timing goes through the suite's harness
(``measure``), with the device synchronised inside every timed call (CuPy's
``Device().synchronize()``, ``torch.cuda.synchronize()``, JAX's
``block_until_ready``), so each timer read follows the work. Columns:

- ``xpgrad cupy``: xpgrad on CuPy arrays (``xpgrad numpy`` in a dry run);
- ``xpgrad torch``: xpgrad on torch tensors on the same device;
- ``torch.func``, ``jax eager``, ``jax jit``: the peers on the same device.

The data are drawn once, on the device, by the first column's library and
shared with the others through DLPack (no copies: W9's weights are 32 GiB).
Each column runs on its own (built, warmed up, checked against the first
column, timed, its peak memory read, freed) before the next, so one column's
cached memory does not crowd the next. Peak memory comes from each library's
own allocator: a CuPy memory-pool hook, ``torch.cuda.max_memory_allocated``,
JAX's ``memory_stats()["peak_bytes_in_use"]`` (which cannot be reset: a JAX peak
that did not grow during the call is reported as unknown).

``--dry-run`` runs the same code on the CPU with tiny sizes (NumPy in place of
CuPy, torch and JAX on the CPU where installed): the proof of the flow, not a
measurement. Results: ``gpu.json`` and ``gpu.md`` in ``--out`` (merged with the
rows already there, so the sparse row can run as a separate stage).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .device import Platform, Unavailable
from .rows import BUILDERS, ROWS, SIZES, Row, Sparse, sparse_check, summary

__all__ = ["COLUMNS", "Platform", "Row", "markdown", "run_row", "summary"]

COLUMNS = ("xpgrad cupy", "xpgrad numpy", "xpgrad torch", "torch.func", "jax eager", "jax jit")


# -- running a row ----------------------------------------------------------------------


def run_row(P: Platform, row: Row, settings: Any, deadline: float) -> dict:
    from .._harness import measure

    res: dict = {"row": row.name, "workload": row.workload, "n": row.n, "libs": {}}
    ref = None
    for col in P.columns:
        e: dict = {}
        res["libs"][col] = e
        if time.monotonic() > deadline:
            e.update(status="skipped", reason="the benchmark's time budget was spent")
            continue
        try:
            P.available(col)
            fn = row.make(P, col)
            thunk = partial(_synced, P, col, fn)
            t0 = time.perf_counter()
            out = thunk()
            e["first_call_s"] = time.perf_counter() - t0
            fp = summary(out)
            del out
            if ref is None:
                ref, res["reference"] = fp, col
                e["status"] = "ok"
            else:
                ok = fp.shape == ref.shape and bool(
                    np.allclose(fp, ref, rtol=row.rtol, atol=row.rtol * np.abs(ref).max()))
                e["status"] = "ok" if ok else "mismatch"
                e["match"] = ok
            e.update(measure(thunk, settings, e["first_call_s"]))
            if row.memory:
                e.update(P.peak(col, thunk))
            _log(f"  {row.name:<48} {col:<13} {e['median_s']:.3g} s  {e['status']}")
        except Unavailable as x:
            e.update(status="skipped", reason=str(x))
        except Exception as x:  # noqa: BLE001 - a failing column is reported, not fatal
            e.update(status="error", reason=f"{type(x).__name__}: {str(x)[:300]}")
            _log(f"  {row.name}: {col} failed: {e['reason']}")
        finally:
            fn = thunk = None  # type: ignore[assignment]
            P.free()
    if isinstance(row, Sparse) and ref is not None:
        res["jvp_check"] = sparse_check(P, row)
    _ratios(res)
    return res


def _synced(P: Platform, col: str, fn: Callable[[], Any]) -> Any:
    return P.sync(col, fn())


def _ratios(res: dict) -> None:
    libs = res["libs"]
    x = next((libs[c] for c in ("xpgrad cupy", "xpgrad numpy") if c in libs), {})
    res["ratios"] = {}
    for peer in ("torch.func", "jax eager", "jax jit", "xpgrad torch"):
        if "median_s" in x and "median_s" in libs.get(peer, {}):
            res["ratios"][peer] = x["median_s"] / libs[peer]["median_s"]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the report -------------------------------------------------------------------------


def markdown(record: dict) -> str:
    from .._report import _cell, _fmt_r, _fmt_t

    info = record["machine"]
    v = info["versions"]
    out = ["# GPU benchmarks" + (" (dry run on the CPU: tiny sizes, not a measurement)"
                                  if record["dry_run"] else ""), ""]
    dev = info.get("device", "?")
    if "cuda_driver" in info:
        dev += (f", {info.get('device_memory_gib', 0):.0f} GiB; CUDA driver "
                f"{info['cuda_driver']}, runtime {info['cuda_runtime']}; nvidia-smi: "
                f"{info.get('nvidia_smi', '-')}")
    libs = ", ".join(f"{k} {v[k]}" for k in ("xpgrad", "numpy", "cupy", "torch", "torch_cuda",
                                              "jax", "jaxlib") if k in v)
    out.append(f"Device: {dev}. Libraries: {libs}. float64; median seconds per call, the "
               f"device synchronised inside each timed call. {record['created']}.")
    if info.get("launch_floor_us"):
        fl = ", ".join(f"{k} {t:.1f} µs" for k, t in info["launch_floor_us"].items())
        out.append(f"\nLaunch floor (one tiny elementwise operation, queued 1000 times): {fl}.")
    rows = record["rows"]
    cols = [c for c in COLUMNS if any(c in r["libs"] for r in rows)]
    notes: dict[str, int] = {}
    out += ["", "| row | " + " | ".join(cols) + " | xpgrad ÷ torch.func | xpgrad ÷ jax eager | "
            "xpgrad ÷ jax jit |", "|---" * (len(cols) + 4) + "|"]
    for r in rows:
        cells = [_cell(r["libs"].get(c), notes) for c in cols]
        ratios = [_fmt_r(r["ratios"].get(p)) for p in ("torch.func", "jax eager", "jax jit")]
        out.append(f"| {r['row']} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    mem = [r for r in rows if any("peak_mib" in e or "peak_note" in e for e in r["libs"].values())]
    if mem:
        out += ["", "Peak device memory during one call, above what was allocated before it "
                "(MiB; each library's own allocator):", "",
                "| row | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for r in mem:
            cells = []
            for c in cols:
                e = r["libs"].get(c, {})
                if "peak_mib" in e:
                    cells.append(f"{e['peak_mib']:.3g}")
                elif "peak_note" in e:
                    cells.append(f"- [{notes.setdefault(e['peak_note'], len(notes) + 1)}]")
                else:
                    cells.append("-")
            out.append(f"| {r['row']} | " + " | ".join(cells) + " |")
    first = [(r["row"], c, e["first_call_s"]) for r in rows for c, e in r["libs"].items()
             if "first_call_s" in e]
    if first:
        out += ["", "First call (compilation, plans, caches) in seconds: "
                + "; ".join(f"{row} / {c}: {_fmt_t(t)}" for row, c, t in first) + "."]
    checks = [f"{r['row']}: {'ok' if r['jvp_check'] else 'WRONG'}" for r in rows
              if "jvp_check" in r]
    if checks:
        out.append("\nSparse Jacobian times a random vector against `jvp`: " + "; ".join(checks))
    if notes:
        out.append("")
        out += [f"[{tag}] {reason}  " for reason, tag in notes.items()]
    out.append("\n≠: differs from the first column (fingerprint of norms and sampled entries); "
               "-: not applicable. Reproduce: `bash benchmarks/gpu/run.sh`.")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU")
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from {ROWS}")
    p.add_argument("--out", default=os.environ.get("OUT") or "gpu-out")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds after which no new column starts (default 170 on the GPU)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every size by this (e.g. 0.5 if the GPU has less memory)")
    p.add_argument("--peers", default=os.environ.get("XPGRAD_GPU_PEERS", "jax,torch"),
                   help="peers to load: jax, torch, or none (default: $XPGRAD_GPU_PEERS or "
                        "both); without torch the 'xpgrad torch' column is skipped too")
    p.add_argument("--env-only", action="store_true",
                   help="print the device, driver and library versions, and stop")
    args = p.parse_args(argv)
    t_start = time.monotonic()
    P = Platform(args.dry_run, args.peers)
    info = P.info()
    if args.env_only:
        print(json.dumps(info, indent=1, default=str))
        v = info["versions"]
        print(f"device: {info['device']}; " + ", ".join(f"{k} {v[k]}" for k in sorted(v)))
        return 0
    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    bad = [r for r in wanted if r not in BUILDERS]
    if bad:
        raise SystemExit(f"--rows: unknown {bad}; choose from {list(BUILDERS)}")
    sizes = {k: max(2, int(v * args.scale)) if k != "w9_block" else v
             for k, v in SIZES["dry" if args.dry_run else "gpu"].items()}
    from .._harness import Settings

    settings = (Settings(repeats=2, min_time=0.0, max_total=0.5) if args.dry_run
                else Settings(repeats=5, min_time=0.05, max_total=3.0))
    budget = args.budget if args.budget is not None else (60.0 if args.dry_run else 170.0)
    deadline = t_start + budget
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "gpu.json"
    old = json.loads(path.read_text()) if path.exists() else {"rows": []}
    rows: list[dict] = []
    record: dict = {}

    def write() -> str:
        """The record so far: written after every row, so a stage cut short keeps them."""
        names = {r["row"] for r in rows}
        record.update({
            "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "dry_run": args.dry_run,
            "sizes": sizes,
            "settings": vars(settings) | {"libs": list(P.columns)},
            "machine": info,
            "platform": platform.platform(),
            "rows": [r for r in old["rows"] if r["row"] not in names] + rows,
            "skipped_peers": P.skipped,
        })
        path.write_text(json.dumps(record, indent=1, default=str))
        md = markdown(record)
        (out / "gpu.md").write_text(md)
        return md

    for name in wanted:
        _log(f"[{name}]")
        for row in BUILDERS[name](P, sizes):
            rows.append(run_row(P, row, settings, deadline))
            row.data = {}
            P.free()
            write()
    md = write()
    print(md)
    cells = [e["status"] for r in rows for e in r["libs"].values()]
    bad = sum(s in ("error", "mismatch") for s in cells)
    print(f"bench: {len(rows)} rows, {cells.count('ok')} cells ok, {bad} errors or mismatches, "
          f"{cells.count('skipped')} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
