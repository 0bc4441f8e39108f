"""The backend plugin interface and its discovery.

xpgrad's engine calls only Array API functions; a backend adapter tells it how
to recognise its arrays, which namespace they use, and supplies the few things
the standard lacks. Adapters are found through the ``xpgrad.backends`` entry
point group, the in-tree ones exactly like a third-party one. Every hook has a
generic fallback written against the standard, so a conforming array library
with no adapter works too (through ``array_api_compat.array_namespace``).

An adapter is an object (often a module) with these attributes; all but
``name`` and ``is_array`` are optional:

``name: str``
    Short name ("numpy", "array_api_strict", ...).
``is_array(x) -> bool``
    Whether ``x`` is one of its arrays.
``namespace(x) -> module``
    The Array API namespace of ``x`` (default: array-api-compat's).
``default: bool``
    The adapter used for Python numbers when no array argument says otherwise.
``scatter_add(xp, target, index, values) -> array``
    ``target`` with ``values`` added at integer ``index`` (repeated indices add up).
``index_update(xp, x, key, value) -> array``
    A copy of ``x`` with ``x[key] = value``, for arrays without in-place writes.
``to_host(x) -> numpy-like``
    A host copy for printing and tests.
``random(seed) -> callable(shape, low, high, dtype) -> array``
    A seeded source of sample arrays for the conformance suite.
``is_lazy(x) -> bool`` and ``rechunk_batch(x, chunk) -> array``
    Laziness hooks (Dask): whether ``x`` is a lazy graph; how to chunk a batch axis.
``capabilities: dict``
    ``{"inplace": bool, "float64": bool, "complex": bool, "lazy": bool}``.
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import array_api_compat

__all__ = [
    "Backend",
    "available",
    "get",
    "register",
    "backend_of",
    "namespace_of",
    "default_namespace",
    "capabilities",
]

GROUP = "xpgrad.backends"


@runtime_checkable
class Backend(Protocol):
    name: str

    def is_array(self, x: Any) -> bool: ...


_lock = threading.Lock()
_loaded: dict[str, Any] | None = None
_disabled: set[str] = set()
_type_ns: dict[type, Any] = {}
_type_backend: dict[type, Any] = {}


def _load() -> dict[str, Any]:
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                found: dict[str, Any] = {}
                for ep in metadata.entry_points(group=GROUP):
                    try:
                        found[ep.name] = ep.load()
                    except ImportError:
                        # the adapter's array library is not installed
                        continue
                _loaded = found
    return _loaded


def register(adapter: Any) -> None:
    """Register an adapter object directly (without an entry point)."""
    _load()[adapter.name] = adapter
    _type_ns.clear()
    _type_backend.clear()


def disable(name: str) -> None:
    """Ignore the adapter ``name`` (its arrays then go through the generic path)."""
    _disabled.add(name)
    _type_ns.clear()
    _type_backend.clear()


def enable(name: str) -> None:
    _disabled.discard(name)
    _type_ns.clear()
    _type_backend.clear()


def available() -> dict[str, Any]:
    """The installed adapters, by name."""
    return {k: v for k, v in _load().items() if k not in _disabled}


def get(name: str) -> Any:
    try:
        return available()[name]
    except KeyError:
        raise LookupError(
            f"xpgrad: no backend adapter named {name!r}; installed: {sorted(available())}"
        ) from None


def backend_of(x: Any) -> Any | None:
    """The adapter that recognises ``x``, or ``None`` (generic fallbacks apply)."""
    t = type(x)
    try:
        return _type_backend[t]
    except KeyError:
        pass
    found = None
    for ad in available().values():
        if ad.is_array(x):
            found = ad
            break
    _type_backend[t] = found
    return found


def namespace_of(x: Any) -> Any:
    """The Array API namespace of a backend array (cached per type)."""
    t = type(x)
    try:
        return _type_ns[t]
    except KeyError:
        pass
    ad = backend_of(x)
    ns_fn = getattr(ad, "namespace", None) if ad is not None else None
    ns = ns_fn(x) if ns_fn is not None else array_api_compat.array_namespace(x)
    _type_ns[t] = ns
    return ns


def default_namespace() -> Any:
    """The namespace used when no argument is an array (NumPy's unless configured)."""
    for ad in available().values():
        if getattr(ad, "default", False):
            return ad.namespace(None)
    raise RuntimeError(
        "xpgrad: no default backend is installed; install numpy (pip install numpy) "
        "or pass arrays of the library you want"
    )


_DEFAULT_CAPS = {"inplace": False, "float64": True, "complex": True, "lazy": False}


def capabilities(x: Any) -> dict[str, bool]:
    ad = backend_of(x)
    caps = dict(_DEFAULT_CAPS)
    if ad is not None:
        caps.update(getattr(ad, "capabilities", {}))
    return caps


def hook(x: Any, name: str) -> Any | None:
    """The adapter's implementation of ``name`` for ``x``, or ``None``."""
    ad = backend_of(x)
    return getattr(ad, name, None) if ad is not None else None
