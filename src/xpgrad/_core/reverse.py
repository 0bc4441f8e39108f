"""Reverse mode: a tape of entries, walked backwards by a loop (never recursion).

Each traced operation appends one entry to its trace's tape, ``(pullback,
parents, shape, prim)``, where ``parents`` holds the tape index of each traced
argument (``None`` for constants), ``shape`` is the shape of the entry's value
and ``prim`` the primitive; a tracer keeps the index of its entry. Entries are
appended in creation order, which is a topological order, so the backward pass
is a reversed loop over the tape that accumulates cotangents in a list indexed
like the tape. A leaf (an argument being differentiated) is ``(None, (),
shape, None)``; output ``j`` of ``n`` of a primitive with several results at
index ``k`` is ``(k, (j, n), shape, None)``. Entries are tuples of four, not
objects with attributes: the cheapest record Python can make, unpacked in one
step.

The backward pass holds every rule to its contract: one cotangent per argument,
shaped like that argument (a rule that returned too few would otherwise be
truncated silently by ``zip``, and a wrongly shaped one broadcast into a wrong
sum). The shape kept in each entry makes that one comparison per cotangent;
the count is ``zip(strict=True)``'s, so a correct rule pays no ``len``.

Tracers keep their index, never their parents' values: intermediates are kept
alive only by what the pullbacks capture.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .trace import PrimalTracer, Primitive, Trace, _no_rule, bind

__all__ = ["ReverseTrace", "ReverseTracer", "backward"]


class ReverseTracer(PrimalTracer):
    __slots__ = ("node",)

    def __init__(self, trace: Trace, primal: Any, node: int | None):
        self._trace = trace
        self.primal = primal
        self.node = node

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
        if prim.multiple_results:
            tape.append((pullback, parents, None, prim))
            n = len(out)
            outs = []
            for j, o in enumerate(out):
                outs.append(ReverseTracer(self, o, len(tape)))
                tape.append((i, (j, n), _shape(o), None))
            return tuple(outs)
        tape.append((pullback, parents, _shape(out), prim))
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
        tape.append((pullback, (x.node,), out.shape, prim))
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
        tape.append((pullback, (n1, n2), out.shape, prim))
        return ReverseTracer(self, out, len(tape) - 1)

    def new_leaf(self, value: Any) -> ReverseTracer:
        tape = self.tape
        tape.append((None, (), _shape(value), None))
        return ReverseTracer(self, value, len(tape) - 1)


def _active(a: Any, trace: Trace) -> bool:
    return type(a) is ReverseTracer and a._trace is trace and a.node is not None


def _shape(x: Any) -> Any:
    return getattr(x, "shape", None)


def _known(shape: Any) -> tuple | None:
    """``shape`` as a tuple, ``None`` where it is unknown (Dask's nan sizes)."""
    if shape is None:
        return None
    return tuple(s if isinstance(s, int) else None for s in shape)


def _check_cotangents(prim: Any, parents: tuple, gs: Any, tape: list) -> None:
    """The slow path of the backward pass's contract check: raise a clear error.

    Reached only when a count or a shape comparison failed; unknown sizes
    (Dask's nan) match any size.
    """
    name = getattr(prim, "name", repr(prim))
    try:
        n = len(gs)
    except TypeError:
        n = None
    if n != len(parents):
        raise ValueError(
            f"xpgrad: the pullback of {name!r} returned {n if n is not None else type(gs).__name__}"
            f" cotangents for {len(parents)} arguments; a pullback must return a tuple with "
            f"one cotangent (or None) per argument, in order"
        )
    for k, (p, g) in enumerate(zip(parents, gs)):
        if p is None or g is None:
            continue
        want = _known(tape[p][2])
        got = _known(_shape(g) if not isinstance(g, (int, float, complex)) else ())
        if want is None or got is None:
            continue
        if len(want) != len(got) or any(
            a is not None and b is not None and a != b for a, b in zip(want, got)
        ):
            raise ValueError(
                f"xpgrad: the pullback of {name!r} returned a cotangent of shape {got} for its "
                f"argument {k}, which has shape {want}; a cotangent must have its argument's "
                f"shape (sum over broadcast axes, e.g. with xpgrad.extend.unbroadcast)"
            )


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
        pullback, parents, _, prim = tape[i]
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
        gs = pullback(ct)
        # one and two arguments (elementwise functions and operators) unrolled: the
        # count is checked by the unpacking, with no ``len`` of ``gs`` and no ``zip``
        n = len(parents)
        if n == 2:
            try:
                g1, g2 = gs
            except (TypeError, ValueError):
                g1 = g2 = None
                _check_cotangents(prim, parents, gs, tape)
            p1, p2 = parents
            if p1 is not None and g1 is not None:
                if g1.shape != tape[p1][2]:
                    _check_cotangents(prim, parents, gs, tape)
                c = cts[p1]
                cts[p1] = g1 if c is None else add(c, g1)
            if p2 is not None and g2 is not None:
                if g2.shape != tape[p2][2]:
                    _check_cotangents(prim, parents, gs, tape)
                c = cts[p2]
                cts[p2] = g2 if c is None else add(c, g2)
            continue
        if n == 1:
            try:
                (g1,) = gs
            except (TypeError, ValueError):
                g1 = None
                _check_cotangents(prim, parents, gs, tape)
            p1 = parents[0]
            if p1 is not None and g1 is not None:
                if g1.shape != tape[p1][2]:
                    _check_cotangents(prim, parents, gs, tape)
                c = cts[p1]
                cts[p1] = g1 if c is None else add(c, g1)
            continue
        if len(gs) != n:
            _check_cotangents(prim, parents, gs, tape)
        for p, g in zip(parents, gs):
            if p is not None and g is not None:
                if g.shape != tape[p][2]:
                    _check_cotangents(prim, parents, gs, tape)
                c = cts[p]
                cts[p] = g if c is None else add(c, g)
    if release:
        tape.clear()
    return cts
