"""The array libraries on one device, for the GPU benchmarks (``bench.py``).

``Platform`` knows, for each column, where its data live (CuPy or, in a dry run,
NumPy; torch; JAX), how data reach it from the first column's library (DLPack,
no copies), how to wait for its work (``Device().synchronize()``,
``torch.cuda.synchronize()``, ``block_until_ready``), and how to read the peak
memory its own allocator held during one call. Also the device line (versions,
driver, nvidia-smi) and the kernel-launch floor.
"""

from __future__ import annotations

import gc
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np


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
            return _map(tree, self._to_torch)
        if self.dry:
            return _map(tree, self.jnp.asarray)
        return _map(tree, self._to_jax)

    def _to_torch(self, a: Any) -> Any:
        try:
            return self.torch.from_dlpack(a)  # the same memory
        except Exception:  # noqa: BLE001 - an exchange that fails costs a copy, not the row
            return self.torch.as_tensor(a, device=self.torch_device)

    def _to_jax(self, a: Any) -> Any:
        try:
            return self.jax.dlpack.from_dlpack(a)
        except Exception:  # noqa: BLE001
            return self.jax.device_put(self.xp.asnumpy(a), self.jax.devices()[0])

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
