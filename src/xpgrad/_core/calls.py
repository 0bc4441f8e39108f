"""A whole function called under a new trace level: the cores of the transformations.

``record`` (reverse: a tape and its backward pass), ``pushforward`` (forward)
and ``batch_call`` / ``map_basis`` (batching) take flat lists of values; the
API (``gradient``, ``jvp``, ``vmap``, ``jacobian``) adds pytrees, checks and
conversions around them, and the rules of primitives whose parameter is a user
function (``checkpointed``, ``forwarddiff``) call them directly, so that no
rule depends on the API.
"""

from __future__ import annotations

from typing import Any, Callable

import optree

from .batch import BatchConst, BatchTrace, BatchTracer
from .forward import ForwardTrace, ForwardTracer
from .namespace import traced_namespace
from .onehot import OneHot
from .pytree import NS, as_array, common_xp, flatten, is_array, is_number, unflatten
from .registry import F
from .reverse import ReverseTrace, ReverseTracer, backward
from .trace import LIVE_LEVELS, Tracer, new_level

__all__ = [
    "Recording",
    "batch_call",
    "drop_owner",
    "map_basis",
    "map_flat",
    "move_axis",
    "pushforward",
    "record",
    "top_trace",
]


# -- reverse ---------------------------------------------------------------------------


class Recording:
    """The forward pass of a function under a reverse trace, ready for backward passes.

    ``nodes[i]`` is the tape index of input ``i`` (None for a constant), ``out``
    what the function returned (tracers of ``trace`` where it was recorded).
    """

    __slots__ = ("trace", "nodes", "out")

    def __init__(self, trace: ReverseTrace, nodes: list, out: Any):
        self.trace = trace
        self.nodes = nodes
        self.out = out

    def traced(self, o: Any) -> bool:
        """Whether the output ``o`` was recorded on this tape (not a constant)."""
        return type(o) is ReverseTracer and o._trace is self.trace and o.node is not None

    def unwrap(self, y: Any) -> Any:
        """``y`` (a pytree) with this trace's tracers replaced by their values."""
        trace = self.trace
        if type(y) is ReverseTracer:
            return y.primal if y._trace is trace else y
        leaves, tree = flatten(y)
        return unflatten(
            tree,
            [v.primal if type(v) is ReverseTracer and v._trace is trace else v for v in leaves],
        )

    def backward(self, roots: list, release: bool = False, convert: Callable | None = None) -> list:
        """The cotangent of each input (None where it has none) from ``roots``.

        ``roots`` are ``(tape index, cotangent)`` pairs. ``convert`` maps the
        list of cotangents before the trace's finalizers (deferred eager updates,
        hook reports) run, under the trace's lock.
        """
        trace = self.trace
        with trace.lock:
            cts = backward(trace.tape, roots, F.add, release)
            res = [None if node is None else cts[node] for node in self.nodes]
            if convert is not None:
                res = convert(res)
            for fin in trace.finalizers:
                fin()
        return res

    def release(self) -> None:
        self.trace.tape = []


def record(f: Callable, inputs: list, diff: list, xp: Any) -> Recording:
    """``f(*inputs)`` recorded on a new reverse trace.

    Inputs where ``diff`` is true (arrays of ``xp``) become the tape's leaves;
    the other arrays enter as constants of the trace (one namespace, no
    cotangent work), other values as they are.
    """
    with new_level(ReverseTrace, traced_namespace(xp)) as trace:
        # the inputs' tape indices, kept apart from the tracers: ``x[i] = v`` in f
        # rebinds its tracer to the updated value
        nodes: list[int | None] = []
        wrapped = []
        for x, d in zip(inputs, diff):
            if d:
                t = trace.new_leaf(x)
                nodes.append(t.node)
                wrapped.append(t)
            else:
                nodes.append(None)
                wrapped.append(trace.const(x) if is_array(x) else x)
        out = f(*wrapped)
    return Recording(trace, nodes, out)


# -- forward ---------------------------------------------------------------------------


def pushforward(
    fn: Callable, primals: list, tangents: list, lift: bool = False
) -> tuple[list, list]:
    """Outputs of ``fn(*primals)`` and their tangents (None: zero) at a new forward level.

    With ``lift``, arrays without a tangent enter as constants of the trace, so
    that ``fn`` sees traced values only, as ``jacobian``'s pushforward does
    (array-api-strict refuses ``raw_array * tracer``).
    """
    xp = common_xp(list(primals))
    with new_level(ForwardTrace, traced_namespace(xp)) as trace:
        wrapped = [
            ForwardTracer(trace, p, t) if t is not None or (lift and is_array(p)) else p
            for p, t in zip(primals, tangents)
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


# -- batching --------------------------------------------------------------------------


def move_axis(x: Any, src: int, dst: int) -> Any:
    nd = x.ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return F.permute_dims(x, tuple(perm))


def batch_call(f: Callable, make: Callable, xp: Any, size: int, out_axes: Any) -> Any:
    """``f(*make(trace))`` in a new batch trace; outputs with their batch axis at ``out_axes``.

    Outputs that are not batched are broadcast along the batch axis; values
    that are neither arrays nor numbers (such as a ``Zero``) pass through.
    """
    with new_level(BatchTrace, traced_namespace(xp), size=size) as trace:
        out = f(*make(trace))
    o_leaves, o_tree = flatten(out)
    if isinstance(out_axes, int):
        o_axes = [out_axes] * len(o_leaves)
    else:
        o_axes = optree.tree_leaves(
            optree.tree_broadcast_prefix(out_axes, out, namespace=NS), namespace=NS
        )
    res = []
    for o, ax in zip(o_leaves, o_axes):
        if type(o) is BatchTracer and o._trace is trace:
            v = o.val
            if type(v) is OneHot:  # f kept its basis one-hot to the end (y = 2 * x)
                v = v.dense()
        elif is_array(o) or is_number(o):
            if type(o) is BatchConst and o._trace is trace:
                o = o.val
            o = as_array(o, xp)
            v = F.broadcast_to(F.expand_dims(o, axis=0), (size,) + tuple(o.shape))
        else:
            res.append(o)
            continue
        res.append(v if ax == 0 else move_axis(v, 0, ax))
    return unflatten(o_tree, res)


def map_basis(f: Callable, xp: Any) -> Callable:
    """``vmap(f)`` for one argument, a ``OneHot`` basis chunk (or a dense batch)."""

    def batched(basis: Any) -> Any:
        return batch_call(f, lambda trace: (BatchTracer(trace, basis),), xp, basis.shape[0], 0)

    return batched


def map_flat(f: Callable, args: list, batched: list) -> Any:
    """``vmap(f, in_axes=...)(*args)`` for arrays batched (or not) along axis 0."""
    size = next(a.shape[0] for a, b in zip(args, batched) if b)
    return batch_call(
        f,
        lambda trace: [BatchTracer(trace, a) if b else a for a, b in zip(args, batched)],
        common_xp(list(args)),
        size,
        0,
    )


# -- primitives whose parameter is a function ---------------------------------------


def top_trace(values: list) -> Any:
    """The trace ``bind`` would pick for ``values`` (the highest level), or None."""
    top = None
    for v in values:
        if isinstance(v, Tracer):
            t = v._trace
            if top is None or t.level > top.level:
                top = t
    return top


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
