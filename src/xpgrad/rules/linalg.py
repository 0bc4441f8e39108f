"""Products of the main namespace: matmul, tensordot, vecdot.

All three are bilinear, so their pullbacks are transposes. They are holomorphic
(vecdot conjugates its first argument and has its own pullback), so with the
package's complex convention (a pullback is the transpose of the pushforward)
the same formulas serve complex inputs. ``matmul``, ``tensordot``, ``vecdot`` and
``matrix_transpose`` are also exported as ``linalg.<name>``, as the standard asks.
The rest of the linalg extension: ``linalg_vectors`` (outer, cross, trace,
diagonal), ``linalg_solve``, ``linalg_decomp``, ``linalg_spectral``, ``linalg_norms``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import patterns_linalg as plinalg
from ._matrix import is_complex, mT
from ._registry import (
    F,
    align_batched,
    bilinear_jvp,
    complex_ok,
    defrule,
    export,
    onehot,
    primitive,
    project,
    unbroadcast,
)
from .elementwise import multiply
from .manipulation import matrix_transpose

matmul = primitive("matmul", lambda x, y: x @ y)
mm = matmul
mul = multiply


# -- matmul ------------------------------------------------------------------------------
def _matmul_vjp(primals: list, needs: list) -> tuple:
    x, y = primals
    nx, ny = needs
    xnd, ynd = x.ndim, y.ndim
    # the transposes, made at the first call and kept: a Jacobian calls the
    # pullback once per chunk, and the one-hot basis checks an operand once
    # per Jacobian only if it is the same array each time (onehot._spreads)
    tr: dict = {}
    out = mm(x, y)
    # inside jacobian, the product proves its operands finite for that check
    # (onehot.witness): kept only there, never on a gradient's tape
    seen = onehot.WITNESSES.get()
    kept = None if seen is None else out

    def transposed(i: int, a: Any, other: Any) -> Any:
        """``mT(a)`` (``a`` is argument ``i``), made once; ``kept = a @ other`` or
        ``other @ a`` witnesses that it is finite (see ``onehot.witness``)."""
        t = tr.get(i)
        if t is None:
            t = tr[i] = mT(a)
            if seen is not None:
                onehot.witness(seen, t, kept, other)
        return t

    def matmul_pullback(ct: Any) -> tuple:
        gx = gy = None
        if xnd == 1 and ynd == 1:
            gx = project(mul(ct, y), x) if nx else None
            gy = project(mul(ct, x), y) if ny else None
            return gx, gy
        if xnd == 1:  # (k,) @ (..., k, n) -> (..., n)
            if nx:
                if seen is not None:
                    onehot.witness(seen, y, kept, x)
                gx = unbroadcast(F.squeeze(mm(y, F.expand_dims(ct, axis=-1)), axis=-1), x)
            if ny:
                gy = unbroadcast(mul(F.expand_dims(x, axis=-1), F.expand_dims(ct, axis=-2)), y)
            return gx, gy
        if ynd == 1:  # (..., m, k) @ (k,) -> (..., m)
            if nx:
                gx = unbroadcast(mul(F.expand_dims(ct, axis=-1), y), x)
            if ny:
                gy = unbroadcast(
                    F.squeeze(mm(transposed(0, x, y), F.expand_dims(ct, axis=-1)), axis=-1), y
                )
            return gx, gy
        if nx:
            gx = unbroadcast(mm(ct, transposed(1, y, x)), x)
        if ny:
            gy = unbroadcast(mm(transposed(0, x, y), ct), y)
        return gx, gy

    return out, matmul_pullback


def _rows_times(r: Any, m: Any) -> Any:
    """``r @ m`` for a stack of rows ``r``, computed the same way for any number of rows.

    A single row would take the backend's matrix-vector path, whose rounding can
    differ in the last bit from the matrix-matrix path: a padding row keeps every
    chunk of a Jacobian on one path, so results do not depend on the chunk size.
    """
    if r.shape[0] != 1:
        return mm(r, m)
    return mm(F.concat([r, F.zeros_like(r)], axis=0), m)[:1, ...]


def _matmul_batch(args: list, batched: list) -> tuple:
    x, y = args
    bx, by = batched
    # One side an unbatched matrix: fold the batch into the other side's rows so
    # that the backend does one matrix product, not one per batch element (the
    # batched pullbacks of a reverse Jacobian of A @ x are exactly this case).
    if bx and not by and y.ndim == 2 and x.ndim in (2, 3):
        if x.ndim == 2:  # batched vectors (B, k) @ (k, n) -> (B, n)
            return _rows_times(x, y), True
        b, m, k = x.shape
        return F.reshape(_rows_times(F.reshape(x, (b * m, k)), y), (b, m, y.shape[1])), True
    if by and not bx and x.ndim == 2 and y.ndim in (2, 3):
        xt = F.matrix_transpose(x)
        if y.ndim == 2:  # (m, k) @ batched vectors (B, k) -> (B, m)
            return _rows_times(y, xt), True
        b, k, n = y.shape
        yt = F.reshape(F.permute_dims(y, (0, 2, 1)), (b * n, k))
        out = F.reshape(_rows_times(yt, xt), (b, n, x.shape[0]))
        return F.permute_dims(out, (0, 2, 1)), True
    vec_x = x.ndim - bx == 1
    vec_y = y.ndim - by == 1
    # a 1-D operand is a row (left) or column (right) matrix whose extra axis is
    # dropped afterwards; done by hand because a batched vector is physically 2-D
    if vec_x:
        x = F.expand_dims(x, axis=-2)
    if vec_y:
        y = F.expand_dims(y, axis=-1)
    x, y = align_batched([x, y], [bx, by])
    out = mm(x, y)
    if vec_y:
        out = F.squeeze(out, axis=-1)
    if vec_x:
        out = F.squeeze(out, axis=-1 if vec_y else -2)
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


defrule(
    matmul,
    jvp=bilinear_jvp(matmul),
    vjp=_matmul_vjp,
    batch=_matmul_batch,
    pattern=plinalg.matmul,  # exact for a constant operand with zeros
    onehot=onehot.matmul,  # a matrix times one-hot vectors gathers its columns or rows
    samples=_matmul_samples,
)


# -- tensordot -----------------------------------------------------------------------------
tensordot_p = primitive("tensordot", export_as=False)


def _normalize_tensordot_axes(axes: Any, nd1: int, nd2: int) -> tuple:
    if isinstance(axes, int):
        if axes < 0 or axes > min(nd1, nd2):
            raise ValueError(
                f"tensordot: axes={axes} must be between 0 and the smaller rank "
                f"({min(nd1, nd2)}); pass a pair of axis sequences to contract other axes"
            )
        return tuple(range(nd1 - axes, nd1)), tuple(range(axes))
    try:
        a1, a2 = axes
        a1 = tuple(int(a) % nd1 for a in a1)
        a2 = tuple(int(a) % nd2 for a in a2)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(
            f"tensordot: axes must be an int or a pair of axis sequences, got {axes!r}"
        ) from None
    if len(a1) != len(a2):
        raise ValueError(f"tensordot: the two axis sequences of {axes!r} differ in length")
    return a1, a2


def _free(nd: int, contracted: Sequence[int]) -> tuple:
    return tuple(i for i in range(nd) if i not in contracted)


def _argsort(labels: Sequence[int]) -> tuple:
    return tuple(sorted(range(len(labels)), key=lambda i: labels[i]))


def _tensordot_vjp(primals: list, needs: list, axes: tuple) -> tuple:
    x, y = primals
    c1, c2 = axes
    nd1, nd2 = x.ndim, y.ndim
    f1, f2 = _free(nd1, c1), _free(nd2, c2)
    nf1 = len(f1)

    def tensordot_pullback(ct: Any) -> tuple:
        gx = gy = None
        if needs[0]:
            # contract ct's y-part with y's free axes: (f1..., y's contracted axes in order)
            g = tensordot_p(ct, y, axes=(tuple(range(nf1, nf1 + len(f2))), f2))
            labels = f1 + tuple(c1[c2.index(j)] for j in sorted(c2))
            gx = project(F.permute_dims(g, _argsort(labels)), x)
        if needs[1]:
            g = tensordot_p(x, ct, axes=(f1, tuple(range(nf1))))
            labels = tuple(c2[c1.index(i)] for i in sorted(c1)) + f2
            gy = project(F.permute_dims(g, _argsort(labels)), y)
        return gx, gy

    return tensordot_p(x, y, axes=axes), tensordot_pullback


def _as_matrix(a: Any, batched: bool, free: tuple, contracted: tuple, left: bool) -> Any:
    """``a`` permuted and reshaped to a (batch,) free x contracted matrix (or its transpose)."""
    off = 1 if batched else 0
    shape = tuple(a.shape)
    lead = (0,) if batched else ()
    nfree = 1
    for i in free:
        nfree *= shape[i + off]
    ncon = 1
    for i in contracted:
        ncon *= shape[i + off]
    fa = tuple(i + off for i in free)
    ca = tuple(i + off for i in contracted)
    perm = lead + (fa + ca if left else ca + fa)
    mshape = (nfree, ncon) if left else (ncon, nfree)
    return F.reshape(F.permute_dims(a, perm), tuple(shape[:1]) * off + mshape)


def _tensordot_batch(args: list, batched: list, axes: tuple) -> tuple:
    # as one (batched) matrix product: x -> free x contracted, y -> contracted x free
    x, y = args
    bx, by = batched
    c1, c2 = axes
    nd1, nd2 = x.ndim - bx, y.ndim - by
    f1, f2 = _free(nd1, c1), _free(nd2, c2)
    xm = _as_matrix(x, bx, f1, c1, True)
    ym = _as_matrix(y, by, f2, c2, False)
    out = mm(xm, ym)
    size = (x if bx else y).shape[0]
    shape = tuple(x.shape[i + bx] for i in f1) + tuple(y.shape[i + by] for i in f2)
    return F.reshape(out, (size,) + shape), True


def tensordot(x1: Any, x2: Any, /, *, axes: int | tuple = 2) -> Any:
    """``xp.tensordot``: contract ``axes`` of ``x1`` with ``axes`` of ``x2``.

    >>> import numpy as np, xpgrad
    >>> a, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    >>> xpgrad.gradient(lambda a: a.__array_namespace__().sum(
    ...     a.__array_namespace__().tensordot(a, b, axes=1)), a)[0]
    array([[2., 2., 2.],
           [2., 2., 2.]])
    """
    return tensordot_p(x1, x2, axes=_normalize_tensordot_axes(axes, x1.ndim, x2.ndim))


defrule(
    tensordot_p,
    jvp=bilinear_jvp(tensordot_p),
    vjp=_tensordot_vjp,
    batch=_tensordot_batch,
    pattern=plinalg.tensordot,
    samples=lambda make: [
        ((make((2, 3)), make((3, 4))), {"axes": ((1,), (0,))}),
        ((make((2, 3, 4)), make((3, 4, 2))), {"axes": ((1, 2), (0, 1))}),
        ((make((2, 3, 4)), make((4, 2, 3))), {"axes": ((2, 1), (0, 2))}),
        ((make((2, 3)), make((2,))), {"axes": ((), ())}),
        ((make((3, 2)), make((2, 3))), {"axes": ((0, 1), (1, 0))}),
    ],
)


# -- vecdot ------------------------------------------------------------------------------
vecdot_p = primitive("vecdot", export_as=False)


def _conj(x: Any) -> Any:
    return F.conj(x) if is_complex(x) else x


def _vecdot_vjp(primals: list, needs: list, axis: int) -> tuple:
    x, y = primals

    def vecdot_pullback(ct: Any) -> tuple:
        c = F.expand_dims(ct, axis=axis)
        gx = unbroadcast(_conj(mul(c, y)), x) if needs[0] else None
        gy = unbroadcast(mul(c, _conj(x)), y) if needs[1] else None
        return gx, gy

    return vecdot_p(x, y, axis=axis), vecdot_pullback


def _vecdot_batch(args: list, batched: list, axis: int) -> tuple:
    return vecdot_p(*align_batched(args, batched), axis=axis), True


def _negative_axis(axis: int, shapes: Sequence[tuple], what: str) -> int:
    """A vector axis counted from the end, so it means the same under broadcasting and vmap."""
    nd = min(len(s) for s in shapes)
    if not -nd <= axis < max(len(s) for s in shapes):
        raise ValueError(f"{what}: axis {axis} is out of bounds for shapes {list(shapes)}")
    if axis >= 0:
        axis -= max(len(s) for s in shapes)
        if axis < -nd:
            raise ValueError(
                f"{what}: axis must name an axis of both arguments; count it from the end "
                f"(axis=-1 is the last) for arguments of different ranks {list(shapes)}"
            )
    return axis


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``xp.vecdot``: ``sum(conj(x1) * x2, axis=axis)`` with broadcasting.

    >>> import numpy as np, xpgrad
    >>> xpgrad.gradient(lambda a: a.__array_namespace__().vecdot(a, a), np.array([1.0, 2.0]))[0]
    array([2., 4.])
    """
    axis = _negative_axis(axis, (tuple(x1.shape), tuple(x2.shape)), "vecdot")
    return vecdot_p(x1, x2, axis=axis)


defrule(
    vecdot_p,
    jvp=bilinear_jvp(vecdot_p),
    vjp=_vecdot_vjp,
    batch=_vecdot_batch,
    pattern=plinalg.vecdot,
    samples=lambda make: [
        ((make((3,)), make((3,))), {"axis": -1}),
        ((make((2, 3)), make((3,))), {"axis": -1}),
        ((make((2, 3)), make((4, 1, 3))), {"axis": -1}),
        ((make((3, 2)), make((3, 2))), {"axis": -2}),
    ],
)


# -- exports: the standard's signatures; the shared ones under both names -------------------
export("tensordot", tensordot)
export("vecdot", vecdot)
for _name, _fn in (
    ("matmul", matmul),
    ("tensordot", tensordot),
    ("vecdot", vecdot),
    ("matrix_transpose", matrix_transpose),
):
    export(f"linalg.{_name}", _fn)

# Holomorphic (vecdot: conjugate-linear in x1, with its own pullback): the same
# rules hold for complex inputs under the transpose convention.
complex_ok(matmul, tensordot_p, vecdot_p)
