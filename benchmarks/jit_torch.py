"""``xpgrad.jit`` on torch CPU tensors, with and without ``torch.compile`` as the lowering hook.

Rows W1, W2 and W7 of the suite (``benchmarks/workloads.py``), with their data
as float64 torch tensors. For each row it prints, best of ``--repeats``: one
torch forward evaluation, an eager xpgrad call, a replay of ``xpgrad.jit``
(the generated Python calling torch), a replay of the same program handed to
``torch.compile`` through the torch adapter's ``lower`` hook
(``compile_programs = True``), the first call of each jit (trace, simplify,
lower; with the hook also the first replay, which compiles and checks the
compiled results against xpgrad's to 1 ulp), and whether the hook kept the
compiled function. docs/jit.md reports the measurements. Not a CI
test. Run::

    python -m benchmarks.jit_torch [--only W1,W7] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import timeit
import warnings
from functools import partial
from typing import Any, Callable

import numpy as np

import xpgrad
import xpgrad.backends as B

from .workloads import mlp_loss, rosen, tiny_ops, xpg


def rows(torch: Any) -> dict[str, tuple]:
    """Per row: (forward thunk, derivative function, its arguments)."""
    r = np.random.default_rng(0)
    t = partial(torch.asarray, dtype=torch.float64)
    p = {
        "W1": t(r.standard_normal((256, 256)) / 16),
        "b1": t(r.standard_normal(256) / 10),
        "W2": t(r.standard_normal((256, 10)) / 16),
        "b2": t(r.standard_normal(10) / 10),
    }
    x1, y1 = t(r.standard_normal((128, 256))), t(r.standard_normal((128, 10)))
    x2 = t(np.linspace(-1.0, 1.0, 8))
    r7 = np.random.default_rng(0)
    x7, v7 = t(r7.uniform(-1.0, 1.5, 100_000)), t(r7.standard_normal(100_000))
    return {
        "W1": (
            lambda: mlp_loss(torch, p, x1, y1),
            lambda p: xpgrad.gradient(lambda p: mlp_loss(_ns(p), p, x1, y1), p)[0],
            (p,),
        ),
        "W2": (lambda: tiny_ops(torch, x2), lambda x: xpgrad.gradient(xpg(tiny_ops), x)[0], (x2,)),
        "W7": (lambda: rosen(torch, x7), lambda x, v: xpgrad.hvp(xpg(rosen), x, v), (x7, v7)),
    }


def _ns(p: dict) -> Any:
    return next(iter(p.values())).__array_namespace__()


def _best(fn: Callable, repeats: int) -> float:
    once = timeit.timeit(fn, number=1)
    number = max(1, int(0.2 / max(once, 1e-7)))
    return min(timeit.repeat(fn, number=number, repeat=repeats)) / number


def _first(deriv: Callable, args: tuple) -> tuple[float, Callable]:
    j = xpgrad.jit(deriv)
    t0 = time.perf_counter()
    j(*args)
    return time.perf_counter() - t0, j


def _leaves(tree: Any) -> list:
    from xpgrad.api._edge import flatten

    return flatten(tree)[0]


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="W1,W2,W7")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile columns")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    adapter = B.get("torch")
    table = rows(torch)
    print("row      fwd    eager      jit  compiled    first: jit  compiled   compiled kept")
    for name in a.only.split(","):
        fwd, deriv, args = table[name]
        t_fwd = _best(fwd, a.repeats)
        t_eager = _best(partial(deriv, *args), a.repeats)
        first_jit, j = _first(deriv, args)
        j(*args)
        t_jit = _best(partial(j, *args), a.repeats)
        t_c = first_c = float("nan")
        kept = "not tried"
        if not a.no_compile:
            adapter.compile_programs = True  # the torch adapter's lower hook: torch.compile
            try:
                first_c, jc = _first(deriv, args)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    # torch.compile compiles at the first replay, which also checks the bits
                    first_c += timeit.timeit(partial(jc, *args), number=1)
                t_c = _best(partial(jc, *args), a.repeats)
            finally:
                adapter.compile_programs = False
            declined = [str(w.message) for w in caught if "xpgrad_torch" in str(w.message)]
            kept = "no: " + declined[0].split(",")[0] if declined else "yes"
        us = 1e6
        print(
            f"{name:4s} {t_fwd * us:8.0f} {t_eager * us:8.0f} {t_jit * us:8.0f} "
            f"{t_c * us:8.0f} us  {first_jit:7.3f} s {first_c:7.1f} s   {kept}",
            flush=True,
        )


if __name__ == "__main__":
    main()
