"""The one primitive-rule registry, and the helpers that state a rule's math.

Every function of the traced namespace is registered here, once. A helper's
name says the shape of the math (``unary``: partial derivative of one input;
``binary``: one partial per input, broadcast-aware; ``linear``: the function is
its own pushforward, write only the transpose; ``nondifferentiable``). Rules
call traced functions (``F.sin``, operators), never a backend directly, so
they can be differentiated again.

This module is the extension API too: ``xpgrad.extend`` re-exports it, and the
built-in rules use nothing that users cannot.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterable, Sequence

from .._core import onehot
from .._core.arrays import raw as _raw
from .._core.registry import (
    _SCALAR_TYPES,
    NAMESPACE,
    PRIMITIVES,
    F,
    defrule,
    export,
    is_scalar,
    primitive,
    xp_of,
)
from .._core.trace import Primitive
from . import patterns

__all__ = [
    "PRIMITIVES",
    "NAMESPACE",
    "F",
    "primitive",
    "defrule",
    "export",
    "unary",
    "binary",
    "linear",
    "bilinear_jvp",
    "nondifferentiable",
    "elementwise_batch",
    "unbroadcast",
    "xp_of",
    "is_scalar",
    "shapes_samples",
    "NOT_YET",
    "COMPLEX_OK",
    "COMPLEX_OBSERVE",
    "complex_ok",
    "patterns",
    "onehot",
]

#: Names of the standard deliberately not (yet) covered, with the reason.
NOT_YET: dict[str, str] = {}
#: Primitives whose samples also hold for complex inputs: the conformance suite
#: checks them again with ``make`` giving complex128 arrays. See ``complex_ok``.
COMPLEX_OK: set[str] = set()
#: For complex primitives whose outputs are defined only up to a phase (eigenvectors,
#: singular vectors): a gauge-invariant function of the outputs, by primitive name.
COMPLEX_OBSERVE: dict[str, Callable] = {}


def complex_ok(*prims: Any, observe: Callable | None = None) -> None:
    """Declare that these primitives' samples are valid with complex ``make`` arrays.

    ``observe(out)``: where complex outputs are defined only up to a phase (a gauge,
    such as the phase of each eigenvector), a function of the outputs, written in
    traced calls, that does not depend on it. The complex conformance pass then
    compares the derivatives of ``observe(prim(...))`` with finite differences (the
    outputs themselves jump between gauges as the input moves) and checks the raw
    outputs' pullback against their pushforward (the dot-product test).

    Parameters
    ----------
    *prims : Primitive or str
        The primitives (or their registered names).
    observe : callable, optional
        A gauge-invariant function of the outputs, for outputs defined up to a phase.

    Returns
    -------
    None

    Examples
    --------
    >>> from xpgrad import extend
    >>> extend.complex_ok("sin")  # sin's samples hold for complex input too
    """
    for p in prims:
        name = p if isinstance(p, str) else p.name
        COMPLEX_OK.add(name)
        if observe is not None:
            COMPLEX_OBSERVE[name] = observe


def _ndim(a: Any) -> int:
    return 0 if type(a) in _SCALAR_TYPES else len(a.shape)


def align_batched(args: Sequence[Any], batched: Sequence[bool]) -> list[Any]:
    """Give every batched argument the same logical rank, so broadcasting lines up.

    Batched values keep the batch axis first; ones are inserted after it. Unbatched
    values broadcast from the right as usual.

    Parameters
    ----------
    args : sequence
        The arguments of an elementwise batch rule (batched ones with the batch
        axis first).
    batched : sequence of bool
        Which arguments are batched.

    Returns
    -------
    list
        The arguments, batched ones reshaped to the common logical rank.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import align_batched
    >>> # a batch of 4 vectors beside an unbatched (2, 3): the vectors become rows
    >>> [a.shape for a in align_batched([np.ones((4, 3)), np.ones((2, 3))], [True, False])]
    [(4, 1, 3), (2, 3)]
    >>> [a.shape for a in align_batched([np.ones((4, 3)), np.ones((4, 2, 3))], [True, True])]
    [(4, 1, 3), (4, 2, 3)]
    """
    nds = [(_ndim(a) - 1 if b else _ndim(a)) for a, b in zip(args, batched)]
    top = max(nds)
    out = []
    for a, b, nd in zip(args, batched, nds):
        if b and nd < top:
            a = F.reshape(a, (a.shape[0],) + (1,) * (top - nd) + tuple(a.shape[1:]))
        out.append(a)
    return out


def elementwise_batch(p: Primitive) -> Callable:
    """Batch rule shared by every elementwise primitive.

    Batched arguments keep their batch axis first and are given the same
    logical rank, so that broadcasting lines up; the primitive then runs once
    on the whole batch.

    Parameters
    ----------
    p : Primitive
        An elementwise primitive.

    Returns
    -------
    callable
        Its batch rule, for ``defrule(p, batch=...)``.

    See Also
    --------
    defrule : Attach it.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import extend
    >>> softplus = extend.primitive("softplus_b", lambda x: np.logaddexp(x, 0.0))
    >>> _ = extend.defrule(softplus, batch=extend.elementwise_batch(softplus))
    >>> xpgrad.vmap(softplus)(np.zeros((2, 1))).round(4)
    array([[0.6931],
           [0.6931]])
    """

    def batch(args: list, batched: list, **params: Any) -> tuple[Any, bool]:
        if len(args) > 1:
            args = align_batched(args, batched)
        return p(*args, **params), True

    return batch


# -- broadcasting and projection ---------------------------------------------------


def unbroadcast(ct: Any, like: Any) -> Any:
    """Sum ``ct`` down to ``like``'s shape and give it ``like``'s floating dtype.

    The cotangent of an argument that was broadcast: pullbacks of binary
    functions call it for each argument.

    Parameters
    ----------
    ct : array
        A cotangent of the broadcast shape.
    like : array or Meta
        The argument (only its shape and dtype are read).

    Returns
    -------
    array
        ``ct`` summed over the broadcast axes, of ``like``'s shape and dtype.

    See Also
    --------
    binary : Uses it for both arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import extend
    >>> extend.unbroadcast(np.ones((2, 3)), np.zeros((1, 3)))
    array([[2., 2., 2.]])
    >>> extend.unbroadcast(np.ones((2, 3)), np.zeros(()))
    array(6.)
    """
    if ct.shape == like.shape and ct.dtype == like.dtype:  # the common case, at once
        return ct
    shape = tuple(like.shape)
    cshape = tuple(ct.shape)
    if cshape != shape:
        lead = len(cshape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and cshape[i + lead] != 1
        )
        if axes:
            ct = F.sum(ct, axis=axes, keepdims=True)
        if lead or tuple(ct.shape) != shape:
            ct = F.reshape(ct, shape)
    return project(ct, like)


def project(ct: Any, like: Any) -> Any:
    """Cast a cotangent to the dtype of a floating input (real part for real inputs).

    ChainRules' ``ProjectTo``: a real input of a complex-valued function gets
    the real part of its cotangent, a float32 input a float32 one.

    Parameters
    ----------
    ct : array
        The cotangent.
    like : array or Meta
        The input (or its ``Meta``), whose dtype the cotangent takes.

    Returns
    -------
    array
        ``ct`` in ``like``'s dtype (itself when it already has it).

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import project
    >>> project(np.array([1 + 2j, 3 - 1j]), np.zeros(2, dtype=np.float32))
    array([1., 3.], dtype=float32)
    """
    dt = like.dtype
    if ct.dtype == dt:
        return ct
    ns = xp_of(_raw(ct))  # ct lives on like's backend
    if ns.isdtype(dt, "real floating"):
        if ns.isdtype(ct.dtype, "complex floating"):
            ct = F.real(ct)
        if ns.isdtype(ct.dtype, "real floating") and ct.dtype != dt:
            ct = F.astype(ct, dt)
    elif ns.isdtype(dt, "complex floating") and ns.isdtype(ct.dtype, "real floating"):
        ct = F.astype(ct, dt)
    return ct


def broadcast_tangent(t: Any, shape: tuple) -> Any:
    """A tangent broadcast to the output's shape (for rules whose output broadcasts).

    Parameters
    ----------
    t : array
        The tangent.
    shape : tuple of int
        The output's shape.

    Returns
    -------
    array
        ``t`` itself when it has the shape, else ``broadcast_to(t, shape)``.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import broadcast_tangent
    >>> broadcast_tangent(np.ones(3), (2, 3)).shape
    (2, 3)
    """
    if tuple(t.shape) != tuple(shape):
        return F.broadcast_to(t, shape)
    return t


# -- samples for the conformance suite ---------------------------------------------

DEFAULT_SHAPES = ((), (3,), (2, 3))


def shapes_samples(
    nargs: int = 1,
    domain: tuple[float, float] = (-2.0, 2.0),
    shapes: Iterable[tuple] | None = None,
    params: Iterable[dict] = ({},),
    broadcast: bool = True,
) -> Callable:
    """Samples for an elementwise primitive: each shape, plus broadcasting pairs.

    Parameters
    ----------
    nargs : int, optional
        The number of array arguments. Default 1.
    domain : tuple of float, optional
        ``(low, high)``: where the values are drawn. Default ``(-2.0, 2.0)``.
    shapes : iterable of tuple, optional
        The shapes to try. Default ``((), (3,), (2, 3))``.
    params : iterable of dict, optional
        Keyword arguments to try, each with every shape. Default ``({},)``.
    broadcast : bool, optional
        With two arguments, also try broadcasting pairs. Default True.

    Returns
    -------
    callable
        ``samples(make) -> [(args, params), ...]``, where ``make(shape, low,
        high)`` makes one array of the backend under test.

    See Also
    --------
    defrule : Attach samples with ``samples=``.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import extend
    >>> make = lambda shape, lo, hi: np.full(shape, (lo + hi) / 2)
    >>> [tuple(a.shape for a in args) for args, params in extend.shapes_samples(2)(make)]
    [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3))]
    """
    shapes = tuple(shapes) if shapes is not None else DEFAULT_SHAPES
    lo, hi = domain

    def samples(make: Callable) -> list:
        out = []
        for prm in params:
            for s in shapes:
                out.append((tuple(make(s, lo, hi) for _ in range(nargs)), dict(prm)))
            if nargs == 2 and broadcast:
                out.append(((make((2, 3), lo, hi), make((3,), lo, hi)), dict(prm)))
                out.append(((make((2, 1), lo, hi), make((1, 3), lo, hi)), dict(prm)))
        return out

    return samples


# -- helpers that state the math -----------------------------------------------------


# Pullbacks are partials of module functions rather than closures: one object
# and its argument tuple per operation instead of a function and a cell per
# captured variable, which the cyclic garbage collector would scan (measured on
# the W2 benchmark: 8 tracked objects per recorded operation before, 5 after).


def _unary_pullback(deriv: Callable, x: Any, out: Any, ct: Any) -> tuple:
    return (F.multiply(ct, deriv(x, out)),)


def _binary_pullback(
    dx: Callable | None, dy: Callable | None, x: Any, y: Any, out: Any, ct: Any
) -> tuple:
    gx = unbroadcast(F.multiply(ct, dx(x, y, out)), x) if dx is not None else None
    gy = unbroadcast(F.multiply(ct, dy(x, y, out)), y) if dy is not None else None
    return gx, gy


def _linear_pullback(transpose: Callable, meta: Any, params: dict, ct: Any) -> tuple:
    # projected: a real input of a complex-valued map (fft of a real signal, imag)
    # gets the real part of its cotangent, in its own dtype
    return (project(transpose(ct, meta, **params), meta),)


def unary(
    name: str,
    deriv: Callable[[Any, Any], Any],
    *,
    uses_x: bool = True,
    domain: tuple[float, float] = (-2.0, 2.0),
    impl: Callable | None = None,
    module: str | None = None,
    pattern: Callable = patterns.elementwise,
    export_as: str | bool | None = True,
) -> Primitive:
    """Elementwise ``y = f(x)`` with ``dy/dx = deriv(x, y)``.

    Declares the primitive with its pushforward, pullback, batch rule,
    sparsity pattern (elementwise) and samples. ``uses_x=False`` declares that
    ``deriv`` reads only the output: the pullback then keeps ``y`` alone (and
    calls ``deriv(None, y)``), so a chain of ``tanh`` layers stores one array
    per layer, not two.

    Parameters
    ----------
    name : str
        The function's name.
    deriv : callable
        ``deriv(x, y)``, the derivative, written with traced functions
        (``extend.F``) so that it differentiates again.
    uses_x : bool, optional
        Whether ``deriv`` reads ``x``. Default True (the safe choice: ``x`` is
        kept for the backward pass); declare False for a derivative written
        with the output alone (``exp``, ``tanh``, ``sqrt``) to save memory.
    domain : tuple of float, optional
        Where the conformance suite samples ``x``. Default ``(-2.0, 2.0)``.
    impl : callable, optional
        The primal on backend arrays (default: ``xp.<name>``).
    module : str, optional
        As in ``primitive``.
    pattern : callable, optional
        The sparsity rule. Default ``patterns.elementwise``.
    export_as : str, bool or None, optional
        As in ``primitive``: False keeps it out of the traced namespace (a
        primitive that a Python function exported in its place dispatches to).

    Returns
    -------
    Primitive
        The registered primitive.

    See Also
    --------
    binary : Two arguments.
    primitive : Without rules.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import extend
    >>> softplus = extend.unary("softplus_u", lambda x, y: 1 / (1 + extend.F.exp(-x)),
    ...                         impl=lambda x: np.logaddexp(x, 0.0))
    >>> xpgrad.gradient(lambda x: np.sum(softplus(x)), np.array([0.0, 100.0]))
    (array([0.5, 1. ]),)
    """
    p = primitive(name, impl, module=module, nargs=1, export_as=export_as)
    call = p.fast

    def jvp(primals: list, tangents: list) -> tuple:
        x = primals[0]
        out = call(x)
        return out, F.multiply(tangents[0], deriv(x, out))

    def vjp(primals: list, needs: list) -> tuple:
        x = primals[0]
        out = call(x)
        return out, partial(_unary_pullback, deriv, x if uses_x else None, out)

    # the declaration, for the test that holds it to what ``deriv`` reads
    setattr(vjp, "unary_deriv", (deriv, uses_x))  # noqa: B010

    defrule(
        p,
        jvp=jvp,
        vjp=vjp,
        batch=elementwise_batch(p),
        pattern=pattern,
        samples=shapes_samples(1, domain),
    )
    return p


def binary(
    name: str,
    dx: Callable[[Any, Any, Any], Any] | None,
    dy: Callable[[Any, Any, Any], Any] | None,
    *,
    domain: tuple[float, float] = (-2.0, 2.0),
    impl: Callable | None = None,
    samples: Callable | None = None,
    pattern: Callable = patterns.elementwise,
    export_as: str | bool | None = True,
) -> Primitive:
    """Elementwise ``z = f(x, y)`` with partials ``dx(x, y, z)`` and ``dy(x, y, z)``.

    Declares the primitive with its pushforward, pullback (broadcast
    arguments get ``unbroadcast`` cotangents), batch rule, sparsity pattern
    (elementwise) and samples.

    Parameters
    ----------
    name : str
        The function's name.
    dx : callable or None
        ``dx(x, y, z)``, the partial with respect to ``x``; ``None`` if the
        function is not differentiable in ``x``.
    dy : callable or None
        The same for ``y``.
    domain : tuple of float, optional
        Where the conformance suite samples both arguments. Default
        ``(-2.0, 2.0)``.
    impl : callable, optional
        The primal on backend arrays (default: ``xp.<name>``).
    samples : callable, optional
        Samples instead of ``shapes_samples(2, domain)``.
    pattern : callable, optional
        The sparsity rule. Default ``patterns.elementwise``.
    export_as : str, bool or None, optional
        As in ``primitive`` (and ``unary``).

    Returns
    -------
    Primitive
        The registered primitive.

    See Also
    --------
    unary : One argument.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import extend
    >>> my_hypot = extend.binary("my_hypot_b", lambda x, y, z: x / z, lambda x, y, z: y / z,
    ...                          impl=np.hypot)
    >>> xpgrad.gradient(lambda x, y: my_hypot(x, y), 3.0, 4.0)
    (0.6, 0.8)
    """
    p = primitive(name, impl, nargs=2, export_as=export_as)
    call = p.fast

    def jvp(primals: list, tangents: list) -> tuple:
        x, y = primals
        tx, ty = tangents
        out = call(x, y)
        t = None
        if tx is not None and dx is not None:
            t = F.multiply(tx, dx(x, y, out))
        if ty is not None and dy is not None:
            u = F.multiply(ty, dy(x, y, out))
            t = u if t is None else F.add(t, u)
        if t is not None:
            t = broadcast_tangent(t, out.shape)
        return out, t

    def vjp(primals: list, needs: list) -> tuple:
        x, y = primals
        out = call(x, y)
        return out, partial(
            _binary_pullback, dx if needs[0] else None, dy if needs[1] else None, x, y, out
        )

    defrule(
        p,
        jvp=jvp,
        vjp=vjp,
        batch=elementwise_batch(p),
        pattern=pattern,
        samples=samples or shapes_samples(2, domain),
    )
    return p


def bilinear_jvp(p: Primitive) -> Callable:
    """The product rule of a function linear in each of its two arguments.

    ``d p(x, y) = p(dx, y) + p(x, dy)`` (matmul, tensordot, vecdot, outer, cross).

    Parameters
    ----------
    p : Primitive
        The bilinear primitive.

    Returns
    -------
    callable
        Its jvp rule, ``jvp(primals, tangents, **params) -> (out, tangent)``.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import PRIMITIVES, bilinear_jvp
    >>> jvp = bilinear_jvp(PRIMITIVES["matmul"])
    >>> jvp([np.eye(2), np.ones(2)], [None, np.array([1.0, 0.0])])[1]
    array([1., 0.])
    """

    def jvp(primals: list, tangents: list, **params: Any) -> tuple:
        x, y = primals
        tx, ty = tangents
        t = None
        if tx is not None:
            t = p(tx, y, **params)
        if ty is not None:
            u = p(x, ty, **params)
            t = u if t is None else F.add(t, u)
        return p(x, y, **params), t

    jvp.__qualname__ = f"{p.name}_jvp"
    return jvp


def linear(
    name: str,
    transpose: Callable[..., Any],
    *,
    impl: Callable | None = None,
    module: str | None = None,
    batch: Callable | None = None,
    samples: Callable | None = None,
    nargs: int | None = None,
    pattern: Callable | None = None,
    onehot: Callable | None = None,
) -> Primitive:
    """A function linear in its one array argument: the pushforward is the function.

    Parameters
    ----------
    name : str
        The function's name.
    transpose : callable
        ``transpose(ct, x, **params)`` gives the cotangent of ``x`` (use ``x``
        only for its shape and dtype).
    impl : callable, optional
        The primal on backend arrays (default: ``xp.<name>``).
    module : str, optional
        As in ``primitive``.
    batch : callable, optional
        The vmap rule, as in ``defrule``.
    samples : callable, optional
        The conformance samples, as in ``defrule``.
    nargs : int, optional
        ``1``: the function takes ``x`` alone, no parameters (see ``primitive``).
    pattern : callable, optional
        The sparsity rule, as in ``defrule``. For a function that only moves
        elements (reshape, flip, tril) use ``patterns.movement(p)`` of the
        returned primitive, in a ``defrule`` beside it.
    onehot : callable, optional
        How a Jacobian's one-hot basis passes through, as in ``defrule``.

    Returns
    -------
    Primitive
        The registered primitive.

    See Also
    --------
    primitive : Without rules.

    Examples
    --------
    >>> import xpgrad
    >>> from xpgrad import extend
    >>> double = extend.linear("double_l", lambda ct, x: 2 * ct, impl=lambda x: 2 * x)
    >>> xpgrad.jvp(double, (1.0,), (1.0,)), xpgrad.gradient(double, 1.0)
    ((2.0, 2.0), (2.0,))
    """
    p = primitive(name, impl, module=module, nargs=nargs)

    def jvp(primals: list, tangents: list, **params: Any) -> tuple:
        return p(primals[0], **params), p(tangents[0], **params)

    def vjp(primals: list, needs: list, **params: Any) -> tuple:
        x = primals[0]
        return p(x, **params), partial(_linear_pullback, transpose, Meta(x), params)

    defrule(p, jvp=jvp, vjp=vjp, batch=batch, samples=samples, pattern=pattern, onehot=onehot)
    return p


class Meta:
    """Shape and dtype of a value, without keeping the value alive."""

    __slots__ = ("shape", "dtype")

    def __init__(self, x: Any):
        self.shape = tuple(x.shape)
        self.dtype = x.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)


_METAS: dict = {}


def meta_of(x: Any) -> Meta:
    """``Meta(x)``, shared by every value of that shape and dtype (hot pullbacks keep
    one instead of allocating one per operation).

    Parameters
    ----------
    x : array
        A value whose shape and dtype a pullback needs, without keeping it alive.

    Returns
    -------
    Meta
        An object with ``shape``, ``dtype`` and ``ndim``.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import meta_of
    >>> m = meta_of(np.zeros((2, 3)))
    >>> m.shape, m.ndim, m is meta_of(np.ones((2, 3)))
    ((2, 3), 2, True)
    """
    dt = x.dtype
    key = (x.shape, type(dt), dt)  # the type first: no cross-library dtype comparison
    m = _METAS.get(key)
    if m is None:
        if len(_METAS) >= 4096:  # a program with ever-changing shapes: start over
            _METAS.clear()
        m = _METAS[key] = Meta(x)
    return m


def nondifferentiable(
    *names: str,
    batch: str | Callable = "elementwise",
    module: str | None = None,
    multiple_results: bool = False,
    nargs: int | None = None,
) -> list[Primitive]:
    """Register functions that have no derivative (their results are constants).

    Parameters
    ----------
    *names : str
        The functions' names (their implementations default to ``xp.<name>``).
    batch : "elementwise" or callable, optional
        The vmap rule: ``"elementwise"`` (default) or a rule as in ``defrule``.
    module : str, optional
        As in ``primitive``.
    multiple_results : bool, optional
        As in ``primitive``.
    nargs : int, optional
        As in ``primitive``, for elementwise functions.

    Returns
    -------
    list of Primitive
        The registered primitives, in the order of ``names``.

    See Also
    --------
    primitive : A differentiable one.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import extend
    >>> (my_sign,) = extend.nondifferentiable("my_sign_n")
    >>> my_sign.impl = np.sign
    >>> xpgrad.gradient(lambda x: np.sum(my_sign(x) * x), np.array([-2.0, 3.0]))
    (array([-1.,  1.]),)
    """
    out = []
    for name in names:
        p = primitive(name, module=module, multiple_results=multiple_results, nargs=nargs)
        p.differentiable = False
        if batch == "elementwise":
            p.batch = elementwise_batch(p)
        elif callable(batch):
            p.batch = batch
        out.append(p)
    return out
