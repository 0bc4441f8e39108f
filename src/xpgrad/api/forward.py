"""``forwarddiff``: differentiate a piece of a reverse-mode program in forward mode.

Inside reverse mode, ``forwarddiff(f, x)`` becomes one node of the tape: the
forward pass computes ``f(x)`` and its Jacobian by forward mode, pushing
chunks of basis tangents through ``f`` at once (vmap over jvp), and the
pullback is ``J^T ct``. Memory is the Jacobian only, not ``f``'s
intermediates; time grows with ``x``'s size, which suits small ``x``.

``FlatFn`` and ``pushforward`` are shared with ``checkpointed``: both are
primitives whose parameter is a user function.
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.arrays import size_of
from .._core.forward import ForwardTrace, ForwardTracer
from .._core.trace import LIVE_LEVELS, Tracer, new_level
from ..rules import F, patterns
from ..rules._registry import defrule, primitive, project
from . import _chunks as C
from . import _edge as E
from .params import unbox
from .vmap import vmap

__all__ = ["forwarddiff", "DEFAULT_CHUNK_THRESHOLD", "FlatFn", "pushforward", "top_trace"]

#: ForwardDiff.jl's default: at most this many basis tangents per pass.
DEFAULT_CHUNK_THRESHOLD = 12


class FlatFn:
    """``f(*args)`` as a function of its array leaves only, returning array leaves.

    Non-array leaves of the arguments (strings, functions, ``None``) are baked
    in; non-array leaves of the result are kept aside and put back by
    ``rebuild``. Python numbers in the result become 0-d arrays.
    """

    __slots__ = ("f", "in_tree", "static", "slots", "xp", "out_tree", "out_static", "out_slots")

    def __init__(self, f: Callable, args: tuple):
        leaves, self.in_tree = E.flatten(args)
        self.f = f
        self.slots = [i for i, v in enumerate(leaves) if E.is_array(v) or E.is_number(v)]
        taken = set(self.slots)
        self.static = [None if i in taken else v for i, v in enumerate(leaves)]
        self.xp = E.common_xp(leaves)
        self.out_tree: Any = None
        self.out_static: list = []
        self.out_slots: list = []

    def arrays(self, args: tuple) -> list:
        leaves, _ = E.flatten(args)
        return [leaves[i] for i in self.slots]

    def __call__(self, *arrays: Any) -> tuple:
        leaves = list(self.static)
        for i, a in zip(self.slots, arrays):
            leaves[i] = a
        out = self.f(*E.unflatten(self.in_tree, leaves))
        o_leaves, self.out_tree = E.flatten(out)
        self.out_slots = [i for i, v in enumerate(o_leaves) if E.is_array(v) or E.is_number(v)]
        taken = set(self.out_slots)
        self.out_static = [None if i in taken else v for i, v in enumerate(o_leaves)]
        return tuple(E.as_array(o_leaves[i], self.xp) for i in self.out_slots)

    def rebuild(self, outs: tuple) -> Any:
        leaves = list(self.out_static)
        for i, o in zip(self.out_slots, outs):
            leaves[i] = o
        return E.unflatten(self.out_tree, leaves)


def top_trace(values: list) -> Any:
    """The trace ``bind`` would pick for ``values`` (the highest level), or None."""
    top = None
    for v in values:
        if isinstance(v, Tracer):
            t = v._trace
            if top is None or t.level > top.level:
                top = t
    return top


def pushforward(fn: Callable, primals: list, tangents: list) -> tuple[list, list]:
    """Outputs of ``fn(*primals)`` and their tangents (None: zero) at a new forward level."""
    xp = E.common_xp(list(primals))
    with new_level(ForwardTrace, E.namespace(xp)) as trace:
        wrapped = [
            p if t is None else ForwardTracer(trace, p, t) for p, t in zip(primals, tangents)
        ]
        outs = fn(*wrapped)
    ys, ts = [], []
    for o in outs:
        if type(o) is ForwardTracer and o._trace is trace:  # (a constant's tangent is None)
            ys.append(o.primal)
            ts.append(o.tangent)
        else:
            ys.append(o)
            ts.append(None)
    return ys, ts


def drop_owner(v: Any, owner: Any, name: str) -> Any:
    """Treat values of ``owner`` (the trace processing the primitive) as constants.

    They come from variables ``f`` closes over; their derivative is dropped,
    as Zygote does. Values of a trace above ``owner`` cannot be dropped
    without breaking that trace, so they are an error.
    """
    if owner is None or not isinstance(v, Tracer):
        return v
    t = v._trace
    if t is owner:
        return v._value
    if owner.level <= t.level < LIVE_LEVELS:  # a live trace at or above the owner
        raise ValueError(
            f"xpgrad.{name}: the function closes over a value that a transformation "
            f"inside the {name} call is differentiating. Pass that value through the "
            f"arguments instead (e.g. {name}(f, (x, y)) with f taking the pair)."
        )
    return v


# -- forwarddiff ------------------------------------------------------------------------


def _impl(*args: Any, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    return fn(*args)


forwarddiff_p = primitive("forwarddiff", _impl, multiple_results=True, export_as=False)


def _jvp(primals: list, tangents: list, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    ys, ts = pushforward(fn, primals, tangents)
    return (
        tuple(drop_owner(y, owner, "forwarddiff") for y in ys),
        tuple(drop_owner(t, owner, "forwarddiff") for t in ts),
    )


def _jacobian(fn: FlatFn, primals: list, idx: list, chunk: int) -> tuple[list, list]:
    """``f``'s outputs and, per output, ``J^T`` as an ``(n, *out.shape)`` array."""
    offsets, n = [], 0
    for i in idx:
        offsets.append(n)
        n += size_of(tuple(primals[i].shape))
    seen: dict = {}

    def tangents_out(*ts: Any) -> tuple:
        tans: list = [None] * len(primals)
        for i, t in zip(idx, ts):
            tans[i] = t
        ys, dys = pushforward(fn, primals, tans)
        seen["ys"] = ys  # the primal outputs do not depend on the tangents
        return tuple(F.zeros_like(y) if d is None else d for y, d in zip(ys, dys))

    blocks: list[list] = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        # rows start..stop of the identity, restricted to each input's columns: the
        # basis chunk that jacobian(mode="forward") pushes (rows out of range are 0)
        basis = [
            C.basis(
                E.backend_xp(primals[i]),
                start - o,
                stop - start,
                size_of(tuple(primals[i].shape)),
                primals[i].dtype,
                tuple(primals[i].shape),
                C.device_of(primals[i]),
                like=primals[i],
            )
            for i, o in zip(idx, offsets)
        ]
        blocks.append(list(vmap(tangents_out)(*basis)))
    if not blocks:  # no differentiable input elements
        return list(fn(*primals)), []
    jts = [
        b[0] if len(blocks) == 1 else F.concat([blk[k] for blk in blocks], axis=0)
        for k, b in enumerate(zip(*blocks))
    ]
    return seen["ys"], jts


def _vjp(primals: list, needs: list, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    idx = [i for i, nd in enumerate(needs) if nd]
    ys, jts = _jacobian(fn, primals, idx, chunk)
    ys = [drop_owner(y, owner, "forwarddiff") for y in ys]
    jts = [drop_owner(j, owner, "forwarddiff") for j in jts]
    sizes = [size_of(tuple(primals[i].shape)) for i in idx]
    n = sum(sizes)
    likes = {i: primals[i] for i in idx}
    nargs = len(primals)

    def forwarddiff_pullback(cts: list) -> tuple:
        g = None
        for jt, ct in zip(jts, cts):
            if ct is None:
                continue
            m = size_of(tuple(ct.shape))
            a = F.reshape(jt, (n, m))
            c = F.reshape(ct, (m,))
            if a.dtype != c.dtype:  # e.g. an integer input's basis against a float cotangent
                dt = E.backend_xp(c).result_type(a.dtype, c.dtype)
                a = a if a.dtype == dt else F.astype(a, dt)
                c = c if c.dtype == dt else F.astype(c, dt)
            part = F.matmul(a, c)
            g = part if g is None else F.add(g, part)
        out: list = [None] * nargs
        if g is None:
            return tuple(out)
        o = 0
        for i, k in zip(idx, sizes):
            out[i] = project(F.reshape(g[o : o + k], tuple(likes[i].shape)), likes[i])
            o += k
        return tuple(out)

    return tuple(ys), forwarddiff_pullback


def _batch(args: list, batched: list, fn: FlatFn, chunk: int, owner: Any) -> tuple:
    axes = tuple(0 if b else None for b in batched)
    outs = vmap(fn, in_axes=axes)(*args)
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
        xp = E.namespace(E.backend_xp(x))  # traced functions take raw arrays too
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


def forwarddiff(f: Callable, x: Any, *, chunk_threshold: int = DEFAULT_CHUNK_THRESHOLD) -> Any:
    """``f(x)``, differentiated by forward mode instead of reverse mode.

    Under ``gradient`` (or any reverse-mode transformation) the Jacobian of
    ``f`` at ``x`` is computed in the forward pass by pushing at most
    ``chunk_threshold`` basis tangents through ``f`` at once, and kept instead
    of ``f``'s intermediates; the backward pass multiplies it by the
    cotangent. Time grows with ``x``'s size, memory with the Jacobian's, so it
    suits small ``x`` and long computations on it.

    Values that ``f`` closes over get no derivative through ``f`` (Zygote's
    rule); pass them through ``x`` instead.

    Parameters
    ----------
    f : callable
        A function of ``x`` alone.
    x : array, number or pytree
        The argument (a pytree: a tuple or list of numbers and arrays).
    chunk_threshold : int, optional
        The most basis tangents pushed through ``f`` in one batched pass.
        Default 12.

    Returns
    -------
    array, number or pytree
        ``f(x)``.

    See Also
    --------
    checkpointed : Recompute instead of storing.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.gradient(lambda x: xpgrad.forwarddiff(lambda x: x * x, x), 5)
    (10,)
    >>> xpgrad.gradient(lambda a, b: xpgrad.forwarddiff(lambda a: a * b, a), 2, 3)
    (3, None)
    >>> xpgrad.gradient(lambda a, b: xpgrad.forwarddiff(lambda ab: ab[0] * ab[1], [a, b]), 2, 3)
    (3, 2)
    """
    E.check_callable(f, "forwarddiff")
    if type(chunk_threshold) is not int or chunk_threshold < 1:
        raise ValueError(
            f"xpgrad.forwarddiff: chunk_threshold must be a positive int (basis tangents "
            f"per forward pass), got {chunk_threshold!r}"
        )
    fn = FlatFn(f, (x,))
    arrays = [unbox(a) for a in fn.arrays((x,))]
    owner = top_trace(arrays)
    if owner is None:  # nothing to differentiate here
        return f(x)
    outs = forwarddiff_p(*arrays, fn=fn, chunk=chunk_threshold, owner=owner)
    return fn.rebuild(outs)
