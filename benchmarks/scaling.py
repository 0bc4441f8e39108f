"""Scaling runs: W3 (reverse Jacobian) and W6 (Hessian) for n from 100 to 3,200.

A library whose next point is predicted (from its own measured growth) to take
longer than the per-call budget is skipped from there on, so the suite stays
within its time limit; the report says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._harness import Case, Settings, fit_exponent, log, run_case
from ._peers import Peers
from .workloads import w3_case, w6_case

SIZES = (100, 200, 400, 800, 1600, 3200)
QUICK_SIZES = (100, 200, 400)
BUILDERS: dict[str, Callable[[Peers, int], Case]] = {"S3": w3_case, "S6": w6_case}
NAMES = {"S3": "W3 jacobian_square (reverse)", "S6": "W6 hessian_rosen"}
#: the fit uses sizes from here on, where per-call overheads no longer dominate
FIT_FROM = 400


def run_scalings(keys: list[str], P: Peers, s: Settings, sizes: tuple, max_call: float,
                 deadline: float = float("inf")) -> list[dict]:
    """Time every library at every size; fit log(time) against log(n) per library.

    The runs are interleaved by size (both at n=100, then both at n=200, ...), and
    no size is started after ``deadline`` (a ``time.perf_counter()`` value), so on
    a busy machine both runs lose their largest sizes rather than one run all.
    """
    runs = {k: {"key": k, "name": NAMES[k], "sizes": list(sizes), "points": [],
                "stopped": {}, "hist": {}} for k in keys}
    for n in sizes:
        for key, run in runs.items():
            if time.perf_counter() > deadline:
                for lib in run["hist"]:
                    run["stopped"].setdefault(
                        lib, f"stopped before n={n}: the suite's time limit was reached")
                log(f"[{key}] n={n}: skipped, the suite's time limit was reached")
                continue
            log(f"[{key}] n={n}")
            _step(run, BUILDERS[key](P, n), n, s, sizes, max_call)
    out = []
    for run in runs.values():
        exponents, ranges = {}, {}
        for lib, hist in run.pop("hist").items():
            pts = [(n, t) for n, t in hist if n >= FIT_FROM]
            pts = pts if len(pts) >= 2 else hist
            ranges[lib] = [pts[0][0], pts[-1][0]]
            exponents[lib] = fit_exponent([p[0] for p in pts], [p[1] for p in pts])
        run.update(exponents=exponents, fit_from=FIT_FROM, fit_ranges=ranges)
        out.append(run)
    return out


def _step(run: dict, case: Case, n: int, s: Settings, sizes: tuple, max_call: float) -> None:
    """One size of one run; libraries predicted to exceed ``max_call`` next time stop."""
    case.row = f"{run['name']} n={n}"
    for lib, why in run["stopped"].items():
        case.impls.pop(lib, None)
        case.skipped[lib] = why
    res = run_case(case, s)
    res["n"] = n
    run["points"].append(res)
    nxt = _next_size(sizes, n)
    for lib, entry in res["libs"].items():
        if "median_s" not in entry:
            continue
        hist = run["hist"].setdefault(lib, [])
        hist.append((n, entry["median_s"]))
        if nxt is None:
            continue
        pred = _predict(hist, nxt)
        if pred > max_call:
            run["stopped"][lib] = (f"stopped after n={n}: n={nxt} predicted at {pred:.1f} s "
                                   f"per call, over the {max_call:g} s scaling budget")


def _next_size(sizes: tuple, n: int) -> int | None:
    i = sizes.index(n)
    return sizes[i + 1] if i + 1 < len(sizes) else None


def _predict(hist: list, nxt: int) -> float:
    """Extrapolate with the last measured exponent, clamped to [2, 3] (3 before there is one).

    At least 2: the sizes start where per-call overheads flatten the curve, and both
    workloads produce an n-by-n result, so growth only steepens from there.
    """
    n, t = hist[-1]
    p = 3.0
    if len(hist) >= 2:
        p = min(3.0, max(2.0, fit_exponent([h[0] for h in hist[-2:]], [h[1] for h in hist[-2:]])))
    return t * (nxt / n) ** p
