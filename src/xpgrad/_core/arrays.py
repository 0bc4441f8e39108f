"""The few facts about an array that every layer asks: its value, size and device.

One helper each, so that no module keeps its own copy:

- ``raw(x)``: the backend value under every level of tracing (for its
  namespace, device or library; never for its derivative);
- ``size_of(shape)``: the number of elements of a shape;
- ``device_of(x)`` / ``device_kw(x)``: the device of the array under ``x``'s
  tracers, and the ``device=`` keyword that puts a new array beside it (none
  for a library without devices).
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat

from .trace import Tracer

__all__ = ["device_kw", "device_of", "raw", "size_of"]


def raw(x: Any) -> Any:
    """The backend value under every level of tracing (``x`` itself if not a tracer)."""
    while isinstance(x, Tracer):
        x = x._value
    return x


#: The number of elements of a shape (1 for ``()``); Dask's unknown sizes give nan.
size_of = math.prod


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
