"""hessian, hessian_reverse, diaghessian and hvp: second derivatives of a scalar.

``hessian`` is forward over reverse: the gradient (reverse mode) is pushed
forward along a chunk of basis tangents at once (``vmap`` of ``jvp``), like
ForwardDiff's chunk mode over Zygote. ``hessian_reverse`` is the reverse-mode
jacobian of the gradient. ``diaghessian`` runs the same chunked forward over
reverse but keeps only the diagonal of each chunk, so the full matrix is never
formed; ``hvp`` is one forward-over-reverse product.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..rules import F
from . import _chunks as C
from . import _edge as E
from ._owned import owned
from .gradient import _Recorded, _scalar_root, jvp, pullback
from .jacobian import _forward_one, _kind, _reverse
from .vmap import vmap

__all__ = ["diaghessian", "hessian", "hessian_reverse", "hvp"]


def _gradient_of(f: Callable, name: str, args: tuple = (None,), i: int = 0) -> Callable:
    """``x -> gradient(f, *args with x at i)[i]``, with zeros where ``f`` ignores ``x``.

    Every argument is recorded (not only ``x``) so that the function sees traced
    values only: array-api-strict refuses ``raw_array * tracer``.
    """

    def grad(x: Any) -> Any:
        rec = _Recorded(f, args[:i] + (x,) + args[i + 1 :])
        roots = _scalar_root(rec.out, rec, name)
        g = rec.backward(roots, release=True)[i]
        rec.release()
        if g is None:
            g = F.zeros_like(E.as_array(x, rec.xp))
        return g

    return grad


def _check_point(x: Any, xp: Any, name: str) -> str:
    kind = _kind(x, xp)
    if kind is None:
        what = type(x).__name__
        if E.is_array(x):  # a boolean array: it has no derivative
            what = f"an array of dtype {x.dtype}, which has no derivative"
        raise TypeError(
            f"xpgrad.{name}: x must be a real number or a numeric array, got "
            f"{what}. For several arguments, pass them as one array or use "
            f"diaghessian / jacobian of gradient."
        )
    return kind


def _finish(H: Any, x: Any, kind: str, xp: Any) -> Any:
    """``(n, n)`` for an array ``x``; a scalar (Python number for a number ``x``) otherwise."""
    if kind == "array":
        return owned([H], [x], xp)[0]
    h = F.reshape(H, ())
    return E.to_python(h, x, xp)


def hessian(
    f: Callable,
    x: Any,
    *,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool = False,
) -> Any:
    """The Hessian ``H[i, j] = d^2 f / dx[i] dx[j]`` of a real scalar function.

    For an array ``x`` the result is the ``(x.size, x.size)`` matrix in C-order
    linear indexing of ``x`` (Zygote.jl indexes column-major); for a scalar
    ``x`` (Python number or 0-d array) it is a scalar.

    Forward over reverse: the gradient is pushed forward along a chunk of basis
    tangents at once, ``ceil(x.size / chunk)`` batched passes in all. The chunk
    size follows ``jacobian``'s rule with ``n_in = n_out = x.size`` (about
    ``16 * itemsize * x.size`` bytes per direction) under ``memory_budget``
    (default ``xpgrad.config.memory_budget``), unless ``chunk_size`` is given.
    JAX's ``hessian`` pushes the whole basis at once instead.
    ``progress=True`` shows a progress bar over the chunks (as in ``jacobian``).

    >>> import math, numpy as np, xpgrad
    >>> xpgrad.hessian(lambda x: x[0] * x[1], np.array([0.3, -1.2]))
    array([[0., 1.],
           [1., 0.]])
    >>> xpgrad.hessian(lambda x: np.sum(x ** 3), np.array([[1, 2], [3, 4]]))
    array([[ 6,  0,  0,  0],
           [ 0, 12,  0,  0],
           [ 0,  0, 18,  0],
           [ 0,  0,  0, 24]])
    >>> xpgrad.hessian(np.sin, math.pi / 2)
    -1.0

    See also: hessian_reverse, diaghessian, hvp, jacobian.
    """
    E.check_callable(f, "hessian")
    xp = E.common_xp([x])
    kind = _check_point(x, xp, "hessian")
    n = C.size_of(tuple(E.as_array(x, xp).shape))
    bar = C.progress(progress, n, "hessian", C.one_pass(x))
    try:
        H = _forward_one(
            _gradient_of(f, "hessian"), [x], 0, n, xp, chunk_size, memory_budget, "hessian", bar
        )
    finally:
        bar.close()
    return _finish(H, x, kind, xp)


def hessian_reverse(
    f: Callable,
    x: Any,
    *,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool = False,
) -> Any:
    """``hessian(f, x)`` computed reverse over reverse (the reverse jacobian of the gradient).

    Same results and shapes as ``hessian``; usually slower (the gradient's
    backward pass is itself recorded and replayed), and useful as a cross-check.
    Chunked the same way, with batched pullbacks over chunks of basis cotangents.

    >>> import numpy as np, xpgrad
    >>> xpgrad.hessian_reverse(lambda x: np.sum(x ** 3), np.array([[1, 2], [3, 4]]))
    array([[ 6,  0,  0,  0],
           [ 0, 12,  0,  0],
           [ 0,  0, 18,  0],
           [ 0,  0,  0, 24]])

    See also: hessian.
    """
    E.check_callable(f, "hessian_reverse")
    xp = E.common_xp([x])
    kind = _check_point(x, xp, "hessian_reverse")
    g, back = pullback(_gradient_of(f, "hessian_reverse"), x)
    ga = E.as_array(g, xp)
    bar = C.progress(progress, C.size_of(tuple(ga.shape)), "hessian_reverse", C.one_pass(ga))
    try:
        (H,) = _reverse(back, ga, [x], xp, chunk_size, memory_budget, "hessian_reverse", bar)
    finally:
        bar.close()
    return _finish(H, x, kind, xp)


def _diagonal(
    grad_i: Callable,
    x: Any,
    xp: Any,
    chunk_size: Any,
    budget: Any,
    name: str,
    bar: Any = C.NO_PROGRESS,
) -> Any:
    """``diag(H)`` of ``x``, by chunked forward over reverse keeping the diagonal only."""
    xa = E.as_array(x, xp)
    shape = tuple(xa.shape)
    n = C.size_of(shape)
    if n == 0:
        return F.zeros_like(xa)
    k = C.choose_chunk(n, 2 * n, C.itemsize(xp, xa.dtype), chunk_size, budget, name, like=xa)
    dev = C.device_of(xa)

    def push(t: Any) -> Any:
        return jvp(grad_i, (x,), (t,))[1]

    batched = vmap(push)
    parts = []
    for start in range(0, n, k):
        kk = min(k, n - start)
        e = C.basis(xp, start, kk, n, xa.dtype, shape, dev, like=xa)
        Ht = C.flat_rows(E.as_array(batched(e), xp), kk)  # row r: H @ e_(start+r)
        # keep entry (r, start + r) of each row; `where`, not a product with the
        # basis, so that an infinite off-diagonal entry cannot leak in as nan
        mask = C.flat_rows(e, kk) != 0
        parts.append(F.sum(F.where(mask, Ht, F.zeros_like(Ht)), axis=1))
        bar.update(kk)
    d = parts[0] if len(parts) == 1 else _concat(parts, xp)
    return F.reshape(d, shape)


def _concat(parts: list, xp: Any) -> Any:
    ns = E.namespace(xp)
    concat = getattr(ns, "concat", None)
    if concat is not None:
        return concat(parts, axis=0)
    return xp.concat(parts, axis=0)


def diaghessian(
    f: Callable,
    *args: Any,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool = False,
) -> tuple:
    """The diagonal of the Hessian of a real scalar ``y = f(*args)``, per argument.

    For each argument ``x``, an array ``h`` shaped like ``x`` with
    ``h[i] = d^2 y / dx[i]^2`` (a scalar for a scalar argument); ``None`` for
    arguments that are not numbers or numeric arrays. For one array argument
    this equals ``diag(hessian(f, x))`` reshaped like ``x``.

    Chunked forward over reverse that keeps only the diagonal of each chunk:
    memory is bounded by the chunk (same rule as ``hessian``) and the full
    matrix is never formed. The arithmetic is that of ``hessian`` (one
    directional derivative of the gradient per element), so prefer
    ``hvp(f, x, ones)`` when you know the Hessian is diagonal (an elementwise
    separable ``f``), which gives the same diagonal from a single product.
    ``progress=True`` shows a progress bar over the chunks (as in ``jacobian``).

    >>> import numpy as np, xpgrad
    >>> xpgrad.diaghessian(lambda x: np.sum(x ** 3), np.array([[1, 2], [3, 4]]))[0]
    array([[ 6, 12],
           [18, 24]])
    >>> [round(h, 2) for h in xpgrad.diaghessian(np.arctan2, 1.0, 2.0)]
    [-0.16, 0.16]

    See also: hessian, hvp.
    """
    E.check_callable(f, "diaghessian")
    xp = E.common_xp(E.flatten(args)[0])
    out: list[Any] = []
    kinds = [_kind(x, xp) for x in args]
    total = sum(
        C.size_of(tuple(E.as_array(x, xp).shape))
        for x, kind in zip(args, kinds)
        if kind is not None
    )
    lazy = any(C.one_pass(x) for x in args if E.is_array(x))
    bar = C.progress(progress, total, "diaghessian", lazy)
    try:
        for i, (x, kind) in enumerate(zip(args, kinds)):
            if kind is None:
                out.append(None)
                continue
            grad_i = _gradient_of(f, "diaghessian", args, i)
            d = _diagonal(grad_i, x, xp, chunk_size, memory_budget, "diaghessian", bar)
            out.append(E.to_python(d, x, xp) if kind == "scalar" else d)
    finally:
        bar.close()
    return tuple(owned(out, list(args), xp))


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product ``H @ v`` of a real scalar ``f`` at ``x``.

    One forward-over-reverse pass (``jvp`` of the gradient along ``v``), at the
    cost of a few gradients and without forming ``H``. ``v`` has the shape of
    ``x``, and so has the result (for arrays of any rank, ``H`` acts on the
    C-order flattening: ``hvp(f, x, v).reshape(-1) == hessian(f, x) @
    v.reshape(-1)``).

    >>> import numpy as np, xpgrad
    >>> xpgrad.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 0.5]))
    array([6., 6.])

    See also: hessian, jvp, gradient.
    """
    E.check_callable(f, "hvp")
    xp = E.common_xp([x, v])
    _check_point(x, xp, "hvp")
    return jvp(_gradient_of(f, "hvp"), (x,), (v,))[1]
