"""The few facts about an array that every layer asks: its value, size and device.

One helper each, so that no module keeps its own copy:

- ``raw(x)``: the backend value under every level of tracing (for its
  namespace, device or library; never for its derivative);
- ``size_of(shape)``: the number of elements of a shape;
- ``device_of(x)`` / ``device_kw(x)``: the device of the array under ``x``'s
  tracers, and the ``device=`` keyword that puts a new array beside it (none
  for a library without devices);
- ``per_dtype(fn)``: ``fn(xp, dtype)`` worked out once per dtype (a fact such
  as "is it floating" costs a microsecond per ``isdtype`` call).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import array_api_compat

from .trace import Tracer
from .zeros import NoTangent, Zero, _no_tangent_error, _py

__all__ = ["device_kw", "device_of", "instantiate", "per_dtype", "raw", "size_of"]


def raw(x: Any) -> Any:
    """The backend value under every level of tracing (``x`` itself if not a tracer)."""
    while isinstance(x, Tracer):
        x = x._value
    return x


#: The number of elements of a shape (1 for ``()``); Dask's unknown sizes give nan.
size_of = math.prod


def per_dtype(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``fn(xp, dtype)``, remembered by dtype: a fact about a dtype, asked per call.

    Keyed by the dtype and its type, so two libraries' dtypes are never
    compared; an unhashable dtype object is answered afresh each time.
    """
    memo: dict = {}

    def cached(xp: Any, dtype: Any) -> Any:
        key = (type(dtype), dtype)
        try:
            return memo[key]
        except KeyError:
            pass
        except TypeError:
            return fn(xp, dtype)
        res = memo[key] = fn(xp, dtype)
        return res

    cached.__doc__ = fn.__doc__
    cached.__name__ = fn.__name__
    return cached


def device_of(x: Any) -> Any:
    """The device of the array under ``x``'s tracers; None for a library without devices."""
    while isinstance(x, Tracer):
        x = x._value
    try:
        return array_api_compat.device(x)
    except Exception:  # a library (or a value) without devices
        return None


def device_kw(x: Any) -> dict:
    """``{"device": d}`` for the array under ``x``'s tracers (empty if it has none)."""
    d = device_of(x)
    return {} if d is None else {"device": d}


def instantiate(z: Any, like: Any = None) -> Any:
    """``z`` as a value: a ``Zero`` becomes a zero array (or a Python zero), others unchanged.

    The array is made with the namespace of ``like`` (default: the array the
    zero was made beside), so inside a transformation it is a constant of the
    innermost trace, and on ``like``'s device. ``NoTangent`` cannot be made a
    value: that raises.

    Parameters
    ----------
    z : Zero or any
        The value to make concrete; anything but a typed zero is returned as is.
    like : array, optional
        An array of the backend and device to make the zeros on.

    Returns
    -------
    array or number
        Zeros of ``z``'s shape and dtype (a Python zero for a number's zero).

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import Zero, instantiate
    >>> instantiate(Zero.like(np.ones(2))), instantiate(Zero((), float))
    (array([0., 0.]), 0.0)
    """
    if isinstance(z, NoTangent):
        raise _no_tangent_error("instantiate")
    if not isinstance(z, Zero):
        return z
    like = z.base if like is None else like
    if _py(z.dtype):  # a Python number's zero
        return z.dtype(0)
    if like is None:
        raise ValueError(
            f"xpgrad: cannot instantiate {z!r} without an array to take the backend from; "
            f"pass like= (an array of the backend and device to make it on)"
        )
    xp = like.__array_namespace__()
    return xp.zeros(z.shape, dtype=z.dtype, **device_kw(like))
