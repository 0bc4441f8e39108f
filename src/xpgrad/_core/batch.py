"""Batching (vmap): a value with one extra leading axis, the batch axis.

The batch axis of a ``BatchTracer``'s physical value is always axis 0, so batch
rules only need to know *whether* each argument is batched.
"""

from __future__ import annotations

from typing import Any

from .trace import Primitive, Trace, Tracer, _no_rule

__all__ = ["BatchTrace", "BatchTracer"]


class BatchTracer(Tracer):
    __slots__ = ("val",)

    def __init__(self, trace: Trace, val: Any):
        self._trace = trace
        self.val = val

    @property
    def _value(self) -> Any:
        return self.val

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


class BatchTrace(Trace):
    def __init__(self, level: int, ns: Any, size: int):
        super().__init__(level, ns)
        self.size = size

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        vals = []
        batched = []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                batched.append(True)
            else:
                vals.append(a)
                batched.append(False)
        rule = prim.batch
        if rule is None:
            raise _no_rule(prim, "batching (vmap, jacobian, hessian)", "batch")
        out, out_batched = rule(vals, batched, **params)
        if prim.multiple_results:
            if isinstance(out_batched, bool):
                out_batched = (out_batched,) * len(out)
            return tuple(BatchTracer(self, o) if b else o for o, b in zip(out, out_batched))
        return BatchTracer(self, out) if out_batched else out
