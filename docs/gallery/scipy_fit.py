"""Fitting through library code: scikit-learn's rbf_kernel and SciPy's logsumexp.

A kernel classifier for three classes in the plane, written with other
people's Array API code, unchanged: the features are scikit-learn's
``rbf_kernel`` between the points and a set of centres, the loss is the
softmax cross-entropy computed with SciPy's ``special.logsumexp``. xpgrad
differentiates straight through both libraries:

- the weights are fitted by Adam (``xpgrad.optimisers``), with the data and
  labels passed as data (``wrt="params"``: constants of the trace, no
  derivative work);
- then the kernel's centres themselves are learned as well, which
  differentiates ``rbf_kernel`` in its second argument;
- the gradient through the libraries is checked against central finite
  differences and against forward mode (``xpgrad.jvp``).

Set XPGRAD_GALLERY_SMALL=1 for a quick run (the tests do).
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before SciPy or scikit-learn is imported

import matplotlib

matplotlib.use("Agg")  # no display needed: the figure is written to a file
import array_api_compat
import matplotlib.pyplot as plt
import numpy as np
import scipy.special
import sklearn
from sklearn.metrics.pairwise import rbf_kernel

import xpgrad
from xpgrad import optimisers as opt

SMALL = os.environ.get("XPGRAD_GALLERY_SMALL") == "1"
FIGURES = os.environ.get(
    "XPGRAD_GALLERY_FIGURES", os.path.join(os.path.dirname(__file__), "figures")
)
GAMMA = 1.5  # the kernel's width, fixed
STEPS = 150 if SMALL else 600


def make_data(n, rng):
    """Three noisy spirals' arms: not separable by a linear model."""
    k = np.repeat(np.arange(3), n // 3)
    t = rng.uniform(0.3, 1.0, k.size)
    angle = 2.2 * t + k * 2 * np.pi / 3 + rng.normal(0, 0.15, k.size)
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return X, k


def loss(params, X, onehot):
    """Softmax cross-entropy of a kernel model, through sklearn and SciPy."""
    xp = array_api_compat.array_namespace(params["W"])
    K = rbf_kernel(X, params["C"], gamma=GAMMA)  # scikit-learn: (n, m) features
    logits = K @ params["W"] + params["b"]
    lse = scipy.special.logsumexp(logits, axis=1)  # SciPy, with its in-place writes
    nll = xp.mean(lse - xp.sum(logits * onehot, axis=1))
    return nll + 1e-3 * xp.sum(params["W"] ** 2)


def accuracy(params, X, k):
    K = rbf_kernel(X, params["C"], gamma=GAMMA)
    return float(np.mean(np.argmax(K @ params["W"] + params["b"], axis=1) == k))


def fit(params, X, onehot, learn_centres, steps):
    params = {name: np.array(v, copy=True) for name, v in params.items()}  # update is in place
    rule = opt.Adam(0.05)
    trainable = dict(params) if learn_centres else {"W": params["W"], "b": params["b"]}
    frozen = {} if learn_centres else {"C": params["C"]}
    state = opt.setup(rule, trainable)
    history = []
    for _ in range(steps):
        # everything that is not trained is passed as data (wrt="p"), frozen centres too
        val, (g, *_) = xpgrad.withgradient(
            lambda p, fz, X, y: loss({**p, **fz}, X, y), trainable, frozen, X, onehot, wrt="p"
        )
        state, trainable = opt.update(state, trainable, g)
        history.append(float(val))
    return {**trainable, **frozen}, history


def check_gradient(params, X, onehot, rng):
    """The gradient through both libraries, against central differences and jvp.

    ``X`` and ``onehot`` are passed as arguments (data, ``wrt="p"``), not closed
    over: a NumPy array from outside meeting a traced one in the library's
    ``array_namespace(X, C)`` is the one pattern no library can accept.
    """
    (g, _, _) = xpgrad.gradient(loss, params, X, onehot, wrt="params")
    direction = {k: rng.normal(size=v.shape) for k, v in params.items()}
    slope = sum(float(np.sum(g[k] * direction[k])) for k in params)
    h = 1e-6

    def at(s):
        return float(loss({k: v + s * direction[k] for k, v in params.items()}, X, onehot))

    fd = (at(h) - at(-h)) / (2 * h)
    zero = (np.zeros_like(X), np.zeros_like(onehot))  # the data does not move
    _, fwd = xpgrad.jvp(loss, (params, X, onehot), (direction, *zero))
    assert abs(slope - fd) < 1e-6 * max(1.0, abs(fd)), (slope, fd)
    assert abs(float(fwd) - slope) < 1e-10 * max(1.0, abs(slope)), (fwd, slope)
    return slope, fd


if __name__ == "__main__":
    sklearn.set_config(array_api_dispatch=True)
    rng = np.random.default_rng(3)
    X, k = make_data(150 if SMALL else 300, rng)
    onehot = np.eye(3)[k]
    m = 12 if SMALL else 24
    centres = X[rng.choice(X.shape[0], m, replace=False)]
    params = {"W": np.zeros((m, 3)), "b": np.zeros(3), "C": centres}

    slope, fd = check_gradient({**params, "W": rng.normal(size=(m, 3))}, X, onehot, rng)
    print(f"directional derivative through sklearn + SciPy: {slope:.10f}")
    print(f"central finite difference:                      {fd:.10f}")

    fixed, h1 = fit(params, X, onehot, learn_centres=False, steps=STEPS)
    learned, h2 = fit(params, X, onehot, learn_centres=True, steps=STEPS)
    a1, a2 = accuracy(fixed, X, k), accuracy(learned, X, k)
    print(f"{m} fixed centres:   loss {h1[-1]:.4f}, training accuracy {a1:.3f}")
    print(f"{m} learned centres: loss {h2[-1]:.4f}, training accuracy {a2:.3f}")
    assert h1[-1] < 0.5 * h1[0] and h2[-1] <= h1[-1] + 1e-9, (h1[-1], h2[-1])

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    g = np.linspace(-1.1, 1.1, 120 if not SMALL else 40)
    G = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    for ax, p, title in ((axes[0], fixed, "fixed centres"), (axes[1], learned, "learned")):
        Z = np.argmax(rbf_kernel(G, p["C"], gamma=GAMMA) @ p["W"] + p["b"], axis=1)
        ax.contourf(g, g, Z.reshape(g.size, g.size), levels=[-0.5, 0.5, 1.5, 2.5], alpha=0.3)
        ax.scatter(X[:, 0], X[:, 1], c=k, s=8, cmap="viridis")
        ax.scatter(p["C"][:, 0], p["C"][:, 1], marker="x", color="red", label="centres")
        ax.set_title(f"{title}: accuracy {accuracy(p, X, k):.2f}")
        ax.set_aspect("equal")
        ax.legend(loc="lower left", fontsize=8)
    axes[2].semilogy(h1, label="weights only")
    axes[2].semilogy(h2, label="weights and centres")
    axes[2].set_xlabel("Adam step")
    axes[2].set_ylabel("loss")
    axes[2].legend()
    fig.suptitle("A kernel classifier fitted through scikit-learn's rbf_kernel and SciPy's logsumexp")
    fig.tight_layout()
    os.makedirs(FIGURES, exist_ok=True)
    fig.savefig(os.path.join(FIGURES, "scipy_fit.png"), dpi=110)
    print("figure:", os.path.join(FIGURES, "scipy_fit.png"))
