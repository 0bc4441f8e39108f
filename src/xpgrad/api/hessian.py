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

from .._core.zeros import Zero
from ..rules import F
from . import _chunks as C
from . import _edge as E
from ._owned import owned
from .gradient import _Recorded, _scalar_root, jvp, pullback
from .jacobian import _forward_one, _kind, _reverse, _zero_jacobian
from .vmap import vmap

__all__ = ["diaghessian", "hessian", "hessian_reverse", "hvp"]


def _gradient_of(
    f: Callable, name: str, args: tuple = (None,), i: int = 0, wrt: tuple | None = None
) -> Callable:
    """``x -> gradient(f, *args with x at i)[i]``, a ``Zero`` where ``f`` ignores ``x``.

    ``wrt``: the arguments the caller differentiates (default ``i`` alone); they
    are recorded as variables, as ``f`` expects; the others are data, constants
    of the trace (one namespace for ``f``, no cotangent work).
    """
    wrt = (i,) if wrt is None else wrt

    def grad(x: Any) -> Any:
        rec = _Recorded(f, args[:i] + (x,) + args[i + 1 :], wrt=wrt, name=name)
        roots = _scalar_root(rec.out, rec, name)
        g = rec.backward(roots, release=True)[i]
        rec.release()
        # f ignores x: a typed zero, which the forward Jacobian turns into the zero
        # Hessian at once, hessian_reverse refuses to record, and jvp hands out
        return Zero.like(E.as_array(x, rec.xp)) if g is None else g

    return grad


def _point(f: Callable, args: tuple, wrt: Any, name: str) -> int:
    """The position of the one argument a second derivative is taken in."""
    if not args:
        raise TypeError(f"xpgrad.{name}: give the point at which to differentiate")
    sel = E.wrt_positions(f, len(args), wrt, name) or (0,)
    if len(sel) != 1:
        raise ValueError(
            f"xpgrad.{name}: differentiates one argument, but wrt={wrt!r} names "
            f"{len(sel)}. Concatenate them into one array, or take jacobian of gradient "
            f"for the blocks."
        )
    return sel[0]


def _check_point(x: Any, xp: Any, name: str) -> str:
    kind = _kind(x, xp)
    if kind is None:
        what = type(x).__name__
        if E.is_array(x):  # a boolean array: it has no derivative
            what = f"an array of dtype {x.dtype}, which has no derivative"
        raise TypeError(
            f"xpgrad.{name}: x must be a real number or a numeric array, got "
            f"{what}. For several arguments or a pytree, pass them as one array "
            f"(concatenate the raveled leaves), or use diaghessian / jacobian of gradient."
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
    *args: Any,
    wrt: Any = None,
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

    With several arguments, the Hessian is taken in the one that ``wrt``
    names (a position or parameter name; default the first), and the others
    are data (constants of the trace), as JAX's ``argnums``.

    Parameters
    ----------
    f : callable
        ``f(*args)``, a real scalar (a 0-d real array or a Python number).
    *args : array, number or pytree
        The point: ``x`` alone, or every argument of ``f``, of which ``wrt``
        names the one to differentiate (``x``), a real number or a numeric
        array. The others are data.
    wrt : int, str or tuple of one of them, optional
        The position or parameter name of ``x`` among ``args``; default 0.
    chunk_size : int, optional
        Basis tangents per batched pass (default: sized to ``memory_budget``).
    memory_budget : int, optional
        Bytes one batched pass may use (default:
        ``xpgrad.config.memory_budget``).
    progress : bool, default False
        Show a progress bar over the basis directions (needs ``tqdm``).

    Returns
    -------
    array or number
        For an array ``x``, an array of shape ``(x.size, x.size)`` (C-order
        flattening of ``x``, whatever its rank); for a 0-d array ``x``, a 0-d
        array; for a Python number ``x``, a Python number. The dtype is the
        one the rules produce (integer ``x`` of polynomial code gives an
        integer Hessian).

    Raises
    ------
    TypeError
        If ``f`` is not callable, no argument is given, the argument
        differentiated is not a real number or a numeric array (a complex
        number, a boolean array, a tuple or other pytree), ``wrt`` holds
        something other than ints and strings, ``progress`` is not a bool, or
        the arrays come from two backends.
    ValueError
        If ``f`` does not return a real scalar; if ``wrt`` names more than one
        argument, is empty or out of range, or names a parameter ``f`` does not
        have; or if ``chunk_size`` or ``memory_budget`` is not a positive int.
    ImportError
        If ``progress=True`` and tqdm is not installed.

    See Also
    --------
    hessian_reverse : The same matrix, reverse over reverse.
    diaghessian : Only the diagonal, without forming the matrix.
    hvp : One Hessian-vector product.
    jacobian : The first derivatives.
    sparse_hessian : Sparse Hessians in a few compressed passes.

    Examples
    --------
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

    In one argument of several (the others are data):

    >>> xpgrad.hessian(lambda w, x: np.sum((x @ w) ** 2), np.ones(2), np.eye(2), wrt="w")
    array([[2., 0.],
           [0., 2.]])
    """
    E.check_callable(f, "hessian")
    i = _point(f, args, wrt, "hessian")
    x = args[i]
    xp = E.common_xp(E.flatten(args)[0])
    kind = _check_point(x, xp, "hessian")
    n = C.size_of(tuple(E.as_array(x, xp).shape))
    bar = C.progress(progress, n, "hessian", C.one_pass(x))
    try:
        grad = _gradient_of(f, "hessian", args, i)
        H = _forward_one(grad, [x], 0, n, xp, chunk_size, memory_budget, "hessian", bar)
    finally:
        bar.close()
    return _finish(H, x, kind, xp)


def hessian_reverse(
    f: Callable,
    *args: Any,
    wrt: Any = None,
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool = False,
) -> Any:
    """``hessian(f, x)`` computed reverse over reverse (the reverse jacobian of the gradient).

    Same results, shapes and ``wrt`` as ``hessian``; usually slower (the gradient's
    backward pass is itself recorded and replayed), and useful as a cross-check.
    Chunked the same way, with batched pullbacks over chunks of basis cotangents.

    Parameters
    ----------
    f : callable
        ``f(*args)``, a real scalar (a 0-d real array or a Python number).
    *args : array, number or pytree
        The point: ``x`` alone, or every argument of ``f``, of which ``wrt``
        names the one to differentiate (``x``), a real number or a numeric
        array. The others are data.
    wrt : int, str or tuple of one of them, optional
        The position or parameter name of ``x`` among ``args``; default 0.
    chunk_size : int, optional
        Basis cotangents per batched pass (default: sized to ``memory_budget``).
    memory_budget : int, optional
        Bytes one batched pass may use (default: ``xpgrad.config.memory_budget``).
    progress : bool, optional
        Show a progress bar over the chunks (needs ``tqdm``). Default False.

    Returns
    -------
    array or number
        The Hessian, of shape ``(x.size, x.size)`` (C-order flattening) for an
        array ``x``; a 0-d array for a 0-d array ``x``; a Python number for a
        number ``x``.

    Raises
    ------
    TypeError
        As in ``hessian``: ``f`` not callable, no argument, an ``x`` that is
        not a real number or a numeric array, a ``wrt`` of the wrong type.
    ValueError
        As in ``hessian``: ``f`` not a real scalar, a ``wrt`` naming several
        arguments or none, a non-positive ``chunk_size`` or ``memory_budget``.
    ImportError
        If ``progress=True`` and tqdm is not installed.

    See Also
    --------
    hessian : The same matrix, forward over reverse (usually faster).

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> xpgrad.hessian_reverse(lambda x: np.sum(x ** 3), np.array([[1, 2], [3, 4]]))
    array([[ 6,  0,  0,  0],
           [ 0, 12,  0,  0],
           [ 0,  0, 18,  0],
           [ 0,  0,  0, 24]])
    >>> xpgrad.hessian_reverse(lambda w, x: np.sum((x @ w) ** 2), np.ones(2), np.eye(2), wrt=0)
    array([[2., 0.],
           [0., 2.]])
    """
    E.check_callable(f, "hessian_reverse")
    i = _point(f, args, wrt, "hessian_reverse")
    x = args[i]
    xp = E.common_xp(E.flatten(args)[0])
    kind = _check_point(x, xp, "hessian_reverse")
    g, back = pullback(_gradient_of(f, "hessian_reverse", args, i), x)
    if isinstance(g, Zero):  # f ignores x
        xa = E.as_array(x, xp)
        n = C.size_of(tuple(xa.shape))
        return _finish(_zero_jacobian(xp, g, xa, n, n), x, kind, xp)
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
    wrt: Any = None,
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
    ``wrt`` chooses the arguments (as in ``gradient``); the others are data and
    get ``None``. A container argument (tuple, dict, ...) gets ``None`` as in
    Zygote, unless ``wrt`` names it: then one diagonal per leaf, in its structure.

    Parameters
    ----------
    f : callable
        ``f(*args)``, a real scalar (a 0-d real array or a Python number).
    *args : array, number or pytree
        The point at which to differentiate.
    wrt : int, str or tuple of them, optional
        The arguments to differentiate: positions or names of ``f``'s
        positional parameters; default every argument that is a number or an
        array.
    chunk_size : int, optional
        Basis tangents per batched pass (default: sized to ``memory_budget``).
    memory_budget : int, optional
        Bytes one batched pass may use (default:
        ``xpgrad.config.memory_budget``).
    progress : bool, default False
        Show a progress bar over the basis directions (needs ``tqdm``).

    Returns
    -------
    tuple
        One entry per argument: for an array, an array of its shape
        (``h[i] = d^2 y / dx[i]^2``); for a 0-d array, a 0-d array; for a
        Python number, a Python number; for a container named by ``wrt``, its
        structure with one such entry per leaf. ``None`` for arguments that
        are not numbers or numeric arrays (strings, boolean arrays, containers
        ``wrt`` does not name) and for arguments ``wrt`` leaves out.

    Raises
    ------
    ValueError
        If ``f`` does not return a real scalar; if ``wrt`` is empty or out of
        range, names a parameter ``f`` does not have, or one argument twice;
        or if ``chunk_size`` or ``memory_budget`` is not a positive int.
    TypeError
        If ``f`` is not callable, ``wrt`` holds something other than ints and
        strings, ``progress`` is not a bool, or the arrays come from two
        backends.
    ImportError
        If ``progress=True`` and tqdm is not installed.

    See Also
    --------
    hessian : The full matrix.
    hvp : One Hessian-vector product.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> xpgrad.diaghessian(lambda x: np.sum(x ** 3), np.array([[1, 2], [3, 4]]))[0]
    array([[ 6, 12],
           [18, 24]])
    >>> [round(h, 2) for h in xpgrad.diaghessian(np.arctan2, 1.0, 2.0)]
    [-0.16, 0.16]

    A container named by ``wrt`` gets one diagonal per leaf; the other argument
    is data:

    >>> def f(p, x):
    ...     w, b = p
    ...     return np.sum((w * x + b) ** 2)
    >>> xpgrad.diaghessian(f, (np.array([1.0, 2.0]), 0.5), np.array([3.0, 4.0]), wrt="p")
    ((array([18., 32.]), 4.0), None)
    """
    E.check_callable(f, "diaghessian")
    leaves, tree = E.flatten(args)  # pytree arguments: one diagonal per leaf
    xp = E.common_xp(leaves)
    out: list[Any] = []
    kinds = []
    chosen = E.chosen_leaves(f, args, wrt, "diaghessian")
    for x, c in zip(leaves, chosen):
        E.check_leaf(x, "diaghessian")
        kinds.append(_kind(x, xp) if c else None)

    variables = tuple(k for k, kind in enumerate(kinds) if kind is not None)

    def f_leaves(*ls: Any) -> Any:
        return f(*E.unflatten(tree, list(ls)))

    total = sum(
        C.size_of(tuple(E.as_array(x, xp).shape))
        for x, kind in zip(leaves, kinds)
        if kind is not None
    )
    lazy = any(C.one_pass(x) for x in leaves if E.is_array(x))
    bar = C.progress(progress, total, "diaghessian", lazy)
    try:
        for i, (x, kind) in enumerate(zip(leaves, kinds)):
            if kind is None:
                out.append(None)
                continue
            grad_i = _gradient_of(f_leaves, "diaghessian", tuple(leaves), i, variables)
            d = _diagonal(grad_i, x, xp, chunk_size, memory_budget, "diaghessian", bar)
            out.append(E.to_python(d, x, xp) if kind == "scalar" else d)
    finally:
        bar.close()
    return E.per_argument(tree, owned(out, leaves, xp), chosen, args)


def hvp(f: Callable, *args: Any, v: Any = None, wrt: Any = None) -> Any:
    """The Hessian-vector product ``H @ v`` of a real scalar ``f`` at ``x``.

    Called as ``hvp(f, x, v)``, or, for a function of several arguments, as
    ``hvp(f, *args, v=v, wrt=i)``: the product with the Hessian in argument
    ``wrt`` (a position or parameter name; default the first), the others
    being data (constants of the trace).

    One forward-over-reverse pass (``jvp`` of the gradient along ``v``), at the
    cost of a few gradients and without forming ``H``. ``v`` has the shape of
    ``x``, and so has the result (for arrays of any rank, ``H`` acts on the
    C-order flattening: ``hvp(f, x, v).reshape(-1) == hessian(f, x) @
    v.reshape(-1)``).

    Parameters
    ----------
    f : callable
        ``f(*args)``, a real scalar (a 0-d real array or a Python number).
    *args : array, number or pytree
        ``x, v`` in the first form (exactly two, without ``v=`` or ``wrt=``);
        every argument of ``f`` in the second, ``x`` among them (a real
        number or a numeric array), the others data.
    v : array or number, optional
        The vector, shaped like ``x``; given by keyword in the second form.
    wrt : int, str or tuple of one of them, optional
        The position or parameter name of ``x`` among ``args`` (second form
        only); default 0.

    Returns
    -------
    array or number
        ``H @ v``, shaped like ``x``: an array of ``x``'s shape for an array
        ``x`` (0-d for a 0-d array), a Python number for a Python number.

    Raises
    ------
    TypeError
        If the call is neither ``hvp(f, x, v)`` nor ``hvp(f, *args, v=v,
        ...)`` (e.g. ``wrt=`` without ``v=``, or three positional arguments
        without ``v=``); if ``f`` is not callable; if ``x`` is not a real
        number or a numeric array; if ``v`` is boolean or not an array or a
        number; or if the arrays come from two backends.
    ValueError
        If ``f`` does not return a real scalar, ``v`` does not have ``x``'s
        shape or is complex for a real ``x``, or ``wrt`` names more than one
        argument, is empty or out of range, or names a parameter ``f`` does
        not have.

    See Also
    --------
    hessian : The full matrix.
    diaghessian : The diagonal of the Hessian.
    jvp : The forward-mode product ``hvp`` applies to the gradient.
    gradient : The first derivative.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> xpgrad.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 0.5]))
    array([6., 6.])

    For a function of several arguments, ``v`` and ``wrt`` by keyword:

    >>> xpgrad.hvp(
    ...     lambda w, x: np.sum((x @ w) ** 2), np.ones(2), np.eye(2), v=np.array([1.0, 0.0]), wrt="w"
    ... )
    array([2., 0.])
    """
    E.check_callable(f, "hvp")
    if v is None:
        if len(args) != 2 or wrt is not None:
            raise TypeError(
                "xpgrad.hvp: call it as hvp(f, x, v), or hvp(f, *args, v=v, wrt=i) "
                "for a function of several arguments"
            )
        v = args[1]
        args = args[:1]
    i = _point(f, args, wrt, "hvp")
    x = args[i]
    xp = E.common_xp(E.flatten(args)[0] + [v])
    _check_point(x, xp, "hvp")
    return jvp(_gradient_of(f, "hvp", args, i), (x,), (v,))[1]
