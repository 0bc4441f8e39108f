"""Reverse mode: a tape of entries, walked backwards by a loop (never recursion).

Each traced operation appends one entry to its trace's tape, ``(pullback,
parents)``, where ``parents`` holds the tape index of each traced argument
(``None`` for constants); a tracer keeps the index of its entry. Entries are
appended in creation order, which is a topological order, so the backward pass
is a reversed loop over the tape that accumulates cotangents in a list indexed
like the tape. A leaf (an argument being differentiated) is ``(None, ())``;
output ``j`` of ``n`` of a primitive with several results at index ``k`` is
``(k, (j, n))``. Entries are tuples of a partial and integers, not objects
with attributes: the cheapest record Python can make, and one the garbage
collector stops tracking once its parents are plain integers.

Tracers keep their index, never their parents' values: intermediates are kept
alive only by what the pullbacks capture.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .trace import Primitive, Trace, Tracer, _no_rule, bind

__all__ = ["ReverseTrace", "ReverseTracer", "backward"]


class ReverseTracer(Tracer):
    __slots__ = ("primal", "node")

    def __init__(self, trace: Trace, primal: Any, node: int | None):
        self._trace = trace
        self.primal = primal
        self.node = node

    @property
    def _value(self) -> Any:
        return self.primal

    def _concrete_value(self, what: str) -> Any:
        return self.primal

    def _constant(self) -> bool:
        return self.node is None


class ReverseTrace(Trace):
    def __init__(self, level: int, ns: Any):
        super().__init__(level, ns)
        self.tape: list[Any] = []
        self.lock = threading.Lock()
        self.finalizers: list[Callable[[], None]] = []

    def const(self, value: Any) -> ReverseTracer:
        return ReverseTracer(self, value, None)

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        vjp = prim.vjp
        if vjp is None:
            if prim.differentiable and any(_active(a, self) for a in args):
                raise _no_rule(prim, "reverse-mode (vjp)", "vjp")
            return self.consts(prim, bind(prim, tuple(_lower(a, self) for a in args), params))
        if len(args) == 2 and not params and not prim.multiple_results:
            return self.process2(prim, args[0], args[1])
        primals = []
        parents: Any = []
        needs = []
        active = False
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                primals.append(a.primal)
                parents.append(a.node)
                needs.append(a.node is not None)
                active = active or a.node is not None
            else:
                primals.append(a)
                parents.append(None)
                needs.append(False)
        if not active:  # constants only: compute one level down, record nothing
            return self.consts(prim, bind(prim, tuple(primals), params))
        out, pullback = vjp(primals, needs, **params)
        parents = tuple(parents)
        tape = self.tape
        i = len(tape)
        tape.append((pullback, parents))
        if prim.multiple_results:
            n = len(out)
            outs = []
            for j, o in enumerate(out):
                outs.append(ReverseTracer(self, o, len(tape)))
                tape.append((i, (j, n)))
            return tuple(outs)
        return ReverseTracer(self, out, i)

    # The hot path: one- and two-argument calls without parameters (elementwise
    # functions and operators), with no argument tuple, parameter dict or loop.
    def process1(self, prim: Primitive, x: Any) -> Any:
        vjp = prim.vjp
        if vjp is None or prim.multiple_results:
            return self.process(prim, (x,), {})
        # x is this trace's tracer: fast_call sends a call here only then
        if x.node is None:  # a constant
            return ReverseTracer(self, prim.fast(x.primal), None)
        out, pullback = vjp([x.primal], [True])
        tape = self.tape
        tape.append((pullback, (x.node,)))
        return ReverseTracer(self, out, len(tape) - 1)

    def process2(self, prim: Primitive, x1: Any, x2: Any) -> Any:
        vjp = prim.vjp
        if vjp is None or prim.multiple_results:
            return self.process(prim, (x1, x2), {})
        if type(x1) is ReverseTracer and x1._trace is self:
            p1, n1 = x1.primal, x1.node
        else:
            p1, n1 = x1, None
        if type(x2) is ReverseTracer and x2._trace is self:
            p2, n2 = x2.primal, x2.node
        else:
            p2, n2 = x2, None
        if n1 is None and n2 is None:  # constants only
            return ReverseTracer(self, prim.fast(p1, p2), None)
        out, pullback = vjp([p1, p2], [n1 is not None, n2 is not None])
        tape = self.tape
        tape.append((pullback, (n1, n2)))
        return ReverseTracer(self, out, len(tape) - 1)

    def new_leaf(self, value: Any) -> ReverseTracer:
        tape = self.tape
        tape.append((None, ()))
        return ReverseTracer(self, value, len(tape) - 1)


def _active(a: Any, trace: Trace) -> bool:
    return type(a) is ReverseTracer and a._trace is trace and a.node is not None


def _lower(a: Any, trace: Trace) -> Any:
    return a.primal if type(a) is ReverseTracer and a._trace is trace else a


def backward(
    tape: list, roots: list[tuple[int, Any]], add: Callable, release: bool = False
) -> list:
    """Propagate cotangents from ``roots`` (tape index, ct) through ``tape``.

    Returns the cotangents by tape index; those of leaves are kept, every other
    one is dropped once its pullback has run. With ``release`` the tape is
    consumed: each entry is dropped as soon as it has been visited, so the
    intermediates its pullback kept are freed during the backward pass rather
    than after it (a single-use tape, as in ``gradient``).
    """
    cts: list[Any] = [None] * len(tape)
    for node, ct in roots:
        if ct is not None:
            c = cts[node]
            cts[node] = ct if c is None else add(c, ct)
    for i in range(len(tape) - 1, -1, -1):
        ct = cts[i]
        if ct is None:
            if release:
                tape[i] = None
            continue
        pullback, parents = tape[i]
        if release:  # drop the entry (and what its pullback keeps) once it has run
            tape[i] = None
        if pullback is None:  # a leaf: its cotangent is the caller's
            continue
        cts[i] = None
        if type(pullback) is int:  # output j of n of the entry at index ``pullback``
            j, n = parents
            outs = cts[pullback]
            if outs is None:
                outs = cts[pullback] = [None] * n
            c = outs[j]
            outs[j] = ct if c is None else add(c, ct)
            continue
        for p, g in zip(parents, pullback(ct)):
            if p is not None and g is not None:
                c = cts[p]
                cts[p] = g if c is None else add(c, g)
    if release:
        tape.clear()
    return cts
