"""Cases, timing and the equality check every workload goes through before timing."""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._peers import EAGER_PEERS, LIBS, allclose, to_numpy

#: Libraries whose arrays are NumPy's, so ``tracemalloc`` sees their memory.
NUMPY_BASED = ("xpgrad", "xpgrad loop", "autograd")


class Unavailable(Exception):
    """A library (or an xpgrad function) cannot run this case; the message says why."""


@dataclass
class Settings:
    repeats: int = 5
    #: each repeat runs the call ``number`` times, enough to last this long (timeit-style)
    min_time: float = 0.05
    #: stop repeating one (row, library) after this many seconds (at least one repeat)
    max_total: float = 4.0
    #: libraries to time (the columns); the others are reported as skipped
    libs: tuple = LIBS


@dataclass
class Case:
    """One row: a forward evaluation and, per library, a thunk computing the derivative."""

    row: str
    workload: str
    forward: Callable[[], Any]
    impls: dict[str, Callable[[], Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    memory: bool = False
    n: int | None = None
    rtol: float = 1e-5
    atol: float = 1e-8
    #: rows with the same key share one timing of the (identical) forward evaluation
    forward_key: str | None = None

    def add(self, lib: str, make: Callable[[], Callable[[], Any]]) -> None:
        """Register ``make()``'s thunk for ``lib``; ``Unavailable`` records a skip."""
        try:
            self.impls[lib] = make()
        except Unavailable as e:
            self.skipped[lib] = str(e)


def _call_timed(fn: Callable[[], Any], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def measure(fn: Callable[[], Any], s: Settings, t_first: float | None = None) -> dict:
    """Median seconds per call; ``fn`` has been called once already (warm-up).

    Like ``timeit``, each repeat runs ``number`` calls (enough to last
    ``s.min_time``) and the median over repeats is reported. Unlike ``timeit``
    the garbage collector stays on (collected before each repeat): the Python
    objects a library allocates per operation are part of its cost. A call
    slower than half the per-cell budget is timed once more and not calibrated
    (``t_first``: the warm-up call's seconds, if known).
    """
    gc.collect()
    if t_first is not None and t_first > s.max_total / 2:
        t = _call_timed(fn, 1)
        return {"median_s": t, "times": [t], "number": 1}
    t1 = _call_timed(fn, 1)  # calibration call (also a second warm-up for jit)
    number = max(1, min(10_000, int(s.min_time / max(t1, 1e-9)))) if s.min_time > 0 else 1
    times: list[float] = []
    spent = t1
    for _ in range(max(1, s.repeats)):
        gc.collect()
        t = _call_timed(fn, number)
        times.append(t)
        spent += t * number
        if spent > s.max_total:
            break
    return {"median_s": statistics.median(times), "times": times, "number": number}


def peak_memory(fn: Callable[[], Any]) -> dict:
    """Peak bytes traced by ``tracemalloc`` during one call (NumPy reports its buffers)."""
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = _nbytes(out)
    return {"peak_mib": peak / 2**20, "result_mib": result / 2**20,
            "working_mib": (peak - result) / 2**20}


def _nbytes(tree: Any) -> int:
    return sum(a.nbytes for a in _leaves(to_numpy(tree)))


def _leaves(tree: Any) -> list:
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _leaves(v)]
    if isinstance(tree, list):
        return [x for v in tree for x in _leaves(v)]
    return [tree]


#: forward timings shared by rows with the same ``Case.forward_key`` (one run)
_FORWARD_TIMES: dict[str, dict] = {}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_case(case: Case, s: Settings) -> dict:
    """Warm up and check every library against the reference, then time each."""
    t_case = time.perf_counter()
    res: dict[str, Any] = {"row": case.row, "workload": case.workload, "n": case.n, "libs": {}}
    if case.forward_key is not None and case.forward_key in _FORWARD_TIMES:
        res["forward"] = _FORWARD_TIMES[case.forward_key]
    else:
        t0 = time.perf_counter()
        case.forward()
        res["forward"] = measure(case.forward, s, time.perf_counter() - t0)
        if case.forward_key is not None:
            _FORWARD_TIMES[case.forward_key] = res["forward"]
    libs = res["libs"]
    outputs: dict[str, Any] = {}
    for lib in LIBS:
        if lib not in s.libs:
            continue
        if lib in case.skipped or lib not in case.impls:
            libs[lib] = {"status": "skipped", "reason": case.skipped.get(lib, "not applicable")}
            continue
        try:
            t0 = time.perf_counter()
            outputs[lib] = case.impls[lib]()
            libs[lib] = {"status": "ok", "first_call_s": time.perf_counter() - t0}
        except Exception as e:  # noqa: BLE001 - a failing library is reported, not fatal
            libs[lib] = {"status": "error", "reason": f"{type(e).__name__}: {e}"}
            log(f"  {case.row}: {lib} failed: {type(e).__name__}: {e}")
    ref_lib = "xpgrad" if "xpgrad" in outputs else next(iter(outputs), None)
    res["reference"] = ref_lib
    for lib, out in outputs.items():
        try:
            ok = allclose(out, outputs[ref_lib], case.rtol, case.atol)
        except Exception:  # noqa: BLE001 - shapes/structures that differ are a mismatch
            ok = False
        libs[lib]["match"] = ok
        if not ok:
            libs[lib]["status"] = "mismatch"
            log(f"  {case.row}: {lib} disagrees with {ref_lib} (np.allclose failed)")
    del outputs
    for lib, entry in libs.items():
        if entry["status"] not in ("ok", "mismatch"):
            continue
        entry.update(measure(case.impls[lib], s, entry.get("first_call_s")))
        if case.memory and lib in NUMPY_BASED:
            entry.update(peak_memory(case.impls[lib]))
        log(f"  {case.row:<28} {lib:<12} {entry['median_s']:.3g} s")
    _ratios(res)
    res["wall_s"] = time.perf_counter() - t_case
    return res


def _ratios(res: dict) -> None:
    libs = res["libs"]
    timed = {k: v["median_s"] for k, v in libs.items() if "median_s" in v}
    fwd = res["forward"]["median_s"]
    res["ratio_to_forward"] = {k: t / fwd for k, t in timed.items()}
    eager = {k: t for k, t in timed.items() if k in EAGER_PEERS and libs[k]["status"] == "ok"}
    if eager:
        best = min(eager, key=eager.get)
        res["best_eager"] = best
        res["ratio_to_best_eager"] = {k: t / eager[best] for k, t in timed.items()}
    else:
        res["best_eager"] = None
        res["ratio_to_best_eager"] = {}


def fit_exponent(ns: list, ts: list) -> float | None:
    """Slope of log(time) against log(n) (least squares), from the points given."""
    if len(ns) < 2:
        return None
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])
