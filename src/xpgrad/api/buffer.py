"""``Buffer``: an array you may write into inside differentiated code.

Each write ``buf[key] = v`` produces a new value through the ``index_update``
primitive (``x`` with ``x[key]`` replaced by ``v``), so every write is
differentiated and the backend needs no in-place writes. Repeated positions in
a key: the last write wins (``_winners``), decided before the backend writes,
since backends differ (NumPy keeps the last, torch leaves it unspecified, the
standard too); the pullback gives the cotangent to the winning write only. Outside any
transformation, writes go in place into the buffer's own array while nobody
else can see it. ``copy()`` hands the array out and freezes the buffer.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.trace import Tracer
from ..rules import F
from ..rules._indexkeys import _UNSUPPORTED, gather
from ..rules._registry import defrule, primitive, unbroadcast, xp_of
from ..rules.indexing import ARRAY, getitem_p, join_key, split_key
from . import _edge as E
from .forward import device_kw

__all__ = ["Buffer", "index_update", "write"]


# -- the primitive: x with x[key] = v ----------------------------------------------


def write(x: Any, key: Any, v: Any) -> Any:
    """``x`` with ``x[key] = v`` on a backend array: in place where the backend allows."""
    if backends.capabilities(x)["inplace"]:
        try:
            x[key] = _cast(x, v)
            return x
        except ValueError:  # a read-only array (NumPy): update a copy instead
            pass
    return _updated(x, key, v)


def _cast(x: Any, v: Any) -> Any:
    if E.is_array(v) and v.dtype != x.dtype:
        return xp_of(x).astype(v, x.dtype)
    return v


def _updated(x: Any, key: Any, v: Any) -> Any:
    """A new array: ``x`` with ``x[key] = v`` (``x`` is left alone)."""
    xp = xp_of(x)
    setter = backends.hook(x, "index_update")
    if setter is not None:
        return setter(xp, x, key, _cast(x, v))
    if backends.capabilities(x)["inplace"]:
        out = xp.asarray(x, copy=True)
        try:
            out[key] = _cast(x, v)
            return out
        except _UNSUPPORTED:  # e.g. array-api-strict: no integer-array or mixed-mask writes
            pass
    return _update_generic(xp, x, key, v)


def _update_generic(xp: Any, x: Any, key: Any, v: Any) -> Any:
    """The same with the standard alone: where() over the flat positions of ``key``."""
    shape = tuple(x.shape)
    size = 1
    for s in shape:
        size *= s
    kw = device_kw(x)
    # the flat positions that key selects, through the same gather as x[key] (which
    # decomposes keys the library cannot take natively)
    flat = gather(xp, xp.reshape(xp.arange(size, **kw), shape), *split_key(key))
    pos = xp.reshape(flat, (-1,))
    vals = xp.reshape(
        xp.broadcast_to(xp.asarray(_cast(x, v), dtype=x.dtype, **kw), tuple(flat.shape)), (-1,)
    )
    hit = pos[:, None] == xp.arange(size, **kw)[None, :]
    mask = xp.any(hit, axis=0)
    # the last write to each position wins (NumPy's assignment order)
    order = xp.arange(pos.shape[0], **kw)[:, None]
    last = xp.max(xp.where(hit, order, xp.full_like(order, -1)), axis=0)
    new = xp.take(vals, xp.where(mask, last, xp.zeros_like(last)))
    return xp.where(xp.reshape(mask, shape), xp.reshape(new, shape), x)


def _winners(x: Any, template: tuple, arrays: Any) -> Any:
    """For a key with integer arrays: for each written slot, the slot whose value
    lands there (the last write to the same position, in C order, as NumPy's
    assignment does); ``None`` when no position can be written twice."""
    raws = [_raw(a) for a in arrays]
    xp = xp_of(_raw(x))
    if not any(xp.isdtype(a.dtype, "integral") for a in raws if E.is_array(a)):
        return None
    shape = tuple(x.shape)
    size = 1
    for n in shape:
        size *= n
    ids = xp.reshape(xp.arange(size, **device_kw(_raw(x))), shape)
    pos = gather(xp, ids, template, raws)  # (decomposed where the library refuses the key)
    slot = tuple(pos.shape)
    flat = xp.reshape(pos, (-1,))
    if flat.shape[0] < 2:
        return None
    order = xp.argsort(flat, stable=True)  # equal positions keep their write order
    last = xp.searchsorted(xp.take(flat, order), xp.take(flat, order), side="right") - 1
    rank = xp.argsort(order)
    return xp.reshape(xp.take(order, xp.take(last, rank)), slot)


def _last_writes(x: Any, v: Any, template: tuple, arrays: Any) -> Any:
    """``v`` as written: each slot holds the value of the write that wins its position,
    so any backend's handling of repeated indices gives the same result."""
    src = _winners(x, template, arrays)
    if src is None:
        return v
    xp = xp_of(x)
    slot = tuple(src.shape)
    v = xp.asarray(_cast(x, v), dtype=x.dtype, **device_kw(_raw(x)))  # (a number: x's device)
    vals = xp.reshape(xp.broadcast_to(v, slot), (-1,))
    return xp.reshape(xp.take(vals, xp.reshape(src, (-1,))), slot)


def _index_update_impl(x: Any, v: Any, *arrays: Any, template: tuple) -> Any:
    return _updated(x, join_key(template, arrays), _last_writes(x, v, template, arrays))


index_update_p = primitive("index_update", _index_update_impl, export_as=False)


def index_update(x: Any, key: Any, v: Any) -> Any:
    """``x`` with ``x[key]`` replaced by ``v``, differentiable in ``x`` and ``v``.

    >>> import numpy as np, xpgrad
    >>> from xpgrad.api.buffer import index_update
    >>> index_update(np.zeros(3), 1, 5.0)
    array([0., 5., 0.])
    """
    template, arrays = split_key(key)
    return index_update_p(x, v, *arrays, template=template)


F.index_update = index_update  # what a tracer's ``x[key] = v`` calls


def _index_update_jvp(primals: list, tangents: list, template: tuple) -> tuple:
    x, v, *arrays = primals
    tx, tv = tangents[0], tangents[1]
    out = index_update_p(x, v, *arrays, template=template)
    if tx is None and tv is None:
        return out, None
    if tx is None:
        tx = F.zeros_like(x)
    if tv is None:
        tv = 0  # the written entries do not move
    return out, index_update_p(tx, tv, *arrays, template=template)


def _index_update_vjp(primals: list, needs: list, template: tuple) -> tuple:
    x, v, *arrays = primals
    nx, nv = needs[0], needs[1]

    def index_update_pullback(ct: Any) -> tuple:
        # x's entries at key were overwritten: they get no cotangent
        gx = index_update_p(ct, 0, *arrays, template=template) if nx else None
        gv = None
        if nv:
            gv = getitem_p(ct, *arrays, template=template)
            src = _winners(x, template, tuple(arrays))
            if src is not None:  # a repeated position: only the winning write gets ct
                xp = xp_of(src)
                flat = xp.reshape(src, (-1,))
                won = xp.reshape(flat == xp.arange(flat.shape[0], **device_kw(src)), src.shape)
                gv = F.multiply(gv, xp.astype(won, _raw(ct).dtype))
            gv = unbroadcast(gv, v)
        return (gx, gv) + (None,) * len(arrays)

    return index_update_p(x, v, *arrays, template=template), index_update_pullback


def _raw(x: Any) -> Any:
    while isinstance(x, Tracer):
        x = x._value
    return x


def _index_update_batch(args: list, batched: list, template: tuple) -> tuple:
    x, v, *arrays = args
    if any(batched[2:]):
        raise NotImplementedError(
            "xpgrad: vmap over the index arrays of a Buffer write is not supported yet"
        )
    pos = [i for i, k in enumerate(template) if k is ARRAY]
    if len(pos) > 1 and pos != list(range(pos[0], pos[0] + len(pos))):
        raise NotImplementedError(
            "xpgrad: vmap of a Buffer write with separated array indices is not supported; "
            "write with one array index or with slices"
        )
    bt = (slice(None),) + template
    if not batched[0]:
        n = v.shape[0]
        x = F.broadcast_to(F.expand_dims(x, axis=0), (n,) + tuple(x.shape))
    raws = [_raw(a) for a in arrays]
    try:  # (gather: array-api-strict takes a boolean mask only as the sole index)
        slot = gather(xp_of(_raw(x)), _raw(x), bt, raws)
    except IndexError:
        # array-api-strict allows no slice beside integer arrays (the standard's
        # rule): index the batch axis with arange(B) instead
        if not (raws and all(k is ARRAY for k in template)):
            raise
        xp = xp_of(raws[0])
        top = max(len(a.shape) for a in raws)
        b = x.shape[0]
        iota = xp.reshape(
            xp.arange(b, dtype=raws[0].dtype, **device_kw(raws[0])), (b,) + (1,) * top
        )
        arrays, raws = [iota, *arrays], [iota, *raws]
        bt = (ARRAY,) + template
        slot = _raw(x)[join_key(bt, raws)]
    if batched[1]:
        slot_nd = len(slot.shape) - 1
        vnd = len(v.shape) - 1
        if vnd < slot_nd:  # line the batch axis of v up with the slot's
            v = F.reshape(v, (v.shape[0],) + (1,) * (slot_nd - vnd) + tuple(v.shape[1:]))
    return index_update_p(x, v, *arrays, template=bt), True


def _index_update_samples(make: Any) -> list:
    return [
        ((make((4, 3)), make((3,))), {"template": (1, Ellipsis)}),
        ((make((4, 3)), make((2, 3))), {"template": (slice(1, 3), Ellipsis)}),
        ((make((4, 3)), make((4,))), {"template": (slice(None), 0)}),
        ((make((4, 3)), make(())), {"template": (Ellipsis, 2)}),
        # a repeated position: the last write wins, in every mode
        # (one integer array: array-api-strict allows no slice beside it, Dask no
        # second array)
        ((make((4,)), make((3,)), make.xp.asarray([0, 2, 0])), {"template": (ARRAY,)}),
        ((make((4,)), make(()), make.xp.asarray([1, 1])), {"template": (ARRAY,)}),
    ]


defrule(
    index_update_p,
    jvp=_index_update_jvp,
    vjp=_index_update_vjp,
    batch=_index_update_batch,
    samples=_index_update_samples,
)


# -- the Buffer ------------------------------------------------------------------


class Buffer:
    """An array-like you can write into (``buf[key] = v``) inside differentiated code.

    ``Buffer(like, *shape)`` is a zero-filled buffer with ``like``'s dtype and
    backend and the given shape (Julia's ``similar``; ``Buffer(x, (3, 5))``
    works too); ``Buffer(array)`` starts as a copy of ``array``. Reads
    (``buf[key]``) and writes are differentiated, through every write.
    ``buf.copy()`` (or ``copy.copy(buf)``) returns the contents as an array of
    the backend and freezes the buffer: later writes raise. A Buffer is not an
    array: use the copy for arithmetic and linear algebra.

    A write whose integer-array key names one position several times keeps the
    last of those writes (in C order of the key, NumPy's assignment), on every
    backend, and every mode agrees: only the winning value gets a derivative.
    ``buf[np.array([0, 0])] = v`` holds ``v[1]`` at position 0.

    Parameters
    ----------
    like : array
        Gives the dtype and backend; with no ``shape``, also the shape and the
        initial contents.
    *shape : int or tuple of int
        The shape of a zero-filled buffer.

    See Also
    --------
    checkpointed : Another way to save memory in differentiated loops.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> def vstack(xs):
    ...     buf = xpgrad.Buffer(xs, xs.shape[0], 5)
    ...     for i in range(5):
    ...         buf[:, i] = xs
    ...     return buf.copy()
    >>> vstack(np.array([1, 2, 3]))[0]
    array([1, 1, 1, 1, 1])
    >>> xpgrad.gradient(lambda x: np.sum(vstack(x)), np.array([1.0, 2.0, 3.0]))
    (array([5., 5., 5.]),)
    """

    __slots__ = ("_data", "_frozen", "_own")

    def __init__(self, like: Any, *shape: Any):
        from .params import unbox

        like = unbox(like)
        if not E.is_array(like):
            raise TypeError(
                f"xpgrad.Buffer: the first argument must be an array (whose dtype and "
                f"backend the buffer takes), got {type(like).__name__}"
            )
        xp = E.backend_xp(like)
        if shape:
            if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
                shape = tuple(shape[0])
            if not all(type(s) is int and s >= 0 for s in shape):
                raise TypeError(
                    f"xpgrad.Buffer: the shape must be non-negative ints, got {shape!r}"
                )
            self._data = xp.zeros(tuple(shape), dtype=like.dtype, **device_kw(like))
        elif isinstance(like, Tracer):
            self._data = like  # writes build new values; like itself is never changed
        else:
            self._data = xp.asarray(like, copy=True)
        # whether _data is an array that only this buffer can see (then write in place)
        self._own = not isinstance(self._data, Tracer)
        self._frozen = False

    @property
    def shape(self) -> tuple:
        return tuple(self._data.shape)

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def __len__(self) -> int:
        return self._data.shape[0]

    def __getitem__(self, key: Any) -> Any:
        self._own = False  # the result may be a view of our array
        return self._data[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        from .params import unbox

        if self._frozen:
            raise RuntimeError(
                "xpgrad.Buffer: this buffer was frozen by copy(); its contents now belong "
                "to the copied array. Make a new Buffer to write more."
            )
        value = unbox(value)
        data = self._data
        E.common_xp([data, value])  # one backend (a clear TypeError otherwise)
        template, arrays = split_key(key)
        if (
            self._own
            and not isinstance(value, Tracer)
            and not any(isinstance(a, Tracer) for a in arrays)
            and backends.capabilities(data)["inplace"]
        ):
            written = _cast(data, _last_writes(data, value, template, arrays))
            try:
                data[join_key(template, arrays)] = written
                return
            except IndexError:  # array-api-strict writes no integer-array keys
                pass
        self._data = index_update_p(data, value, *arrays, template=template)
        self._own = not isinstance(self._data, Tracer)  # a fresh array from the impl

    def copy(self) -> Any:
        """The contents as an array of the backend; the buffer is frozen from now on."""
        self._frozen = True
        self._own = False
        return self._data

    __copy__ = copy

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("xpgrad.Buffer is not an array; take its contents with buf.copy() first")

    def __repr__(self) -> str:
        state = ", frozen" if self._frozen else ""
        return f"Buffer(shape={self.shape}, dtype={self.dtype}{state})"
