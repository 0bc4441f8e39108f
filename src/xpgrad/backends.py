"""The backend plugin interface, its discovery, and the generic fallbacks.

xpgrad's engine calls only Array API functions. A backend *adapter* tells it how
to recognise one library's arrays, which namespace they use, and supplies the
few things the standard lacks. Adapters are found only through the
``xpgrad.backends`` entry-point group -- the in-tree ones (``backends/`` in the
source tree) exactly like a third-party one. Every hook has a generic fallback
written against the standard alone, so a conforming array library with no
adapter at all works too, through ``array_api_compat.array_namespace``.

Writing an adapter
------------------
An adapter is any object, usually a module, with the attributes of
:class:`Backend`. Only ``name`` and ``is_array`` are required; every other hook
is looked up with ``getattr`` and falls back to the generic version below when
absent. Register it in your distribution's metadata::

    [project.entry-points."xpgrad.backends"]
    mylib = "xpgrad_mylib"          # a module with name, is_array, ...

An adapter module should be cheap to import: raise ``ImportError`` at import
time when its array library is not installed (it is then left out of
:func:`available`), and import the library itself lazily, so that importing
xpgrad does not import every installed array library.

Where Dask computes
-------------------
With a lazy backend (``capabilities(x)["lazy"]``) xpgrad builds graphs and never
computes them, except where the standard itself asks for a concrete Python
value: ``bool(x)``, ``int(x)``, ``operator.index(x)`` of a traced value (an
``if`` on an array, a 0-d traced integer used as a static index or a shape),
``to_host`` (printing and tests), and Python-number results: a derivative with
respect to a Python ``float`` argument comes back as a Python ``float``.
"""

from __future__ import annotations

import ctypes
import math
import random as _pyrandom
import sys
import threading
from importlib import metadata
from typing import Any, Callable, Protocol, runtime_checkable

import array_api_compat

from ._core.arrays import device_of, size_of

__all__ = [
    "Backend",
    "GROUP",
    "available",
    "get",
    "register",
    "disable",
    "enable",
    "backend_of",
    "namespace_of",
    "default_namespace",
    "capabilities",
    "hook",
    "scatter_add",
    "index_update",
    "to_host",
    "random",
    "is_lazy",
    "rechunk_batch",
    "special",
    "special_adapter",
    "lower",
    "tune_host_allocator",
]

#: The entry-point group adapters are registered under.
GROUP = "xpgrad.backends"


@runtime_checkable
class Backend(Protocol):
    """What an adapter provides. Only ``name`` and ``is_array`` are required.

    Attributes and hooks (all optional unless marked):

    ``name: str`` (required)
        Short name, the entry point's name: ``"numpy"``, ``"dask"``, ...
    ``is_array(x) -> bool`` (required)
        Whether ``x`` is one of its arrays. Must not import the library: an
        object cannot be one of its arrays if the library is not imported yet.
    ``namespace(x) -> module``
        The Array API namespace of its arrays (``x`` may be ``None``); the
        default is ``array_api_compat.array_namespace(x)``.
    ``default: bool``
        Whether its namespace is used when no argument is an array (NumPy).
    ``capabilities: dict``
        ``{"inplace": bool, "float64": bool, "complex": bool, "lazy": bool}``;
        missing keys take the values in :data:`DEFAULT_CAPABILITIES`.
    ``scatter_add(xp, target, key, values) -> array``
        ``target`` with ``values`` added at ``target[key]``, where repeated
        integer indices add up (the pullback of integer-array indexing). May
        write into ``target``, which is always a fresh array.
    ``index_update(xp, x, key, value) -> array``
        A copy of ``x`` with ``x[key] = value``; ``x`` is left unchanged.
    ``getitem(x, key) -> array``
        ``x[key]`` with the standard's semantics, for a library whose own
        ``__getitem__`` falls short (torch rejects negative slice steps).
    ``to_host(x) -> numpy.ndarray``
        A host (NumPy) copy, for printing and tests. Computes lazy arrays.
    ``random(seed) -> make``
        A seeded source of sample arrays for the conformance suite:
        ``make(shape, low, high, dtype)`` gives uniform values in ``[low, high)``.
    ``is_lazy(x) -> bool``
        Whether ``x`` is an unevaluated graph (Dask).
    ``rechunk_batch(x, chunk) -> array``
        ``x`` with its leading (batch) axis split into chunks of ``chunk``
        elements: a Jacobian's basis and result are chunked this way on Dask.
    ``basis(xp, start, k, n, dtype, shape, chunk, like) -> array``
        Rows ``start .. start+k`` of the ``n x n`` identity, shaped
        ``(k, *shape)``, for a lazy backend to build without materialising it:
        ``chunk`` directions per block of the batch axis (``None``: the
        adapter's choice), the other axes chunked like ``like``. With a lazy
        backend, ``jacobian``/``hessian`` make one batched pass over this whole
        basis, so the basis chunks become the result's chunks.
    ``memory(x) -> (root, writable)``
        Where ``x``'s data lives: ``root`` is equal for two arrays that share
        memory (a view and its base), ``writable`` says whether ``x`` can be
        written in place element by element (not a read-only or broadcast
        view). Results handed to users are copied where they would alias or be
        read-only; without the hook they are told apart by identity only.
    ``whole_axes(x, axes) -> array``
        ``x`` with each of ``axes`` in one chunk (Dask's FFTs need this).
    ``linalg(xp, name, *args, **params) -> array or tuple``
        ``xp.linalg.<name>`` where the library's own is partial (Dask's is
        2-D only and lacks ``det``, ``eigh``, ...).
    ``special(name) -> callable | None``
        The library's implementation of the special function ``name``
        (``"erf"``, ``"gammaln"``, ``"polygamma"``, ... as ``scipy.special``
        names them), applied to its arrays and keeping their dtype, or ``None``
        where it has none. The traced namespace offers a ``special`` extension
        (``xp.special.erf``) only over backends with this hook, and only the
        functions it returns (see ``xpgrad.rules.special``). No fallback: the
        standard has no special functions.
    ``lower(program, fn) -> callable | None``
        A further compilation of a program that ``xpgrad.jit`` staged for
        arguments of this backend, called once per staged signature.
        ``program`` is the simplified ``Program`` (plain data: ``inputs``,
        ``eqns``, ``outputs``; ``as_text()``), ``fn`` the Python function xpgrad
        lowered it to (``fn.source``): it takes the program's input arrays and
        returns the tuple of its outputs. Return a callable with the same
        signature and results to replay instead (``torch.compile(fn)``, fused
        kernels), or ``None`` to keep ``fn``. jit promises results equal to
        eager code to the last bit (1 ulp where the backend reorders), so a
        compilation that changes more must not be returned. Fallback: ``fn``.
    """

    name: str

    def is_array(self, x: Any) -> bool: ...


DEFAULT_CAPABILITIES = {"inplace": False, "float64": True, "complex": True, "lazy": False}

_lock = threading.Lock()
_loaded: dict[str, Any] | None = None
_disabled: set[str] = set()
#: Why each adapter that failed to import was left out (its ImportError names the extra).
_missing: dict[str, str] = {}
_type_ns: dict[type, Any] = {}
_type_backend: dict[type, Any] = {}
_type_caps: dict[type, dict[str, bool]] = {}


def _load() -> dict[str, Any]:
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                found: dict[str, Any] = {}
                for ep in metadata.entry_points(group=GROUP):
                    try:
                        adapter = ep.load()
                    except ImportError as e:
                        _missing[ep.name] = str(e)  # its array library is not installed
                        continue
                    _check_adapter(adapter, ep.value)
                    found[ep.name] = adapter
                _loaded = found
    return _loaded


def _check_adapter(adapter: Any, where: str) -> None:
    if not isinstance(adapter, Backend):
        raise TypeError(
            f"xpgrad: the backend adapter {where!r} lacks `name` or `is_array`; "
            f"see the Backend protocol in xpgrad.backends"
        )


#: Called whenever the set of adapters changes (register, disable, ...): caches
#: built from the adapters, such as the traced namespaces' ``special`` extension.
on_change: list[Callable[[], None]] = []


def _clear_caches() -> None:
    _type_ns.clear()
    _type_backend.clear()
    _type_caps.clear()
    for fn in on_change:
        fn()


def register(adapter: Any) -> None:
    """Register an adapter object directly, without an entry point (tests, notebooks).

    >>> import types, xpgrad.backends as B
    >>> B.register(types.SimpleNamespace(name="demo", is_array=lambda x: False))
    >>> "demo" in B.available()
    True
    >>> B.unregister("demo")
    """
    _check_adapter(adapter, repr(adapter))
    with _lock:
        _load()[adapter.name] = adapter
        _clear_caches()


def unregister(name: str) -> None:
    """Remove an adapter registered with :func:`register`."""
    with _lock:
        _load().pop(name, None)
        _clear_caches()


def disable(name: str) -> None:
    """Ignore the adapter ``name``: its arrays then go through the generic fallbacks."""
    with _lock:
        _disabled.add(name)
        _clear_caches()


def enable(name: str) -> None:
    """Undo :func:`disable`."""
    with _lock:
        _disabled.discard(name)
        _clear_caches()


def available() -> dict[str, Any]:
    """The installed (and enabled) adapters, by name.

    >>> import xpgrad.backends as B
    >>> "numpy" in B.available()
    True
    """
    return {k: v for k, v in _load().items() if k not in _disabled}


def get(name: str) -> Any:
    """The adapter called ``name``; ``LookupError`` naming the installed ones if absent."""
    try:
        return available()[name]
    except KeyError:
        # an adapter that is registered but could not import says which extra installs it
        why = _missing.get(name) or f"install the array library (e.g. pip install 'xpgrad[{name}]')"
        raise LookupError(
            f"xpgrad: no backend adapter named {name!r}; installed: {sorted(available())}. {why}"
        ) from None


def backend_of(x: Any) -> Any | None:
    """The adapter that recognises ``x``, or ``None`` (the generic fallbacks apply)."""
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
    """The namespace used when no argument is an array (NumPy's)."""
    for ad in available().values():
        if getattr(ad, "default", False):
            return ad.namespace(None)
    raise RuntimeError(
        "xpgrad: no default backend is installed; install numpy (pip install numpy) "
        "or pass arrays of the library you want"
    )


def capabilities(x: Any) -> dict[str, bool]:
    """Capability flags of ``x``'s backend (defaults for a library with no adapter).

    >>> import numpy as np, xpgrad.backends as B
    >>> B.capabilities(np.ones(2))["inplace"]
    True
    """
    t = type(x)
    caps = _type_caps.get(t)
    if caps is None:  # once per type: owned() asks for every result it hands out
        ad = backend_of(x)
        caps = dict(DEFAULT_CAPABILITIES)
        if ad is not None:
            caps.update(getattr(ad, "capabilities", {}))
        _type_caps[t] = caps
    return dict(caps)


def hook(x: Any, name: str) -> Callable | None:
    """The adapter's implementation of hook ``name`` for ``x``, or ``None``."""
    ad = backend_of(x)
    return getattr(ad, name, None) if ad is not None else None


# -- the hooks, with their generic fallbacks -------------------------------------------
# Each public function below calls the adapter's hook when there is one, else a
# version written only with the standard, so that any conforming library works.


def scatter_add(xp: Any, target: Any, key: Any, values: Any) -> Any:
    """``target`` with ``values`` added at ``target[key]``; repeated indices add up.

    ``target`` must be a fresh array (the adapter may write into it).

    >>> import numpy as np, xpgrad.backends as B
    >>> B.scatter_add(np, np.zeros(3), (np.array([0, 2, 0]),), np.array([1.0, 2.0, 3.0]))
    array([4., 0., 2.])
    """
    fn = hook(target, "scatter_add")
    if fn is not None:
        return fn(xp, target, key, values)
    return generic_scatter_add(xp, target, key, values)


def index_update(xp: Any, x: Any, key: Any, value: Any) -> Any:
    """A copy of ``x`` with ``x[key] = value`` (``x`` itself is not changed)."""
    fn = hook(x, "index_update")
    if fn is not None:
        return fn(xp, x, key, value)
    return generic_index_update(xp, x, key, value)


def getitem(x: Any, key: Any) -> Any:
    """``x[key]``, through the adapter's ``getitem`` hook where it has one."""
    fn = hook(x, "getitem")
    return x[key] if fn is None else fn(x, key)


def to_host(x: Any) -> Any:
    """A host (NumPy) copy of ``x`` for printing and tests; computes lazy arrays."""
    fn = hook(x, "to_host")
    if fn is not None:
        return fn(x)
    return generic_to_host(x)


def random(seed: int, like: Any = None, *, xp: Any = None) -> Callable:
    """A seeded sample source ``make(shape, low=-2, high=2, dtype=None)`` for a backend.

    The backend is that of the array ``like``, or the namespace ``xp`` (a library
    with no adapter gets the generic source, which needs only ``asarray``).

    >>> import numpy as np, xpgrad.backends as B
    >>> make = B.random(0, np.zeros(1))
    >>> a = make((2, 3), 0.0, 1.0)
    >>> a.shape, bool(np.all((0 <= a) & (a < 1)))
    ((2, 3), True)
    """
    ad = backend_of(like) if like is not None else None
    if ad is not None and hasattr(ad, "random"):
        inner = ad.random(seed)
        ns = namespace_of(like)

        def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = None) -> Any:
            return inner(tuple(shape), low, high, ns.float64 if dtype is None else dtype)

        return make
    if xp is None:
        if like is None:
            raise TypeError("xpgrad.backends.random: pass an array `like` or a namespace `xp`")
        xp = namespace_of(like)
    return generic_random(seed, xp)


def is_lazy(x: Any) -> bool:
    """Whether ``x`` is an unevaluated graph (a Dask array)."""
    fn = hook(x, "is_lazy")
    return bool(fn(x)) if fn is not None else False


def rechunk_batch(x: Any, chunk: int) -> Any:
    """``x`` with its leading axis chunked by ``chunk`` (identity for eager backends)."""
    fn = hook(x, "rechunk_batch")
    return fn(x, chunk) if fn is not None else x


def lower(like: Any, program: Any, fn: Callable) -> Callable:
    """What replays a staged ``program`` on ``like``'s backend: the adapter's compilation
    of the lowered function ``fn`` (its ``lower`` hook), or ``fn`` itself.

    >>> import numpy as np, xpgrad.backends as B
    >>> fn = lambda x: (x * 2.0,)
    >>> B.lower(np.ones(2), None, fn) is fn       # NumPy's adapter has no lower hook
    True
    """
    compile_ = hook(like, "lower")
    if compile_ is None:
        return fn
    run = compile_(program, fn)
    if run is None:
        return fn
    if not callable(run):
        raise TypeError(
            f"xpgrad: the lower hook of the backend adapter {getattr(backend_of(like), 'name', '?')!r} "
            f"returned {type(run).__name__}, not a callable or None; see the Backend "
            f"protocol in xpgrad.backends"
        )
    return run


def special_adapter(xp: Any) -> Any | None:
    """The adapter whose namespace is ``xp`` (for a traced namespace built from it), or None.

    Namespaces already met through :func:`namespace_of` are found without
    importing anything; otherwise the default adapter is asked first, then the rest.
    """
    for t, ns in list(_type_ns.items()):
        if ns is xp:
            return _type_backend.get(t)
    ads = sorted(available().values(), key=lambda ad: not getattr(ad, "default", False))
    for ad in ads:
        ns_fn = getattr(ad, "namespace", None)
        try:
            if ns_fn is not None and ns_fn(None) is xp:
                return ad
        except Exception:  # an adapter that cannot name its namespace without an array
            continue
    return None


def special(x: Any, name: str) -> Callable:
    """The backend's special function ``name`` for arrays like ``x``.

    Raises ``NotImplementedError`` naming the backend and the function where the
    adapter has no ``special`` hook or does not offer ``name``.

    >>> import numpy as np, xpgrad.backends as B
    >>> round(float(B.special(np.zeros(1), "erf")(np.asarray(0.5))), 6)
    0.5205
    """
    ad = backend_of(x)
    fn_of = getattr(ad, "special", None) if ad is not None else None
    fn = fn_of(name) if fn_of is not None else None
    if fn is None:
        where = f"backend {ad.name!r}" if ad is not None else f"arrays of type {type(x).__name__}"
        raise NotImplementedError(
            f"xpgrad: special.{name} is not available for {where}: its adapter's "
            f"`special` hook does not provide it (NumPy and Dask need SciPy installed; "
            f"see 'Writing a backend plugin' in the docs)"
        )
    return fn


# -- generic implementations (the standard alone) --------------------------------------

# Above this many one-hot entries the generic scatter-add sorts instead.
_ONEHOT_LIMIT = 1 << 20


def generic_scatter_add(xp: Any, target: Any, key: Any, values: Any) -> Any:
    """Scatter-add with the standard alone.

    Every position of ``target[key]`` gets its flat index; the values are then
    summed per index: by a one-hot matrix product when that is small (exact),
    else by sorting the indices and differencing a cumulative sum (memory linear
    in the sizes, at the cost of rounding of order eps times the running sum).
    """
    shape = tuple(target.shape)
    size = size_of(shape)
    dev = device_of(target)
    idx = xp.reshape(xp.arange(size, device=dev), shape)[key]
    pos = xp.reshape(idx, (-1,))
    k = pos.shape[0]
    vals = xp.reshape(xp.broadcast_to(xp.asarray(values), tuple(idx.shape)), (-1,))
    vals = xp.astype(vals, target.dtype)
    if k == 0 or size == 0:
        return target
    if k * size <= _ONEHOT_LIMIT:
        onehot = xp.astype(pos[:, None] == xp.arange(size, device=dev)[None, :], target.dtype)
        added = xp.reshape(vals[None, :] @ onehot, shape)
    else:
        order = xp.argsort(pos)
        spos = xp.take(pos, order)
        svals = xp.take(vals, order)
        csum = xp.cumulative_sum(svals, include_initial=True)
        slots = xp.arange(size, device=dev, dtype=spos.dtype)
        hi = xp.searchsorted(spos, slots, side="right")
        lo = xp.searchsorted(spos, slots, side="left")
        added = xp.reshape(xp.take(csum, hi) - xp.take(csum, lo), shape)
    return target + added


def generic_index_update(xp: Any, x: Any, key: Any, value: Any) -> Any:
    """``x`` with ``x[key] = value``, without writing into ``x``.

    With in-place writes: a copy, then ``copy[key] = value``. Without them: a
    mask of the written positions built by :func:`generic_scatter_add`, and
    ``where``. Repeated indices in ``key`` are written with the mean of their
    values (the standard leaves repeated writes unspecified).
    """
    if capabilities(x).get("inplace"):
        out = xp.asarray(x, copy=True)
        out[key] = value
        return out
    shape = tuple(x.shape)
    dev = device_of(x)
    picked = xp.reshape(xp.arange(size_of(shape), device=dev), shape)[key]
    ones = xp.ones(tuple(picked.shape), dtype=x.dtype, device=dev)
    hits = generic_scatter_add(xp, xp.zeros(shape, dtype=x.dtype, device=dev), key, ones)
    summed = generic_scatter_add(xp, xp.zeros(shape, dtype=x.dtype, device=dev), key, value)
    written = hits > 0
    safe = xp.where(written, hits, xp.ones_like(hits))
    if xp.isdtype(x.dtype, "integral"):
        mean = summed // safe
    else:
        mean = summed / safe
    return xp.where(written, mean, x)


def generic_to_host(x: Any) -> Any:
    """A NumPy copy through DLPack, else through Python scalars."""
    host = default_namespace()
    try:
        return host.asarray(host.from_dlpack(x))
    except Exception:
        pass
    xp = namespace_of(x)
    kind = (
        bool
        if xp.isdtype(x.dtype, "bool")
        else int
        if xp.isdtype(x.dtype, "integral")
        else complex
        if xp.isdtype(x.dtype, "complex floating")
        else float
    )

    def nested(a: Any) -> Any:
        if len(a.shape) == 0:
            return kind(a)
        return [nested(a[i, ...]) for i in range(a.shape[0])]

    return host.asarray(nested(x))


def generic_random(seed: int, xp: Any) -> Callable:
    """A seeded uniform sample source needing only ``xp.asarray`` and ``xp.reshape``."""
    rng = _pyrandom.Random(seed)

    def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = None) -> Any:
        shape = tuple(shape)
        vals = [low + (high - low) * rng.random() for _ in range(size_of(shape))]
        dt = xp.float64 if dtype is None else dtype
        if xp.isdtype(dt, "integral"):
            vals = [math.floor(v) for v in vals]
        return xp.reshape(xp.asarray(vals, dtype=dt), shape)

    return make


# -- the host allocator ------------------------------------------------------------------

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_host_allocator(
    mmap_threshold: int = 64 * 2**20, trim_threshold: int = 256 * 2**20
) -> bool:
    """Keep freed host memory for the next array instead of returning it to the OS.

    With glibc (Linux), every array above its mmap threshold (128 KiB at
    first, then moving with what was freed last) is mapped afresh and its pages
    zeroed and faulted in by the kernel, and freeing it gives them back. A
    derivative of large-array code allocates a result per operation, so it can
    spend most of its time there, and how much depends on the process's
    history: on a 2-core VM, thread CPU per call (``python -m
    benchmarks.compare --base-src src --tune-allocator this``) went 7.8 -> 1.8
    ms for W6's Hessian at n = 400, 8.1 -> 1.5 ms for W7's Hessian-vector
    product over 100,000 elements, 3.8 -> 1.0 ms for W8 and 1.4 -> 1.0 ms for
    W1; staged programs (``jit``) gained as much (W7: 2.3 -> 0.44 ms).

    This sets glibc's ``M_MMAP_THRESHOLD`` (arrays below it come from the heap)
    and ``M_TRIM_THRESHOLD`` (free memory the heap keeps rather than returning)
    for the whole process, as the environment variables
    ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` would at start-up.
    The price is memory: up to ``trim_threshold`` bytes freed by a computation
    stay in the process for the next one. Every library in the process is
    affected (NumPy, PyTorch's CPU tensors, ...). xpgrad never calls it by
    itself.

    Parameters
    ----------
    mmap_threshold : int, optional
        Bytes from which an allocation is mapped on its own (default 64 MiB).
    trim_threshold : int, optional
        Free bytes at the top of the heap kept before it is trimmed (default
        256 MiB).

    Returns
    -------
    bool
        True if applied; False where the C library is not glibc (macOS,
        Windows, musl), which has its own policies.

    Raises
    ------
    ValueError
        For a threshold that is not a positive int.

    Examples
    --------
    >>> import xpgrad
    >>> applied = xpgrad.backends.tune_host_allocator()   # False off glibc
    """
    for name, v in (("mmap_threshold", mmap_threshold), ("trim_threshold", trim_threshold)):
        if type(v) is not int or not 0 < v < 2**31:
            raise ValueError(
                f"xpgrad.backends.tune_host_allocator: {name} must be a positive int "
                f"(bytes) below 2**31, got {v!r}"
            )
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    return mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1 and ok


def _glibc_mallopt() -> Callable | None:
    """glibc's ``mallopt``, or None on another C library."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        fn = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl has no such symbol
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn
