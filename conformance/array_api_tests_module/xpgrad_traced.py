"""xpgrad's traced namespace over NumPy, for the official Array API test suite.

The suite (data-apis/array-api-tests) builds every input with the namespace's
own creation functions. For it to test xpgrad rather than NumPy, those must
return *tracers*. This module opens one trivial transformation for the whole
session -- an identity trace, whose tracers box a NumPy array and whose
``process`` evaluates each primitive one level down and boxes the result -- and
wraps the namespace's creation functions so that they return its tracers.
Everything else is xpgrad's traced namespace unchanged: every function call and
operator on the suite's arrays goes through ``bind``, the primitive registry and
the namespace's signatures.

The identity trace carries no derivative, so its tracers may do what
differentiation tracers refuse on purpose: ``float(x)``/``complex(x)`` (which
would drop a derivative) and in-place ``x[key] = v``.

Use: ``ARRAY_API_TESTS_MODULE=xpgrad_traced.xp`` with this directory on
``PYTHONPATH`` (see ``conformance/run_array_api_tests.sh``).
"""

from __future__ import annotations

import types
from typing import Any

import array_api_compat.numpy as _np_xp

import xpgrad  # noqa: F401  (registers the rules)
from xpgrad._core.namespace import traced_namespace
from xpgrad._core.trace import Trace, Tracer, bind, new_level

__all__ = ["xp"]


class BoxTracer(Tracer):
    """A NumPy value boxed by the identity trace."""

    __slots__ = ("val",)

    def __init__(self, trace: Trace, val: Any):
        self._trace = trace
        self.val = val

    @property
    def _value(self) -> Any:
        return self.val

    def _concrete_value(self, what: str) -> Any:
        return self.val

    # No derivative to lose at this level: the standard's conversions are fine.
    def __float__(self) -> float:
        return float(self.val)

    def __complex__(self) -> complex:
        return complex(self.val)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.val[_unbox(key)] = _unbox(value)

    def __dlpack__(self, /, *, stream: Any = None, max_version: Any = None,
                   dl_device: Any = None, copy: Any = None) -> Any:
        return self.val.__dlpack__(stream=stream, max_version=max_version,
                                   dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> Any:
        return self.val.__dlpack_device__()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy as np

        return np.asarray(self.val, dtype=dtype)


class IdentityTrace(Trace):
    """Evaluate each primitive on the unboxed values and box the results."""

    def process(self, prim: Any, args: tuple, params: dict) -> Any:
        vals = tuple(a.val if type(a) is BoxTracer and a._trace is self else a for a in args)
        return _box(bind(prim, vals, params))


def _unbox(x: Any) -> Any:
    if type(x) is BoxTracer:
        return x.val
    if isinstance(x, tuple):
        return tuple(_unbox(v) for v in x)
    if isinstance(x, list):
        return [_unbox(v) for v in x]
    return x


def _is_raw_array(x: Any) -> bool:
    import numpy as np

    return isinstance(x, (np.ndarray, np.generic))


def _box(out: Any) -> Any:
    if _is_raw_array(out):
        return BoxTracer(_TRACE, _np_xp.asarray(out))
    if isinstance(out, tuple):
        boxed = [_box(o) for o in out]
        return type(out)(*boxed) if hasattr(out, "_fields") else tuple(boxed)
    if isinstance(out, list):
        return [_box(o) for o in out]
    return out


def _boxing(fn: Any) -> Any:
    """A creation function whose arrays come back boxed (signature kept)."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return _box(fn(*_unbox(args), **{k: _unbox(v) for k, v in kwargs.items()}))

    wrapped.__name__ = getattr(fn, "__name__", "f")
    wrapped.__qualname__ = wrapped.__name__
    wrapped.__doc__ = getattr(fn, "__doc__", None)
    wrapped.__wrapped__ = fn  # inspect.signature follows this to fn's signature
    return wrapped


# Functions that make arrays from shapes, Python data or other libraries.
_CREATION = ("zeros", "ones", "empty", "full", "arange", "linspace", "eye", "from_dlpack")

_traced = traced_namespace(_np_xp)
xp = types.SimpleNamespace(**vars(_traced))
xp.__name__ = "xpgrad_traced"
xp.__version__ = xpgrad.__version__
for _name in _CREATION:
    setattr(xp, _name, _boxing(getattr(_traced, _name)))


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Any:
    """The traced namespace's ``asarray``, boxing new arrays into the session trace."""
    if type(obj) is BoxTracer:
        out = _traced.asarray(obj, dtype=dtype, device=device, copy=copy)
        if copy:  # a copy must not share the boxed buffer (in-place writes)
            return BoxTracer(_TRACE, _np_xp.asarray(out.val, copy=True))
        return out
    return _box(_traced.asarray(_unbox(obj), dtype=dtype, device=device, copy=copy))


xp.asarray = asarray
_fft = types.SimpleNamespace(**vars(_traced.fft))
for _name in ("fftfreq", "rfftfreq"):
    setattr(_fft, _name, _boxing(getattr(_traced.fft, _name)))
xp.fft = _fft

# The session's trace: opened once, never closed (the suite runs in one thread).
_LEVEL = new_level(IdentityTrace, xp)
_TRACE = _LEVEL.__enter__()
