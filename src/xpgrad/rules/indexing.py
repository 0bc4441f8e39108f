"""Indexing: ``x[key]`` and its transpose, a scatter-add (``take`` is in ``indexing_take``).

``getitem`` takes the key's arrays as arguments (see :mod:`._indexkeys`); its
pullback is ``scatter_add`` into zeros, where repeated integer indices
accumulate, and the pullback of ``scatter_add`` is ``getitem`` again, so every
order of derivative comes from these two primitives.

Batching: a batched ``x`` gets a leading ``:`` in the key. Batched index arrays
(``vmap`` over indices) get a leading ``arange(B)`` index for the batch axis
instead, broadcast against them, so each batch element picks from its own row.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.arrays import raw
from .._core.staging import SPECIALISE
from ._indexkeys import ARRAY, full, gather, join_key, metas_of, plan, scatter, split_key
from ._registry import (
    F,
    complex_ok,
    defrule,
    patterns,
    primitive,
    xp_of,
)

__all__ = ["getitem", "getitem_p", "scatter_add_p", "ARRAY", "split_key", "join_key"]


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` for a traced ``x`` (the namespace's entry for ``__getitem__``)."""
    template, arrays = split_key(key)
    return getitem_p(x, *arrays, template=template)


def _getitem_impl(x: Any, *arrays: Any, template: tuple) -> Any:
    return gather(xp_of(x), x, template, list(arrays))


def _scatter_impl(ct: Any, *arrays: Any, template: tuple, shape: tuple) -> Any:
    """zeros(shape) with ``ct`` added at ``key`` (repeated indices accumulate)."""
    return scatter(xp_of(ct), ct, template, list(arrays), tuple(shape))


getitem_p = primitive("getitem", _getitem_impl, export_as=False)
scatter_add_p = primitive("scatter_add", _scatter_impl, export_as=False)
F.getitem = getitem  # what a tracer's ``x[key]`` calls (not a name of the standard)


def _specialise_getitem(vals: list, params: dict) -> Any:
    """In a staged program (jit), a basic key is the backend's own ``x[key]``.

    That is what ``gather`` ends in for a key without arrays or negative steps,
    minus the key analysis it repeats on every call.
    """
    template = params["template"]
    if len(vals) != 1 or backends.hook(vals[0], "getitem") is not None:
        return None
    if any(type(k) is slice and k.step is not None and k.step < 0 for k in template):
        return None
    return index, {"key": full(template)}


def index(x: Any, key: tuple) -> Any:
    """``x[key]`` for a basic key (a staged program's getitem)."""
    return x[key]


SPECIALISE["getitem"] = _specialise_getitem


def _getitem_jvp(primals: list, tangents: list, template: tuple) -> tuple:
    x, *arrays = primals
    return (
        getitem_p(x, *arrays, template=template),
        getitem_p(tangents[0], *arrays, template=template),
    )


def _getitem_vjp(primals: list, needs: list, template: tuple) -> tuple:
    x, *arrays = primals
    shape = tuple(x.shape)

    def getitem_pullback(ct: Any) -> tuple:
        g = scatter_add_p(ct, *arrays, template=template, shape=shape)
        return (g,) + (None,) * len(arrays)

    return getitem_p(x, *arrays, template=template), getitem_pullback


def _scatter_jvp(primals: list, tangents: list, template: tuple, shape: tuple) -> tuple:
    ct, *arrays = primals
    return (
        scatter_add_p(ct, *arrays, template=template, shape=shape),
        scatter_add_p(tangents[0], *arrays, template=template, shape=shape),
    )


def _scatter_vjp(primals: list, needs: list, template: tuple, shape: tuple) -> tuple:
    ct, *arrays = primals

    def scatter_add_pullback(g: Any) -> tuple:
        return (getitem_p(g, *arrays, template=template),) + (None,) * len(arrays)

    return scatter_add_p(ct, *arrays, template=template, shape=shape), scatter_add_pullback


# -- batching ----------------------------------------------------------------------


def _move_block(x: Any, start: int, n: int, dest: int) -> Any:
    """Move axes ``start .. start+n-1`` of ``x`` so that they begin at ``dest``."""
    axes = list(range(len(x.shape)))
    block = axes[start : start + n]
    others = axes[:start] + axes[start + n :]
    perm = others[:dest] + block + others[dest:]
    return x if perm == axes else F.permute_dims(x, tuple(perm))


def _with_batch_index(arrays: list, batched: list, template: tuple, size: int) -> tuple:
    """The key with a leading ``arange(size)`` index and batched arrays aligned to it.

    Returns (template, arrays, logical template, logical array metas); the
    logical key's boolean masks become their ``nonzero`` integer arrays first.
    """
    t, arrs, bs = [], [], []
    it = iter(zip(arrays, batched))
    for k in template:
        if k is not ARRAY:
            t.append(k)
            continue
        a, b = next(it)
        if xp_of(raw(a)).isdtype(a.dtype, "bool"):
            if b:
                raise ValueError(
                    "xpgrad: vmap over a boolean mask index gives each batch element a "
                    "result of a different length. Use xp.where(mask, x, 0) instead."
                )
            for part in F.nonzero(a):
                t.append(ARRAY)
                arrs.append(part)
                bs.append(False)
        else:
            t.append(ARRAY)
            arrs.append(a)
            bs.append(b)
    nds = [len(a.shape) - 1 if b else len(a.shape) for a, b in zip(arrs, bs)]
    top = max(nds)
    aligned = [
        F.reshape(a, (a.shape[0],) + (1,) * (top - nd) + tuple(a.shape[1:]))
        if b and nd < top
        else a
        for a, b, nd in zip(arrs, bs, nds)
    ]
    ref = next(a for a, b in zip(arrs, bs) if b)
    xp = xp_of(raw(ref))
    iota = xp.reshape(xp.arange(size, dtype=xp.int64), (size,) + (1,) * top)
    return (ARRAY,) + tuple(t), [iota] + aligned, tuple(t), [(False, n) for n in nds]


def batch_size(args: list, batched: list) -> int:
    return next(a for a, b in zip(args, batched) if b).shape[0]


def getitem_batch(args: list, batched: list, template: tuple) -> tuple:
    x, *arrays = args
    if not any(batched[1:]):
        pl = plan(template, metas_of(arrays), len(x.shape) - 1)
        out = getitem_p(x, *arrays, template=(slice(None),) + template)
        if pl.has_adv and not pl.adjacent and pl.n_adv:
            out = _move_block(out, pl.n_adv, 1, 0)  # the advanced dims went before the batch axis
        return out, True
    size = batch_size(args, batched)
    new_t, new_a, logical_t, metas = _with_batch_index(arrays, batched[1:], template, size)
    shape = tuple(x.shape[1:]) if batched[0] else tuple(x.shape)
    if not batched[0]:
        x = F.broadcast_to(F.reshape(x, (1,) + shape), (size,) + shape)
    out = getitem_p(x, *new_a, template=new_t)  # (B, *index dims, *rest)
    pl = plan(logical_t, metas, len(shape))
    if pl.adjacent and pl.p:
        out = _move_block(out, 1, pl.n_adv, 1 + pl.p)
    return out, True


def _scatter_batch(args: list, batched: list, template: tuple, shape: tuple) -> tuple:
    ct, *arrays = args
    size = batch_size(args, batched)
    shape = tuple(shape)
    if not any(batched[1:]):
        pl = plan(template, metas_of(arrays), len(shape))
        if pl.has_adv and not pl.adjacent and pl.n_adv:
            ct = _move_block(ct, 0, 1, pl.n_adv)
        return scatter_add_p(
            ct, *arrays, template=(slice(None),) + template, shape=(size,) + shape
        ), True
    new_t, new_a, logical_t, metas = _with_batch_index(arrays, batched[1:], template, size)
    if not batched[0]:
        ct = F.broadcast_to(F.reshape(ct, (1,) + tuple(ct.shape)), (size,) + tuple(ct.shape))
    pl = plan(logical_t, metas, len(shape))
    if pl.adjacent and pl.p:
        ct = _move_block(ct, 1 + pl.p, pl.n_adv, 1)
    return scatter_add_p(ct, *new_a, template=new_t, shape=(size,) + shape), True


def _index_samples(make: Any) -> list:
    xp = xp_of(make((1,)))
    ints = lambda v: xp.asarray(v, dtype=xp.int64)  # noqa: E731
    x = make((4, 3))
    x3 = make((2, 3, 4))
    out = [
        ((x,), {"template": (1, Ellipsis)}),
        ((x,), {"template": (slice(1, 3), slice(None, None, 2))}),
        ((x,), {"template": (Ellipsis, None, 0)}),
        ((make((5,)),), {"template": (slice(None, None, -1),)}),
        ((x, ints([0, 0, 2])), {"template": (ARRAY,)}),  # repeated rows accumulate
        ((x, ints([[2, -1], [0, 2]])), {"template": (slice(None), ARRAY)}),
        ((x, ints([3, 0]), ints([1, 1])), {"template": (ARRAY, ARRAY)}),
        ((x3, ints([0, 1, 1]), ints([3, 0, 3])), {"template": (ARRAY, slice(None), ARRAY)}),
        ((x3, ints([2, 2])), {"template": (slice(None), 1, ARRAY)}),
        ((x3, ints([1, 0])), {"template": (None, slice(None), ARRAY, slice(None, None, -2))}),
    ]
    if backends.is_lazy(x):
        # Dask: a mask gives results of unknown (NaN) size, for which the checker
        # cannot draw probe directions; masks are checked on the eager backends
        return out
    return out + [
        ((x, xp.asarray([True, False, True, True])), {"template": (ARRAY,)}),
        (
            (x, xp.reshape(xp.asarray([True, False, False] * 2 + [False, True, True] * 2), (4, 3))),
            {"template": (ARRAY,)},
        ),
        ((x3, xp.asarray([True, False, True])), {"template": (slice(None), ARRAY, 0)}),
    ]


def _scatter_samples(make: Any) -> list:
    xp = xp_of(make((1,)))
    return [
        ((make((2, 3)),), {"template": (slice(1, 3), Ellipsis), "shape": (4, 3)}),
        ((make((2, 1)),), {"template": (slice(None), None, 0), "shape": (2, 3)}),
        (
            (make((4, 2)), xp.asarray([1, 1, 0, 1])),
            {"template": (ARRAY, slice(None)), "shape": (3, 2)},
        ),
    ]


defrule(
    getitem_p,
    jvp=_getitem_jvp,
    vjp=_getitem_vjp,
    batch=getitem_batch,
    pattern=patterns.movement(getitem_p),
    samples=_index_samples,
)


def _scatter_add_pattern(
    tr: Any, primals: list, pats: list, out: Any, *, template: tuple, shape: tuple
) -> Any:
    """``zeros(shape)`` with ``ct`` added at ``key``: each element of ``ct`` has one target."""
    ct, arrays = primals[0], primals[1:]
    size = patterns.size_of(tuple(shape))
    if any(q is not None for q in pats[1:]):
        return tr.dense(pats, size)
    consts = [tr.host_value(a) for a in arrays]
    if any(c is None for c in consts):
        return tr.dense(pats, size)
    xp = tr.xp
    target = getitem_p.impl(tr.ids(tuple(shape)), *consts, template=template)
    dest = xp.reshape(xp.broadcast_to(target, patterns.shape_of(ct)), (-1,))
    return tr.remap(pats[0], dest, size)


defrule(
    scatter_add_p,
    jvp=_scatter_jvp,
    vjp=_scatter_vjp,
    batch=_scatter_batch,
    pattern=_scatter_add_pattern,
    samples=_scatter_samples,
)


complex_ok(getitem_p, scatter_add_p)
