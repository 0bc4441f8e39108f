"""Parameter sensitivities of an ODE integrated by a hand-written RK4.

The Lotka-Volterra equations model predators y feeding on prey x:

    dx/dt = a x - b x y,    dy/dt = d x y - c y.

The integrator below is four lines of classical Runge-Kutta written against the
Array API standard: no ODE library, no adjoint equations derived by hand. xpgrad
differentiates straight through the time loop:

- ``xpgrad.jacobian`` of the whole trajectory with respect to the four
  parameters gives the sensitivities d x(t) / d theta (forward mode: 4 inputs);
- ``xpgrad.gradient`` of a least-squares misfit gives the gradient used to fit
  the parameters to data (reverse mode: one output), checked here against
  central finite differences and against the forward-mode Jacobian.

Set XPGRAD_GALLERY_SMALL=1 for a quick run with fewer steps (the tests do).
"""

import os
import time

import matplotlib

matplotlib.use("Agg")  # no display needed: the figure is written to a file
import array_api_compat
import matplotlib.pyplot as plt
import numpy as np

import xpgrad

SMALL = os.environ.get("XPGRAD_GALLERY_SMALL") == "1"
FIGURES = os.environ.get(
    "XPGRAD_GALLERY_FIGURES", os.path.join(os.path.dirname(__file__), "figures")
)

T_END = 15.0
STEPS = 300 if SMALL else 1500
NAMES = ("a", "b", "c", "d")


def rhs(s, p):
    """The right-hand side f(s; p) for the state s = (x, y)."""
    xp = array_api_compat.array_namespace(p)  # p is the traced argument
    x, y = s[0], s[1]
    return xp.stack([p[0] * x - p[1] * x * y, p[3] * x * y - p[2] * y])


def trajectory(p, s0, steps=STEPS, t_end=T_END):
    """Classical RK4 with a fixed step: the states at every step, shape (steps + 1, 2)."""
    xp = array_api_compat.array_namespace(p)
    dt = t_end / steps
    s, out = s0, [s0]
    for _ in range(steps):
        k1 = rhs(s, p)
        k2 = rhs(s + dt / 2 * k1, p)
        k3 = rhs(s + dt / 2 * k2, p)
        k4 = rhs(s + dt * k3, p)
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(s)
    return xp.stack(out)


if __name__ == "__main__":
    s0 = np.array([10.0, 5.0])
    p_true = np.array([1.1, 0.4, 0.4, 0.1])
    t = np.linspace(0.0, T_END, STEPS + 1)
    rng = np.random.default_rng(0)
    data = trajectory(p_true, s0) + rng.normal(0.0, 0.5, (STEPS + 1, 2))

    def misfit(p):
        xp = array_api_compat.array_namespace(p)
        return xp.sum((trajectory(p, s0) - data) ** 2) / 2

    p = np.array([1.0, 0.45, 0.45, 0.12])  # a first guess, away from the truth

    # sensitivities of the whole trajectory: shape (steps + 1, 2, 4)
    t0 = time.perf_counter()
    (J,) = xpgrad.jacobian(lambda p: trajectory(p, s0), p)  # rows: the flattened trajectory
    print(f"{STEPS} RK4 steps; trajectory Jacobian {J.shape} in {time.perf_counter() - t0:.2f} s")
    S = J.reshape(STEPS + 1, 2, 4)  # S[i, k, j] = d state_k(t_i) / d p_j

    t0 = time.perf_counter()
    (g,) = xpgrad.gradient(misfit, p)
    print(f"gradient of the misfit (reverse mode) in {time.perf_counter() - t0:.2f} s")

    # the check: central finite differences, one parameter at a time
    eps = 1e-6
    fd = np.array([(misfit(p + eps * e) - misfit(p - eps * e)) / (2 * eps) for e in np.eye(4)])
    # and the sibling mode: the chain rule through the forward-mode Jacobian
    via_forward = np.einsum("tk,tkp->p", trajectory(p, s0) - data, S)
    print(f"{'':3s} {'xpgrad.gradient':>16s} {'finite diff.':>16s} {'forward mode':>16s}")
    for name, gi, fi, vi in zip(NAMES, g, fd, via_forward):
        print(f"{name:3s} {gi:16.6f} {fi:16.6f} {vi:16.6f}")
    rel = np.abs(g - fd).max() / np.abs(g).max()
    print(f"largest relative difference from finite differences: {rel:.1e}")
    assert rel < 1e-6, rel
    assert np.allclose(g, via_forward, rtol=1e-10)

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    base = trajectory(np.array([1.0, 0.45, 0.45, 0.12]), s0)
    ax1.plot(t, data[:, 0], ".", ms=2, color="C0", alpha=0.4)
    ax1.plot(t, data[:, 1], ".", ms=2, color="C1", alpha=0.4)
    ax1.plot(t, base[:, 0], "C0", label="prey x(t)")
    ax1.plot(t, base[:, 1], "C1", label="predators y(t)")
    ax1.set_ylabel("population")
    ax1.set_title("Lotka-Volterra by hand-written RK4: lines at the first guess, dots: noisy data")
    ax1.legend(loc="upper right")
    for k, name in enumerate(NAMES):
        ax2.plot(t, S[:, 0, k], label=f"∂x/∂{name}")
    ax2.set_xlabel("t")
    ax2.set_ylabel("sensitivity of the prey")
    ax2.set_title("xpgrad.jacobian of the trajectory with respect to the parameters")
    ax2.legend(loc="lower left", ncol=4)
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "ode_sensitivity.png"), dpi=90)
