"""Repetition: ``tile`` and ``repeat``, linear; their transposes sum the copies.

``tile`` and ``repeat`` with an integer count are transposed by a reshape that
puts the copies on an axis of their own, then a sum over it. ``repeat`` with an
array of counts makes segments of varying length, so its transpose is a
segment sum: a scatter-add of the cotangent by segment id.
"""

from __future__ import annotations

import operator
from typing import Any

from .._core.arrays import device_of, size_of
from .._core.arrays import raw as _raw
from .._core.trace import Tracer
from ._axes import shift_axis
from ._registry import (
    F,
    defrule,
    export,
    linear,
    patterns,
    primitive,
    project,
    xp_of,
)
from .indexing import ARRAY, scatter_add_p

__all__ = ["repeat", "tile"]


# -- tile ----------------------------------------------------------------------------
def _tile_transpose(ct: Any, x: Any, repetitions: tuple) -> Any:
    shape = tuple(x.shape)
    k = max(len(repetitions), len(shape))
    s = (1,) * (k - len(shape)) + shape
    r = (1,) * (k - len(repetitions)) + tuple(repetitions)
    # out[i * s + j] along each axis is copy i of x[j]: C order makes that (i, j)
    split = tuple(d for pair in zip(r, s) for d in pair)
    g = F.sum(F.reshape(ct, split), axis=tuple(range(0, 2 * k, 2)))
    return F.reshape(g, shape)


def _tile_batch(args: list, batched: list, repetitions: tuple) -> tuple:
    x = args[0]
    shape = tuple(x.shape[1:])
    k = max(len(repetitions), len(shape))
    # the logical array gains leading ones after the batch axis, not before it
    x = F.reshape(x, (x.shape[0],) + (1,) * (k - len(shape)) + shape)
    reps = (1,) + (1,) * (k - len(repetitions)) + tuple(repetitions)
    return tile_p(x, repetitions=reps), True


tile_p = linear(
    "tile",
    _tile_transpose,
    impl=lambda x, repetitions: xp_of(x).tile(x, repetitions),
    batch=_tile_batch,
    samples=lambda make: [
        ((make((3,)),), {"repetitions": (2,)}),
        ((make((2, 3)),), {"repetitions": (2, 1)}),
        ((make((2, 3)),), {"repetitions": (2,)}),  # fewer repetitions than axes
        ((make((3,)),), {"repetitions": (2, 1, 2)}),  # more repetitions than axes
    ],
)
defrule(tile_p, pattern=patterns.movement(tile_p))


def tile(x: Any, repetitions: tuple, /) -> Any:
    """``xp.tile`` (linear; its transpose sums the tiles)."""
    return tile_p(x, repetitions=tuple(repetitions))


# -- repeat --------------------------------------------------------------------------
def _repeat_impl(x: Any, *arrays: Any, repeats: int | None = None, axis: int | None = None) -> Any:
    xp = xp_of(x)
    if axis is None:  # the standard's meaning, spelled out for backends without it (Dask)
        x, axis = xp.reshape(x, (-1,)), 0
    return xp.repeat(x, arrays[0] if arrays else repeats, axis=axis)


repeat_p = primitive("repeat", _repeat_impl, export_as=False)


def repeat(x: Any, repeats: Any, /, *, axis: int | None = None) -> Any:
    """``xp.repeat`` (linear; its transpose sums each element's copies).

    ``repeats`` is an int or an integer array; an array is an argument of the
    primitive (so traced counts work), an int a static parameter.
    """
    if isinstance(repeats, Tracer) or getattr(repeats, "ndim", 0) >= 1:
        return repeat_p(x, repeats, axis=axis)
    try:
        count = operator.index(repeats)
    except TypeError:
        raise TypeError(
            f"repeat: repeats must be an int or an integer array, got {type(repeats).__name__}"
        ) from None
    return repeat_p(x, repeats=count, axis=axis)


def _repeat_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    x, *counts = primals
    out = repeat_p(x, *counts, **params)
    if tangents[0] is None:  # only the (integer) counts were traced
        return out, None
    return out, repeat_p(tangents[0], *counts, **params)


def _segment_sum(ct: Any, counts: Any, n: int, axis: int, shape: tuple) -> Any:
    """``out[..., i, ...] = sum of ct's entries of segment i`` along ``axis``."""
    raw = _raw(ct)
    xp = xp_of(raw)
    ids = repeat_p(xp.arange(n, device=device_of(raw)), counts, axis=0)
    return scatter_add_p(ct, ids, template=(slice(None),) * axis + (ARRAY, Ellipsis), shape=shape)


def _repeat_vjp(
    primals: list, needs: list, repeats: int | None = None, axis: int | None = None
) -> tuple:
    x, *counts = primals
    shape = tuple(x.shape)
    out = repeat_p(x, *counts, repeats=repeats, axis=axis)
    # axis=None repeats the flattened array
    flat = (size_of(shape),) if axis is None else shape
    ax = 0 if axis is None else axis % len(shape)

    def repeat_pullback(ct: Any) -> tuple:
        if counts:
            g = _segment_sum(ct, counts[0], flat[ax], ax, flat)
        else:  # every element repeated `repeats` times: the copies get their own axis
            split = flat[:ax] + (flat[ax], repeats) + flat[ax + 1 :]
            g = F.sum(F.reshape(ct, split), axis=ax + 1)
        return (project(F.reshape(g, shape) if axis is None else g, x),) + (None,) * len(counts)

    return out, repeat_pullback


def _repeat_batch(
    args: list, batched: list, repeats: int | None = None, axis: int | None = None
) -> tuple:
    x, *counts = args
    if any(batched[1:]) or not batched[0]:
        raise NotImplementedError(
            "xpgrad: vmap over the counts of xp.repeat is not supported: each batch "
            "element would have a different length. Use an int or the same counts for "
            "the whole batch (pass them with in_axes=None)."
        )
    if axis is None:  # repeat the flattened logical array, one row per batch element
        x = F.reshape(x, (x.shape[0], -1))
        return repeat_p(x, *counts, repeats=repeats, axis=1), True
    return repeat_p(x, *counts, repeats=repeats, axis=shift_axis(axis)), True


def _repeat_samples(make: Any) -> list:
    return [
        ((make((2, 3)),), {"repeats": 2}),
        ((make((2, 3)),), {"repeats": 3, "axis": 1}),
        ((make((2, 3)),), {"repeats": 2, "axis": -2}),
        ((make((2, 3)), make.int((3,), 0, 3)), {"axis": 1}),
        ((make((4,)), make.int((4,), 0, 4)), {"axis": 0}),
        ((make((2, 2)), make.int((4,), 1, 3)), {}),
    ]


defrule(
    repeat_p,
    jvp=_repeat_jvp,
    vjp=_repeat_vjp,
    batch=_repeat_batch,
    pattern=patterns.movement(repeat_p),
    samples=_repeat_samples,
)
export("tile", tile)
export("repeat", repeat)

from ._registry import complex_ok  # noqa: E402

# Defined on complex inputs by the standard: conformance checks them on complex128 too.
complex_ok("tile", "repeat")
