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

import dis
import types
from functools import partial
from typing import Any, Callable, Iterable, Sequence

from .._core.trace import Primitive, Tracer, fast_call
from ..backends import namespace_of

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
]

PRIMITIVES: dict[str, Primitive] = {}
NAMESPACE: dict[str, Callable] = {}
UFUNCS: dict[str, Callable] = {}
#: Traced functions by name, for use inside rules: ``F.sin(x)``.
F = types.SimpleNamespace()
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
    """
    for p in prims:
        name = p if isinstance(p, str) else p.name
        COMPLEX_OK.add(name)
        if observe is not None:
            COMPLEX_OBSERVE[name] = observe


_SCALARS = (int, float, complex)
# exact types: NumPy's float64 scalar subclasses float but is an array here
_SCALAR_TYPES = frozenset((int, float, complex, bool))


def is_scalar(x: Any) -> bool:
    """A Python number (not an array, not a NumPy scalar)."""
    return type(x) in _SCALAR_TYPES


def xp_of(*args: Any) -> Any:
    """The backend namespace of the first array among raw (untraced) ``args``."""
    for a in args:
        if type(a) not in _SCALAR_TYPES and a is not None:
            return namespace_of(a)
    raise TypeError("xpgrad: expected at least one array argument")


def _default_impl(name: str, module: str | None) -> Callable:
    """``xp.<name>`` (or ``xp.<module>.<name>``) of the arguments' backend.

    The backend function is looked up once per array type, not on every call:
    this runs for every primitive applied to backend arrays.
    """
    cache: dict[type, Callable] = {}

    def lookup(args: tuple) -> Callable:
        xp = xp_of(*args)
        fn = getattr(getattr(xp, module), name) if module else getattr(xp, name)
        for a in args:
            if type(a) not in _SCALAR_TYPES and a is not None:
                cache[type(a)] = fn
                break
        return fn

    def impl(*args: Any, **params: Any) -> Any:
        fn = cache.get(type(args[0])) if args else None
        if fn is None:
            fn = lookup(args)
        return fn(*args, **params) if params else fn(*args)

    impl.__name__ = f"{name}_impl"
    return impl


def primitive(
    name: str,
    impl: Callable | None = None,
    *,
    module: str | None = None,
    multiple_results: bool = False,
    export_as: str | bool | None = True,
    nargs: int | None = None,
) -> Primitive:
    """Create and register a primitive.

    ``impl`` defaults to calling ``xp.<name>`` (or ``xp.<module>.<name>``) on the
    backend namespace of the arguments. The primitive is exported to the traced
    namespace under ``name`` unless ``export_as`` says otherwise.

    ``nargs`` (1 or 2): the function takes exactly that many positional arguments
    and no keywords (elementwise functions). It is then exported, and available
    to rules as ``p.fast``, as a plain function that dispatches at a third of the
    cost of calling the primitive object.
    """
    key = f"{module}.{name}" if module else name
    if key in PRIMITIVES:
        raise ValueError(f"xpgrad: a primitive named {key!r} is already registered")
    p = Primitive(key, impl or _default_impl(name, module), multiple_results=multiple_results)
    if nargs is not None:
        p.fast = fast_call(p, nargs)
    PRIMITIVES[key] = p
    if export_as is True:
        export(key, p.fast)
    elif isinstance(export_as, str):
        export(export_as, p.fast)
    return p


def export(name: str, fn: Callable) -> Callable:
    """Put ``fn`` into the traced namespace under ``name`` (``"linalg.x"`` for extensions)."""
    from .._core import namespace as _namespace

    NAMESPACE[name] = fn
    setattr(F, name.replace(".", "_"), fn)
    _namespace._cache.clear()  # traced namespaces built before this export must see it
    return fn


def defrule(
    prim: Primitive | str,
    *,
    jvp: Callable | None = None,
    vjp: Callable | None = None,
    batch: Callable | None = None,
    pattern: Callable | None = None,
    samples: Callable | None = None,
    tol: dict | None = None,
) -> Primitive:
    """Attach rules to a primitive (by object or registered name)."""
    p = PRIMITIVES[prim] if isinstance(prim, str) else prim
    if jvp is not None:
        p.jvp = jvp
    if vjp is not None:
        p.vjp = vjp
    if batch is not None:
        p.batch = batch
    if pattern is not None:
        p.pattern = pattern
    if samples is not None:
        p.samples = samples
    if tol is not None:
        p.tol = tol
    return p


# -- batching ------------------------------------------------------------------


def _ndim(a: Any) -> int:
    return 0 if type(a) in _SCALAR_TYPES else len(a.shape)


def align_batched(args: Sequence[Any], batched: Sequence[bool]) -> list[Any]:
    """Give every batched argument the same logical rank, so broadcasting lines up.

    Batched values keep the batch axis first; ones are inserted after it. Unbatched
    values broadcast from the right as usual.
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
    """Batch rule shared by every elementwise primitive."""

    def batch(args: list, batched: list, **params: Any) -> tuple[Any, bool]:
        if len(args) > 1:
            args = align_batched(args, batched)
        return p(*args, **params), True

    return batch


# -- broadcasting and projection ---------------------------------------------------


def unbroadcast(ct: Any, like: Any) -> Any:
    """Sum ``ct`` down to ``like``'s shape and give it ``like``'s floating dtype."""
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

    ``like`` is the input or its ``Meta``."""
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


def _raw(x: Any) -> Any:
    while isinstance(x, Tracer):
        x = x._value
    return x


def broadcast_tangent(t: Any, shape: tuple) -> Any:
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
    """Samples for an elementwise primitive: each shape, plus broadcasting pairs."""
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


def _reads_arg(fn: Callable, index: int) -> bool:
    """Whether ``fn``'s body reads its positional argument ``index``."""
    code = getattr(fn, "__code__", None)
    if code is None or index >= code.co_argcount:
        return True
    name = code.co_varnames[index]
    for ins in dis.get_instructions(fn):
        if ins.opname.startswith("LOAD_") and (
            ins.argval == name or (isinstance(ins.argval, tuple) and name in ins.argval)
        ):
            return True
        if ins.opname in ("LOAD_CLOSURE", "MAKE_CELL") and ins.argval == name:
            return True
    return False


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
    return (transpose(ct, meta, **params),)


def unary(
    name: str,
    deriv: Callable[[Any, Any], Any],
    *,
    domain: tuple[float, float] = (-2.0, 2.0),
    impl: Callable | None = None,
    module: str | None = None,
) -> Primitive:
    """Elementwise ``y = f(x)`` with ``dy/dx = deriv(x, y)``.

    The pullback keeps alive only what ``deriv`` reads: ``tanh``'s keeps ``y``
    alone, so a chain of layers stores one array per layer, not two.
    """
    p = primitive(name, impl, module=module, nargs=1)
    call = p.fast
    reads_x = _reads_arg(deriv, 0)

    def jvp(primals: list, tangents: list) -> tuple:
        x = primals[0]
        out = call(x)
        return out, F.multiply(tangents[0], deriv(x, out))

    def vjp(primals: list, needs: list) -> tuple:
        x = primals[0]
        out = call(x)
        return out, partial(_unary_pullback, deriv, x if reads_x else None, out)

    defrule(p, jvp=jvp, vjp=vjp, batch=elementwise_batch(p), samples=shapes_samples(1, domain))
    return p


def binary(
    name: str,
    dx: Callable[[Any, Any, Any], Any] | None,
    dy: Callable[[Any, Any, Any], Any] | None,
    *,
    domain: tuple[float, float] = (-2.0, 2.0),
    impl: Callable | None = None,
    samples: Callable | None = None,
) -> Primitive:
    """Elementwise ``z = f(x, y)`` with partials ``dx(x, y, z)`` and ``dy(x, y, z)``.

    A partial of ``None`` means the function is not differentiable in that argument.
    """
    p = primitive(name, impl, nargs=2)
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
        samples=samples or shapes_samples(2, domain),
    )
    return p


def bilinear_jvp(p: Primitive) -> Callable:
    """The product rule of a function linear in each of its two arguments.

    ``d p(x, y) = p(dx, y) + p(x, dy)`` (matmul, tensordot, vecdot, outer, cross).
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
) -> Primitive:
    """A function linear in its one array argument: the pushforward is the function.

    ``transpose(ct, x, **params)`` gives the cotangent of ``x`` (use ``x`` only for
    its shape and dtype). ``nargs=1``: the function takes ``x`` alone, no
    parameters (see ``primitive``).
    """
    p = primitive(name, impl, module=module, nargs=nargs)

    def jvp(primals: list, tangents: list, **params: Any) -> tuple:
        return p(primals[0], **params), p(tangents[0], **params)

    def vjp(primals: list, needs: list, **params: Any) -> tuple:
        x = primals[0]
        return p(x, **params), partial(_linear_pullback, transpose, Meta(x), params)

    defrule(p, jvp=jvp, vjp=vjp, batch=batch, samples=samples)
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
    one instead of allocating one per operation)."""
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

    ``nargs``: as for ``primitive``, for elementwise functions."""
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
