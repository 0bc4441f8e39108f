"""Linear algebra of vectors and diagonals: outer, cross, trace, diagonal.

``outer`` and ``cross`` are bilinear, ``trace`` and ``diagonal`` linear; their
pullbacks are transposes, and being holomorphic they hold for complex input
under the transpose convention. ``trace`` and ``diagonal`` put a cotangent back
on the ``offset`` diagonal with constant selection matrices.
"""

from __future__ import annotations

from typing import Any

from . import patterns_linalg as plinalg
from ._matrix import eye_like, linalg_impl, mT
from ._registry import (
    F,
    align_batched,
    bilinear_jvp,
    complex_ok,
    defrule,
    export,
    patterns,
    primitive,
    project,
    unbroadcast,
)
from .elementwise import multiply
from .linalg import _negative_axis, matmul

mm = matmul
mul = multiply


# -- outer ---------------------------------------------------------------------------------
outer_p = primitive("outer", linalg_impl("outer"), module="linalg", export_as=False)


def _outer_vjp(primals: list, needs: list) -> tuple:
    x, y = primals

    def outer_pullback(ct: Any) -> tuple:
        gx = project(mm(ct, y), x) if needs[0] else None
        gy = project(mm(x, ct), y) if needs[1] else None
        return gx, gy

    return outer_p(x, y), outer_pullback


def _outer_batch(args: list, batched: list) -> tuple:
    x, y = args
    return mul(F.expand_dims(x, axis=-1), F.expand_dims(y, axis=-2)), True


def outer(x1: Any, x2: Any, /) -> Any:
    """``xp.linalg.outer`` of two vectors: ``x1[:, None] * x2[None, :]``."""
    return outer_p(x1, x2)


defrule(
    outer_p,
    jvp=bilinear_jvp(outer_p),
    vjp=_outer_vjp,
    batch=_outer_batch,
    pattern=plinalg.outer,
    samples=lambda make: [((make((3,)), make((2,))), {}), ((make((1,)), make((4,))), {})],
)


# -- cross -----------------------------------------------------------------------------------
cross_p = primitive("cross", linalg_impl("cross"), module="linalg", export_as=False)


def _cross_vjp(primals: list, needs: list, axis: int) -> tuple:
    x, y = primals

    # <ct, x × y> = <y × ct, x> = <ct × x, y>
    def cross_pullback(ct: Any) -> tuple:
        gx = unbroadcast(cross_p(y, ct, axis=axis), x) if needs[0] else None
        gy = unbroadcast(cross_p(ct, x, axis=axis), y) if needs[1] else None
        return gx, gy

    return cross_p(x, y, axis=axis), cross_pullback


def _cross_batch(args: list, batched: list, axis: int) -> tuple:
    return cross_p(*align_batched(args, batched), axis=axis), True


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``xp.linalg.cross`` of 3-vectors along ``axis``, with broadcasting."""
    return cross_p(
        x1, x2, axis=_negative_axis(axis, (tuple(x1.shape), tuple(x2.shape)), "linalg.cross")
    )


defrule(
    cross_p,
    jvp=bilinear_jvp(cross_p),
    vjp=_cross_vjp,
    batch=_cross_batch,
    pattern=plinalg.cross,
    samples=lambda make: [
        ((make((3,)), make((3,))), {"axis": -1}),
        ((make((2, 3)), make((3,))), {"axis": -1}),
        ((make((3, 2)), make((3, 2))), {"axis": -2}),
    ],
)


# -- trace and diagonal: linear, transposes put values back on a diagonal -------------------
trace_p = primitive("trace", linalg_impl("trace"), module="linalg", export_as=False)
diagonal_p = primitive("diagonal", linalg_impl("diagonal"), module="linalg", export_as=False)


def _diagonal_length(n: int, m: int, offset: int) -> int:
    return max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))


def _trace_jvp(primals: list, tangents: list, **params: Any) -> tuple:
    return trace_p(primals[0], **params), trace_p(tangents[0], **params)


def _trace_vjp(primals: list, needs: list, offset: int = 0, dtype: Any = None) -> tuple:
    x = primals[0]
    n, m = x.shape[-2:]
    out = trace_p(x, offset=offset, dtype=dtype)

    def trace_pullback(ct: Any) -> tuple:
        e = eye_like(x, n, m, k=offset)
        g = mul(F.expand_dims(F.expand_dims(ct, axis=-1), axis=-1), e)
        return (project(F.broadcast_to(g, tuple(x.shape)), x),)

    return out, trace_pullback


def _diagonal_jvp(primals: list, tangents: list, offset: int = 0) -> tuple:
    return diagonal_p(primals[0], offset=offset), diagonal_p(tangents[0], offset=offset)


def _diagonal_vjp(primals: list, needs: list, offset: int = 0) -> tuple:
    x = primals[0]
    n, m = x.shape[-2:]
    length = _diagonal_length(n, m, offset)

    def diagonal_pullback(ct: Any) -> tuple:
        # entry l of the diagonal sits at (r0 + l, c0 + l): place it with two
        # constant selection matrices, R^T (ct[..., :, None] * C)
        rows = eye_like(x, length, n, k=max(0, -offset))
        cols = eye_like(x, length, m, k=max(0, offset))
        g = mm(mT(rows), mul(F.expand_dims(ct, axis=-1), cols))
        return (project(F.broadcast_to(g, tuple(x.shape)), x),)

    return diagonal_p(x, offset=offset), diagonal_pullback


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """``xp.linalg.trace``: the sum of the ``offset`` diagonal of each matrix."""
    return trace_p(x, offset=offset, dtype=dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """``xp.linalg.diagonal``: the ``offset`` diagonal of each matrix."""
    return diagonal_p(x, offset=offset)


_diag_samples = [
    ((2, 3), {}),
    ((3, 3), {"offset": 1}),
    ((3, 2), {"offset": -1}),
    ((2, 3, 3), {}),
    ((2, 4, 3), {"offset": 1}),
]


def _trace_pattern(
    tr: Any, primals: list, pats: list, out: Any, *, offset: int = 0, **params: Any
) -> Any:
    """A sum of the diagonal: the diagonal's elements (by ``diagonal`` applied to
    element numbers), reduced along the last axis."""
    xp = tr.xp
    shape = patterns.shape_of(primals[0])
    diag = diagonal_p.impl(tr.ids(shape, 1), offset=offset)
    q = tr.gather(pats[0], xp.reshape(diag, (-1,)) - 1)
    dshape = patterns.shape_of(diag)
    return patterns.reduce_to(tr, q, dshape, (len(dshape) - 1,))


defrule(
    trace_p,
    jvp=_trace_jvp,
    vjp=_trace_vjp,
    batch=lambda args, batched, **p: (trace_p(args[0], **p), True),
    pattern=_trace_pattern,
    samples=lambda make: [((make(s),), dict(p)) for s, p in _diag_samples],
)
defrule(
    diagonal_p,
    jvp=_diagonal_jvp,
    vjp=_diagonal_vjp,
    batch=lambda args, batched, **p: (diagonal_p(args[0], **p), True),
    pattern=patterns.movement(diagonal_p),
    samples=lambda make: [((make(s),), dict(p)) for s, p in _diag_samples],
)


for _name, _fn in (("outer", outer), ("cross", cross), ("trace", trace), ("diagonal", diagonal)):
    export(f"linalg.{_name}", _fn)
complex_ok(outer_p, cross_p, trace_p, diagonal_p)
