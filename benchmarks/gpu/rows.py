"""The rows of the GPU benchmarks: the CPU suite's workloads at GPU sizes.

Each row holds its data (drawn on the device by the first column's library) and
makes, per column, a thunk computing the derivative; ``summary`` is the small
fingerprint by which the columns' results are compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .device import Platform, Unavailable

SIZES = {
    "gpu": {"w1_batch": 4096, "w1_width": 4096, "w3": 4000, "w6": 2000, "w7": 10**8,
            "w9_layers": 256, "w9_width": 4096, "w9_block": 16, "sparse": 10**7},
    "dry": {"w1_batch": 32, "w1_width": 48, "w3": 40, "w6": 30, "w7": 1000,
            "w9_layers": 8, "w9_width": 16, "w9_block": 4, "sparse": 30**2},
}
ROWS = ("W1", "W3", "W6", "W7", "W9", "sparse")


class Row:
    """One row: its data (on the device), and per column a thunk computing the derivative."""

    def __init__(self, name: str, workload: str, n: int, data: dict, memory: bool = False,
                 rtol: float = 1e-7):
        self.name, self.workload, self.n, self.data = name, workload, n, data
        self.memory, self.rtol = memory, rtol

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        """The column's derivative of this row as a thunk (raises ``Unavailable``)."""
        raise NotImplementedError


def _xpgrad_ns(a: Any) -> Any:
    from ..workloads import _ns

    return _ns(a)


def _peer_ns(P: Platform, col: str) -> Any:
    return P.torch if P.lib_of(col) == "torch" else P.jnp


def _transform(P: Platform, col: str, jax_t: Callable | None, torch_t: Callable | None,
               f: Callable, args: tuple) -> Callable[[], Any]:
    """A peer's derivative (``jax_t(f)`` or ``torch_t(f)``) of ``args`` as a thunk."""
    if col == "torch.func":
        if torch_t is None:
            raise Unavailable("no equivalent in torch.func")
        d = torch_t(f)
    elif col.startswith("jax"):
        if jax_t is None:
            raise Unavailable("no equivalent in JAX")
        d = jax_t(f)
        if col == "jax jit":
            d = P.jax.jit(d)
    else:
        raise AssertionError(col)
    return lambda: d(*args)


class W1(Row):
    """The MLP loss's gradient w.r.t. the parameters (batch x width, 10 outputs)."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import mlp_loss

        d = P.convert(col, self.data)
        p, x, y = d["p"], d["x"], d["y"]
        if P.group(col) == "xpgrad":
            import xpgrad

            return lambda: xpgrad.gradient(lambda p: mlp_loss(_xpgrad_ns(p), p, x, y), p)[0]
        return _transform(P, col, lambda f: P.jax.grad(f), lambda f: P.torch.func.grad(f),
                          partial(mlp_loss, _peer_ns(P, col)), (p, x, y))


def w1(P: Platform, s: dict) -> list[Row]:
    r, b, w = P.rng(1), s["w1_batch"], s["w1_width"]
    p = {"W1": r.standard_normal((w, w)) / math.sqrt(w), "b1": r.standard_normal(w) / 10,
         "W2": r.standard_normal((w, 10)) / math.sqrt(w), "b2": r.standard_normal(10) / 10}
    data = {"p": p, "x": r.standard_normal((b, w)), "y": r.standard_normal((b, 10))}
    return [W1(f"W1 mlp_grad batch={b} width={w}", "W1", w, data)]


class W3(Row):
    """The reverse-mode Jacobian of ``tanh(A @ x)``, ``n x n``."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import _bound, tanh_affine

        d = P.convert(col, self.data)
        x, A = d["x"], d["A"]
        if P.group(col) == "xpgrad":
            import xpgrad

            fx = partial(_bound, tanh_affine, A)
            return lambda: xpgrad.jacobian(fx, x, mode="reverse")[0]
        return _transform(P, col, lambda f: P.jax.jacrev(f), lambda f: P.torch.func.jacrev(f),
                          partial(tanh_affine, _peer_ns(P, col)), (x, A))


def w3(P: Platform, s: dict) -> list[Row]:
    n, r = s["w3"], P.rng(3)
    data = {"x": r.standard_normal(n), "A": r.standard_normal((n, n)) / math.sqrt(n)}
    return [W3(f"W3 jacobian_square n={n}", "W3", n, data)]


class W6(Row):
    """The Hessian of the Rosenbrock function (forward over reverse everywhere)."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import rosen, xpg

        x = P.convert(col, self.data)["x"]
        if P.group(col) == "xpgrad":
            import xpgrad

            return lambda: xpgrad.hessian(xpg(rosen), x)
        return _transform(P, col, lambda f: P.jax.hessian(f), lambda f: P.torch.func.hessian(f),
                          partial(rosen, _peer_ns(P, col)), (x,))


def w6(P: Platform, s: dict) -> list[Row]:
    n = s["w6"]
    x = -1.0 + 2.5 * P.rng(6).random_sample(n)
    return [W6(f"W6 hessian_rosen n={n}", "W6", n, {"x": x})]


class W7(Row):
    """A Hessian-vector product of the Rosenbrock function (forward over reverse)."""

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import rosen, xpg

        d = P.convert(col, self.data)
        x, v = d["x"], d["v"]
        if P.group(col) == "xpgrad":
            import xpgrad

            return lambda: xpgrad.hvp(xpg(rosen), x, v)

        def jax_hvp(f: Callable) -> Callable:
            return lambda x, v: P.jax.jvp(P.jax.grad(f), (x,), (v,))[1]

        def torch_hvp(f: Callable) -> Callable:
            return lambda x, v: P.torch.func.jvp(P.torch.func.grad(f), (x,), (v,))[1]

        return _transform(P, col, jax_hvp, torch_hvp, partial(rosen, _peer_ns(P, col)), (x, v))


def w7(P: Platform, s: dict) -> list[Row]:
    n, r = s["w7"], P.rng(7)
    data = {"x": -1.0 + 2.5 * r.random_sample(n), "v": r.standard_normal(n)}
    return [W7(f"W7 hvp_rosen n={n:.0e}", "W7", n, data)]


class W9(Row):
    """d/dh of ``layers`` tanh layers ``h = tanh(h @ W)``, plain or checkpointed.

    The gradient w.r.t. the input: what the tape saves sets the peak, so
    checkpointing every ``block`` layers shows (the gradient w.r.t. the weights
    is as large as the weights, and would set every peak alike).
    """

    block = 0

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        from ..workloads import deep_tanh

        d = P.convert(col, self.data)
        Ws, h = d["Ws"], d["h"]
        block = self.block
        if P.group(col) == "xpgrad":
            import xpgrad

            ckpt = partial(partial, xpgrad.checkpointed) if block else None
            return lambda: xpgrad.gradient(
                lambda h: deep_tanh(_xpgrad_ns(h), Ws, h, ckpt, block or 1), h)[0]
        if col == "torch.func" and block:
            raise Unavailable("torch.func does not support torch.utils.checkpoint "
                              "(saved tensor hooks)")
        ns = _peer_ns(P, col)
        ckpt = P.jax.checkpoint if block and col.startswith("jax") else None

        def f(h: Any, ws: Any) -> Any:
            return deep_tanh(ns, ws, h, ckpt, block or 1)

        return _transform(P, col, lambda f: P.jax.grad(f), lambda f: P.torch.func.grad(f), f,
                          (h, Ws))


def w9(P: Platform, s: dict) -> list[Row]:
    L, w, b = s["w9_layers"], s["w9_width"], s["w9_block"]
    r = P.rng(9)
    data = {"Ws": [r.standard_normal((w, w)) / math.sqrt(w) for _ in range(L)],
            "h": r.standard_normal((w, w))}
    ck = W9(f"W9 checkpoint_mem ckpt per {b} layers d/dh ({L}x{w}x{w})", "W9", w, data,
            memory=True)
    ck.block = b
    # checkpointed first: JAX's peak statistic only grows, so the smaller peak goes first
    return [ck, W9(f"W9 checkpoint_mem plain d/dh ({L}x{w}x{w})", "W9", w, data, memory=True)]


class Sparse(Row):
    """The sparse Jacobian of the 2-D Laplacian residual (cached pattern and coloring).

    The first call detects and colours the pattern (``first_call_s``); the timed
    calls reuse them (the compressed passes and the recovery). xpgrad only: the
    peers have no sparse Jacobian on the GPU (sparsejac is JAX on the CPU).
    """

    def make(self, P: Platform, col: str) -> Callable[[], Any]:
        if P.group(col) != "xpgrad":
            raise Unavailable("no sparse Jacobian in this library")
        import xpgrad

        from ..sparse_bench import laplacian

        x = P.convert(col, self.data)["x"]
        from xpgrad.api.sparse import clear_cache

        clear_cache()
        return lambda: xpgrad.sparse_jacobian(laplacian, x, cache=True).values


def sparse_check(P: Platform, row: Row) -> bool:
    """``J @ v`` from the sparse Jacobian equals ``jvp`` along ``v`` (first column's data)."""
    import xpgrad
    import xpgrad.backends as B

    from ..sparse_bench import laplacian

    x = row.data["x"]
    S = xpgrad.sparse_jacobian(laplacian, x, cache=True)
    v = P.rng(11).standard_normal(x.shape[0])
    rows, cols, vals = (B.to_host(a) for a in (S.rows, S.cols, S.values))
    Jv = np.bincount(rows, weights=vals * B.to_host(v)[cols], minlength=S.shape[0])
    want = B.to_host(xpgrad.jvp(laplacian, (x,), (v,))[1])
    return bool(np.allclose(Jv, want, rtol=1e-10, atol=1e-10))


def sparse(P: Platform, s: dict) -> list[Row]:
    N = math.isqrt(s["sparse"])
    x = 0.5 + P.rng(12).random_sample(N * N)
    return [Sparse(f"sparse laplacian jacobian n={N * N:.2e}", "sparse", N * N, {"x": x})]


BUILDERS: dict[str, Callable[[Platform, dict], list[Row]]] = {
    "W1": w1, "W3": w3, "W6": w6, "W7": w7, "W9": w9, "sparse": sparse,
}


# -- comparing the columns --------------------------------------------------------------


def summary(tree: Any) -> np.ndarray:
    """A small host-side fingerprint of a result: per leaf its 2-norm and up to 2000
    evenly spaced entries (a W9 gradient is gigabytes; comparing this is enough to
    catch a wrong derivative without copying it to the host)."""
    leaves = []

    def walk(t: Any) -> None:
        if isinstance(t, dict):  # in key order: JAX returns dicts sorted by key
            for k in sorted(t):
                walk(t[k])
        elif isinstance(t, (list, tuple)):
            for v in t:
                walk(v)
        else:
            leaves.append(t)

    walk(tree)
    parts = []
    for a in leaves:
        flat = a.reshape(-1)
        step = max(1, flat.shape[0] // 2000)
        parts.append(np.asarray([float((flat * flat).sum()) ** 0.5]))
        parts.append(_host(flat[::step]))
    return np.concatenate(parts)


def _host(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        return a.get()
    return np.asarray(a)
