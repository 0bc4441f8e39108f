"""Derivatives handed to the caller own their memory and can be written in place.

Rules may pass a cotangent through as a view (``reshape``, ``getitem``,
``permute_dims`` pullbacks), hand one array to several inputs (``add``'s
pullback) or broadcast a cotangent without copying it (``sum``'s pullback is a
read-only ``broadcast_to`` view on NumPy, an expanded tensor on torch). Inside
the engine that is free and correct; at the API edge it would let ``gb[0] = 1``
change ``ga`` too, or make ``g *= 0.5`` raise. So every transformation passes
its results through :func:`owned` once, on the way out: a result is copied
only when it shares memory with an earlier result or with an argument, or
cannot be written (a broadcast view), so the common case, a fresh array, costs
one hook call and no copy.

Which memory an array lives in is the adapter's ``memory(x) -> (root, writable)``
hook; without it, results are only told apart by identity.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.trace import Tracer
from . import _edge as E

__all__ = ["owned"]


def _memory(x: Any) -> tuple[Any, bool]:
    fn = _kind(type(x), x)[0]
    if fn is None:
        return id(x), True
    return fn(x)


def owned(results: list, inputs: list, xp: Any) -> list:
    """``results`` (leaves), each copied where it would alias another or an input.

    Tracers (nested transformations), numbers and arrays of backends without
    in-place writes (Dask) are returned as they are.
    """
    seen: set | None = None  # the inputs' memory, found at the first concrete result
    out = []
    for g in results:
        if g is None or isinstance(g, Tracer) or not E.is_array(g):
            out.append(g)
            continue
        memory, mutable = _kind(type(g), g)  # (one lookup for both facts)
        if not mutable:
            out.append(g)
            continue
        if seen is None:  # (a pullback inside jacobian's vmap returns tracers only)
            seen = set()
            for x in inputs:
                if E.is_array(x) and not isinstance(x, Tracer):
                    fn, writes = _kind(type(x), x)
                    if writes:
                        seen.add(id(x) if fn is None else fn(x)[0])
        root, writable = (id(g), True) if memory is None else memory(g)
        if root in seen or not writable:
            g = xp.asarray(g, copy=True)
            root = _memory(g)[0]
        seen.add(root)
        out.append(g)
    return out


#: Per array type: the adapter's ``memory`` hook (or None) and whether it writes in
#: place; every transformation asks for each result and argument. Emptied when the
#: adapters change.
_KINDS: dict[type, tuple[Any, bool]] = {}
backends.on_change.append(_KINDS.clear)


def _kind(t: type, x: Any) -> tuple[Any, bool]:
    k = _KINDS.get(t)
    if k is None:
        k = _KINDS[t] = (backends.hook(x, "memory"), bool(backends.capabilities(x)["inplace"]))
    return k
