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
NUMPY_BASED = ("xpgrad", "xpgrad jit", "xpgrad loop", "autograd")


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


def _number(t1: float, s: Settings) -> int:
    return max(1, min(10_000, int(s.min_time / max(t1, 1e-9)))) if s.min_time > 0 else 1


def measure(fn: Callable[[], Any], s: Settings, t_first: float | None = None) -> dict:
    """Median seconds per call of one function (see ``measure_together``)."""
    return measure_together({"fn": fn}, s, {"fn": t_first})["fn"]


def measure_together(
    fns: dict[str, Callable[[], Any]], s: Settings, t_first: dict[str, float | None]
) -> dict[str, dict]:
    """Median seconds per call of each function, timed in interleaved rounds.

    Every function has been called once already (warm-up). Like ``timeit``,
    each timing runs a function ``number`` times (enough to last
    ``s.min_time``), and the median over repeats is reported. The repeats are
    rounds: each round times every function once, in a rotated order, so that
    a change in the machine's speed during the row (other jobs, frequency
    scaling, a shared host) reaches all of them alike and the ratios, taken
    within each round (``paired_ratio``), stay steady. Unlike ``timeit`` the
    garbage collector stays on (collected before each timing): the Python
    objects a library allocates per operation are part of its cost. A
    function whose warm-up call (``t_first``) took over half the per-cell
    budget is timed once, in the first round only.

    Before each timing the collector runs and then freezes what is alive
    (``gc.freeze``), so each timing's collections walk only what that call
    allocates, not what the library timed before it left alive (JAX's caches,
    say); the row ends with ``gc.unfreeze``.
    """
    out: dict[str, dict] = {}
    numbers: dict[str, int] = {}
    spent: dict[str, float] = {}
    for k, fn in fns.items():
        tf = t_first.get(k)
        if tf is not None and tf > s.max_total / 2:
            numbers[k] = 1
            spent[k] = float("inf")  # one timing, in the first round
        else:
            gc.collect()
            gc.freeze()
            t1 = _call_timed(fn, 1)  # calibration call (also a second warm-up for jit)
            numbers[k] = _number(t1, s)
            spent[k] = t1
        out[k] = {"times": [], "number": numbers[k]}
    keys = list(fns)
    for r in range(max(1, s.repeats)):
        i = r % len(keys)
        for k in keys[i:] + keys[:i]:
            e = out[k]
            if e["times"] and spent[k] > s.max_total:
                continue
            gc.collect()
            gc.freeze()
            t = _call_timed(fns[k], numbers[k])
            e["times"].append(t)
            spent[k] += t * numbers[k]
    gc.unfreeze()
    for e in out.values():
        e["median_s"] = statistics.median(e["times"])
    return out


def paired_ratio(a: dict, b: dict) -> float:
    """Median over the rounds both were timed in of ``a``'s time over ``b``'s."""
    ta, tb = a["times"], b["times"]
    n = min(len(ta), len(tb))
    return statistics.median(ta[i] / tb[i] for i in range(n))


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


#: the key of the plain-NumPy forward evaluation among a row's timings
FORWARD = "NumPy forward"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_case(case: Case, s: Settings) -> dict:
    """Warm up and check every library against the reference, then time each."""
    t_case = time.perf_counter()
    res: dict[str, Any] = {"row": case.row, "workload": case.workload, "n": case.n, "libs": {}}
    t0 = time.perf_counter()
    case.forward()
    t_forward = time.perf_counter() - t0
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
    timed = [lib for lib, e in libs.items() if e["status"] in ("ok", "mismatch")]
    fns = {FORWARD: case.forward, **{lib: case.impls[lib] for lib in timed}}
    firsts = {FORWARD: t_forward, **{lib: libs[lib].get("first_call_s") for lib in timed}}
    times = measure_together(fns, s, firsts)
    res["forward"] = times.pop(FORWARD)
    for lib, entry in times.items():
        libs[lib].update(entry)
        if case.memory and lib in NUMPY_BASED:
            libs[lib].update(peak_memory(case.impls[lib]))
        log(f"  {case.row:<28} {lib:<12} {entry['median_s']:.3g} s")
    _ratios(res)
    res["wall_s"] = time.perf_counter() - t_case
    return res


def _ratios(res: dict) -> None:
    libs = res["libs"]
    timed = {k: v for k, v in libs.items() if "median_s" in v}
    res["ratio_to_forward"] = {k: paired_ratio(v, res["forward"]) for k, v in timed.items()}
    eager = {k: v["median_s"] for k, v in timed.items()
             if k in EAGER_PEERS and libs[k]["status"] == "ok"}
    if eager:
        best = min(eager, key=eager.get)
        res["best_eager"] = best
        res["ratio_to_best_eager"] = {k: paired_ratio(v, libs[best]) for k, v in timed.items()}
    else:
        res["best_eager"] = None
        res["ratio_to_best_eager"] = {}


def fit_exponent(ns: list, ts: list) -> float | None:
    """Slope of log(time) against log(n) (least squares), from the points given."""
    if len(ns) < 2:
        return None
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])
