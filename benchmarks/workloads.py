"""Workloads W1-W9 of the benchmark suite, each written once for every library.

A workload function takes the library's namespace ``xp`` first (NumPy for the
forward evaluation, ``jax.numpy``, ``torch``, ``autograd.numpy``, and for
xpgrad the namespace of its traced argument, exactly what
``array_api_compat.array_namespace(x)`` gives user code). All data are float64
and built from a fixed seed, so every library sees the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import xpgrad

from . import bare_tape
from ._harness import Case, Unavailable
from ._peers import Peers

# -- the functions -------------------------------------------------------------------


def mlp_loss(xp: Any, p: dict, x: Any, y: Any) -> Any:
    h = xp.tanh(x @ p["W1"] + p["b1"])
    return xp.mean((h @ p["W2"] + p["b2"] - y) ** 2)


def tiny_ops(xp: Any, x: Any) -> Any:
    for _ in range(200):
        x = xp.sin(x) * 0.5 + x * x * 0.1 + 0.01
    return xp.sum(x)


def tanh_affine(xp: Any, x: Any, A: Any) -> Any:
    return xp.tanh(A @ x)


def tanh_affine_sin(xp: Any, x: Any, B: Any) -> Any:
    return xp.tanh(B @ xp.sin(x))


def rosen(xp: Any, x: Any) -> Any:
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def cubic_sin(xp: Any, x: Any) -> Any:
    return xp.sum(x**3) + xp.sum(xp.sin(x) * x)


def deep_tanh(xp: Any, Ws: list, h: Any, ckpt: Callable | None = None, block: int = 1) -> Any:
    """40 layers ``h = tanh(h @ W)``; ``ckpt`` checkpoints every ``block`` layers."""

    def layers(h: Any, *ws: Any) -> Any:
        for W in ws:
            h = xp.tanh(h @ W)
        return h

    for i in range(0, len(Ws), block):
        ws = Ws[i : i + block]
        h = layers(h, *ws) if ckpt is None else ckpt(layers)(h, *ws)
    return xp.sum(h)


# -- how each library is called --------------------------------------------------------


def api(name: str) -> Callable:
    """``xpgrad.<name>``, or ``Unavailable`` saying it is not there yet."""
    fn = getattr(xpgrad, name, None)
    if fn is None:
        raise Unavailable(f"xpgrad.{name} is not available yet")
    return fn


def first(fn: Callable, *args: Any) -> Callable[[], Any]:
    """A thunk returning the first entry of ``fn(*args)`` (xpgrad returns one per argument)."""
    return lambda: fn(*args)[0]


def jitted(deriv: Callable, *args: Any) -> Callable[[], Any]:
    """The thunk of ``xpgrad.jit(deriv)(*args)``: the warm-up call stages, later calls replay."""
    d = api("jit")(deriv)
    return lambda: d(*args)


def _ns(a: Any) -> Any:
    """The namespace user code would get from ``array_namespace(a)``."""
    while isinstance(a, (dict, list, tuple)):
        a = next(iter(a.values())) if isinstance(a, dict) else a[0]
    get = getattr(a, "__array_namespace__", None)
    return get() if get is not None else np


def _bound(f: Callable, const: Any, x: Any) -> Any:
    """``f(xp, x, const)`` with ``xp`` from ``x``: a function of ``x`` alone."""
    return f(_ns(x), x, const)


def xpg(f: Callable) -> Callable:
    """``f(xp, *args)`` as user code writes it: ``xp`` from the first argument."""
    return lambda *a: f(_ns(a[0]), *a)


def _namespaces(P: Peers) -> dict:
    return {"jax": P.jnp, "torch": P.torch, "autograd": P.anp}


def add_peers(case: Case, P: Peers, make_f: Callable[[str], Callable], args: tuple,
              jax_t: Callable | None, torch_t: Callable | None, ag_t: Callable | None,
              why_not: dict | None = None) -> None:
    """Add the peers' columns: ``<lib>_t(f)`` is the derivative function of ``args``.

    ``make_f(group)`` is the function in that library; a transform of ``None``
    is skipped with ``why_not[group]`` as the reason.
    """
    why_not = why_not or {}
    case.skipped.update(P.skipped)

    def missing(group: str) -> Unavailable:
        return Unavailable(why_not.get(group, "no equivalent in this library"))

    if P.jax is not None:
        aj = P.to_jax(args)

        def jax_eager() -> Callable:
            if jax_t is None:
                raise missing("jax")
            d = jax_t(make_f("jax"))
            return lambda: P.sync(d(*aj))

        def jax_jit() -> Callable:
            if jax_t is None:
                raise missing("jax")
            d = P.jax.jit(jax_t(make_f("jax")))
            return lambda: P.sync(d(*aj))

        case.add("jax eager", jax_eager)
        case.add("jax jit", jax_jit)
    if P.torch is not None:
        at = P.to_torch(args)

        def torch_func() -> Callable:
            if torch_t is None:
                raise missing("torch")
            d = torch_t(make_f("torch"))
            return lambda: d(*at)

        case.add("torch.func", torch_func)
    if P.autograd is not None:

        def ag() -> Callable:
            if ag_t is None:
                raise missing("autograd")
            d = ag_t(make_f("autograd"))
            return lambda: d(*args)

        case.add("autograd", ag)


def plain(P: Peers, f: Callable) -> Callable[[str], Callable]:
    ns = _namespaces(P)
    return lambda group: partial(f, ns[group])


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


# -- the workloads -------------------------------------------------------------------


def w1(P: Peers) -> list[Case]:
    r = _rng()
    p = {"W1": r.standard_normal((256, 256)) / 16, "b1": r.standard_normal(256) / 10,
         "W2": r.standard_normal((256, 10)) / 16, "b2": r.standard_normal(10) / 10}
    x, y = r.standard_normal((128, 256)), r.standard_normal((128, 10))
    c = Case("W1 mlp_grad", "W1", lambda: mlp_loss(np, p, x, y))
    # Zygote-style gradient differentiates every argument: close over the data, as
    # the peers' grad (argnums=0) differentiates only the parameters
    c.add("xpgrad", lambda: first(api("gradient"), lambda p: mlp_loss(_ns(p), p, x, y), p))
    c.add("xpgrad jit", lambda: jitted(
        lambda p: api("gradient")(lambda p: mlp_loss(_ns(p), p, x, y), p)[0], p))
    add_peers(c, P, plain(P, mlp_loss), (p, x, y),
              lambda f: P.jax.grad(f), lambda f: P.torch.func.grad(f),
              lambda f: P.autograd.grad(f))
    return [c]


def w2(P: Peers) -> list[Case]:
    x = np.linspace(-1.0, 1.0, 8)
    c = Case("W2 tiny_ops_grad", "W2", lambda: tiny_ops(np, x))
    c.add("xpgrad", lambda: first(api("gradient"), xpg(tiny_ops), x))
    c.add("xpgrad jit", lambda: jitted(lambda x: api("gradient")(xpg(tiny_ops), x)[0], x))
    c.add("bare tape", lambda: partial(bare_tape.grad, tiny_ops, x))
    add_peers(c, P, plain(P, tiny_ops), (x,),
              lambda f: P.jax.grad(f), lambda f: P.torch.func.grad(f),
              lambda f: P.autograd.grad(f))
    return [c]


def w3_case(P: Peers, n: int, loop: bool = True) -> Case:
    r = _rng()
    A, x = r.standard_normal((n, n)) / np.sqrt(n), r.standard_normal(n)
    c = Case(f"W3 jacobian_square n={n}" if n != 400 else "W3 jacobian_square", "W3",
             lambda: tanh_affine(np, x, A), n=n)
    fx = partial(_bound, tanh_affine, A)
    c.add("xpgrad", lambda: _jac(fx, x, "reverse"))
    c.add("xpgrad jit", lambda: jitted(lambda x: api("jacobian")(fx, x, mode="reverse")[0], x))
    if loop:
        c.add("xpgrad loop", lambda: partial(_row_loop, fx, x))
    add_peers(c, P, plain(P, tanh_affine), (x, A),
              lambda f: P.jax.jacrev(f), lambda f: P.torch.func.jacrev(f),
              lambda f: P.autograd.jacobian(f))
    return c


def _jac(f: Callable, x: Any, mode: str) -> Callable:
    return first(partial(api("jacobian"), mode=mode), f, x)


def _jac_jit(f: Callable, x: Any, mode: str) -> Callable:
    return jitted(lambda x: api("jacobian")(f, x, mode=mode)[0], x)


def _row_loop(f: Callable, x: Any) -> Any:
    """Zygote's strategy: one recorded pullback, called once per output element."""
    y, back = xpgrad.pullback(f, x)
    basis = np.eye(y.shape[0])
    return np.stack([back(basis[i])[0] for i in range(y.shape[0])])


def w3(P: Peers) -> list[Case]:
    return [w3_case(P, 400)]


def _wide_tall(P: Peers, wl: str, label: str, n_in: int, n_out: int) -> list[Case]:
    r = _rng()
    B, x = r.standard_normal((n_out, n_in)) / np.sqrt(n_in), r.standard_normal(n_in)
    fx = partial(_bound, tanh_affine_sin, B)
    cases = []
    for mode in ("reverse", "forward"):
        c = Case(f"{wl} {label} ({mode[:3]})", wl, lambda: tanh_affine_sin(np, x, B))
        c.add("xpgrad", partial(_jac, fx, x, mode))
        c.add("xpgrad jit", partial(_jac_jit, fx, x, mode))
        if mode == "reverse":
            add_peers(c, P, plain(P, tanh_affine_sin), (x, B), lambda f: P.jax.jacrev(f),
                      lambda f: P.torch.func.jacrev(f), lambda f: P.autograd.jacobian(f))
        else:
            add_peers(c, P, plain(P, tanh_affine_sin), (x, B), lambda f: P.jax.jacfwd(f),
                      lambda f: P.torch.func.jacfwd(f), None,
                      {"autograd": "HIPS autograd has no forward-mode Jacobian"})
        cases.append(c)
    return cases


def w4(P: Peers) -> list[Case]:
    return _wide_tall(P, "W4", "jacobian_wide", 2000, 8)


def w5(P: Peers) -> list[Case]:
    return _wide_tall(P, "W5", "jacobian_tall", 8, 2000)


def w6_case(P: Peers, n: int) -> Case:
    x = _rng().uniform(-1.0, 1.5, n)
    c = Case(f"W6 hessian_rosen n={n}", "W6", lambda: rosen(np, x), n=n)
    c.add("xpgrad", lambda: partial(api("hessian"), xpg(rosen), x))
    c.add("xpgrad jit", lambda: jitted(lambda x: api("hessian")(xpg(rosen), x), x))
    add_peers(c, P, plain(P, rosen), (x,), lambda f: P.jax.hessian(f),
              lambda f: P.torch.func.hessian(f), lambda f: P.autograd.hessian(f))
    return c


def w6(P: Peers) -> list[Case]:
    return [w6_case(P, 100), w6_case(P, 400)]


def w7(P: Peers) -> list[Case]:
    r = _rng()
    n = 100_000
    x, v = r.uniform(-1.0, 1.5, n), r.standard_normal(n)
    c = Case("W7 hvp_rosen n=100000", "W7", lambda: rosen(np, x), n=n)
    c.add("xpgrad", lambda: partial(api("hvp"), xpg(rosen), x, v))
    c.add("xpgrad jit", lambda: jitted(lambda x, v: api("hvp")(xpg(rosen), x, v), x, v))

    def jax_hvp(f: Callable) -> Callable:
        return lambda x, v: P.jax.jvp(P.jax.grad(f), (x,), (v,))[1]

    def torch_hvp(f: Callable) -> Callable:
        return lambda x, v: P.torch.func.jvp(P.torch.func.grad(f), (x,), (v,))[1]

    def ag_hvp(f: Callable) -> Callable:  # reverse over reverse: autograd has no forward mode
        hvp = P.autograd.hessian_vector_product(f)
        return lambda x, v: hvp(x, v)

    add_peers(c, P, plain(P, rosen), (x, v), jax_hvp, torch_hvp, ag_hvp)
    return [c]


def w8(P: Peers) -> list[Case]:
    x = _rng().uniform(-2.0, 2.0, 300)
    c = Case("W8 diaghessian n=300", "W8", lambda: cubic_sin(np, x), n=300)
    c.add("xpgrad", lambda: first(api("diaghessian"), xpg(cubic_sin), x))
    c.add("xpgrad jit", lambda: jitted(lambda x: api("diaghessian")(xpg(cubic_sin), x)[0], x))
    # the peers have no diaghessian: a user takes the diagonal of the full Hessian
    add_peers(c, P, plain(P, cubic_sin), (x,),
              lambda f: _diag_of(P.jax.hessian(f), P.jnp.diag),
              lambda f: _diag_of(P.torch.func.hessian(f), P.torch.diagonal),
              lambda f: _diag_of(P.autograd.hessian(f), np.diag))
    return [c]


def _diag_of(hessian: Callable, diag: Callable) -> Callable:
    return lambda x: diag(hessian(x))


W9_LAYERS, W9_BLOCK = 40, 5


def w9(P: Peers) -> list[Case]:
    """Gradients of 40 tanh layers, plain and checkpointed, in two variants.

    ``d/dW`` (the rows named as in the issue): the gradient w.r.t. the 40 weight
    matrices is itself 20 MiB, as large as the saved activations, so it sets
    the peak of every method. ``d/dh``: the gradient w.r.t. the input (0.5 MiB),
    where what the tape saves sets the peak and checkpointing can show.
    """
    r = _rng()
    Ws = [r.standard_normal((256, 256)) / 16 for _ in range(W9_LAYERS)]
    h0 = r.standard_normal((256, 256))
    fwd = partial(deep_tanh, np, Ws, h0)
    ns = _namespaces(P)
    cases = []
    for wrt in ("W", "h"):
        for label, block in (("plain", 0), ("ckpt per layer", 1),
                             (f"ckpt per {W9_BLOCK} layers", W9_BLOCK)):
            name = f"W9 checkpoint_mem {label}" + (" d/dh" if wrt == "h" else "")
            cases.append(_w9_case(P, ns, name, fwd, Ws, h0, block, wrt))
    return cases


def _w9_case(P: Peers, ns: dict, name: str, fwd: Callable, Ws: list, h0: Any, block: int,
             wrt: str) -> Case:
    c = Case(name, "W9", fwd, memory=True)

    def xpg_make() -> Callable:
        ckpt = None
        if block:
            ckpt = partial(partial, api("checkpointed"))  # ckpt(fn)(*a) = checkpointed(fn, *a)
        if wrt == "h":
            return first(api("gradient"), lambda h: deep_tanh(_ns(h), Ws, h, ckpt, block or 1), h0)
        return first(api("gradient"), lambda ws: deep_tanh(_ns(ws), ws, h0, ckpt, block or 1), Ws)

    c.add("xpgrad", xpg_make)

    def make_f(group: str) -> Callable:
        ckpt = None
        if block:
            if group == "torch":
                raise Unavailable("torch.func does not support torch.utils.checkpoint "
                                  "(saved tensor hooks)")
            ckpt = P.jax.checkpoint if group == "jax" else P.autograd.checkpoint
        if wrt == "h":
            return lambda h, ws: deep_tanh(ns[group], ws, h, ckpt, block or 1)
        return lambda ws, h: deep_tanh(ns[group], ws, h, ckpt, block or 1)

    # checkpointed rows: xpgrad against itself and JAX only. torch.func cannot run
    # torch.utils.checkpoint; autograd.checkpoint took 3-4x its plain time and more
    # memory than without it in trial runs, and was the slowest cell of the suite.
    ag_why = {"autograd": "not timed: autograd.checkpoint ran 3-4x slower than autograd "
                          "without it, with more memory (trial runs)"}
    add_peers(c, P, make_f, (h0, Ws) if wrt == "h" else (Ws, h0), lambda f: P.jax.grad(f),
              lambda f: P.torch.func.grad(f),
              None if block else (lambda f: P.autograd.grad(f)), ag_why)
    return c


WORKLOADS: dict[str, Callable[[Peers], list[Case]]] = {
    "W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8, "W9": w9,
}
