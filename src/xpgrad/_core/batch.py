"""Batching (vmap): a value with one extra leading axis, the batch axis.

The batch axis of a ``BatchTracer``'s physical value is always axis 0, so batch
rules only need to know *whether* each argument is batched. The value may be a
``OneHot`` (a Jacobian's basis, kept symbolic): the trace applies the few
functions that keep or use its structure and hands every other rule the dense
array.
"""

from __future__ import annotations

from typing import Any

from . import onehot
from .onehot import OneHot
from .trace import Primitive, Trace, Tracer, _no_rule, bind

__all__ = ["BatchTrace", "BatchTracer", "BatchConst"]


class BatchTracer(Tracer):
    __slots__ = ("val",)

    def __init__(self, trace: Trace, val: Any):
        self._trace = trace
        self.val = val

    @property
    def _value(self) -> Any:
        v = self.val
        if type(v) is OneHot:  # code that reaches for the backend array gets it dense
            v = self.val = v.dense()
        return v

    @property
    def shape(self) -> tuple:
        return tuple(self.val.shape[1:])

    @property
    def dtype(self) -> Any:
        return self.val.dtype

    def _concrete_value(self, what: str) -> Any:
        raise TypeError(
            f"xpgrad: {what}() of a batched (vmapped) value is ambiguous: it has one value "
            f"per batch element. Use array operations (xp.where instead of `if`), or move "
            f"the data-dependent choice outside vmap."
        )


class BatchConst(Tracer):
    """A constant of a batch trace: one value shared by every batch element."""

    __slots__ = ("val",)

    def __init__(self, trace: Trace, val: Any):
        self._trace = trace
        self.val = val

    @property
    def _value(self) -> Any:
        return self.val

    def _concrete_value(self, what: str) -> Any:
        return self.val

    def _constant(self) -> bool:
        return True


class BatchTrace(Trace):
    def __init__(self, level: int, ns: Any, size: int):
        super().__init__(level, ns)
        self.size = size

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        vals = []
        batched = []
        structured = False
        active = False
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                v = a.val
                if type(v) is OneHot:
                    structured = True
                vals.append(v)
                batched.append(True)
                active = True
            else:
                if type(a) is BatchConst and a._trace is self:
                    a = a.val
                vals.append(a)
                batched.append(False)
        if not active:  # constants only: compute one level down
            return self.consts(prim, bind(prim, tuple(vals), params))
        if structured:  # a Jacobian's basis, still symbolic (see onehot)
            out = onehot.apply(prim, vals, batched, params)
            if out is not None:
                return BatchTracer(self, out)
            vals = [v.dense() if type(v) is OneHot else v for v in vals]
        rule = prim.batch
        if rule is None:
            raise _no_rule(prim, "batching (vmap, jacobian, hessian)", "batch")
        out, out_batched = rule(vals, batched, **params) if params else rule(vals, batched)
        if prim.multiple_results:
            if isinstance(out_batched, bool):
                out_batched = (out_batched,) * len(out)
            return tuple(
                BatchTracer(self, o) if b else BatchConst(self, o) for o, b in zip(out, out_batched)
            )
        return BatchTracer(self, out) if out_batched else BatchConst(self, out)

    def const(self, value: Any) -> BatchConst:
        return BatchConst(self, value)
