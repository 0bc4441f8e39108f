"""Reverse mode: a tape of nodes, walked backwards by a loop (never recursion).

Each traced operation appends one ``Node`` holding the rule's pullback and the
nodes of its traced arguments. Nodes are appended in creation order, which is a
topological order, so the backward pass is a reversed loop over the tape that
accumulates cotangents on the nodes themselves (no dictionaries on the hot path).
Tracers keep their node, never their parents' values: intermediates are kept
alive only by what the pullbacks capture.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .trace import Primitive, Trace, Tracer, _no_rule, bind

__all__ = ["ReverseTrace", "ReverseTracer", "Node", "backward"]


class Node:
    __slots__ = ("pullback", "parents", "ct", "index", "nout")

    def __init__(self, pullback: Callable | None, parents: Any, index: int = -1, nout: int = 1):
        self.pullback = pullback
        self.parents = parents
        self.ct: Any = None
        self.index = index  # >= 0: this node is output `index` of parents[0]
        self.nout = nout


class ReverseTracer(Tracer):
    __slots__ = ("primal", "node")

    def __init__(self, trace: Trace, primal: Any, node: Node):
        self._trace = trace
        self.primal = primal
        self.node = node

    @property
    def _value(self) -> Any:
        return self.primal

    def _concrete_value(self, what: str) -> Any:
        return self.primal


class ReverseTrace(Trace):
    def __init__(self, level: int, ns: Any):
        super().__init__(level, ns)
        self.tape: list[Node] = []
        self.lock = threading.Lock()
        self.finalizers: list[Callable[[], None]] = []

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        vjp = prim.vjp
        if vjp is None:
            if prim.differentiable:
                raise _no_rule(prim, "reverse-mode (vjp)", "vjp")
            return bind(prim, tuple(_lower(a, self) for a in args), params)
        parents: Any
        if len(args) == 2:  # binary operators: most of a program's operations
            a, b = args
            if type(a) is ReverseTracer and a._trace is self:
                pa, na = a.primal, a.node
            else:
                pa, na = a, None
            if type(b) is ReverseTracer and b._trace is self:
                pb, nb = b.primal, b.node
            else:
                pb, nb = b, None
            out, pullback = vjp([pa, pb], [na is not None, nb is not None], **params)
            parents = (na, nb)
        else:
            primals = []
            parents = []
            needs = []
            for a in args:
                if type(a) is ReverseTracer and a._trace is self:
                    primals.append(a.primal)
                    parents.append(a.node)
                    needs.append(True)
                else:
                    primals.append(a)
                    parents.append(None)
                    needs.append(False)
            out, pullback = vjp(primals, needs, **params)
        node = Node(pullback, parents)
        tape = self.tape
        tape.append(node)
        if prim.multiple_results:
            node.nout = len(out)
            outs = []
            for i, o in enumerate(out):
                sub = Node(None, (node,), i)
                tape.append(sub)
                outs.append(ReverseTracer(self, o, sub))
            return tuple(outs)
        return ReverseTracer(self, out, node)

    def new_leaf(self, value: Any) -> ReverseTracer:
        return ReverseTracer(self, value, Node(None, ()))


def _lower(a: Any, trace: Trace) -> Any:
    return a.primal if type(a) is ReverseTracer and a._trace is trace else a


def _accumulate(node: Node, g: Any, add: Callable) -> None:
    if node.ct is None:
        node.ct = g
    else:
        node.ct = add(node.ct, g)


def backward(
    tape: list[Node], roots: list[tuple[Node, Any]], add: Callable, release: bool = False
) -> None:
    """Propagate cotangents from ``roots`` (node, ct) to every node of ``tape``.

    With ``release`` the tape is consumed: each node is dropped as soon as its
    pullback has run, so the intermediates it kept are freed during the backward
    pass rather than after it (a single-use tape, as in ``gradient``).
    """
    for node in tape:
        node.ct = None
    for node, ct in roots:
        if ct is not None:
            _accumulate(node, ct, add)
    for i in range(len(tape) - 1, -1, -1):
        node = tape[i]
        if release:  # drop the node (and what its pullback keeps) once it has run
            tape[i] = None  # type: ignore[call-overload]
        ct = node.ct
        if ct is None:
            continue
        if node.index >= 0:  # one output of a multi-output node
            node.ct = None
            owner = node.parents[0]
            if owner.ct is None:
                owner.ct = [None] * owner.nout
            slot = owner.ct[node.index]
            owner.ct[node.index] = ct if slot is None else add(slot, ct)
            continue
        node.ct = None
        if node.pullback is None:
            continue
        cts = node.pullback(ct)
        for p, g in zip(node.parents, cts):
            if p is not None and g is not None:
                if p.ct is None:
                    p.ct = g
                else:
                    p.ct = add(p.ct, g)
    if release:
        tape.clear()
