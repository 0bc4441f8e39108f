"""A Jacobian larger than memory, on a Dask ``distributed`` cluster.

The Jacobian of f: R^n -> R^n has n² entries: at n = 16,000 that is 2 GB of
float64, more than the 2 x 512 MiB of the workers below. With a Dask array in,
``xpgrad.jacobian`` returns a lazy Dask array whose blocks follow the chunks of
x; the cluster computes each block in a task and reduces it at once, so the
whole matrix never exists anywhere. Here the cluster computes the column sums
and the diagonal, which are checked against formulas worked out by hand, and
the time is plotted against n.

``LocalCluster`` starts worker processes on this machine; for a real cluster,
pass the scheduler's address to ``Client`` instead (``Client("tcp://host:8786")``),
and nothing else changes. The dashboard (the link printed below; it needs the
``bokeh`` package) shows the tasks as they run.

Set XPGRAD_GALLERY_SMALL=1 for a quick run on small n (the tests do).
"""

import os
import time

import matplotlib

matplotlib.use("Agg")  # no display needed: the figure is written to a file
import array_api_compat
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster

import xpgrad

SMALL = os.environ.get("XPGRAD_GALLERY_SMALL") == "1"
FIGURES = os.environ.get(
    "XPGRAD_GALLERY_FIGURES", os.path.join(os.path.dirname(__file__), "figures")
)
SIZES = [500, 1000, 2000] if SMALL else [1000, 2000, 4000, 8000, 16000]


def f(x):
    """R^n -> R^n: every output depends on many inputs, so the Jacobian is dense."""
    xp = array_api_compat.array_namespace(x)
    return xp.cumulative_sum(xp.sin(x)) * xp.flip(x, axis=0)


def by_hand(x):
    """The column sums and the diagonal of J = df/dx, from the formula
    J[i, j] = cos(x[j]) x[n-1-i] (j <= i) + cumsum(sin x)[i] (j = n-1-i)."""
    cs = np.cumsum(np.sin(x))
    colsum = np.cos(x) * np.cumsum(x)[::-1] + cs[::-1]
    diag = np.cos(x) * x[::-1] + np.where(
        np.arange(x.size) == x.size - 1 - np.arange(x.size), cs, 0
    )
    return colsum, diag


if __name__ == "__main__":  # worker processes re-import this file: keep the work here
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit="512MiB", dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"dashboard: {client.dashboard_link}")
        times = []
        for n in SIZES:
            x_host = np.linspace(-1.0, 1.0, n)
            x = da.from_array(x_host, chunks=n // 4 if n <= 4000 else 2000)
            (J,) = xpgrad.jacobian(f, x)  # lazy: nothing is computed yet
            t0 = time.perf_counter()
            colsum, diag = client.compute([J.sum(axis=0), da.diagonal(J)], sync=True)
            times.append(time.perf_counter() - t0)
            want_colsum, want_diag = by_hand(x_host)
            assert np.allclose(colsum, want_colsum) and np.allclose(diag, want_diag), n
            print(
                f"n = {n:6d}: J is {n * n * 8 / 2**20:8.1f} MiB in {J.numblocks[0]}x"
                f"{J.numblocks[1]} blocks; column sums and diagonal in {times[-1]:6.2f} s "
                f"(agree with the formula)"
            )

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.loglog(SIZES, times, "o-", label="compute J.sum(axis=0) and diag(J)")
    ref = times[-1] * (np.array(SIZES) / SIZES[-1]) ** 2
    ax.loglog(SIZES, ref, "k:", label="∝ n² (the number of entries)")
    ax.set_xlabel("n")
    ax.set_ylabel("seconds")
    ax.set_title("Jacobian on a LocalCluster: 2 workers, 512 MiB each")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "dask_cluster.png"), dpi=90)
