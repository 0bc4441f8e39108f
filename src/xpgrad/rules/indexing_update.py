"""``x`` with ``x[key] = v``: the index update behind ``Buffer`` writes and ``x[key] = v``.

``index_update`` is a primitive like ``getitem``, differentiable in ``x`` and
``v``: the written entries of ``x`` get no cotangent, ``v`` gets the cotangent
at ``key`` (summed over broadcast axes). With repeated integer indices the
last write wins, in C order of the key, as NumPy's assignment does, and every
mode agrees: only the winning value gets a derivative. A tracer's
``x[key] = v`` calls it (``F.index_update``) and rebinds the tracer.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.arrays import device_kw
from .._core.arrays import raw as _raw
from ._indexkeys import _UNSUPPORTED, gather
from ._registry import (
    F,
    defrule,
    is_scalar,
    patterns,
    primitive,
    unbroadcast,
    xp_of,
)
from .indexing import ARRAY, getitem_p, join_key, split_key

__all__ = ["index_update", "index_update_p", "write"]


def _is_array(x: Any) -> bool:
    return x is not None and not is_scalar(x) and hasattr(x, "shape") and hasattr(x, "dtype")


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
    if _is_array(v) and v.dtype != x.dtype:
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
    if not any(xp.isdtype(a.dtype, "integral") for a in raws if _is_array(a)):
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
    >>> from xpgrad.rules.indexing_update import index_update
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
    pattern=patterns.movement(index_update_p, data=(0, 1)),  # x's survivors and v's writes
    samples=_index_update_samples,
)
