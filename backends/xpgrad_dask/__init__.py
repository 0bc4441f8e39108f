"""xpgrad backend adapter for Dask arrays: lazy, chunked, distributed.

Everything here builds Dask graphs; nothing computes except ``to_host`` (for
printing and tests). Dask itself is imported on first use, not when xpgrad
starts, so importing xpgrad stays cheap where Dask is installed but unused.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import types
from typing import Any

if importlib.util.find_spec("dask") is None:
    raise ImportError("xpgrad_dask needs dask[array]: pip install 'xpgrad[dask]'")

name = "dask"
default = False
# Dask arrays accept `x[key] = v`, but xpgrad treats them as values (index_update
# copies the graph node), so "inplace" is False: Buffer takes the functional path.
capabilities = {"inplace": False, "float64": True, "complex": True, "lazy": True}


def _da() -> Any:
    import dask.array as da

    return da


def is_array(x: Any) -> bool:
    mod = sys.modules.get("dask.array")
    return mod is not None and isinstance(x, mod.Array)


class _Namespace(types.ModuleType):
    """array-api-compat's Dask namespace, with the standard's ``reshape`` restored.

    Dask reshapes only by merging or evenly splitting axes; the standard allows
    any reshape of the same size. The fallback goes through one flat axis
    (a merge, then a split), both of which Dask supports lazily.
    """

    def __init__(self, inner: Any):
        super().__init__("xpgrad_dask.namespace", inner.__doc__)
        self._inner = inner

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        setattr(self, attr, value)  # cache: found by normal lookup next time
        return value

    def reshape(self, x: Any, /, shape: tuple, *, copy: bool | None = None) -> Any:
        try:
            return self._inner.reshape(x, shape, copy=copy)
        except NotImplementedError:
            flat = self._inner.reshape(x, (-1,), copy=copy)
            return self._inner.reshape(flat, shape, copy=copy)


_NS: _Namespace | None = None


def namespace(x: Any) -> Any:
    global _NS
    if _NS is None:
        import array_api_compat.dask.array as xp

        _NS = _Namespace(xp)
    return _NS


def is_lazy(x: Any) -> bool:
    return True


def rechunk_batch(x: Any, chunk: int) -> Any:
    return x.rechunk({0: chunk})


def basis(
    xp: Any, start: int, k: int, n: int, dtype: Any, shape: tuple, chunk: int | None, like: Any
) -> Any:
    """Rows ``start .. start+k`` of the ``n x n`` identity, shaped ``(k, *shape)``, lazily.

    The batch axis is split into blocks of ``chunk`` directions (default: the
    largest chunk of ``like`` flattened, so blocks are about square); the other
    axes follow ``like``'s chunks. Each block is made inside its own task from
    two small ``arange`` blocks: the basis never exists whole anywhere.
    """
    da = _da()
    flat = like if like.ndim == 1 else like.reshape(-1)
    cols = flat.chunks[0] if flat.shape[0] == n else "auto"
    if chunk is None:
        chunk = max(cols) if cols != "auto" else "auto"
    # like=: blocks of like's chunk type (CuPy chunks give a CuPy basis, not NumPy's)
    rows = da.arange(start, start + k, chunks=chunk, like=flat).reshape(k, 1)
    e = rows == da.arange(n, chunks=(cols,) if cols != "auto" else "auto", like=flat).reshape(1, n)
    e = e.astype(dtype)
    return e if tuple(shape) == (n,) else e.reshape((k,) + tuple(shape))


from ._linalg import linalg  # noqa: E402,F401  (the linalg hook; imports Dask lazily)


def special(fname: str) -> Any:
    """``scipy.special.<fname>`` applied block by block, lazily (None without SciPy).

    Every special function xpgrad registers is elementwise, so Dask's ``elemwise``
    (broadcasting, Python-number arguments, one task per block) computes it
    exactly; ``polygamma``'s order is a Python int, bound before the blocks.
    """
    try:
        import scipy.special as sp
    except ImportError:
        return None
    fn = getattr(sp, fname, None)
    if fn is None:
        return None
    da = _da()

    def on_dask(*args: Any) -> Any:
        if fname == "polygamma":
            return da.core.elemwise(_Polygamma(args[0]), *args[1:])
        return da.core.elemwise(fn, *args)

    on_dask.__name__ = fname
    return on_dask


class _Polygamma:
    """``scipy.special.polygamma(n, x)`` with ``n`` fixed: a picklable one-argument block function."""

    def __init__(self, n: int):
        self.n = n

    def __call__(self, x: Any) -> Any:
        import scipy.special as sp

        return sp.polygamma(self.n, x)


def whole_axes(x: Any, axes: Any) -> Any:
    """``x`` with each of ``axes`` in a single chunk (Dask's FFTs need whole axes)."""
    if any(len(x.chunks[a]) > 1 for a in axes):
        x = x.rechunk({a % x.ndim: -1 for a in axes})
    return x


def _positions(da: Any, target: Any, key: tuple) -> Any:
    """The flat position of every element of ``target[key]``, chunked like ``target``.

    Dask indexes with one integer array at a time; a key of one integer array
    (or int) per axis -- the standard's form -- is therefore turned into
    positions arithmetically, ``sum(index_i * stride_i)``.
    """
    shape = tuple(target.shape)
    arrays = [k for k in key if hasattr(k, "dtype")]
    if len(arrays) <= 1:
        grid: Any = 0
        stride = 1
        for ax in reversed(range(len(shape))):
            n = shape[ax]
            bshape = [1] * len(shape)
            bshape[ax] = n
            a = da.arange(n, chunks=(target.chunks[ax],)).reshape(tuple(bshape))
            grid = grid + a * stride
            stride *= n
        grid = da.broadcast_to(da.asarray(grid), shape, chunks=target.chunks)
        return grid[key]
    if len(key) != len(shape) or not all(hasattr(k, "dtype") or isinstance(k, int) for k in key):
        raise NotImplementedError(
            "xpgrad_dask: several integer arrays mixed with slices in one key"
        )
    pos: Any = 0
    stride = 1
    for k, n in zip(reversed(key), reversed(shape)):
        k = da.asarray(k) if hasattr(k, "dtype") else k
        pos = pos + (k % n) * stride  # % n: negative indices count from the end
        stride *= n
    return da.asarray(pos)


def _segment_sum(da: Any, pos: Any, w: Any, size: int) -> Any:
    """``out[p] = sum(w[pos == p])`` for ``p < size``, as a 1-D array in bounded chunks.

    One ``bincount`` per output chunk over the entries that fall in it, so no
    task holds more than one output chunk (Dask's own ``bincount`` makes one
    chunk of ``size``).
    """
    w = w.rechunk(pos.chunks)
    bounds = da.core.normalize_chunks("auto", (size,), dtype=w.dtype)[0]
    if len(bounds) == 1:
        return da.bincount(pos, weights=w, minlength=size)
    parts = []
    lo = 0
    for n in bounds:
        inside = (pos >= lo) & (pos < lo + n)
        parts.append(
            da.bincount(da.where(inside, pos - lo, 0), weights=da.where(inside, w, 0), minlength=n)
        )
        lo += n
    return da.concatenate(parts)


def scatter_add(xp: Any, target: Any, key: Any, values: Any) -> Any:
    """A segment sum (``bincount`` with weights) over the flat positions of ``target[key]``.

    Lazy and exact; every block of the index contributes a partial count that
    Dask sums as a tree reduction.
    """
    da = _da()
    shape = tuple(target.shape)
    size = math.prod(shape)
    if size == 0:
        return target
    idx = _positions(da, target, key if isinstance(key, tuple) else (key,))
    pos = idx.reshape(-1)
    vals = da.broadcast_to(da.asarray(values), idx.shape).reshape(-1)
    dt = target.dtype
    if xp.isdtype(dt, "complex floating"):
        added = _segment_sum(da, pos, xp.real(vals), size) + 1j * _segment_sum(
            da, pos, xp.imag(vals), size
        )
    else:
        added = _segment_sum(da, pos, vals, size)
    added = added.astype(dt).reshape(shape)
    if added.chunks != target.chunks:
        added = added.rechunk(target.chunks)
    return target + added


def index_update(xp: Any, x: Any, key: Any, value: Any) -> Any:
    # Dask's __setitem__ rewrites the graph of `out` only: x is unchanged.
    # It mishandles `None` in a key, so drop those axes (all of size 1) first.
    da = _da()
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key):
        plain = tuple(k for k in key if k is not None)
        value = da.broadcast_to(da.asarray(value), x[key].shape).reshape(x[plain].shape)
        key = plain
    out = x.copy()
    out[key] = value
    return out


def to_host(x: Any) -> Any:
    """A NumPy copy: this is the one place the adapter computes (printing, tests)."""
    import numpy as np

    return np.asarray(x.compute())


def random(seed: int) -> Any:
    """Seeded samples split into two chunks per axis, so rules meet chunk boundaries."""
    import numpy as np

    da = _da()
    rng = np.random.default_rng(seed)

    def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = None) -> Any:
        a = rng.uniform(low, high, size=shape)
        chunks = tuple(max(1, (s + 1) // 2) for s in shape)
        out = da.from_array(a, chunks=chunks)
        return out if dtype is None else out.astype(dtype)

    return make
