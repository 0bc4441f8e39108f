"""``scipy.optimize.minimize`` fed an eager and a jitted ``withgradient`` (docs/jit.md).

Rosenbrock in 50 variables from ``x0 = -1``, L-BFGS-B with ``jac=True``. Prints,
best of ``--repeats``: one call of each function, the whole ``minimize``, the
first call of a fresh ``jit`` (trace, simplify, lower) next to one eager call,
and one NumPy forward evaluation. Not a CI test. Run::

    python -m benchmarks.jit_minimize
"""

from __future__ import annotations

import argparse
import time
import timeit
from typing import Any

import numpy as np

import xpgrad


def rosen(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def value_and_grad(x: Any) -> tuple:
    val, (g,) = xpgrad.withgradient(rosen, x)
    return val, g


def _best(fn: Any, number: int, repeats: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeats)) / number


def main() -> None:
    from scipy.optimize import minimize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    x0 = np.full(a.n, -1.0)
    fast = xpgrad.jit(value_and_grad)
    for name, fg in (("eager", value_and_grad), ("jit", fast)):
        runs = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            res = minimize(fg, x0, jac=True, method="L-BFGS-B")
            runs.append(time.perf_counter() - t0)
        per_call = _best(lambda fg=fg: fg(x0), 200, a.repeats)
        print(f"{name:5s}  one call {per_call * 1e6:8.1f} us   minimize {min(runs) * 1e3:8.1f} ms"
              f"   ({res.nfev} evaluations, success={res.success})")
    firsts = []
    for _ in range(a.repeats):
        fresh = xpgrad.jit(value_and_grad)
        t0 = time.perf_counter()
        fresh(x0)
        firsts.append(time.perf_counter() - t0)
    eager = _best(lambda: value_and_grad(x0), 20, a.repeats)
    print(f"first jit call {min(firsts) * 1e6:8.1f} us = {min(firsts) / eager:.1f}x one eager call")
    print(f"NumPy forward  {_best(lambda: rosen(x0), 1000, a.repeats) * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
