"""Gradient hooks: ``hook(fn, x)`` transforms, ``showgrad(x)`` prints, x's cotangent.

Both are identity primitives whose pullback does the work, so they cost
nothing in the forward pass and see exactly the cotangent that flows into
that use of ``x`` (not the total gradient of ``x``). The primitives and their
rules are in ``rules/hooks.py``; here are the functions users call.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, TextIO

from .._core.reverse import ReverseTracer
from .._core.trace import Tracer
from ..rules.hooks import Report, hook_p, showgrad_p
from . import _edge as E

__all__ = ["hook", "showgrad"]


# -- hook ---------------------------------------------------------------------------


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
    report = Report(name, file)
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
