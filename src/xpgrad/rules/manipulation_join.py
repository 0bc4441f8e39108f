"""Joining and splitting: ``concat``, ``stack`` and ``unstack``.

Each array of a list is its own positional argument of the primitive
(``concat_p(a, b, axis=0)``), so every transformation sees each of them; the
exported functions take the standard's list. All three are linear: ``concat``
is transposed by slicing, ``stack`` and ``unstack`` by each other.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import size_of
from ._axes import shift_axis
from ._registry import (
    F,
    defrule,
    export,
    patterns,
    primitive,
    project,
    xp_of,
)

__all__ = ["batch_all", "concat", "stack", "unstack"]


def batch_all(args: list, batched: list) -> list:
    """Every argument with a leading batch axis: unbatched ones are broadcast to it."""
    size = next(a.shape[0] for a, b in zip(args, batched) if b)
    return [
        a if b else F.broadcast_to(F.reshape(a, (1,) + tuple(a.shape)), (size,) + tuple(a.shape))
        for a, b in zip(args, batched)
    ]


def _tangents_or_zeros(primals: list, tangents: list) -> list:
    # a constant part of a joined array has a zero tangent in its place
    return [F.zeros_like(p) if t is None else t for p, t in zip(primals, tangents)]


# -- concat ------------------------------------------------------------------------
def _concat_impl(*arrays: Any, axis: int | None = 0) -> Any:
    return xp_of(*arrays).concat(list(arrays), axis=axis)


concat_p = primitive("concat", _concat_impl, export_as=False)


def concat(arrays: tuple | list, /, *, axis: int | None = 0) -> Any:
    """``xp.concat`` (linear; its transpose slices the cotangent back into pieces)."""
    return concat_p(*arrays, axis=axis)


def _concat_jvp(primals: list, tangents: list, axis: Any = 0) -> tuple:
    out = concat_p(*primals, axis=axis)
    return out, concat_p(*_tangents_or_zeros(primals, tangents), axis=axis)


def _concat_vjp(primals: list, needs: list, axis: Any = 0) -> tuple:
    shapes = [tuple(p.shape) for p in primals]
    out = concat_p(*primals, axis=axis)
    likes = _promoted(primals, out)
    if axis is None:
        ax = 0
        sizes = [size_of(s) for s in shapes]
    else:
        ax = axis % len(shapes[0])
        sizes = [s[ax] for s in shapes]

    def concat_pullback(ct: Any) -> tuple:
        cts = []
        start = 0
        for need, n, shape, like in zip(needs, sizes, shapes, likes):
            if need:
                g = ct[(slice(None),) * ax + (slice(start, start + n), Ellipsis)]
                if axis is None:
                    g = F.reshape(g, shape)
                cts.append(_back(g, like))
            else:
                cts.append(None)
            start += n
        return tuple(cts)

    return out, concat_pullback


def _concat_batch(args: list, batched: list, axis: Any = 0) -> tuple:
    args = batch_all(args, batched)
    if axis is None:  # flatten each logical array, keep the batch axis
        return concat_p(*(F.reshape(a, (a.shape[0], -1)) for a in args), axis=1), True
    return concat_p(*args, axis=shift_axis(axis)), True


def _promoted(primals: list, out: Any) -> list:
    # inputs whose dtype the join promoted: their cotangents are cast back (kept
    # alive only for that; the others are not captured)
    return [p if p.dtype != out.dtype else None for p in primals]


def _back(g: Any, like: Any) -> Any:
    return g if like is None else project(g, like)


# -- stack and unstack --------------------------------------------------------------
def _stack_impl(*arrays: Any, axis: int = 0) -> Any:
    return xp_of(*arrays).stack(list(arrays), axis=axis)


stack_p = primitive("stack", _stack_impl, export_as=False)
unstack_p = primitive("unstack", multiple_results=True, export_as=False)


def stack(arrays: tuple | list, /, *, axis: int = 0) -> Any:
    """``xp.stack`` (linear; transposed by ``unstack``)."""
    return stack_p(*arrays, axis=axis)


def unstack(x: Any, /, *, axis: int = 0) -> tuple:
    """``xp.unstack`` (linear; transposed by ``stack``)."""
    return unstack_p(x, axis=axis)


def _stack_jvp(primals: list, tangents: list, axis: int = 0) -> tuple:
    out = stack_p(*primals, axis=axis)
    return out, stack_p(*_tangents_or_zeros(primals, tangents), axis=axis)


def _stack_vjp(primals: list, needs: list, axis: int = 0) -> tuple:
    out = stack_p(*primals, axis=axis)
    likes = _promoted(primals, out)

    def stack_pullback(ct: Any) -> tuple:
        parts = unstack_p(ct, axis=axis)
        return tuple(_back(g, like) if need else None for g, need, like in zip(parts, needs, likes))

    return out, stack_pullback


def _stack_batch(args: list, batched: list, axis: int = 0) -> tuple:
    # a negative axis counts from the end of the output, which the batch axis leaves alone
    return stack_p(*batch_all(args, batched), axis=shift_axis(axis)), True


def _unstack_jvp(primals: list, tangents: list, axis: int = 0) -> tuple:
    return unstack_p(primals[0], axis=axis), unstack_p(tangents[0], axis=axis)


def _unstack_vjp(primals: list, needs: list, axis: int = 0) -> tuple:
    x = primals[0]
    outs = unstack_p(x, axis=axis)

    def unstack_pullback(cts: list) -> tuple:
        some = next(c for c in cts if c is not None)
        zero = None
        full = []
        for c in cts:
            if c is None:  # an output nobody used: its cotangent is zero
                zero = F.zeros_like(some) if zero is None else zero
                c = zero
            full.append(c)
        return (stack_p(*full, axis=axis),)

    return outs, unstack_pullback


def _unstack_batch(args: list, batched: list, axis: int = 0) -> tuple:
    return unstack_p(args[0], axis=shift_axis(axis)), True


def _join_samples(make: Any) -> list:
    return [
        ((make((2, 3)), make((1, 3))), {}),
        ((make((2, 3)), make((2, 1)), make((2, 2))), {"axis": -1}),
        ((make((3,)), make((2, 2))), {"axis": None}),
        ((make(()),), {"axis": None}),
    ]


def _stack_samples(make: Any) -> list:
    return [
        ((make((3,)), make((3,))), {}),
        ((make((2, 3)), make((2, 3)), make((2, 3))), {"axis": 1}),
        ((make((2, 3)), make((2, 3))), {"axis": -1}),
        ((make(()), make(())), {}),
    ]


def _unstack_samples(make: Any) -> list:
    return [
        ((make((2, 3)),), {}),
        ((make((2, 3)),), {"axis": -1}),
        ((make((2, 3, 2)),), {"axis": 1}),
    ]


defrule(
    concat_p,
    jvp=_concat_jvp,
    vjp=_concat_vjp,
    batch=_concat_batch,
    pattern=patterns.movement(concat_p, data="all"),
    samples=_join_samples,
)
defrule(
    stack_p,
    jvp=_stack_jvp,
    vjp=_stack_vjp,
    batch=_stack_batch,
    pattern=patterns.movement(stack_p, data="all"),
    samples=_stack_samples,
)
defrule(
    unstack_p,
    jvp=_unstack_jvp,
    vjp=_unstack_vjp,
    batch=_unstack_batch,
    pattern=patterns.movement(unstack_p),
    samples=_unstack_samples,
)
for _fn in (concat, stack, unstack):
    export(_fn.__name__, _fn)

from ._registry import complex_ok  # noqa: E402

# Defined on complex inputs by the standard: conformance checks them on complex128 too.
complex_ok("concat", "stack", "unstack")
