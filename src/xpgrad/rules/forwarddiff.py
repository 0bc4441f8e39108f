"""The ``forwarddiff`` primitive: a piece of a reverse-mode program, differentiated forward.

Inside reverse mode, ``forwarddiff(f, x)`` is one node of the tape: its
forward pass computes ``f(x)`` and, per input, the Jacobian of each output by
forward mode, with the chunk loop of ``jacobian(mode="forward")``
(``forward_jacobian``: chunks of basis tangents pushed through ``f`` at once);
the pullback is ``ct @ J``. Memory is the Jacobian only, not ``f``'s
intermediates; time grows with ``x``'s size, which suits small ``x``. An
output that does not depend on an input keeps a symbolic ``Zero`` Jacobian:
nothing is made for it, and the pullback skips it.

The user-facing function is ``xpgrad.forwarddiff`` (``api/forward.py``); the
parameters are the function as a ``FlatFn`` (``fn``), the chunk size
(``chunk``) and the trace that processes the call (``owner``).
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.arrays import size_of
from .._core.calls import drop_owner, map_flat, pushforward
from .._core.chunks import forward_jacobian
from .._core.namespace import traced_namespace
from .._core.pytree import FlatFn, backend_xp, common_xp
from .._core.trace import Tracer
from .._core.zeros import Zero
from ._registry import F, defrule, patterns, primitive, project

__all__ = ["forwarddiff_p"]


def _impl(*args: Any, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    return fn(*args)


forwarddiff_p = primitive("forwarddiff", _impl, multiple_results=True, export_as=False)


def _jvp(primals: list, tangents: list, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    ys, ts = pushforward(fn, primals, tangents)
    return (
        tuple(drop_owner(y, owner, "forwarddiff") for y in ys),
        tuple(drop_owner(t, owner, "forwarddiff") for t in ts),
    )


def _jacobians(fn: FlatFn, primals: list, idx: list, chunk: int) -> tuple[list, list]:
    """``f``'s outputs, and per input in ``idx`` the ``(m, n)`` Jacobian of each output.

    A Jacobian is a ``Zero`` where the output does not depend on the input;
    an input with no elements gets None.
    """
    xp = common_xp(list(primals))
    seen: dict = {}

    def push_into(i: int) -> Callable:
        def push(t: Any) -> tuple:
            tans: list = [None] * len(primals)
            tans[i] = t
            ys, dys = pushforward(fn, primals, tans, lift=True)
            seen["ys"] = ys  # the primal outputs do not depend on the tangents
            return tuple(Zero.like(y) if d is None else d for y, d in zip(ys, dys))

        return push

    jacs: list[list | None] = []
    for i in idx:
        x = primals[i]
        if size_of(tuple(x.shape)) == 0:
            jacs.append(None)
        else:
            jacs.append(forward_jacobian(push_into(i), x, xp, chunk, chunk))
    if "ys" not in seen:  # no differentiable input element: f was not pushed
        return list(fn(*primals)), jacs
    return seen["ys"], jacs


def _vjp(primals: list, needs: list, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    idx = [i for i, nd in enumerate(needs) if nd]
    ys, jacs = _jacobians(fn, primals, idx, chunk)
    ys = [drop_owner(y, owner, "forwarddiff") for y in ys]
    jacs = [
        None
        if js is None
        else [j if isinstance(j, Zero) else drop_owner(j, owner, "forwarddiff") for j in js]
        for js in jacs
    ]
    likes = [primals[i] for i in idx]
    nargs = len(primals)

    def forwarddiff_pullback(cts: list) -> tuple:
        out: list = [None] * nargs
        for i, like, js in zip(idx, likes, jacs):
            if js is None:
                continue
            g = None
            for J, ct in zip(js, cts):
                if ct is None or isinstance(J, Zero):
                    continue
                c = F.reshape(ct, (J.shape[0],))
                if J.dtype != c.dtype:  # e.g. an integer input's basis against a float ct
                    dt = backend_xp(c).result_type(J.dtype, c.dtype)
                    J = J if J.dtype == dt else F.astype(J, dt)
                    c = c if c.dtype == dt else F.astype(c, dt)
                part = F.matmul(c, J)
                g = part if g is None else F.add(g, part)
            if g is not None:
                out[i] = project(F.reshape(g, tuple(like.shape)), like)
        return tuple(out)

    return tuple(ys), forwarddiff_pullback


def _batch(args: list, batched: list, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    outs = map_flat(fn, args, batched)
    for o in outs:
        t = o._trace if isinstance(o, Tracer) else None
        if t is not None and owner is not None and t.level >= owner.level:
            raise NotImplementedError(
                "xpgrad.forwarddiff under vmap: the function closes over a batched value; "
                "pass it through the argument instead"
            )
    return tuple(outs), True


def _samples(make: Any) -> list:
    def f(x: Any, y: Any) -> Any:
        xp: Any = traced_namespace(backend_xp(x))  # traced functions take raw arrays too
        return xp.sin(x) * y, xp.sum(x * x)

    return [
        (
            (make((3,)), make((3,))),
            {"fn": FlatFn(f, (make((3,)), make((3,)))), "chunk": 2, "owner": None},
        ),
        (
            (make(()), make((2,))),
            {"fn": FlatFn(f, (make(()), make((2,)))), "chunk": 12, "owner": None},
        ),
    ]


defrule(forwarddiff_p, jvp=_jvp, vjp=_vjp, batch=_batch, samples=_samples, pattern=patterns.inline)
