"""Uncertainty from the Hessian: a Laplace approximation.

A decay curve y = A exp(-k x) + c is fitted to noisy measurements. The Laplace
approximation replaces the posterior of the parameters theta = (A, k, c) by a
Gaussian centred at the most probable theta, with covariance the inverse
Hessian of the negative log posterior there. Both come from xpgrad:

- Newton's method for the fit, with ``xpgrad.gradient`` and ``xpgrad.hessian``
  (forward over reverse), the Hessian checked against ``hessian_reverse``
  (reverse over reverse) and against finite differences of the gradient;
- the 95% band of the fitted curve from the delta method: the Jacobian of the
  curve with respect to theta (``xpgrad.jacobian``), pushed through the
  covariance.

Set XPGRAD_GALLERY_SMALL=1 for a quick run (the tests do); this example is
small either way.
"""

import os

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

SIGMA = 0.15  # the measurement noise (known)
PRIOR = 10.0  # a weak Gaussian prior on each parameter, standard deviation 10


def curve(theta, x):
    xp = array_api_compat.array_namespace(theta)
    return theta[0] * xp.exp(-theta[1] * x) + theta[2]


rng = np.random.default_rng(1)
x_data = np.sort(rng.uniform(0.0, 4.0, 25))
theta_true = np.array([2.0, 1.3, 0.5])
y_data = curve(theta_true, x_data) + rng.normal(0.0, SIGMA, x_data.size)


def neg_log_posterior(theta):
    xp = array_api_compat.array_namespace(theta)
    r = curve(theta, x_data) - y_data
    return xp.sum(r**2) / (2 * SIGMA**2) + xp.sum(theta**2) / (2 * PRIOR**2)


if __name__ == "__main__":
    theta = np.array([1.0, 1.0, 0.0])
    for step in range(50):
        (g,) = xpgrad.gradient(neg_log_posterior, theta)
        H = xpgrad.hessian(neg_log_posterior, theta)
        # Newton's step, halved until it decreases the objective (a plain line search)
        d, t = np.linalg.solve(H, g), 1.0
        while neg_log_posterior(theta - t * d) > neg_log_posterior(theta) and t > 1e-4:
            t /= 2
        theta = theta - t * d
        if np.abs(g).max() < 1e-10:
            break
    print(f"MAP estimate after {step} Newton steps: A, k, c = {np.round(theta, 4)}")
    print(f"true values:                         A, k, c = {theta_true}")

    H = xpgrad.hessian(neg_log_posterior, theta)
    H_rr = xpgrad.hessian_reverse(neg_log_posterior, theta)
    eps = 1e-5
    H_fd = np.stack(
        [
            (
                xpgrad.gradient(neg_log_posterior, theta + eps * e)[0]
                - xpgrad.gradient(neg_log_posterior, theta - eps * e)[0]
            )
            / (2 * eps)
            for e in np.eye(3)
        ]
    )
    print(
        f"Hessian: fwd-over-rev vs rev-over-rev {np.abs(H - H_rr).max():.1e}, "
        f"vs finite differences of the gradient {np.abs(H - H_fd).max() / np.abs(H).max():.1e} "
        f"(relative)"
    )
    assert np.allclose(H, H_rr, rtol=1e-12) and np.allclose(H, H_fd, rtol=1e-6)

    cov = np.linalg.inv(H)
    sd = np.sqrt(np.diag(cov))
    for name, v, s in zip(("A", "k", "c"), theta, sd):
        print(f"  {name} = {v:.3f} ± {1.96 * s:.3f}  (95%)")

    # delta method: var f(x) ≈ J Σ Jᵀ with J = d curve(theta, x) / d theta
    x_plot = np.linspace(0.0, 4.5, 60 if SMALL else 200)
    (J,) = xpgrad.jacobian(lambda th: curve(th, x_plot), theta)
    band = 1.96 * np.sqrt(np.einsum("ip,pq,iq->i", J, cov, J))
    fit = curve(theta, x_plot)
    # the Laplace band against samples of the Gaussian it describes
    samples = rng.multivariate_normal(theta, cov, 2000 if not SMALL else 400)
    curves = np.stack([curve(s, x_plot) for s in samples])
    lo, hi = np.percentile(curves, [2.5, 97.5], axis=0)
    print(
        f"band half-width: delta method {band.mean():.4f}, "
        f"sampled {((hi - lo) / 2).mean():.4f} (mean over x)"
    )

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.fill_between(
        x_plot,
        fit - band,
        fit + band,
        color="C0",
        alpha=0.25,
        label="95% band (Laplace, delta method)",
    )
    ax.plot(x_plot, lo, "C0:", lw=1, label="95% band (sampled)")
    ax.plot(x_plot, hi, "C0:", lw=1)
    ax.plot(x_plot, fit, "C0", label="MAP fit")
    ax.plot(x_plot, curve(theta_true, x_plot), "k--", lw=1, label="truth")
    ax.errorbar(x_data, y_data, yerr=SIGMA, fmt="o", color="C3", ms=4, label="data")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("y = A exp(-k x) + c: Laplace approximation from xpgrad.hessian")
    ax.legend()
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "laplace.png"), dpi=90)
