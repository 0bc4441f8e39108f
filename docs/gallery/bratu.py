"""Newton's method on Bratu's problem, with a sparse Jacobian.

Bratu's problem, -Δu = λ exp(u) on the unit square with u = 0 on the boundary,
models thermal ignition: for λ below about 6.81 it has a smooth solution, and
above it none. On an N x N grid of interior points the five-point stencil gives
N² nonlinear equations F(u) = 0 in N² unknowns. Newton's method needs the
Jacobian of F, an N² x N² matrix with five nonzeros per row:
``xpgrad.sparse_jacobian`` finds that pattern once, colors it, and computes each
Jacobian in 7 directional derivatives, whatever N is. SciPy solves the sparse
linear system of each step.

Set XPGRAD_GALLERY_SMALL=1 for a quick run on a small grid (the tests do).
"""

import os
import time

import matplotlib

matplotlib.use("Agg")  # no display needed: the figure is written to a file
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

import xpgrad

SMALL = os.environ.get("XPGRAD_GALLERY_SMALL") == "1"
FIGURES = os.environ.get(
    "XPGRAD_GALLERY_FIGURES", os.path.join(os.path.dirname(__file__), "figures")
)

N = 60 if SMALL else 1000  # grid points per side: N² unknowns
LAM = 6.0  # below the turning point λ* ≈ 6.81, so the solution exists
h = 1.0 / (N + 1)


def residual(u):
    """F(u): the five-point discretisation of -Δu - λ exp(u), times h², at every
    interior point (Array API code: it runs on any backend)."""
    xp = u.__array_namespace__()
    U = xp.reshape(u, (N, N))
    zc = xp.zeros((N, 1), dtype=u.dtype)
    zr = xp.zeros((1, N + 2), dtype=u.dtype)
    P = xp.concat([zr, xp.concat([zc, U, zc], axis=1), zr], axis=0)  # u = 0 on the boundary
    lap = 4 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]
    return xp.reshape(lap - LAM * h**2 * xp.exp(U), (-1,))


def jacobian_by_hand(u):
    """The same Jacobian assembled from the formula, as an independent check:
    the 2-D Laplacian stencil minus λ h² exp(u) on the diagonal."""
    T = scipy.sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(N, N))
    I = scipy.sparse.identity(N)
    A = scipy.sparse.kron(I, T) + scipy.sparse.kron(T, I)
    return (A - scipy.sparse.diags(LAM * h**2 * np.exp(u))).tocsr()


if __name__ == "__main__":
    u = np.zeros(N * N)
    t0 = time.perf_counter()
    pattern = xpgrad.jacobian_sparsity(residual, u)  # detected once, reused every step
    print(
        f"{N * N} unknowns; pattern: {pattern.nnz} nonzeros, found in "
        f"{time.perf_counter() - t0:.2f} s"
    )

    history, t_jac, t_solve = [], 0.0, 0.0
    for step in range(20):
        F = residual(u)
        history.append(float(np.linalg.norm(F, np.inf)))
        print(f"step {step}: |F(u)|_inf = {history[-1]:.3e}")
        if history[-1] < 1e-13:
            break
        t0 = time.perf_counter()
        J = xpgrad.sparse_jacobian(residual, u, pattern=pattern)
        t_jac += time.perf_counter() - t0
        if step == 1:  # the computed Jacobian is the one the formula gives (u != 0 here)
            err = abs(J.to_scipy() - jacobian_by_hand(u)).max()
            print(f"  Jacobian: {J.npasses} passes; largest difference from the formula {err:.1e}")
            assert err < 1e-12
        t0 = time.perf_counter()
        u = u - scipy.sparse.linalg.spsolve(J.to_scipy().tocsc(), F)
        t_solve += time.perf_counter() - t0
    print(f"converged: |F(u)|_inf = {history[-1]:.3e} after {len(history) - 1} Newton steps")
    print(f"time in sparse_jacobian {t_jac:.1f} s, in the sparse solver {t_solve:.1f} s")
    print(f"max u = {u.max():.6f}")
    # quadratic convergence: each error is about the square of the one before
    assert history[-1] < 1e-13 and len(history) <= 8

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    im = ax1.imshow(u.reshape(N, N), extent=(0, 1, 0, 1), origin="lower", cmap="inferno")
    fig.colorbar(im, ax=ax1, label="u")
    ax1.set_title(f"Bratu's problem, λ = {LAM}, {N}\u00d7{N} grid")
    ax1.set_xlabel("x")
    ax1.set_ylabel("y")
    ax2.semilogy(range(len(history)), history, "o-")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_xlabel("Newton step")
    ax2.set_ylabel(r"$\|F(u)\|_\infty$")
    ax2.set_title("Convergence (quadratic)")
    ax2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "bratu.png"), dpi=90)
