"""Gradient hooks: ``hook(fn, x)`` transforms, ``showgrad(x)`` prints, x's cotangent.

Both are identity primitives whose pullback does the work, so they cost
nothing in the forward pass and see exactly the cotangent that flows into
that use of ``x`` (not the total gradient of ``x``).
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Callable, TextIO, cast

from .._core.arrays import raw
from .._core.reverse import ReverseTracer
from .._core.trace import Tracer
from ..rules import patterns
from ..rules._registry import defrule, primitive
from . import _edge as E

__all__ = ["hook", "showgrad"]


# -- hook ---------------------------------------------------------------------------

hook_p = primitive("hook", lambda x, *, fn: x, export_as=False)


def _hook_jvp(primals: list, tangents: list, fn: Callable) -> tuple:
    return hook_p(primals[0], fn=fn), tangents[0]  # forward mode is untouched


def _hook_vjp(primals: list, needs: list, fn: Callable) -> tuple:
    def hook_pullback(ct: Any) -> tuple:
        g = fn(ct)
        if g is not None:
            if not E.is_array(g):
                raise TypeError(
                    f"xpgrad.hook: the function must return the new cotangent (an array "
                    f"shaped like the one it receives, or None), got {type(g).__name__}"
                )
            if tuple(g.shape) != tuple(ct.shape):
                raise ValueError(
                    f"xpgrad.hook: the function returned a cotangent of shape "
                    f"{tuple(g.shape)} for one of shape {tuple(ct.shape)}; keep the shape"
                )
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


def hook(fn: Callable[[Any], Any], x: Any) -> Any:
    """``x``, with ``fn`` applied to the cotangent that flows back into it.

    ``fn`` receives the cotangent of this use of ``x`` and returns the one to
    pass on, an array of the same shape (``None`` drops it; anything else
    raises). For a pytree ``x``, ``fn`` sees each array leaf's cotangent.
    Forward-mode derivatives are not affected.

    Parameters
    ----------
    fn : callable
        ``cotangent -> cotangent`` (or ``None``).
    x : array, number or pytree
        The value to hook.

    Returns
    -------
    array, number or pytree
        ``x``'s value.

    See Also
    --------
    showgrad : Print the cotangent instead.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.gradient(lambda a, b: xpgrad.hook(lambda g: -g, a) * b, 2.0, 3.0)
    (-3.0, 2.0)
    """
    if not callable(fn):
        raise TypeError(
            f"xpgrad.hook: the first argument is the function applied to the cotangent, "
            f"got {type(fn).__name__}; call it as hook(fn, x)"
        )
    return E.map_leaves(lambda v: hook_p(v, fn=fn) if isinstance(v, Tracer) else v, x)


# -- showgrad -------------------------------------------------------------------------


class _Report:
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
        xp = E.backend_xp(ct)
        if xp.isdtype(ct.dtype, "bool"):
            return str(bool(ct))
        if xp.isdtype(ct.dtype, "integral"):
            return str(int(ct))
        if xp.isdtype(ct.dtype, "complex floating"):
            return str(complex(ct))
        return str(float(ct))
    return str(ct)


showgrad_p = primitive("showgrad", lambda x, *, report: x, export_as=False)


def _showgrad_jvp(primals: list, tangents: list, report: _Report) -> tuple:
    return showgrad_p(primals[0], report=report), tangents[0]


def _showgrad_vjp(primals: list, needs: list, report: _Report) -> tuple:
    key = id(primals[0])  # names the reverse trace that unwrapped x (see showgrad)

    def showgrad_pullback(ct: Any) -> tuple:
        report.seen[key] = True
        report.show(_format(ct))
        return (ct,)

    return showgrad_p(primals[0], report=report), showgrad_pullback


def _showgrad_batch(args: list, batched: list, report: _Report) -> tuple:
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
    samples=lambda make: [((make((3,)),), {"report": _Report("x", cast(TextIO, _Sink()))})],
)


def _caller_name(x: Any, frame: Any) -> str | None:
    try:
        for name, v in frame.f_locals.items():
            if v is x:
                return name
    finally:
        del frame
    return None


def showgrad(x: Any, name: str | None = None, *, file: TextIO | None = None) -> Any:
    """``x``; prints ``∂(name) = cotangent`` when the backward pass reaches this use of x.

    Zygote's ``@showgrad``: shows the cotangent about to accumulate into
    ``x`` from this use of it, not ``x``'s total gradient. If the result is not
    used, the end of the backward pass prints ``∂(name) = None``. 0-d values
    print as Python numbers.

    Parameters
    ----------
    x : array, number or pytree
        The value to watch.
    name : str, optional
        The name to print (default: the name of the caller's variable holding
        ``x``, else ``"x"``).
    file : file-like, optional
        Where to print (default: ``sys.stdout``).

    Returns
    -------
    array, number or pytree
        ``x``'s value.

    See Also
    --------
    hook : Change the cotangent instead.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.gradient(lambda a, b: xpgrad.showgrad(a) * b, 2, 3)
    ∂(a) = 3
    (3, 2)
    """
    if not isinstance(x, Tracer):
        return x
    if name is None:
        name = _caller_name(x, inspect.currentframe().f_back) or "x"  # type: ignore[union-attr]
    report = _Report(name, file)
    # One report per reverse trace that x belongs to, keyed by the primal that
    # trace hands to the rule; each trace reports unused values when it ends.
    t = x
    while isinstance(t, Tracer):
        if isinstance(t, ReverseTracer):
            key = id(t.primal)
            report.seen[key] = False
            t._trace.finalizers.append(lambda key=key: report.finish(key))
        t = t._value
    return showgrad_p(x, report=report)
