"""Checking derivatives: ``check_grads`` for any function, ``check_primitive`` for a rule.

The same checker serves xpgrad's conformance suite and users' own rules:

- forward mode against central finite differences, in a pseudo-random direction;
- reverse mode against forward mode by the dot-product identity
  ``<u, J v> == <J^T u, v>`` with ``<a, b> = Re(sum(a * b))`` (bilinear: JAX's
  convention for complex values, no conjugation);
- order 2 and up by applying the same checks to the pushforward and pullback
  themselves (forward-over-forward, forward-over-reverse, reverse-over-reverse).

Only Array API calls are used, so it runs on every backend.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from . import backends
from ._core.arrays import device_of
from .api import _edge as E
from .api.gradient import jvp, pullback
from .api.vmap import vmap
from .rules import F

__all__ = [
    "check_grads",
    "check_primitive",
    "check_transpose",
    "check_batching",
    "tolerance",
    "direction",
]

_TOL = {
    "float64": (1e-5, 1e-6),
    "float32": (2e-2, 2e-3),
    "complex128": (1e-5, 1e-6),
    "complex64": (2e-2, 2e-3),
}
_EPS = {"float64": 1e-6, "float32": 1e-2, "complex128": 1e-6, "complex64": 1e-2}


def _dtype_name(xp: Any, dtype: Any) -> str:
    for n in ("float64", "float32", "complex128", "complex64"):
        if hasattr(xp, n) and dtype == getattr(xp, n):
            return n
    return "float64"


def tolerance(xp: Any, dtype: Any, tol: dict | None = None) -> tuple[float, float]:
    """(rtol, atol) for ``dtype``; a rule's ``tol`` entry overrides the default.

    Parameters
    ----------
    xp : namespace
        The Array API namespace of ``dtype``.
    dtype : dtype
        A floating dtype of ``xp``.
    tol : dict, optional
        ``{dtype name: rtol or (rtol, atol)}``.

    Returns
    -------
    tuple of float
        ``(rtol, atol)``.

    See Also
    --------
    check_grads : Uses these tolerances.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import testing
    >>> testing.tolerance(np, np.float64), testing.tolerance(np, np.float32)
    ((1e-05, 1e-06), (0.02, 0.002))
    >>> testing.tolerance(np, np.float64, {"float64": 1e-9})
    (1e-09, 1e-09)
    """
    name = _dtype_name(xp, dtype)
    if tol and name in tol:
        t = tol[name]
        return (t, t) if isinstance(t, float) else t
    return _TOL[name]


def direction(xp: Any, like: Any, seed: int) -> Any:
    """A deterministic pseudo-random array shaped like ``like`` with entries in [-1, 1].

    Made with the standard's functions only, so every backend gives the same
    directions; complex ``like`` gives complex entries.

    Parameters
    ----------
    xp : namespace
        The Array API namespace to make it with.
    like : array
        Gives the shape and dtype.
    seed : int
        Different seeds give different directions.

    Returns
    -------
    array
        The direction.

    See Also
    --------
    check_grads : Uses these directions.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import testing
    >>> d = testing.direction(np, np.zeros(3), seed=0)
    >>> d.shape, bool(np.all(np.abs(d) <= 1))
    ((3,), True)
    >>> bool(np.all(d == testing.direction(np, np.zeros(3), seed=0)))
    True
    """
    shape = tuple(like.shape)
    n = 1
    for s in shape:
        n *= s
    # on ``like``'s device: a direction left on the default one (the CPU for torch)
    # cannot be added to an array on a GPU
    dev = device_of(like)
    k = xp.arange(n) if dev is None else xp.arange(n, device=dev)
    k = xp.astype(k, xp.float64) if _has_f64(xp) else xp.astype(k, like.dtype)
    v = xp.sin(k * 12.9898 + seed * 78.233) * 43758.5453
    v = 2 * (v - xp.floor(v)) - 1
    v = xp.reshape(v, shape)
    if xp.isdtype(like.dtype, "complex floating"):
        v = (
            xp.astype(v, like.dtype) + 1j * xp.astype(xp.flip(v), like.dtype)
            if shape
            else xp.astype(v, like.dtype) * (1 + 0.5j)
        )
    return xp.astype(v, like.dtype)


def _has_f64(xp: Any) -> bool:
    return hasattr(xp, "float64")


def _inexact(xp: Any, x: Any) -> bool:
    return E.is_array(x) and xp.isdtype(x.dtype, ("real floating", "complex floating"))


def _in_floating_args(f: Callable, args: tuple, idx: list) -> Callable:
    """``f`` as a function of ``args[i]`` for ``i`` in ``idx``, the others held fixed."""
    fixed = list(args)

    def g(*vary: Any) -> Any:
        full = list(fixed)
        for i, v in zip(idx, vary):
            full[i] = v
        return f(*full)

    return g


def _vdot(xp: Any, a: list, b: list) -> Any:
    """``Re(sum(a * b))``: the pairing under which a pullback is the transpose.

    The real part makes the identity hold for maps that are only real-linear
    (``real``, ``abs``, ``rfft``, ``irfft``), not just complex-linear ones.
    """
    total = 0.0
    for x, y in zip(a, b):
        if x is None or y is None:
            continue
        p = x * y
        if xp.isdtype(p.dtype, "complex floating"):
            p = xp.real(p)
        total = total + xp.sum(p)
    return total


def _close(xp: Any, a: Any, b: Any, rtol: float, atol: float, equal_nan: bool = False) -> bool:
    # a Python number (a dot product of zero terms) joins the other side's device
    dev = next((device_of(x) for x in (a, b) if E.is_array(x)), None)
    kw = {} if dev is None else {"device": dev}
    a = xp.asarray(a, **kw)
    b = xp.asarray(b, **kw)
    ok = xp.abs(a - b) <= atol + rtol * xp.abs(b)
    if equal_nan:  # the same NaN in both (a sample pushed off the function's domain)
        ok = xp.logical_or(ok, xp.logical_and(xp.isnan(a), xp.isnan(b)))
    return bool(xp.all(ok))


def _check_like(xp: Any, d: Any, primal: Any, what: str, of: str) -> None:
    """A tangent or cotangent ``d`` has its floating primal's shape and dtype.

    A real input of a complex-valued function must get a real cotangent (a
    complex one is garbage in its imaginary part), a float32 one a float32 one.
    """
    if d is None or not _inexact(xp, primal):
        return
    d = xp.asarray(d)
    if tuple(d.shape) != tuple(primal.shape) or d.dtype != primal.dtype:
        raise AssertionError(
            f"{what} {tuple(d.shape)} {d.dtype} differs from its {of}'s "
            f"{tuple(primal.shape)} {primal.dtype}"
        )


def _check_owned(xp: Any, results: list, others: list, what: str) -> None:
    """Each returned array can be written in place without changing any other result,
    the arguments or the given (co)tangents: no read-only broadcast views, no
    aliasing. Checked by writing into each result in turn (backends with
    in-place writes only)."""
    # NumPy's scalars (from 0-d arithmetic) are immutable values, not views
    arrays = [
        r for r in results if r is not None and E.is_array(r) and hasattr(type(r), "__setitem__")
    ]
    if not arrays or not backends.capabilities(arrays[0])["inplace"]:
        return
    watched = arrays + [o for o in others if o is not None and E.is_array(o)]
    for k, r in enumerate(arrays):
        before = [xp.asarray(w, copy=True) for w in watched]
        try:
            r[...] = 7
        except (ValueError, RuntimeError, TypeError) as e:
            raise AssertionError(
                f"returned {what} {k} cannot be written in place ({e}); results must be "
                f"writable arrays, not read-only or broadcast views"
            ) from None
        for j, (w, b) in enumerate(zip(watched, before)):
            if j == k:
                continue
            if not bool(xp.all((w == b) | (b != b))):
                who = f"{what} {j}" if j < len(arrays) else "an argument or a given direction"
                raise AssertionError(
                    f"writing into returned {what} {k} changed {who}: results must own their memory"
                )
        r[...] = before[k]


def _fail(msg: str, a: Any, b: Any) -> AssertionError:
    return AssertionError(f"{msg}\n  got:      {a!r}\n  expected: {b!r}")


def check_grads(
    f: Callable,
    args: Sequence[Any],
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    *,
    tol: dict | None = None,
    seed: int = 0,
) -> None:
    """Check ``f``'s derivatives at ``args`` up to ``order``; raise AssertionError if wrong.

    Checks the pushforward against central finite differences in a random
    direction, the pullback against the pushforward by the dot-product test
    (``<u, J v> == <J^T u, v>``), and then the same for the derivatives
    themselves, up to ``order``. Only floating (real or complex) array
    arguments are varied; others are held fixed.

    Parameters
    ----------
    f : callable
        The function; it returns an array (any shape) or a pytree of arrays.
    args : sequence
        The point: ``f(*args)``.
    order : int, optional
        The highest derivative order to check. Default 2.
    modes : sequence of {"fwd", "rev"}, optional
        Which modes to check. Default both.
    tol : dict, optional
        ``{dtype name: rtol or (rtol, atol)}``, overriding ``tolerance``.
    seed : int, optional
        Seed of the random directions. Default 0.

    Raises
    ------
    AssertionError
        If a derivative disagrees, with the values that differ.

    See Also
    --------
    check_primitive : The same for a registered primitive on its samples.

    Examples
    --------
    >>> import numpy as np, xpgrad.testing as T
    >>> T.check_grads(lambda x: x * x, (np.array([1.0, 2.0]),))

    A wrong rule is caught:

    >>> import xpgrad
    >>> @xpgrad.custom_rule
    ... def square(x):
    ...     return x * x
    >>> @square.defvjp
    ... def square_vjp(primals, needs):
    ...     (x,) = primals
    ...     return square(x), lambda ct: (ct * x,)           # should be 2 * ct * x
    >>> T.check_grads(square, (np.array([1.0, 2.0]),), order=1, modes=("rev",))
    Traceback (most recent call last):
    ...
    AssertionError: ...
    """
    args = tuple(args)
    leaves = list(args)
    xp = E.common_xp(leaves)
    idx = [i for i, a in enumerate(args) if _inexact(xp, a)]
    if not idx:
        return
    g = _in_floating_args(f, args, idx)
    x0 = tuple(args[i] for i in idx)
    _check_order1(g, x0, xp, modes, tol, seed)
    if order > 1:
        v = tuple(direction(xp, x, seed + 1 + k) for k, x in enumerate(x0))
        if "fwd" in modes:
            check_grads(
                lambda *x: jvp(g, tuple(x), v)[1], x0, order - 1, modes, tol=tol, seed=seed + 7
            )
        if "rev" in modes:
            y = g(*x0)
            ys, _ = E.flatten(y)
            us = [direction(xp, o, seed + 11 + k) for k, o in enumerate(ys)]
            _, tree = E.flatten(y)
            u = E.unflatten(tree, us)

            def vjp_fn(*x: Any) -> Any:
                cts = pullback(g, *x)[1](u)
                return tuple(c if c is not None else F.zeros_like(xi) for c, xi in zip(cts, x))

            check_grads(vjp_fn, x0, order - 1, modes, tol=tol, seed=seed + 13)


def _check_order1(
    g: Callable, x0: tuple, xp: Any, modes: Sequence[str], tol: dict | None, seed: int
) -> None:
    v = tuple(direction(xp, x, seed + 1 + k) for k, x in enumerate(x0))
    if "fwd" in modes:
        y, dy = jvp(g, x0, v)
        dys, _ = E.flatten(dy)
    else:  # a function with a reverse-mode rule only (custom_rule with defvjp)
        y, dys = g(*x0), []
    ys, tree = E.flatten(y)
    for o, t in zip(ys, dys):
        _check_like(xp, t, o, "tangent", "output")
    if "fwd" in modes:
        _check_owned(xp, list(dys), list(x0) + list(v), "tangent")
    # the least precise floating dtype among inputs and outputs sets eps and tolerance
    names = [_dtype_name(xp, a.dtype) for a in list(x0) + ys if _inexact(xp, a)]
    name = "float32" if any(n in ("float32", "complex64") for n in names) else names[0]
    dt = getattr(xp, name)
    rtol, atol = tolerance(xp, dt, tol)
    eps = _EPS[name]
    # central differences along v
    yp, _ = E.flatten(g(*(x + eps * d for x, d in zip(x0, v))))
    ym, _ = E.flatten(g(*(x - eps * d for x, d in zip(x0, v))))
    if "fwd" in modes:
        for a, p, m in zip(dys, yp, ym):
            if not _inexact(xp, xp.asarray(p)):
                continue
            fd = (p - m) / (2 * eps)
            if not _close(xp, a, fd, rtol, atol):
                raise _fail("forward mode disagrees with finite differences", a, fd)
    if "rev" in modes:
        us = [direction(xp, o, seed + 5 + k) for k, o in enumerate(ys)]
        _, back = pullback(g, *x0)
        cts = back(E.unflatten(tree, us))
        for c, x in zip(cts, x0):
            _check_like(xp, c, x, "cotangent", "input")
        _check_owned(xp, list(cts), list(x0) + us + list(v), "cotangent")
        lhs = _vdot(xp, us, dys)
        rhs = _vdot(xp, list(cts), list(v))
        if "fwd" not in modes:  # compare with finite differences instead of the jvp
            lhs = _vdot(xp, us, [(p - m) / (2 * eps) for p, m in zip(yp, ym)])
        if not _close(xp, rhs, lhs, rtol, atol * 10):
            raise _fail("reverse mode disagrees with forward mode (dot-product test)", rhs, lhs)


def check_batching(
    f: Callable, args: Sequence[Any], batch_size: int = 3, *, seed: int = 0, tol: dict | None = None
) -> None:
    """vmap of ``f`` over stacked copies of the array arguments equals the loop.

    Parameters
    ----------
    f : callable
        The function.
    args : sequence
        The arguments of one call; ``batch_size`` perturbed copies are stacked.
    batch_size : int, optional
        The number of copies. Default 3.
    seed : int, optional
        Seed of the perturbations. Default 0.
    tol : dict, optional
        As in ``check_grads``.

    Raises
    ------
    AssertionError
        If the batched result differs from the loop's.

    See Also
    --------
    check_primitive : Runs it on a primitive's samples.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import testing
    >>> f = lambda x: x.__array_namespace__().cumulative_sum(x) * 2
    >>> testing.check_batching(f, (np.array([0.5, -1.0]),))
    """
    args = tuple(args)
    xp = E.common_xp(list(args))
    idx = [i for i, a in enumerate(args) if E.is_array(a) and _inexact(xp, a)]
    if not idx:
        return
    stacks = []
    for i in idx:
        a = args[i]
        stacks.append(
            xp.stack([a + 0.1 * k * direction(xp, a, seed + k) for k in range(batch_size)])
        )

    def g(*vary: Any) -> Any:
        full = list(args)
        for i, v in zip(idx, vary):
            full[i] = v
        return f(*full)

    got = vmap(g)(*stacks)
    got_leaves, _ = E.flatten(got)
    for b in range(batch_size):
        want = g(*(s[b, ...] for s in stacks))
        want_leaves, _ = E.flatten(want)
        for gl, wl in zip(got_leaves, want_leaves):
            wl = xp.asarray(wl)
            rtol, atol = tolerance(xp, wl.dtype, tol) if _inexact(xp, wl) else (0.0, 0.0)
            if _inexact(xp, wl):
                ok = _close(xp, gl[b, ...], wl, rtol * 1e-2, atol * 1e-2, equal_nan=True)
            else:
                ok = bool(xp.all(gl[b, ...] == wl))
            if not ok:
                raise _fail(f"vmap disagrees with the loop at batch element {b}", gl[b, ...], wl)


def check_transpose(
    f: Callable, args: Sequence[Any], *, tol: dict | None = None, seed: int = 0
) -> None:
    """``f``'s pullback is the transpose of its pushforward: ``<u, J v> == <J^T u, v>``.

    The dot-product test alone, without finite differences: for functions whose
    outputs are defined only up to a gauge (the phase of a complex eigenvector),
    where finite differences of the outputs are meaningless but the pullback must
    still transpose the pushforward the rule chose.

    Parameters
    ----------
    f : callable
        The function.
    args : sequence
        The point: ``f(*args)``.
    tol : dict, optional
        As in ``check_grads``.
    seed : int, optional
        Seed of the random directions. Default 0.

    Raises
    ------
    AssertionError
        If the two products differ.

    See Also
    --------
    check_grads : Also against finite differences.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import testing
    >>> a = np.array([[2.0, 1j], [-1j, 3.0]])                # complex eigenvectors: a phase each
    >>> testing.check_transpose(lambda x: tuple(xpgrad.rules.NAMESPACE["linalg.eigh"](x)), (a,))
    """
    args = tuple(args)
    xp = E.common_xp(list(args))
    idx = [i for i, a in enumerate(args) if _inexact(xp, a)]
    if not idx:
        return

    g = _in_floating_args(f, args, idx)
    x0 = tuple(args[i] for i in idx)
    v = tuple(direction(xp, x, seed + 1 + k) for k, x in enumerate(x0))
    y, dy = jvp(g, x0, v)
    ys, tree = E.flatten(y)
    dys, _ = E.flatten(dy)
    us = [direction(xp, o, seed + 5 + k) for k, o in enumerate(ys)]
    cts = pullback(g, *x0)[1](E.unflatten(tree, us))
    for c, x in zip(cts, x0):
        _check_like(xp, c, x, "cotangent", "input")
    for o, t in zip(ys, dys):
        _check_like(xp, t, o, "tangent", "output")
    names = [_dtype_name(xp, a.dtype) for a in list(x0) + ys if _inexact(xp, a)]
    rtol, atol = tolerance(xp, getattr(xp, names[0]), tol)
    lhs = _vdot(xp, us, dys)
    rhs = _vdot(xp, list(cts), list(v))
    if not _close(xp, rhs, lhs, rtol, atol * 10):
        raise _fail("reverse mode disagrees with forward mode (dot-product test)", rhs, lhs)


def check_primitive(
    prim: Any,
    args: tuple,
    params: dict,
    order: int = 2,
    batching: bool = True,
    observe: Callable | None = None,
) -> None:
    """The conformance check of one primitive on one sample.

    ``check_grads`` of the primitive (if it is differentiable) and
    ``check_batching`` (if ``batching``), with the primitive's own tolerances.

    Parameters
    ----------
    prim : Primitive
        The primitive.
    args : tuple
        Its array arguments.
    params : dict
        Its keyword arguments.
    order : int, optional
        The highest derivative order to check. Default 2.
    batching : bool, optional
        Also check its vmap rule. Default True.
    observe : callable, optional
        A gauge-invariant function of the outputs (see ``complex_ok``): the
        derivatives of ``observe(prim(...))`` are then checked up to
        ``order``, and the raw outputs' pullback against their pushforward.

    Raises
    ------
    AssertionError
        If a rule disagrees.

    See Also
    --------
    check_grads : The derivative checks.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import extend, testing
    >>> sin = extend.PRIMITIVES["sin"]
    >>> make = lambda shape, lo, hi: np.random.default_rng(0).uniform(lo, hi, shape)
    >>> for args, params in sin.samples(make):
    ...     testing.check_primitive(sin, args, params)
    """

    def f(*a: Any) -> Any:
        return prim(*a, **params)

    if prim.differentiable:
        if observe is None:
            check_grads(f, args, order=order, tol=prim.tol)
        else:
            check_grads(lambda *a: observe(f(*a)), args, order=order, tol=prim.tol)
            check_transpose(f, args, tol=prim.tol)
    if batching:
        check_batching(f, args, tol=prim.tol)
