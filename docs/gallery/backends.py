"""One function, four array libraries: NumPy, array-api-strict, torch and Dask.

The function below is written once against the Array API standard. xpgrad
differentiates it on whichever library the input comes from, and the results
agree. The timings (best of three) show what each library costs:
array-api-strict is NumPy behind a strict wrapper (a correctness tool, not a
fast one), torch runs its own CPU kernels, and Dask splits the vector into
chunks, builds a graph and computes it on a thread pool. Libraries that are not
installed are left out.

Set XPGRAD_GALLERY_SMALL=1 for a quick run on a short vector (the tests do).
"""

import importlib.util
import os
import time

import matplotlib

matplotlib.use("Agg")  # no display needed: the figure is written to a file
import array_api_compat
import matplotlib.pyplot as plt
import numpy as np

import xpgrad
from xpgrad.backends import to_host

SMALL = os.environ.get("XPGRAD_GALLERY_SMALL") == "1"
FIGURES = os.environ.get(
    "XPGRAD_GALLERY_FIGURES", os.path.join(os.path.dirname(__file__), "figures")
)
N = 20_000 if SMALL else 1_000_000


def f(x):
    """The extended Rosenbrock function plus a log-sum-exp: R^n -> R."""
    xp = array_api_compat.array_namespace(x)
    rosen = xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    m = xp.max(x)
    return rosen + m + xp.log(xp.sum(xp.exp(x - m)))


def inputs(x_host):
    """The same vector on each installed library, with a function that waits for its result."""
    out = {"numpy": (x_host, lambda a: a)}
    if importlib.util.find_spec("array_api_strict"):
        import array_api_strict

        out["array-api-strict"] = (array_api_strict.asarray(x_host), lambda a: a)
    if importlib.util.find_spec("torch"):
        import torch

        out["torch"] = (torch.asarray(x_host), lambda a: a)
    if importlib.util.find_spec("dask"):
        import dask
        import dask.array as da

        def compute(a):
            return dask.compute(a, scheduler="threads")[0]

        out["dask"] = (da.from_array(x_host, chunks=N // 4), compute)
    return out


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x_host = rng.uniform(-1.0, 1.0, N)
    v_host = rng.standard_normal(N)

    # the reference: NumPy's gradient against a central difference along v
    (g_ref,) = xpgrad.gradient(f, x_host)
    eps = 1e-6
    fd = (f(x_host + eps * v_host) - f(x_host - eps * v_host)) / (2 * eps)
    print(f"n = {N}: directional derivative {g_ref @ v_host:.6f}, central difference {fd:.6f}")
    assert abs(g_ref @ v_host - fd) < 1e-5 * abs(fd)

    tasks = {
        "f(x)": lambda x, done: done(f(x)),
        "gradient": lambda x, done: done(xpgrad.gradient(f, x)[0]),
        "jvp": lambda x, done: done(xpgrad.jvp(f, (x,), (x,))[1]),
    }
    results = {}
    print(f"{'':18s}" + "".join(f"{t:>12s}" for t in tasks) + "   gradient = NumPy's")
    for name, (x, done) in inputs(x_host).items():
        (g,) = xpgrad.gradient(f, x)
        agree = bool(np.allclose(np.asarray(to_host(done(g))), g_ref, rtol=1e-12, atol=1e-12))
        assert agree, name
        results[name] = [best_of(lambda t=t: t(x, done)) for t in tasks.values()]
        print(f"{name:18s}" + "".join(f"{s * 1e3:10.1f}ms" for s in results[name]) + f"   {agree}")

    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / len(results)
    for k, (name, secs) in enumerate(results.items()):
        pos = np.arange(len(tasks)) + (k - (len(results) - 1) / 2) * width
        ax.bar(pos, np.array(secs) * 1e3, width, label=name)
    ax.set_xticks(np.arange(len(tasks)), list(tasks))
    ax.set_ylabel("milliseconds (best of 3)")
    ax.set_yscale("log")
    ax.set_title(f"The same Array API function on each library, n = {N:,}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(results))
    ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "backends.png"), dpi=90)
