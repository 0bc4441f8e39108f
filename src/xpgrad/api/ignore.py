"""ignore_derivatives / stop_gradient: use a value without its derivative."""

from __future__ import annotations

import functools
from typing import Any, Callable

from .._core.trace import Tracer
from ..rules.creation import stop_gradient as _stop
from . import _edge as E

__all__ = ["ignore_derivatives", "stop_gradient"]


def stop_gradient(x: Any) -> Any:
    """``x`` (a pytree) with no derivative flowing through it, at every level.

    Under ``vmap`` the value stays batched.

    Parameters
    ----------
    x : array, number or pytree
        The value to treat as a constant.

    Returns
    -------
    array, number or pytree
        ``x``'s value, a constant to every enclosing transformation.

    See Also
    --------
    ignore_derivatives : The same for a function's result.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.gradient(lambda x: x * xpgrad.stop_gradient(x), 3.0)
    (3.0,)
    """
    return E.map_leaves(lambda v: _stop(v) if isinstance(v, Tracer) else v, x)


def ignore_derivatives(f_or_value: Any) -> Any:
    """ChainRules' ``ignore_derivatives``: a value, or a function, whose derivative is ignored.

    Parameters
    ----------
    f_or_value : callable, array, number or pytree
        A value, which is returned as ``stop_gradient(value)``; or a function,
        which is wrapped.

    Returns
    -------
    callable or value
        For a value, the value with no derivative flowing through it; for a
        function, a wrapper whose result carries no derivative.

    See Also
    --------
    stop_gradient : The same for values only.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.gradient(lambda x: x * xpgrad.ignore_derivatives(lambda: x * 2)(), 1.0)
    (2.0,)
    >>> xpgrad.gradient(lambda x: x * xpgrad.ignore_derivatives(x), 3.0)
    (3.0,)
    """
    if callable(f_or_value) and not isinstance(f_or_value, Tracer):
        f: Callable = f_or_value

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return stop_gradient(f(*args, **kwargs))

        return wrapper
    return stop_gradient(f_or_value)
