"""Scaling runs: W3 (reverse Jacobian) and W6 (Hessian) for n from 100 to 3,200.

A library whose next point is predicted (from its own measured growth) to take
longer than the per-call budget is skipped from there on, so the suite stays
within its time limit; the report says so.
"""

from __future__ import annotations

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


def run_scaling(key: str, P: Peers, s: Settings, sizes: tuple, max_call: float) -> dict:
    """Time every library at every size; fit log(time) against log(n) per library."""
    build = BUILDERS[key]
    points: list[dict] = []
    stopped: dict[str, str] = {}
    last: dict[str, list] = {}
    for n in sizes:
        log(f"[{key}] n={n}")
        case = build(P, n)
        case.row = f"{NAMES[key]} n={n}"
        for lib, why in stopped.items():
            case.impls.pop(lib, None)
            case.skipped[lib] = why
        res = run_case(case, s)
        points.append(res)
        for lib, entry in res["libs"].items():
            if "median_s" not in entry:
                continue
            hist = last.setdefault(lib, [])
            hist.append((n, entry["median_s"]))
            nxt = _next_size(sizes, n)
            if nxt is None:
                continue
            pred = _predict(hist, nxt)
            if pred > max_call:
                stopped[lib] = (f"stopped after n={n}: n={nxt} predicted at {pred:.1f} s per "
                                f"call, over the {max_call:g} s scaling budget")
    exponents, ranges = {}, {}
    for lib, hist in last.items():
        pts = [(n, t) for n, t in hist if n >= FIT_FROM]
        pts = pts if len(pts) >= 2 else hist
        ranges[lib] = [pts[0][0], pts[-1][0]]
        exponents[lib] = fit_exponent([p[0] for p in pts], [p[1] for p in pts])
    return {"key": key, "name": NAMES[key], "sizes": list(sizes), "points": points,
            "exponents": exponents, "fit_from": FIT_FROM, "fit_ranges": ranges,
            "stopped": stopped}


def _next_size(sizes: tuple, n: int) -> int | None:
    i = sizes.index(n)
    return sizes[i + 1] if i + 1 < len(sizes) else None


def _predict(hist: list, nxt: int) -> float:
    """Extrapolate with the last measured exponent (clamped to [1, 3]; 3 before there is one)."""
    n, t = hist[-1]
    p = 3.0
    if len(hist) >= 2:
        p = min(3.0, max(1.0, fit_exponent([h[0] for h in hist[-2:]], [h[1] for h in hist[-2:]])))
    return t * (nxt / n) ** p
