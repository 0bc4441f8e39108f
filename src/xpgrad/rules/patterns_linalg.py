"""Sparsity-pattern rules of products and linear algebra (see ``patterns``).

- ``matmul``/``tensordot``/``vecdot``/``outer``: contractions, exact for a
  constant operand with zeros (a sparse matrix stored densely): only its
  nonzeros connect inputs to outputs.
- ``core``: the stacked linear algebra functions (``inv``, ``solve``,
  decompositions): each matrix of the stack depends on all of the matching
  matrix of each argument, and on no other.
- ``det``, ``slogdet``, ``matrix_norm``: reductions over the last two axes
  (``matrix_reduction``); ``cross``: the whole 3-vector. (``trace``'s, a sum
  of the diagonal, sits beside ``linalg.trace``.)

Each primitive declares its rule beside its definition (``defrule(p,
pattern=...)``).
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.sparsity import Pattern
from .patterns import (
    along_axes,
    broadcast,
    elementwise,
    is_array,
    norm_axes,
    product,
    reduce_to,
    shape_of,
    size_of,
)

__all__ = [
    "matmul",
    "tensordot",
    "vecdot",
    "outer",
    "cross",
    "matrix_reduction",
    "core",
    "stacked",
    "square",
    "same_batch",
    "solve_in",
    "solve_out",
]


def matrix_reduction(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
    shape = shape_of(primals[0])
    res = reduce_to(tr, pats[0], shape, norm_axes((-2, -1), len(shape)))
    return [res, res] if isinstance(out, tuple) else res


def cross(tr: Any, primals: list, pats: list, out: Any, *, axis: int = -1) -> Pattern:
    oshape = shape_of(out)
    q = elementwise(tr, primals, pats, out)
    return along_axes(tr, q, oshape, oshape, norm_axes(axis, len(oshape)))


# -- contractions --------------------------------------------------------------------------


def _const_matrix(tr: Any, a: Any, q: Any, layout: Callable[[Any], Any]) -> Any:
    """``layout(a != 0)``, an ``(r, c)`` boolean, for a constant ``a``; else None."""
    if q is not None or not is_array(a):
        return None
    c = tr.host_value(a)
    return None if c is None else layout(c != 0)


def _contract(
    tr: Any, qx: Any, qy: Any, mx: Any, my: Any, B: int, I: int, K: int, J: int
) -> Pattern:
    """``out[b, i, j] = sum_k x[b, i, k] y[b, k, j]``: patterns of ``x``, ``y`` laid out so.

    ``mx`` (``(I, K)``) / ``my`` (``(K, J)``): where a constant operand is nonzero.
    """
    xp, i64 = tr.xp, tr.i64
    m = B * I * J
    parts = []
    if qx is not None:
        if my is None:  # every k reaches every j
            r = reduce_to(tr, qx, (B, I, K), (2,))
            src = xp.reshape(xp.broadcast_to(tr.ids((B, I, 1)), (B, I, J)), (-1,))
            parts.append(tr.gather(r, src))
        else:
            kk, jj = xp.nonzero(my)
            bi = xp.reshape(xp.arange(B * I, dtype=i64), (-1, 1))
            s = xp.reshape(bi * K + xp.astype(kk, i64), (-1,))
            d = xp.reshape(bi * J + xp.astype(jj, i64), (-1,))
            parts.append(tr.pull(qx, s, d, m))
    if qy is not None:
        if mx is None:
            r = reduce_to(tr, qy, (B, K, J), (1,))
            src = xp.reshape(xp.broadcast_to(tr.ids((B, 1, J)), (B, I, J)), (-1,))
            parts.append(tr.gather(r, src))
        else:
            ii, kk = xp.nonzero(mx)
            b = xp.reshape(xp.arange(B, dtype=i64), (-1, 1, 1))
            j = xp.reshape(xp.arange(J, dtype=i64), (1, 1, -1))
            kk = xp.reshape(xp.astype(kk, i64), (1, -1, 1))
            ii = xp.reshape(xp.astype(ii, i64), (1, -1, 1))
            s = xp.reshape(b * (K * J) + kk * J + j, (-1,))
            d = xp.reshape(b * (I * J) + ii * J + j, (-1,))
            parts.append(tr.pull(qy, s, d, m))
    return tr.union(parts, m)


def matmul(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    x, y = primals
    xs, ys = shape_of(x), shape_of(y)
    xs2 = (1,) + xs if len(xs) == 1 else xs
    ys2 = ys + (1,) if len(ys) == 1 else ys
    xp = tr.xp
    batch = _broadcast_shapes(xs2[:-2], ys2[:-2])
    I, K = xs2[-2:]
    J = ys2[-1]
    qx = broadcast(tr, pats[0], xs2, batch + (I, K))
    qy = broadcast(tr, pats[1], ys2, batch + (K, J))

    def any_batch(shape2: tuple, r: int, c: int) -> Callable:
        return lambda nz: xp.any(xp.reshape(xp.reshape(nz, shape2), (-1, r, c)), axis=0)

    mx = _const_matrix(tr, x, pats[0], any_batch(xs2, I, K))
    my = _const_matrix(tr, y, pats[1], any_batch(ys2, K, J))
    return _contract(tr, qx, qy, mx, my, size_of(batch), I, K, J)


def _broadcast_shapes(*shapes: tuple) -> tuple:
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(nd):
        dims = [s[i - nd + len(s)] for s in shapes if i - nd + len(s) >= 0]
        big = [d for d in dims if d != 1]
        out.append(big[0] if big else 1)
    return tuple(out)


def tensordot(tr: Any, primals: list, pats: list, out: Any, *, axes: Any) -> Pattern:
    x, y = primals
    xs, ys = shape_of(x), shape_of(y)
    if isinstance(axes, int):
        cx, cy = tuple(range(len(xs) - axes, len(xs))), tuple(range(axes))
    else:
        cx = tuple(a % len(xs) for a in axes[0])
        cy = tuple(a % len(ys) for a in axes[1])
    fx = tuple(i for i in range(len(xs)) if i not in cx)
    fy = tuple(i for i in range(len(ys)) if i not in cy)
    I, J = size_of(tuple(xs[i] for i in fx)), size_of(tuple(ys[i] for i in fy))
    K = size_of(tuple(xs[i] for i in cx))
    xp = tr.xp

    def laid(q: Any, shape: tuple, order: tuple) -> Any:
        if q is None:
            return None
        return tr.gather(q, xp.reshape(xp.permute_dims(tr.ids(shape), order), (-1,)))

    mx = _const_matrix(tr, x, pats[0], lambda nz: xp.reshape(xp.permute_dims(nz, fx + cx), (I, K)))
    my = _const_matrix(tr, y, pats[1], lambda nz: xp.reshape(xp.permute_dims(nz, cy + fy), (K, J)))
    return _contract(tr, laid(pats[0], xs, fx + cx), laid(pats[1], ys, cy + fy), mx, my, 1, I, K, J)


def vecdot(tr: Any, primals: list, pats: list, out: Any, *, axis: int = -1) -> Pattern:
    shapes = [shape_of(a) for a in primals]
    full = _broadcast_shapes(*shapes)
    q = product(tr, primals, pats, shapes, full)
    return reduce_to(tr, q, full, norm_axes(axis, len(full)))


def outer(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    (n,), (m,) = shape_of(primals[0]), shape_of(primals[1])
    return product(tr, primals, pats, [(n, 1), (1, m)], (n, m))


# -- stacked linear algebra ----------------------------------------------------------------


def core(cores_in: Callable, cores_out: Callable) -> Callable:
    """Each output matrix depends on all of the matching (broadcast) matrix of each argument.

    ``cores_in(primals)`` / ``cores_out(primals, outs)``: how many trailing axes
    of each argument / output are the matrix (the rest are the stack).
    """

    def rule(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
        multiple = isinstance(out, tuple)
        outs = out if multiple else (out,)
        cin, cout = cores_in(primals), cores_out(primals, outs)
        xp = tr.xp
        res = []
        for o, co in zip(outs, cout):
            oshape = shape_of(o)
            bo = oshape[: len(oshape) - co]
            parts = []
            for a, q, ci in zip(primals, pats, cin):
                if q is None:
                    continue
                ash = shape_of(a)
                ba = ash[: len(ash) - ci]
                r = reduce_to(tr, q, ash, tuple(range(len(ba), len(ash))))
                src = xp.broadcast_to(tr.ids(ba), bo)
                src = xp.broadcast_to(xp.reshape(src, bo + (1,) * co), oshape)
                parts.append(tr.gather(r, xp.reshape(src, (-1,))))
            res.append(tr.union(parts, size_of(oshape)))
        return res if multiple else res[0]

    return rule


def square(primals: list) -> tuple:
    return (2,)


def same_batch(primals: list, outs: tuple) -> tuple:
    nb = len(shape_of(primals[0])) - 2
    return tuple(len(shape_of(o)) - nb for o in outs)


def solve_in(primals: list) -> tuple:
    return (2, 1 if len(shape_of(primals[1])) == 1 else 2)


def solve_out(primals: list, outs: tuple) -> tuple:
    return (1 if len(shape_of(primals[1])) == 1 else 2,)


#: The rule of a function of each square matrix of a stack (``inv``, ``eigh``, ``qr``, ...).
stacked = core(square, same_batch)
