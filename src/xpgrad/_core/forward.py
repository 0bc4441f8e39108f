"""Forward mode: dual numbers (primal, tangent); ``None`` is a symbolic zero tangent.

A dual with a ``None`` tangent is a constant of the trace (see ``Trace.const``).
"""

from __future__ import annotations

from typing import Any

from .trace import PrimalTracer, Primitive, Trace, _no_rule, bind

__all__ = ["ForwardTrace", "ForwardTracer"]


class ForwardTracer(PrimalTracer):
    __slots__ = ("tangent",)

    def __init__(self, trace: Trace, primal: Any, tangent: Any):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    def _constant(self) -> bool:
        return self.tangent is None


class ForwardTrace(Trace):
    def const(self, value: Any) -> ForwardTracer:
        return ForwardTracer(self, value, None)

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        primals = []
        tangents = []
        active = False
        for a in args:
            if type(a) is ForwardTracer and a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                if a.tangent is not None:
                    active = True
            else:
                primals.append(a)
                tangents.append(None)
        if not active or prim.jvp is None:
            if active and prim.differentiable:
                raise _no_rule(prim, "forward-mode (jvp)", "jvp")
            # constant at this level: compute one level down, no tangent
            return self.consts(prim, bind(prim, tuple(primals), params))
        if params:
            out, t_out = prim.jvp(primals, tangents, **params)
        else:  # no ``**{}``: a call with keywords unpacked takes the slow path
            out, t_out = prim.jvp(primals, tangents)
        if prim.multiple_results:
            return tuple(ForwardTracer(self, o, t) for o, t in zip(out, t_out))
        return ForwardTracer(self, out, t_out)

    # The hot path, as in the reverse trace: one- and two-argument calls without
    # parameters that carry a tangent go straight to the jvp rule; constants,
    # missing rules and several results take ``process``.
    def process1(self, prim: Primitive, x: Any) -> Any:
        jvp = prim.jvp
        if jvp is None or prim.multiple_results or type(x) is not ForwardTracer:
            return self.process(prim, (x,), {})
        t = x.tangent  # x is this trace's tracer: fast_call sends a call here only then
        if t is None:  # a constant: computed one level down, no tuple, loop or dict
            return ForwardTracer(self, prim.fast(x.primal), None)
        out, t_out = jvp([x.primal], [t])
        return ForwardTracer(self, out, t_out)

    def process2(self, prim: Primitive, x1: Any, x2: Any) -> Any:
        jvp = prim.jvp
        if jvp is None or prim.multiple_results:
            return self.process(prim, (x1, x2), {})
        if type(x1) is ForwardTracer and x1._trace is self:
            p1, t1 = x1.primal, x1.tangent
        else:
            p1, t1 = x1, None
        if type(x2) is ForwardTracer and x2._trace is self:
            p2, t2 = x2.primal, x2.tangent
        else:
            p2, t2 = x2, None
        if t1 is None and t2 is None:  # constants only: as in ``process1``
            return ForwardTracer(self, prim.fast(p1, p2), None)
        out, t_out = jvp([p1, p2], [t1, t2])
        return ForwardTracer(self, out, t_out)
