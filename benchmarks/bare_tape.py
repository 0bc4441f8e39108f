"""A bare reverse-mode tape over NumPy: the reference for W2's per-operation target.

The issue behind the benchmark measures xpgrad's per-operation overhead against
"a bare 60-line reverse tape over NumPy". This is that tape, timed in the same
run as everything else: values wrapped in a node holding its parents and a
closure, a topological sort, and a loop. It knows only what W2 uses (``*``,
``+`` with numbers or nodes, ``sin``, ``sum``) and none of what xpgrad must do
per operation (trace levels for nested derivatives, broadcasting and dtype
rules, the Array API namespace, other backends), so it is a floor, not a peer.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


class Var:
    __slots__ = ("value", "parents", "back", "grad")

    def __init__(self, value: Any, parents: tuple = (), back: Callable | None = None):
        self.value = value
        self.parents = parents
        self.back = back
        self.grad: Any = None

    def __mul__(self, o: Any) -> Var:
        if isinstance(o, Var):
            a, b = self.value, o.value
            return Var(a * b, (self, o), lambda g: (g * b, g * a))
        return Var(self.value * o, (self,), lambda g: (g * o,))

    def __add__(self, o: Any) -> Var:
        if isinstance(o, Var):
            return Var(self.value + o.value, (self, o), lambda g: (g, g))
        return Var(self.value + o, (self,), lambda g: (g,))

    __rmul__ = __mul__
    __radd__ = __add__


class BareNamespace:
    """``sin`` and ``sum`` of ``Var``: the namespace ``tiny_ops`` is written against."""

    @staticmethod
    def sin(x: Var) -> Var:
        a = x.value
        return Var(np.sin(a), (x,), lambda g: (g * np.cos(a),))

    @staticmethod
    def sum(x: Var) -> Var:
        shape = x.value.shape
        return Var(np.sum(x.value), (x,), lambda g: (np.broadcast_to(g, shape),))


def grad(f: Callable[[Any, Var], Var], x: np.ndarray) -> np.ndarray:
    """``d f(ns, x) / dx`` for a scalar ``f``, by one reverse sweep."""
    xv = Var(x)
    out = f(BareNamespace, xv)
    order: list[Var] = []
    seen: set[int] = set()
    stack: list[tuple[Var, bool]] = [(out, False)]
    while stack:  # iterative post-order: parents before children
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents)
    out.grad = np.ones(())
    for node in reversed(order):
        if node.back is None or node.grad is None:
            continue
        for p, g in zip(node.parents, node.back(node.grad)):
            p.grad = g if p.grad is None else p.grad + g
    return xv.grad
