"""Indexing: ``x[key]`` and its transpose, a scatter-add into zeros.

A key is split into a static template (ints, slices, ``None``, ``...``) and its
array parts (integer or boolean arrays), which are passed to the primitive as
arguments so that every transformation sees them.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.trace import Tracer
from ._registry import F, defrule, is_scalar, primitive, xp_of


class _Slot:
    """Marks where an array part of a key goes back into the template."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<array>"


ARRAY = _Slot()


def split_key(key: Any) -> tuple[tuple, list]:
    if not isinstance(key, tuple):
        key = (key,)
    template = []
    arrays = []
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, (slice, int)):
            template.append(k)
        elif isinstance(k, Tracer) and k.ndim == 0 and _is_int_dtype(k):
            try:
                template.append(k.__index__())
            except TypeError:  # batched: keep it as an array index
                template.append(ARRAY)
                arrays.append(k)
        elif hasattr(k, "shape") and hasattr(k, "dtype"):
            template.append(ARRAY)
            arrays.append(k)
        elif isinstance(k, (list, tuple)):
            raise IndexError(
                "xpgrad: index with an array, not a Python list (the Array API has no "
                "list indexing); wrap it as xp.asarray([...])"
            )
        else:
            template.append(k.__index__())
    return tuple(template), arrays


def _is_int_dtype(x: Any) -> bool:
    try:
        return xp_of(_raw(x)).isdtype(x.dtype, "integral")
    except Exception:
        return False


def _raw(x: Any) -> Any:
    while isinstance(x, Tracer):
        x = x._value
    return x


def join_key(template: tuple, arrays: Any) -> tuple:
    it = iter(arrays)
    return tuple(next(it) if k is ARRAY else k for k in template)


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` for a traced ``x`` (the namespace's entry for ``__getitem__``)."""
    template, arrays = split_key(key)
    return getitem_p(x, *arrays, template=template)


def _getitem_impl(x: Any, *arrays: Any, template: tuple) -> Any:
    return x[join_key(template, arrays)]


getitem_p = primitive("getitem", _getitem_impl, export_as=False)


def _scatter_impl(ct: Any, *arrays: Any, template: tuple, shape: tuple) -> Any:
    """zeros(shape) with ``ct`` added at ``key`` (repeated indices accumulate)."""
    key = join_key(template, arrays)
    xp = xp_of(ct)
    z = xp.zeros(shape, dtype=ct.dtype, device=getattr(ct, "device", None)) \
        if not is_scalar(ct) else xp.zeros(shape)
    if any(not _is_bool(a) for a in arrays):
        fn = backends.hook(z, "scatter_add")
        if fn is not None:
            return fn(xp, z, key, ct)
        return _scatter_add_generic(xp, z, key, ct)
    setter = backends.hook(z, "index_update")
    if setter is not None:
        return setter(xp, z, key, ct)
    z[key] = ct
    return z


def _is_bool(a: Any) -> bool:
    return xp_of(a).isdtype(a.dtype, "bool")


def _scatter_add_generic(xp: Any, z: Any, key: tuple, ct: Any) -> Any:
    """Scatter-add in the standard alone: a one-hot matrix product over flat indices."""
    size = 1
    for s in z.shape:
        size *= s
    flat = xp.reshape(xp.arange(size), z.shape)[key]
    flat = xp.reshape(flat, (-1,))
    onehot = xp.astype(flat[:, None] == xp.arange(size)[None, :], ct.dtype)
    vals = xp.reshape(ct, (1, -1))
    return xp.reshape(vals @ onehot, z.shape)


scatter_add_p = primitive("scatter_add", _scatter_impl, export_as=False)


def _getitem_jvp(primals: list, tangents: list, template: tuple) -> tuple:
    x, *arrays = primals
    return getitem_p(x, *arrays, template=template), getitem_p(
        tangents[0], *arrays, template=template
    )


def _getitem_vjp(primals: list, needs: list, template: tuple) -> tuple:
    x, *arrays = primals
    shape = tuple(x.shape)

    def getitem_pullback(ct: Any) -> tuple:
        return (scatter_add_p(ct, *arrays, template=template, shape=shape),) + (None,) * len(
            arrays
        )

    return getitem_p(x, *arrays, template=template), getitem_pullback


def _scatter_jvp(primals: list, tangents: list, template: tuple, shape: tuple) -> tuple:
    ct, *arrays = primals
    return scatter_add_p(ct, *arrays, template=template, shape=shape), scatter_add_p(
        tangents[0], *arrays, template=template, shape=shape
    )


def _scatter_vjp(primals: list, needs: list, template: tuple, shape: tuple) -> tuple:
    ct, *arrays = primals

    def scatter_add_pullback(g: Any) -> tuple:
        return (getitem_p(g, *arrays, template=template),) + (None,) * len(arrays)

    return scatter_add_p(ct, *arrays, template=template, shape=shape), scatter_add_pullback


def _advanced_positions(template: tuple) -> list[int]:
    return [i for i, k in enumerate(template) if k is ARRAY]


def _getitem_batch(args: list, batched: list, template: tuple) -> tuple:
    x, *arrays = args
    if any(batched[1:]):
        raise NotImplementedError(
            "xpgrad: vmap over the index arrays of x[...] is not supported yet; "
            "use xp.take / xp.take_along_axis"
        )
    pos = _advanced_positions(template)
    out = getitem_p(x, *arrays, template=(slice(None),) + template)
    if len(pos) > 1 and pos != list(range(pos[0], pos[0] + len(pos))):
        # separated advanced indices: their broadcast dims went first, before the batch axis
        nd = len(arrays[0].shape)
        out = F.moveaxis(out, nd, 0)
    return out, True


def _scatter_batch(args: list, batched: list, template: tuple, shape: tuple) -> tuple:
    ct, *arrays = args
    if any(batched[1:]):
        raise NotImplementedError("xpgrad: vmap over scatter indices is not supported yet")
    b = ct.shape[0]
    pos = _advanced_positions(template)
    if len(pos) > 1 and pos != list(range(pos[0], pos[0] + len(pos))):
        nd = len(arrays[0].shape)
        ct = F.moveaxis(ct, 0, nd)
    return scatter_add_p(ct, *arrays, template=(slice(None),) + template, shape=(b,) + shape), True


def _getitem_samples(make: Any) -> list:
    x = make((4, 3))
    return [
        ((x,), {"template": (1, Ellipsis)}),
        ((x,), {"template": (slice(1, 3), slice(None, None, 2))}),
        ((x,), {"template": (Ellipsis, None, 0)}),
        ((make((5,)),), {"template": (slice(None, None, -1),)}),
    ]


defrule(getitem_p, jvp=_getitem_jvp, vjp=_getitem_vjp, batch=_getitem_batch,
        samples=_getitem_samples)
defrule(scatter_add_p, jvp=_scatter_jvp, vjp=_scatter_vjp, batch=_scatter_batch,
        samples=lambda make: [((make((2, 3)),), {"template": (slice(1, 3), Ellipsis),
                                                  "shape": (4, 3)})])
