"""Newton's method on Bratu's problem with every array on the GPU (CuPy).

Pending: not yet run on a machine with a GPU (see gpu.md). The residual is the
same Array API function as in bratu.py; with CuPy arrays in,
``xpgrad.sparse_jacobian`` computes the Jacobian on the device and
``cupyx.scipy.sparse.linalg.spsolve`` solves each step, so only the residual
norm crosses to the host. The same iteration on the CPU (NumPy and SciPy) is
timed beside it.

Set XPGRAD_GALLERY_SMALL=1 for a quick run on a small grid.
"""

import os
import time

import matplotlib

matplotlib.use("Agg")  # no display needed: the figure is written to a file
import cupy as cp
import cupyx.scipy.sparse.linalg as csla
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse.linalg as sla

import xpgrad

SMALL = os.environ.get("XPGRAD_GALLERY_SMALL") == "1"
FIGURES = os.environ.get(
    "XPGRAD_GALLERY_FIGURES", os.path.join(os.path.dirname(__file__), "figures")
)
N = 60 if SMALL else 1000
LAM = 6.0
h = 1.0 / (N + 1)


def residual(u):
    xp = u.__array_namespace__()
    U = xp.reshape(u, (N, N))
    zc = xp.zeros((N, 1), dtype=u.dtype)
    zr = xp.zeros((1, N + 2), dtype=u.dtype)
    P = xp.concat([zr, xp.concat([zc, U, zc], axis=1), zr], axis=0)
    lap = 4 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]
    return xp.reshape(lap - LAM * h**2 * xp.exp(U), (-1,))


def newton(u, to_sparse, solve, sync):
    pattern = xpgrad.jacobian_sparsity(residual, u)
    t_jac = t_solve = 0.0
    for _step in range(20):
        F = residual(u)
        if float(abs(F).max()) < 1e-13:
            break
        t0 = time.perf_counter()
        J = to_sparse(xpgrad.sparse_jacobian(residual, u, pattern=pattern))
        sync()
        t1 = time.perf_counter()
        u = u - solve(J, F)
        sync()
        t_jac, t_solve = t_jac + t1 - t0, t_solve + time.perf_counter() - t1
    return u, t_jac, t_solve


if __name__ == "__main__":
    sync = cp.cuda.Device().synchronize
    u_gpu, jg, sg = newton(cp.zeros(N * N), lambda S: S.to_cupyx().tocsr(), csla.spsolve, sync)
    u_cpu, jc, sc = newton(
        np.zeros(N * N), lambda S: S.to_scipy().tocsc(), sla.spsolve, lambda: None
    )
    assert np.allclose(cp.asnumpy(u_gpu), u_cpu, atol=1e-12)
    print(f"{N * N} unknowns, GPU: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(
        f"GPU: Jacobians {jg:.2f} s, solves {sg:.2f} s; CPU: Jacobians {jc:.2f} s, solves {sc:.2f} s"
    )

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(["CPU", "GPU"], [jc, jg], label="sparse_jacobian")
    ax.bar(["CPU", "GPU"], [sc, sg], bottom=[jc, jg], label="sparse solve")
    ax.set_ylabel("seconds (all Newton steps)")
    ax.set_title(f"Bratu's problem, {N * N:,} unknowns")
    ax.legend()
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "gpu_cupy.png"), dpi=90)
