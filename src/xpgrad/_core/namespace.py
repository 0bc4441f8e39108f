"""The traced namespace: what ``tracer.__array_namespace__()`` returns.

One namespace per backend: functions that take arrays are the registered
primitives (shared by all backends); functions that only take shapes
(``zeros``, ``arange``, ...), dtypes, constants and inspection utilities come
from the backend's own namespace, so creation under tracing yields that
backend's constants.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .tables import EXTENSIONS, NAMESPACE, _namespace_cache, exported
from .trace import Tracer, innermost

__all__ = ["traced_namespace", "STANDARD_VERSION"]

STANDARD_VERSION = "2025.12"

# Names taken from the backend namespace as they are.
_PASSTHROUGH = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "e",
    "inf",
    "nan",
    "newaxis",
    "pi",
    "finfo",
    "iinfo",
    "isdtype",
    "can_cast",
    "broadcast_shapes",
    "__array_namespace_info__",
)
# Creation functions: the backend's, but their arrays become constants of the
# innermost active trace (see ``_constant_of_trace``).
_CREATION = ("zeros", "ones", "empty", "full", "arange", "linspace", "eye", "from_dlpack")
_FFT_CREATION = ("fftfreq", "rfftfreq")


class TracedNamespace:
    """The Array API namespace of traced values over one backend namespace.

    A plain object, hashed and compared by identity: array-api-compat caches
    its ``is_*_namespace`` checks on the namespace and SciPy's vendored copy
    collects namespaces in a set (``types.SimpleNamespace`` defines ``__eq__``
    and so is unhashable).
    """

    _xp: Any

    # Hashable by identity (issue 20, item 1; the lead's branch reconciles this):
    # array-api-compat's is_*_namespace caches and SciPy's dispatch hash namespaces.
    __hash__ = object.__hash__  # type: ignore[assignment]
    __eq__ = object.__eq__

    def __repr__(self) -> str:
        return f"<xpgrad traced namespace over {getattr(self._xp, '__name__', self._xp)}>"


class Extension:
    """An extension of the traced namespace (``linalg``, ``fft``): hashable, like it."""

    def __init__(self, name: str):
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<xpgrad traced extension {self.__name__}>"


def _in_trace(out: Any, xp: Any) -> Any:
    """A new backend array, as a constant of the innermost active trace over ``xp``.

    Library code mixes arrays it creates with the arrays it was given
    (``array_namespace(zeros, x)``, ``out[mask] = x``): inside a transformation
    both must be of the traced namespace.
    """
    t = innermost()
    if t is None or t.ns._xp is not xp:
        return out
    return t.const(out)


def _constant_of_trace(fn: Any, xp: Any) -> Any:
    def create(*args: Any, **kwargs: Any) -> Any:
        return _in_trace(fn(*args, **kwargs), xp)

    create.__name__ = create.__qualname__ = getattr(fn, "__name__", "create")
    create.__doc__ = getattr(fn, "__doc__", None)
    create.__wrapped__ = fn  # type: ignore[attr-defined]  # (inspect.signature shows fn's)
    return create


def _freq_in_d(freq: Any, ns: Any) -> Any:
    """``fftfreq``/``rfftfreq`` whose sample spacing ``d`` may be traced: the
    frequencies are ``freq(n) / d``, differentiable in ``d``."""

    def traced_freq(n: int, /, *, d: Any = 1.0, dtype: Any = None, device: Any = None) -> Any:
        if not isinstance(d, Tracer):
            return freq(n, d=d, dtype=dtype, device=device)
        dt = dtype if dtype is not None else d.dtype
        return freq(n, d=1.0, dtype=dt, device=device) / d

    traced_freq.__name__ = traced_freq.__qualname__ = freq.__name__
    traced_freq.__wrapped__ = freq  # type: ignore[attr-defined]
    return traced_freq


def _dtype_of(x: Any) -> Any:
    return x.dtype if isinstance(x, Tracer) else x


def traced_namespace(xp: Any) -> TracedNamespace:
    cached = _namespace_cache.get(id(xp))
    if cached is not None and cached._xp is xp:
        return cached
    ns: Any = TracedNamespace()
    ns._xp = xp
    ns.__name__ = f"xpgrad.traced[{getattr(xp, '__name__', type(xp).__name__)}]"
    ns.__array_api_version__ = STANDARD_VERSION
    subs: dict[str, Any] = {}
    for name, fn in NAMESPACE.items():
        if "." in name:
            mod, attr = name.split(".", 1)
            subs.setdefault(mod, Extension(mod)).__dict__[attr] = fn
        else:
            setattr(ns, name, fn)
    for name in _PASSTHROUGH:
        if hasattr(xp, name):
            setattr(ns, name, getattr(xp, name))
    for name in _CREATION:
        if hasattr(xp, name):
            setattr(ns, name, _constant_of_trace(getattr(xp, name), xp))
    fft_xp = getattr(xp, "fft", None)
    if fft_xp is not None:
        sub = subs.setdefault("fft", Extension("fft"))
        for name in _FFT_CREATION:
            if hasattr(fft_xp, name):
                setattr(sub, name, _constant_of_trace(getattr(fft_xp, name), xp))
    # an extension a rules module filters by what the backend offers (``special``)
    for mod, offered in EXTENSIONS.items():
        ext = subs.pop(mod) if mod in subs else None
        made = offered(xp, vars(ext)) if ext is not None else None
        if made is not None:
            subs[mod] = made
    for mod, sub in subs.items():
        setattr(ns, mod, sub)
    raw_full, raw_linspace = ns.full, ns.linspace

    def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Any:
        if type(fill_value) in (int, float, complex, bool):
            return raw_full(shape, fill_value, dtype=dtype, device=device)
        # a traced (or 0-d array) fill value: a broadcast, differentiable in it
        out = ns.broadcast_to(fill_value, tuple(shape) if isinstance(shape, tuple) else (shape,))
        return out if dtype is None or dtype == out.dtype else ns.astype(out, dtype)

    def linspace(
        start: Any,
        stop: Any,
        /,
        num: int,
        *,
        dtype: Any = None,
        device: Any = None,
        endpoint: bool = True,
    ) -> Any:
        if not (isinstance(start, Tracer) or isinstance(stop, Tracer)):
            return raw_linspace(start, stop, num, dtype=dtype, device=device, endpoint=endpoint)
        # traced endpoints (JAX differentiates these): start + i * step, as NumPy
        # computes it, with the last point exactly ``stop`` when it is included
        like = start if isinstance(start, Tracer) else stop
        dt = dtype if dtype is not None else like.dtype
        div = (num - 1) if endpoint else num
        i = ns.arange(num, dtype=dt, device=device)
        step = (stop - start) / max(div, 1)
        out = start + i * step
        if endpoint and num > 1:
            out = ns.concat([out[:-1], ns.reshape(ns.asarray(stop, dtype=dt), (1,))])
        return out if out.dtype == dt else ns.astype(out, dt)

    ns.full = full
    ns.linspace = linspace
    fft = getattr(ns, "fft", None)
    if fft is not None and hasattr(fft, "fftfreq"):
        for name in ("fftfreq", "rfftfreq"):
            setattr(fft, name, _freq_in_d(getattr(fft, name), ns))

    def result_type(*arrays_and_dtypes: Any) -> Any:
        return xp.result_type(*(_dtype_of(a) for a in arrays_and_dtypes))

    def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Any:
        if isinstance(obj, Tracer):
            if dtype is not None and dtype != obj.dtype:
                return ns.astype(obj, dtype)
            # a copy is a new tracer of the same value: ``x[k] = v`` rebinds only it
            return obj._copy() if copy else obj
        if isinstance(obj, (list, tuple)) and _has_tracer(obj):
            out = ns.stack([asarray(o) for o in obj])
            return out if dtype is None else ns.astype(out, dtype)
        return _in_trace(xp.asarray(obj, dtype=dtype, device=device, copy=copy), xp)

    # Tuples, as the 2025.12 standard says (lists before it); the official test
    # suite checks the type.
    def broadcast_arrays(*arrays: Any) -> tuple:
        shape = xp.broadcast_shapes(*(tuple(a.shape) for a in arrays))
        return tuple(ns.broadcast_to(a, shape) for a in arrays)

    def meshgrid(*arrays: Any, indexing: str = "xy") -> tuple:
        n = len(arrays)
        sizes = [a.shape[0] for a in arrays]
        if indexing == "xy" and n >= 2:
            sizes[0], sizes[1] = sizes[1], sizes[0]
        out = []
        for i, a in enumerate(arrays):
            pos = i
            if indexing == "xy" and n >= 2 and i < 2:
                pos = 1 - i
            shape = [1] * n
            shape[pos] = a.shape[0]
            out.append(ns.broadcast_to(ns.reshape(a, tuple(shape)), tuple(sizes)))
        return tuple(out)

    # dtype queries accept traced arrays too (array-api-strict's reject foreign arrays);
    # their fields are Python numbers, as the standard says (NumPy's finfo gives
    # float32 fields as numpy.float32)
    def finfo(type: Any, /) -> Any:
        return _FInfo(xp.finfo(_dtype_of(type)))

    def iinfo(type: Any, /) -> Any:
        return _IInfo(xp.iinfo(_dtype_of(type)))

    def can_cast(from_: Any, to: Any, /) -> bool:
        return xp.can_cast(_dtype_of(from_), to)

    info = getattr(xp, "__array_namespace_info__", None)
    if info is not None:
        ns.__array_namespace_info__ = lambda: _Info(info())

    ns.result_type = result_type
    ns.asarray = asarray
    ns.broadcast_arrays = broadcast_arrays
    ns.meshgrid = meshgrid
    ns.finfo = finfo
    ns.iinfo = iinfo
    ns.can_cast = can_cast
    _namespace_cache[id(xp)] = ns
    return ns


class _Info:
    """The backend's inspection object, as the standard we declare (2025.12) has it:
    ``devices()`` is a tuple (a list before 2025.12; NumPy's and array-api-strict's
    follow the version they were asked for)."""

    def __init__(self, info: Any):
        self._info = info

    def __getattr__(self, name: str) -> Any:
        return getattr(self._info, name)

    def devices(self) -> tuple:
        return tuple(self._info.devices())


class _FInfo:
    """``finfo`` with the standard's field types: Python ``int`` bits, ``float`` limits."""

    __slots__ = ("bits", "eps", "max", "min", "smallest_normal", "dtype")

    def __init__(self, fi: Any):
        self.bits = int(fi.bits)
        self.eps = float(fi.eps)
        self.max = float(fi.max)
        self.min = float(fi.min)
        self.smallest_normal = float(fi.smallest_normal)
        self.dtype = fi.dtype

    def __repr__(self) -> str:
        return f"finfo(bits={self.bits}, eps={self.eps}, max={self.max}, dtype={self.dtype})"


class _IInfo:
    """``iinfo`` with the standard's field types: Python ``int``."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, ii: Any):
        self.bits = int(ii.bits)
        self.max = int(ii.max)
        self.min = int(ii.min)
        self.dtype = ii.dtype

    def __repr__(self) -> str:
        return f"iinfo(bits={self.bits}, min={self.min}, max={self.max}, dtype={self.dtype})"


def _has_tracer(obj: Any) -> bool:
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_tracer(o) for o in obj)
    return False


# Whether a traced namespace has an extension may depend on the adapters (the
# ``special`` hook): rebuild the namespaces when they change.
backends.on_change.append(exported)
