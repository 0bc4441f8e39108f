"""Index keys: their static/array split, their layout, and indexing in the standard alone.

A key such as ``x[i, 1:3, None, mask]`` is split into a static *template*
(``(ARRAY, slice(1, 3), None, ARRAY)``) and its array parts, which the
``getitem`` primitive takes as arguments so every transformation sees them.

The standard guarantees only part of NumPy's indexing: basic keys (ints,
slices, ``...``, ``None``), a boolean mask as the sole index, and integer
arrays mixed with ints only, one per axis. Other keys (``x[idx]`` on a matrix,
``x[:, idx]``, masks inside a tuple) follow NumPy's semantics here through a
decomposition into standard calls: a basic index, then one ``take`` over the
advanced axes flattened into one. Its transpose scatters with the backend's
``scatter_add`` (repeated indices accumulate), or the standard-only fallback in
:mod:`xpgrad.backends`. These functions run on backend arrays (the impls).
"""

from __future__ import annotations

import operator
from typing import Any

from .. import backends
from .._core.arrays import raw as _raw
from .._core.arrays import size_of
from ._registry import xp_of

__all__ = ["ARRAY", "split_key", "join_key", "plan", "gather", "scatter"]


class _Slot:
    """Marks where an array part of a key goes back into the template."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<array>"


ARRAY = _Slot()


def _is_int_dtype(x: Any) -> bool:
    try:
        return bool(xp_of(_raw(x)).isdtype(x.dtype, "integral"))
    except Exception:
        return False


def split_key(key: Any) -> tuple[tuple, list]:
    """``key`` as (template, arrays); 0-d integer values become Python ints where eager."""
    if not isinstance(key, tuple):
        key = (key,)
    template: list = []
    arrays: list = []
    for k in key:
        if k is None or k is Ellipsis:
            template.append(k)
        elif isinstance(k, slice):
            # bounds that are 0-d arrays (x[:n] with n = xp.sum(mask)) become Python
            # ints now: the template outlives the trace, and a slice is static anyway
            template.append(slice(_bound(k.start), _bound(k.stop), _bound(k.step)))
        elif isinstance(k, int):
            if isinstance(k, bool):
                raise IndexError("xpgrad: a Python bool is not a valid index; use an integer")
            template.append(k)
        elif hasattr(k, "shape") and hasattr(k, "dtype"):
            if len(k.shape) == 0 and _is_int_dtype(k) and not backends.is_lazy(_raw(k)):
                try:  # a scalar index (a loop counter): static, no derivative anyway
                    template.append(operator.index(k))
                    continue
                except TypeError:  # batched under vmap: one index per element
                    pass
            template.append(ARRAY)
            arrays.append(k)
        elif isinstance(k, (list, tuple)):
            raise IndexError(
                "xpgrad: index with an array, not a Python list (the Array API has no "
                "list indexing); wrap it as xp.asarray([...])"
            )
        else:
            template.append(operator.index(k))
    return tuple(template), arrays


def _bound(b: Any) -> Any:
    return b if b is None or type(b) is int else operator.index(b)


def join_key(template: tuple, arrays: Any) -> tuple:
    it = iter(arrays)
    return tuple(next(it) if k is ARRAY else k for k in template)


class Plan:
    """Where the advanced (array) part of a key puts its dimensions.

    ``n_adv``: dimensions of the broadcast advanced indices; ``adjacent``: whether
    the advanced items are consecutive in the key (then their dimensions replace
    them in place, at output position ``p``; else they go first, as in NumPy);
    ``ell``: dimensions the ellipsis stands for.
    """

    __slots__ = ("has_adv", "adjacent", "p", "n_adv", "ell")

    def __init__(self) -> None:
        self.has_adv = False
        self.adjacent = False
        self.p = 0
        self.n_adv = 0
        self.ell = 0

    def __repr__(self) -> str:
        return f"Plan(adjacent={self.adjacent}, p={self.p}, n_adv={self.n_adv})"


def plan(template: tuple, metas: list, ndim: int) -> Plan:
    """Layout of ``x[key]`` from the template, ``(is_bool, ndim)`` per array, and ``x.ndim``."""
    if sum(1 for k in template if k is Ellipsis) > 1:
        raise IndexError("xpgrad: an index can only have a single ellipsis ('...')")
    has_adv = any(k is ARRAY for k in template)
    it = iter(metas)
    consumed = 0
    info: list[tuple[bool, int | None]] = []  # (advanced?, output dims; None: the ellipsis)
    n_adv = 0
    for k in template:
        if k is None:
            info.append((False, 1))
        elif k is Ellipsis:
            info.append((False, None))
        elif isinstance(k, slice):
            consumed += 1
            info.append((False, 1))
        elif k is ARRAY:
            is_bool, nd = next(it)
            if is_bool and nd == 0:
                raise IndexError("xpgrad: a 0-d boolean index is not supported; use xp.where")
            consumed += nd if is_bool else 1
            n_adv = max(n_adv, 1 if is_bool else nd)
            info.append((True, 0))
        else:
            consumed += 1
            info.append((has_adv, 0))
    ell = ndim - consumed
    if ell < 0:
        raise IndexError(
            f"xpgrad: too many indices: the key indexes {consumed} dimensions of an array "
            f"with {ndim}"
        )
    pl = Plan()
    pl.has_adv = has_adv
    pl.ell = ell
    adv = [i for i, (a, _) in enumerate(info) if a]
    pl.adjacent = bool(adv) and adv == list(range(adv[0], adv[-1] + 1))
    dims = [ell if d is None else d for _, d in info]
    pl.p = sum(dims[: adv[0]]) if adv else 0
    pl.n_adv = n_adv if has_adv else 0
    return pl


def metas_of(arrays: list) -> list:
    return [(_is_bool(a), len(a.shape)) for a in arrays]


def _is_bool(a: Any) -> bool:
    return bool(xp_of(_raw(a)).isdtype(a.dtype, "bool"))


def full(template: tuple) -> tuple:
    """The key with a trailing ``...`` where it has none (the standard wants full keys)."""
    return template if any(k is Ellipsis for k in template) else template + (Ellipsis,)


def native_getitem(x: Any, key: tuple) -> Any:
    fn = getattr(backends, "getitem", None)
    return x[key] if fn is None else fn(x, key)


# -- the decomposition -----------------------------------------------------------------


class _Decomp:
    __slots__ = ("key1", "adv_axes", "adv_idx", "adv_sizes", "y_shape", "adjacent")

    def __init__(self) -> None:
        self.key1: Any = []  # the basic part of the key (a tuple once built)
        self.adv_axes: list[int] = []  # axes of the basic result indexed by arrays
        self.adv_idx: list[Any] = []  # their integer indices (arrays or ints)
        self.adv_sizes: list[int] = []  # their sizes
        self.y_shape: list[int] = []  # shape of the basic result
        self.adjacent = False


def _decompose(xp: Any, template: tuple, arrays: list, shape: tuple) -> _Decomp:
    """Split a key with arrays into a basic key and integer indices over the kept axes."""
    ndim = len(shape)
    pl = plan(template, metas_of(arrays), ndim)
    d = _Decomp()
    adv_items = []
    it = iter(arrays)
    xa = 0

    def keep(i: int, idx: Any) -> None:
        nonlocal xa
        d.key1.append(slice(None))
        d.adv_axes.append(len(d.y_shape))
        d.adv_idx.append(idx)
        d.adv_sizes.append(shape[xa])
        d.y_shape.append(shape[xa])
        adv_items.append(i)
        xa += 1

    for i, k in enumerate(template):
        if k is None:
            d.key1.append(None)
            d.y_shape.append(1)
        elif k is Ellipsis:
            d.key1.append(Ellipsis)
            d.y_shape.extend(shape[xa : xa + pl.ell])
            xa += pl.ell
        elif isinstance(k, slice):
            d.key1.append(k)
            d.y_shape.append(len(range(*k.indices(shape[xa]))))
            xa += 1
        elif k is ARRAY:
            a = next(it)
            if xp.isdtype(a.dtype, "bool"):
                for part in xp.nonzero(a):
                    keep(i, part)
            else:
                keep(i, a)
        else:
            keep(i, k)
    d.y_shape.extend(shape[xa:])
    d.key1 = full(tuple(d.key1))
    items = sorted(set(adv_items))  # a mask of k dimensions is one item of the key
    d.adjacent = items == list(range(items[0], items[-1] + 1))
    return d


def _linear_index(xp: Any, d: _Decomp) -> Any:
    """The C-order position of each indexed element among the advanced axes."""
    lin: Any = 0
    for a, n in zip(d.adv_idx, d.adv_sizes):
        if isinstance(a, int):
            if not -n <= a < n:
                raise IndexError(f"xpgrad: index {a} is out of bounds for an axis of size {n}")
            a = a % n
        else:
            if a.dtype != xp.int64:
                a = xp.astype(a, xp.int64)
            a = xp.where(a < 0, a + n, a)
        lin = lin * n + a
    return lin


def _rest_axes(d: _Decomp) -> list:
    adv = set(d.adv_axes)
    return [i for i in range(len(d.y_shape)) if i not in adv]


def _is_identity(perm: list) -> bool:
    return perm == list(range(len(perm)))


# What a library raises for a key beyond what it implements (array-api-strict:
# IndexError; Dask: NotImplementedError for several index arrays, and a bare
# AssertionError for a Dask index array beside None). Such keys then take the
# decomposition, which needs only the standard.
_UNSUPPORTED = (IndexError, NotImplementedError, TypeError, AssertionError)


def _unreverse(template: tuple, arrays: list, shape: tuple) -> tuple[tuple, tuple]:
    """Negative-step slices as positive ones on the input flipped along their axes.

    Some libraries (torch) take no negative steps; ``flip`` is standard. Returns
    the new template and the input axes to flip.
    """
    if not any(isinstance(k, slice) and k.step is not None and k.step < 0 for k in template):
        return template, ()
    metas = iter(metas_of(arrays))
    consumed = sum(1 for k in template if isinstance(k, (int, slice)))
    widths = [nd if b else 1 for b, nd in metas_of(arrays)]
    ell = len(shape) - consumed - sum(widths)
    out, flips, xa = [], [], 0
    for k in template:
        if k is Ellipsis:
            xa += ell
        elif k is ARRAY:
            b, nd = next(metas)
            xa += nd if b else 1
        elif isinstance(k, slice) and k.step is not None and k.step < 0:
            n = shape[xa]
            r = range(*k.indices(n))
            k = slice(n - 1 - r[0], n - r[-1], -k.step) if len(r) else slice(0, 0)
            flips.append(xa)
            xa += 1
        elif k is not None:
            xa += 1
        out.append(k)
    return tuple(out), tuple(flips)


def gather(xp: Any, x: Any, template: tuple, arrays: list) -> Any:
    """``x[key]`` with NumPy's semantics: natively where the library can, else decomposed."""
    template, flips = _unreverse(template, arrays, tuple(x.shape))
    if flips:
        x = xp.flip(x, axis=flips)
    if not arrays:
        return native_getitem(x, full(template))
    key = join_key(template, arrays)
    if len(template) == 1 and _is_bool(arrays[0]):
        return native_getitem(x, key)
    try:
        return native_getitem(x, key)
    except _UNSUPPORTED:
        pass
    return _gather_decomposed(xp, x, template, arrays)


def _gather_decomposed(xp: Any, x: Any, template: tuple, arrays: list) -> Any:
    """``x[key]`` with only the standard's basic indexing and ``take``."""
    d = _decompose(xp, template, arrays, tuple(x.shape))
    key1 = d.key1
    y = x if all(k == slice(None) or k is Ellipsis for k in key1) else native_getitem(x, key1)
    rest = _rest_axes(d)
    perm = d.adv_axes + rest
    if not _is_identity(perm):
        y = xp.permute_dims(y, tuple(perm))
    rest_shape = tuple(d.y_shape[a] for a in rest)
    y = xp.reshape(y, (size_of(d.adv_sizes),) + rest_shape)
    lin = _linear_index(xp, d)
    s = tuple(lin.shape)
    out = xp.take(y, xp.reshape(lin, (-1,)), axis=0)
    out = xp.reshape(out, s + rest_shape)
    p = d.adv_axes[0]
    if d.adjacent and p > 0:
        ns, nr = len(s), len(rest_shape)
        out = xp.permute_dims(
            out, tuple(range(ns, ns + p)) + tuple(range(ns)) + tuple(range(ns + p, ns + nr))
        )
    return out


def _zeros(xp: Any, shape: tuple, like: Any) -> Any:
    return xp.zeros(shape, dtype=like.dtype, device=getattr(like, "device", None))


def _write(xp: Any, z: Any, key: tuple, value: Any) -> Any:
    """``z`` (a fresh array) with ``z[key] = value``; ``key`` is standard."""
    if backends.capabilities(z).get("inplace"):
        z[key] = value
        return z
    return backends.index_update(xp, z, key, value)


def _one_axis_range(key: tuple, shape: tuple) -> tuple | None:
    """``(axis, start, stop)`` if ``key`` is slices of step 1 that narrow one axis only."""
    if any(k is not Ellipsis and type(k) is not slice for k in key):
        return None
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1 :]
    key = key + (slice(None),) * (len(shape) - len(key))
    found = None
    for ax, (k, n) in enumerate(zip(key, shape)):
        start, stop, step = k.indices(n)
        if step != 1 or stop <= start:
            return None
        if (start, stop) != (0, n):
            if found is not None:
                return None
            found = (ax, start, stop)
    return found


def _basic_scatter(xp: Any, y: Any, key: tuple, shape: tuple) -> Any:
    """zeros(shape) with ``y`` written at the basic ``key`` (``None`` axes dropped)."""
    if tuple(y.shape) == tuple(shape) and all(k == slice(None) or k is Ellipsis for k in key):
        return y
    rng = _one_axis_range(key, tuple(shape))
    if rng is not None:
        # x[1:], x[:, :-1], ...: pad with zeros by concatenation, one pass writing the
        # result, where zeros-then-write makes two (and on large arrays first touches
        # fresh zero pages); the pullbacks of shifted slices (finite differences,
        # Rosenbrock) are this case
        ax, lo, hi = rng

        def zeros(width: int) -> Any:
            return _zeros(xp, tuple(shape[:ax]) + (width,) + tuple(shape[ax + 1 :]), y)

        parts = (
            ([zeros(lo)] if lo else []) + [y] + ([zeros(shape[ax] - hi)] if hi < shape[ax] else [])
        )
        return xp.concat(parts, axis=ax)
    if any(k is None for k in key):  # setitem takes no None: drop those size-1 axes
        ndim = len(shape)
        ell = ndim - sum(1 for k in key if k is not None and k is not Ellipsis)
        dims, pos = [], 0
        for k in key:
            w = ell if k is Ellipsis else (0 if isinstance(k, int) else 1)
            if k is not None:
                dims.extend(y.shape[pos : pos + w])
            pos += w
        dims.extend(y.shape[pos:])
        y = xp.reshape(y, tuple(dims))
        key = tuple(k for k in key if k is not None)
    return _write(xp, _zeros(xp, tuple(shape), y), full(key), y)


def scatter(xp: Any, ct: Any, template: tuple, arrays: list, shape: tuple) -> Any:
    """zeros(shape) with ``ct`` added at ``key``: the transpose of :func:`gather`."""
    template, flips = _unreverse(template, arrays, tuple(shape))
    out = _scatter(xp, ct, template, arrays, tuple(shape))
    return xp.flip(out, axis=flips) if flips else out


def _scatter(xp: Any, ct: Any, template: tuple, arrays: list, shape: tuple) -> Any:
    if not arrays:
        return _basic_scatter(xp, ct, full(template), shape)
    if len(template) == 1 and _is_bool(arrays[0]):  # positions are distinct: a write
        return _write(xp, _zeros(xp, tuple(shape), ct), (arrays[0],), ct)
    fn = backends.hook(ct, "scatter_add")
    if fn is not None:
        try:
            return fn(xp, _zeros(xp, tuple(shape), ct), join_key(template, arrays), ct)
        except _UNSUPPORTED:
            pass
    return _scatter_decomposed(xp, ct, template, arrays, shape)


def _scatter_decomposed(xp: Any, ct: Any, template: tuple, arrays: list, shape: tuple) -> Any:
    """:func:`scatter` through the decomposition and a scatter-add over flat positions."""
    d = _decompose(xp, template, arrays, tuple(shape))
    lin = _linear_index(xp, d)
    s = tuple(lin.shape)
    ns = len(s)
    rest = _rest_axes(d)
    rest_shape = tuple(d.y_shape[a] for a in rest)
    p = d.adv_axes[0] if d.adjacent else 0
    if p > 0:  # the advanced dimensions sit at p: move them first
        nr = len(rest_shape)
        ct = xp.permute_dims(
            ct, tuple(range(p, p + ns)) + tuple(range(p)) + tuple(range(p + ns, ns + nr))
        )
    r = size_of(rest_shape)
    m = size_of(d.adv_sizes)
    flat = xp.reshape(lin, (-1, 1)) * r + xp.reshape(
        xp.arange(r, dtype=xp.int64, device=getattr(ct, "device", None)), (1, r)
    )
    vals = xp.reshape(xp.broadcast_to(ct, s + rest_shape), (-1,))
    target = backends.scatter_add(xp, _zeros(xp, (m * r,), ct), (xp.reshape(flat, (-1,)),), vals)
    y = xp.reshape(target, tuple(d.adv_sizes) + rest_shape)
    perm = d.adv_axes + rest
    if not _is_identity(perm):
        inv = [0] * len(perm)
        for i, a in enumerate(perm):
            inv[a] = i
        y = xp.permute_dims(y, tuple(inv))
    return _basic_scatter(xp, y, d.key1, shape)
