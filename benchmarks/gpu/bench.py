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
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

SIZES = {
    "gpu": {"w1_batch": 4096, "w1_width": 4096, "w3": 4000, "w6": 2000, "w7": 10**8,
            "w9_layers": 256, "w9_width": 4096, "w9_block": 16, "sparse": 10**7},
    "dry": {"w1_batch": 32, "w1_width": 48, "w3": 40, "w6": 30, "w7": 1000,
            "w9_layers": 8, "w9_width": 16, "w9_block": 4, "sparse": 30**2},
}
ROWS = ("W1", "W3", "W6", "W7", "W9", "sparse")
COLUMNS = ("xpgrad cupy", "xpgrad numpy", "xpgrad torch", "torch.func", "jax eager", "jax jit")


class Unavailable(Exception):
    """This column cannot run this row; the message says why."""


# -- the device and the libraries on it ------------------------------------------------


class Platform:
    """The array libraries on one device: how data reach each, and how to wait for it."""

    def __init__(self, dry: bool, peers: str = "jax,torch"):
        self.dry = dry
        # JAX reads these when it is imported (by Peers below)
        os.environ.setdefault("JAX_PLATFORMS", "cpu" if dry else "cuda")
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        from .._peers import Peers

        self.peers = Peers({g.strip() for g in peers.split(",")} & {"jax", "torch"})
        self.torch, self.jax, self.jnp = self.peers.torch, self.peers.jax, self.peers.jnp
        self.skipped = dict(self.peers.skipped)
        if dry:
            self.xp = np
            self.first = "xpgrad numpy"
            self.torch_device = "cpu"
        else:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise SystemExit("no CUDA device: run with --dry-run on a CPU")
            self.xp = cupy
            self.first = "xpgrad cupy"
            self.torch_device = "cuda"
            if self.torch is not None and not self.torch.cuda.is_available():
                self.torch = None
                self.skipped["torch.func"] = "torch sees no CUDA device"
            if self.jax is not None and self.jax.default_backend() != "gpu":
                self.jax = None
                reason = f"JAX has no GPU backend ({os.environ.get('JAX_PLATFORMS')})"
                self.skipped.update({"jax eager": reason, "jax jit": reason})
        self.columns = [self.first, "xpgrad torch", "torch.func", "jax eager", "jax jit"]

    # data: drawn by the first column's library, shared with the others
    def rng(self, seed: int) -> Any:
        return self.xp.random.RandomState(seed)

    def group(self, col: str) -> str:
        return "xpgrad" if col.startswith("xpgrad") else col.split(".")[0].split(" ")[0]

    def lib_of(self, col: str) -> str:
        """Which array library a column's data live in: 'primary', 'torch' or 'jax'."""
        if col == self.first:
            return "primary"
        return "jax" if col.startswith("jax") else "torch"

    def available(self, col: str) -> None:
        if col in self.skipped:
            raise Unavailable(self.skipped[col])
        if self.lib_of(col) == "torch" and self.torch is None:
            raise Unavailable(self.skipped.get("torch.func", "torch is not installed"))
        if self.lib_of(col) == "jax" and self.jax is None:
            raise Unavailable(self.skipped.get("jax eager", "jax is not installed"))

    def convert(self, col: str, tree: Any) -> Any:
        lib = self.lib_of(col)
        if lib == "primary":
            return tree
        if lib == "torch":
            return _map(tree, self.torch.from_dlpack)
        if self.dry:
            return _map(tree, self.jnp.asarray)
        return _map(tree, self.jax.dlpack.from_dlpack)

    def sync(self, col: str, out: Any) -> Any:
        """Wait until ``out`` is computed: every timer read comes after the work."""
        lib = self.lib_of(col)
        if lib == "jax":
            self.jax.block_until_ready(out)
        elif self.dry:
            pass
        elif lib == "torch":
            self.torch.cuda.synchronize()
        else:
            self.xp.cuda.Device().synchronize()
        return out

    def peak(self, col: str, fn: Callable[[], Any]) -> dict:
        """Peak bytes the column's allocator held during one call, above the start."""
        lib = self.lib_of(col)
        if self.dry:
            if lib != "primary":
                return {"peak_note": "no allocator statistics for this library on the CPU"}
            from .._harness import peak_memory

            return {"peak_mib": peak_memory(fn)["peak_mib"]}
        if lib == "primary":
            return _cupy_peak(self.xp, fn)
        if lib == "torch":
            t = self.torch
            t.cuda.synchronize()
            t.cuda.reset_peak_memory_stats()
            base = t.cuda.memory_allocated()
            out = fn()
            t.cuda.synchronize()
            del out
            return {"peak_mib": (t.cuda.max_memory_allocated() - base) / 2**20}
        dev = self.jax.devices()[0]
        before = dev.memory_stats() or {}
        out = fn()
        after = dev.memory_stats() or {}
        del out
        if "peak_bytes_in_use" not in after:
            return {"peak_note": "JAX reports no memory statistics here"}
        if after["peak_bytes_in_use"] <= before.get("peak_bytes_in_use", 0):
            return {"peak_note": "unknown: JAX's peak cannot be reset and did not grow here"}
        return {"peak_mib": (after["peak_bytes_in_use"] - before.get("bytes_in_use", 0))
                / 2**20}

    def free(self) -> None:
        gc.collect()
        if self.dry:
            return
        self.xp.get_default_memory_pool().free_all_blocks()
        if self.torch is not None:
            self.torch.cuda.empty_cache()

    def info(self) -> dict:
        from .._report import machine_info

        info = machine_info(self.peers.versions)
        info["mode"] = "dry run (CPU)" if self.dry else "GPU"
        if not self.dry:
            cp = self.xp
            props = cp.cuda.runtime.getDeviceProperties(0)
            info["device"] = props["name"].decode() if isinstance(props["name"], bytes) \
                else str(props["name"])
            info["device_memory_gib"] = props["totalGlobalMem"] / 2**30
            info["cuda_runtime"] = cp.cuda.runtime.runtimeGetVersion()
            info["cuda_driver"] = cp.cuda.runtime.driverGetVersion()
            info["versions"]["cupy"] = cp.__version__
            if self.torch is not None:
                info["versions"]["torch_cuda"] = self.torch.version.cuda
            info["nvidia_smi"] = _nvidia_smi()
            info["launch_floor_us"] = self.launch_floor()
        else:
            info["device"] = f"CPU ({info['processor']})"
        if self.jax is not None:
            info["jax_devices"] = [str(d) for d in self.jax.devices()]
        return info

    def launch_floor(self) -> dict:
        """Seconds per tiny elementwise operation, synchronised once per 1000: the floor
        under which a small row's per-operation overhead cannot go."""
        out = {}
        a = self.xp.ones(1)
        out["cupy"] = _per_op(lambda: a + 1.0, lambda: self.xp.cuda.Device().synchronize())
        if self.torch is not None:
            t = self.torch.ones(1, device="cuda", dtype=self.torch.float64)
            out["torch"] = _per_op(lambda: t + 1.0, self.torch.cuda.synchronize)
        if self.jax is not None:
            j = self.jnp.ones(1)
            last: list = [None]

            def op() -> None:
                last[0] = j + 1.0

            out["jax"] = _per_op(op, lambda: self.jax.block_until_ready(last[0]))
        return {k: v * 1e6 for k, v in out.items()}


def _per_op(op: Callable, sync: Callable, n: int = 1000) -> float:
    for _ in range(20):
        op()
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        op()
    sync()
    return (time.perf_counter() - t0) / n


def _cupy_peak(cupy: Any, fn: Callable[[], Any]) -> dict:
    """Peak bytes handed out by CuPy's memory pool during ``fn()`` (a pool hook)."""

    class Peak(cupy.cuda.MemoryHook):
        name = "xpgrad_bench_peak"

        def __init__(self) -> None:
            self.now = self.peak = 0

        def malloc_postprocess(self, **kw: Any) -> None:
            self.now += kw["mem_size"]
            self.peak = max(self.peak, self.now)

        def free_postprocess(self, **kw: Any) -> None:
            self.now -= kw["mem_size"]

    hook = Peak()
    cupy.cuda.Device().synchronize()
    with hook:
        out = fn()
        cupy.cuda.Device().synchronize()
    del out
    return {"peak_mib": hook.peak / 2**20}


def _nvidia_smi() -> str:
    try:
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.sm,"
             "clocks.max.sm,temperature.gpu,power.draw", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"nvidia-smi unavailable ({type(e).__name__})"


def _map(tree: Any, fn: Callable) -> Any:
    if isinstance(tree, dict):
        return {k: _map(v, fn) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(v, fn) for v in tree)
    return fn(tree)


# -- the rows ---------------------------------------------------------------------------


class Row:
    """One row: its data (on the device), and per column a thunk computing the derivative."""

    def __init__(self, name: str, workload: str, n: int, data: dict, memory: bool = False,
                 rtol: float = 1e-7):
        self.name, self.workload, self.n, self.data = name, workload, n, data
        self.memory, self.rtol = memory, rtol

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        """The column's derivative of this row as a thunk (raises ``Unavailable``)."""
        raise NotImplementedError


def _xpgrad_ns(a: Any) -> Any:
    from ..workloads import _ns

    return _ns(a)


def _peer_ns(P: Platform, col: str) -> Any:
    return P.torch if P.lib_of(col) == "torch" else P.jnp


def _transform(P: Platform, col: str, jax_t: Callable | None, torch_t: Callable | None,
               f: Callable, args: tuple) -> Callable[[], Any]:
    """A peer's derivative (``jax_t(f)`` or ``torch_t(f)``) of ``args`` as a thunk."""
    if col == "torch.func":
        if torch_t is None:
            raise Unavailable("no equivalent in torch.func")
        d = torch_t(f)
    elif col.startswith("jax"):
        if jax_t is None:
            raise Unavailable("no equivalent in JAX")
        d = jax_t(f)
        if col == "jax jit":
            d = P.jax.jit(d)
    else:
        raise AssertionError(col)
    return lambda: d(*args)


class W1(Row):
    """The MLP loss's gradient w.r.t. the parameters (batch x width, 10 outputs)."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import mlp_loss

        d = P.convert(col, self.data)
        p, x, y = d["p"], d["x"], d["y"]
        if P.group(col) == "xpgrad":
            import xpgrad

            return lambda: xpgrad.gradient(lambda p: mlp_loss(_xpgrad_ns(p), p, x, y), p)[0]
        return _transform(P, col, lambda f: P.jax.grad(f), lambda f: P.torch.func.grad(f),
                          partial(mlp_loss, _peer_ns(P, col)), (p, x, y))


def w1(P: Platform, s: dict) -> list[Row]:
    r, b, w = P.rng(1), s["w1_batch"], s["w1_width"]
    p = {"W1": r.standard_normal((w, w)) / math.sqrt(w), "b1": r.standard_normal(w) / 10,
         "W2": r.standard_normal((w, 10)) / math.sqrt(w), "b2": r.standard_normal(10) / 10}
    data = {"p": p, "x": r.standard_normal((b, w)), "y": r.standard_normal((b, 10))}
    return [W1(f"W1 mlp_grad batch={b} width={w}", "W1", w, data)]


class W3(Row):
    """The reverse-mode Jacobian of ``tanh(A @ x)``, ``n x n``."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import _bound, tanh_affine

        d = P.convert(col, self.data)
        x, A = d["x"], d["A"]
        if P.group(col) == "xpgrad":
            import xpgrad

            fx = partial(_bound, tanh_affine, A)
            return lambda: xpgrad.jacobian(fx, x, mode="reverse")[0]
        return _transform(P, col, lambda f: P.jax.jacrev(f), lambda f: P.torch.func.jacrev(f),
                          partial(tanh_affine, _peer_ns(P, col)), (x, A))


def w3(P: Platform, s: dict) -> list[Row]:
    n, r = s["w3"], P.rng(3)
    data = {"x": r.standard_normal(n), "A": r.standard_normal((n, n)) / math.sqrt(n)}
    return [W3(f"W3 jacobian_square n={n}", "W3", n, data)]


class W6(Row):
    """The Hessian of the Rosenbrock function (forward over reverse everywhere)."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import rosen, xpg

        x = P.convert(col, self.data)["x"]
        if P.group(col) == "xpgrad":
            import xpgrad

            return lambda: xpgrad.hessian(xpg(rosen), x)
        return _transform(P, col, lambda f: P.jax.hessian(f), lambda f: P.torch.func.hessian(f),
                          partial(rosen, _peer_ns(P, col)), (x,))


def w6(P: Platform, s: dict) -> list[Row]:
    n = s["w6"]
    x = -1.0 + 2.5 * P.rng(6).random_sample(n)
    return [W6(f"W6 hessian_rosen n={n}", "W6", n, {"x": x})]


class W7(Row):
    """A Hessian-vector product of the Rosenbrock function (forward over reverse)."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import rosen, xpg

        d = P.convert(col, self.data)
        x, v = d["x"], d["v"]
        if P.group(col) == "xpgrad":
            import xpgrad

            return lambda: xpgrad.hvp(xpg(rosen), x, v)

        def jax_hvp(f: Callable) -> Callable:
            return lambda x, v: P.jax.jvp(P.jax.grad(f), (x,), (v,))[1]

        def torch_hvp(f: Callable) -> Callable:
            return lambda x, v: P.torch.func.jvp(P.torch.func.grad(f), (x,), (v,))[1]

        return _transform(P, col, jax_hvp, torch_hvp, partial(rosen, _peer_ns(P, col)), (x, v))


def w7(P: Platform, s: dict) -> list[Row]:
    n, r = s["w7"], P.rng(7)
    data = {"x": -1.0 + 2.5 * r.random_sample(n), "v": r.standard_normal(n)}
    return [W7(f"W7 hvp_rosen n={n:.0e}", "W7", n, data)]


class W9(Row):
    """d/dh of ``layers`` tanh layers ``h = tanh(h @ W)``, plain or checkpointed.

    The gradient w.r.t. the input: what the tape saves sets the peak, so
    checkpointing every ``block`` layers shows (the gradient w.r.t. the weights
    is as large as the weights, and would set every peak alike).
    """

    block = 0

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import deep_tanh

        d = P.convert(col, self.data)
        Ws, h = d["Ws"], d["h"]
        block = self.block
        if P.group(col) == "xpgrad":
            import xpgrad

            ckpt = partial(partial, xpgrad.checkpointed) if block else None
            return lambda: xpgrad.gradient(
                lambda h: deep_tanh(_xpgrad_ns(h), Ws, h, ckpt, block or 1), h)[0]
        if col == "torch.func" and block:
            raise Unavailable("torch.func does not support torch.utils.checkpoint "
                              "(saved tensor hooks)")
        ns = _peer_ns(P, col)
        ckpt = P.jax.checkpoint if block and col.startswith("jax") else None

        def f(h: Any, ws: Any) -> Any:
            return deep_tanh(ns, ws, h, ckpt, block or 1)

        return _transform(P, col, lambda f: P.jax.grad(f), lambda f: P.torch.func.grad(f), f,
                          (h, Ws))


class W9Ckpt(W9):
    pass


def w9(P: Platform, s: dict) -> list[Row]:
    L, w, b = s["w9_layers"], s["w9_width"], s["w9_block"]
    r = P.rng(9)
    data = {"Ws": [r.standard_normal((w, w)) / math.sqrt(w) for _ in range(L)],
            "h": r.standard_normal((w, w))}
    ck = W9Ckpt(f"W9 checkpoint_mem ckpt per {b} layers d/dh ({L}x{w}x{w})", "W9", w, data,
                memory=True)
    ck.block = b
    # checkpointed first: JAX's peak statistic only grows, so the smaller peak goes first
    return [ck, W9(f"W9 checkpoint_mem plain d/dh ({L}x{w}x{w})", "W9", w, data, memory=True)]


class Sparse(Row):
    """The sparse Jacobian of the 2-D Laplacian residual (cached pattern and coloring).

    The first call detects and colours the pattern (``first_call_s``); the timed
    calls reuse them (the compressed passes and the recovery). xpgrad only: the
    peers have no sparse Jacobian on the GPU (sparsejac is JAX on the CPU).
    """

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        if P.group(col) != "xpgrad":
            raise Unavailable("no sparse Jacobian in this library")
        import xpgrad

        from ..sparse_bench import laplacian

        x = P.convert(col, self.data)["x"]
        from xpgrad.api.sparse import clear_cache

        clear_cache()
        return lambda: xpgrad.sparse_jacobian(laplacian, x, cache=True).values


def sparse_check(P: Platform, row: Row) -> bool:
    """``J @ v`` from the sparse Jacobian equals ``jvp`` along ``v`` (first column's data)."""
    import xpgrad
    import xpgrad.backends as B

    from ..sparse_bench import laplacian

    x = row.data["x"]
    S = xpgrad.sparse_jacobian(laplacian, x, cache=True)
    v = P.rng(11).standard_normal(x.shape[0])
    rows, cols, vals = (B.to_host(a) for a in (S.rows, S.cols, S.values))
    Jv = np.bincount(rows, weights=vals * B.to_host(v)[cols], minlength=S.shape[0])
    want = B.to_host(xpgrad.jvp(laplacian, (x,), (v,))[1])
    return bool(np.allclose(Jv, want, rtol=1e-10, atol=1e-10))


def sparse(P: Platform, s: dict) -> list[Row]:
    N = math.isqrt(s["sparse"])
    x = 0.5 + P.rng(12).random_sample(N * N)
    return [Sparse(f"sparse laplacian jacobian n={N * N:.2e}", "sparse", N * N, {"x": x})]


BUILDERS: dict[str, Callable[[Platform, dict], list[Row]]] = {
    "W1": w1, "W3": w3, "W6": w6, "W7": w7, "W9": w9, "sparse": sparse,
}


# -- running a row ----------------------------------------------------------------------


def summary(tree: Any) -> np.ndarray:
    """A small host-side fingerprint of a result: per leaf its 2-norm and up to 2000
    evenly spaced entries (a W9 gradient is gigabytes; comparing this is enough to
    catch a wrong derivative without copying it to the host)."""
    leaves = []

    def walk(t: Any) -> None:
        if isinstance(t, dict):  # in key order: JAX returns dicts sorted by key
            for k in sorted(t):
                walk(t[k])
        elif isinstance(t, (list, tuple)):
            for v in t:
                walk(v)
        else:
            leaves.append(t)

    walk(tree)
    parts = []
    for a in leaves:
        flat = a.reshape(-1)
        step = max(1, flat.shape[0] // 2000)
        parts.append(np.asarray([float((flat * flat).sum()) ** 0.5]))
        parts.append(_host(flat[::step]))
    return np.concatenate(parts)


def _host(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        return a.get()
    return np.asarray(a)


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
                    cells.append(f"{e['peak_mib']:.0f}")
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
