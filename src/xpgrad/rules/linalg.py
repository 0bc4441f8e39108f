"""Linear algebra in the main namespace: matmul (tensordot, vecdot join it later)."""

from __future__ import annotations

from typing import Any

from ._registry import F, align_batched, defrule, primitive, unbroadcast

matmul = primitive("matmul", lambda x, y: x @ y)
mm = matmul
mul = F.multiply


def _matmul_jvp(primals: list, tangents: list) -> tuple:
    x, y = primals
    tx, ty = tangents
    out = mm(x, y)
    t = None
    if tx is not None:
        t = mm(tx, y)
    if ty is not None:
        u = mm(x, ty)
        t = u if t is None else F.add(t, u)
    return out, t


def _matmul_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    nx, ny = needs
    xnd, ynd = x.ndim, y.ndim

    def matmul_pullback(ct: Any) -> tuple:
        gx = gy = None
        if xnd == 1 and ynd == 1:
            gx = mul(ct, y) if nx else None
            gy = mul(ct, x) if ny else None
            return gx, gy
        if xnd == 1:  # (k,) @ (..., k, n) -> (..., n)
            if nx:
                gx = unbroadcast(F.squeeze(mm(y, F.expand_dims(ct, axis=-1)), axis=-1), x)
            if ny:
                gy = unbroadcast(mul(F.expand_dims(x, axis=-1), F.expand_dims(ct, axis=-2)), y)
            return gx, gy
        if ynd == 1:  # (..., m, k) @ (k,) -> (..., m)
            if nx:
                gx = unbroadcast(mul(F.expand_dims(ct, axis=-1), y), x)
            if ny:
                gy = unbroadcast(F.squeeze(mm(F.matrix_transpose(x), F.expand_dims(ct, axis=-1)),
                                           axis=-1), y)
            return gx, gy
        if nx:
            gx = unbroadcast(mm(ct, F.matrix_transpose(y)), x)
        if ny:
            gy = unbroadcast(mm(F.matrix_transpose(x), ct), y)
        return gx, gy

    return mm(x, y), matmul_pullback


def _matmul_batch(args: list, batched: list) -> tuple:
    x, y = args
    bx, by = batched
    vec_x = x.ndim - bx == 1
    vec_y = y.ndim - by == 1
    if vec_x:
        x = F.expand_dims(x, axis=-2)
    if vec_y:
        y = F.expand_dims(y, axis=-1)
    x, y = align_batched([x, y], [bx, by])
    out = mm(x, y)
    if vec_y:
        out = F.squeeze(out, axis=-1)
    if vec_x:
        out = F.squeeze(out, axis=-2)
    return out, True


def _matmul_samples(make: Any) -> list:
    return [
        ((make((2, 3)), make((3, 4))), {}),
        ((make((3,)), make((3, 2))), {}),
        ((make((2, 3)), make((3,))), {}),
        ((make((3,)), make((3,))), {}),
        ((make((2, 2, 3)), make((3, 2))), {}),
        ((make((3,)), make((2, 3, 2))), {}),
    ]


defrule(matmul, jvp=_matmul_jvp, vjp=_matmul_vjp, batch=_matmul_batch, samples=_matmul_samples)
