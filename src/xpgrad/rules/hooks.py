"""The primitives behind gradient hooks: ``hook`` transforms, ``showgrad`` prints, a cotangent.

Both are the identity going forward, and their pullbacks do the work, so they
cost nothing in the forward pass and see exactly the cotangent that flows into
that use of ``x`` (not the total gradient of ``x``). The user-facing functions
are ``xpgrad.hook`` and ``xpgrad.showgrad`` (``api/hooks.py``); their
parameters are the user's function (``fn``) and a ``Report`` (``report``).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, TextIO, cast

import array_api_compat

from .._core.arrays import raw
from .._core.trace import Tracer
from ._registry import defrule, patterns, primitive, xp_of

__all__ = ["hook_p", "showgrad_p", "Report"]


# -- hook ---------------------------------------------------------------------------

hook_p = primitive("hook", lambda x, *, fn: x, export_as=False)


def _hook_jvp(primals: list, tangents: list, fn: Callable) -> tuple:
    return hook_p(primals[0], fn=fn), tangents[0]  # forward mode is untouched


def _check_cotangent(g: Any, ct: Any) -> None:
    is_array = isinstance(g, Tracer) or array_api_compat.is_array_api_obj(g)
    if type(g) in (bool, int, float, complex) or not is_array:
        raise TypeError(
            f"xpgrad.hook: the function must return the new cotangent (an array "
            f"shaped like the one it receives, or None), got {type(g).__name__}"
        )
    if tuple(g.shape) != tuple(ct.shape):
        raise ValueError(
            f"xpgrad.hook: the function returned a cotangent of shape "
            f"{tuple(g.shape)} for one of shape {tuple(ct.shape)}; keep the shape"
        )


def _hook_vjp(primals: list, needs: list, fn: Callable) -> tuple:
    def hook_pullback(ct: Any) -> tuple:
        g = fn(ct)
        if g is not None:
            _check_cotangent(g, ct)
        return (g,)

    # binding again keeps the hook for the transformations below this one
    return hook_p(primals[0], fn=fn), hook_pullback


def _hook_batch(args: list, batched: list, fn: Callable) -> tuple:
    return hook_p(args[0], fn=fn), batched[0]


def _same(g: Any) -> Any:
    return g


defrule(
    hook_p,
    jvp=_hook_jvp,
    vjp=_hook_vjp,
    batch=_hook_batch,
    pattern=patterns.identity,
    samples=lambda make: [((make((3,)),), {"fn": _same}), ((make(()),), {"fn": _same})],
)


# -- showgrad -------------------------------------------------------------------------


class Report:
    """Where and under what name ``showgrad`` prints; which backward passes it saw."""

    __slots__ = ("name", "file", "seen")

    def __init__(self, name: str, file: TextIO | None):
        self.name = name
        self.file = file
        self.seen: dict[int, bool] = {}  # id(primal of a reverse tracer) -> seen this pass

    def show(self, text: str) -> None:
        print(f"∂({self.name}) = {text}", file=self.file if self.file is not None else sys.stdout)

    def finish(self, key: int) -> None:
        """End of a backward pass: report an unused value, then reset for the next pass."""
        if not self.seen.get(key):
            self.show("None")
        self.seen[key] = False


def _format(ct: Any) -> str:
    ct = raw(ct)  # the value under every transformation
    if getattr(ct, "shape", None) == ():
        xp = xp_of(ct)
        if xp.isdtype(ct.dtype, "bool"):
            return str(bool(ct))
        if xp.isdtype(ct.dtype, "integral"):
            return str(int(ct))
        if xp.isdtype(ct.dtype, "complex floating"):
            return str(complex(ct))
        return str(float(ct))
    return str(ct)


showgrad_p = primitive("showgrad", lambda x, *, report: x, export_as=False)


def _showgrad_jvp(primals: list, tangents: list, report: Report) -> tuple:
    return showgrad_p(primals[0], report=report), tangents[0]


def _showgrad_vjp(primals: list, needs: list, report: Report) -> tuple:
    key = id(primals[0])  # names the reverse trace that unwrapped x (see showgrad)

    def showgrad_pullback(ct: Any) -> tuple:
        report.seen[key] = True
        report.show(_format(ct))
        return (ct,)

    return showgrad_p(primals[0], report=report), showgrad_pullback


def _showgrad_batch(args: list, batched: list, report: Report) -> tuple:
    return showgrad_p(args[0], report=report), batched[0]


class _Sink:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


defrule(
    showgrad_p,
    jvp=_showgrad_jvp,
    vjp=_showgrad_vjp,
    batch=_showgrad_batch,
    pattern=patterns.identity,
    samples=lambda make: [((make((3,)),), {"report": Report("x", cast(TextIO, _Sink()))})],
)
