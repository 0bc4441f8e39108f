"""The primitive registry: every primitive, and what the traced namespace exports.

The core owns it (the rules register into it, the traced namespace and the
tracer's operators read from it), so that no layer below ``rules`` imports
``rules``. ``rules/_registry.py`` builds the helpers that state a rule's math
(``unary``, ``binary``, ``linear``, ...) on top of ``primitive`` and
``defrule`` here; ``xpgrad.extend`` re-exports both.
"""

from __future__ import annotations

from typing import Any, Callable

from ..backends import namespace_of
from .tables import NAMESPACE, PRIMITIVES, F, exported
from .trace import Primitive, fast_call

__all__ = [
    "PRIMITIVES",
    "NAMESPACE",
    "F",
    "primitive",
    "defrule",
    "export",
    "xp_of",
    "is_scalar",
]


_SCALARS = (int, float, complex)
# exact types: NumPy's float64 scalar subclasses float but is an array here
_SCALAR_TYPES = frozenset((int, float, complex, bool))


def is_scalar(x: Any) -> bool:
    """A Python number (not an array, not a NumPy scalar).

    Parameters
    ----------
    x : object
        Anything.

    Returns
    -------
    bool
        Whether ``type(x)`` is exactly ``int``, ``float``, ``complex`` or ``bool``.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import is_scalar
    >>> is_scalar(2.0), is_scalar(np.float64(2.0))
    (True, False)
    """
    return type(x) in _SCALAR_TYPES


def xp_of(*args: Any) -> Any:
    """The backend namespace of the first array among raw (untraced) ``args``.

    Parameters
    ----------
    *args : object
        Arrays and numbers (numbers and None are skipped).

    Returns
    -------
    namespace
        The Array API namespace of the first array.

    Raises
    ------
    TypeError
        When no argument is an array.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import xp_of
    >>> xp_of(2.0, np.ones(2)).__name__
    'array_api_compat.numpy'
    """
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
    # what a staged program (xpgrad.jit) calls instead, resolved once per program
    setattr(impl, "backend_function", (module, name))  # noqa: B010
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

    The primitive is exported to the traced namespace under ``name`` unless
    ``export_as`` says otherwise, so that code calling ``xp.<name>`` on traced
    values reaches it.

    Parameters
    ----------
    name : str
        The function's name in the standard (or your own); registered as
        ``"<module>.<name>"`` with a ``module``.
    impl : callable, optional
        The primal on backend arrays. Default: ``xp.<name>`` (or
        ``xp.<module>.<name>``) of the arguments' backend namespace.
    module : str, optional
        The standard's extension module (``"linalg"``, ``"fft"``).
    multiple_results : bool, optional
        Whether ``impl`` returns a tuple of arrays. Default False.
    export_as : str or bool, optional
        ``True`` (default): export under the registered name; a string: under
        that name; ``False`` or ``None``: do not export.
    nargs : {1, 2}, optional
        The function takes exactly that many positional arguments and no
        keywords (elementwise functions). It is then exported, and available
        to rules as ``p.fast``, as a plain function that dispatches at a third
        of the cost of calling the primitive object.

    Returns
    -------
    Primitive
        The new primitive, with no rules yet (see ``defrule``).

    Raises
    ------
    ValueError
        If a primitive of that name is already registered.

    See Also
    --------
    defrule : Attach its rules.
    unary, binary, linear, nondifferentiable : Declare a primitive with its rules in one call.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import extend
    >>> softplus = extend.primitive("softplus_p", lambda x: np.logaddexp(x, 0.0))
    >>> softplus
    <primitive softplus_p>
    >>> softplus(np.array([0.0]))                 # no transformation: the impl runs
    array([0.69314718])
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
    """Put ``fn`` into the traced namespace under ``name`` (``"linalg.x"`` for extensions).

    Parameters
    ----------
    name : str
        The name in the traced namespace; a dotted name goes into that
        extension module (``"linalg.my_norm"``). ``extend.F`` gets it with
        dots as underscores.
    fn : callable
        The function (usually a primitive, or its ``fast`` form).

    Returns
    -------
    callable
        ``fn``.

    See Also
    --------
    primitive : Exports by default.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import extend
    >>> _ = extend.export("cube_it", lambda x: x * x * x)
    >>> xpgrad.gradient(lambda x: x.__array_namespace__().cube_it(x), 2.0)
    (12.0,)
    """
    NAMESPACE[name] = fn
    setattr(F, name.replace(".", "_"), fn)
    exported()  # traced namespaces built before this export must see it
    return fn


def defrule(
    prim: Primitive | str,
    *,
    jvp: Callable | None = None,
    vjp: Callable | None = None,
    batch: Callable | None = None,
    pattern: Callable | None = None,
    onehot: Callable | None = None,
    samples: Callable | None = None,
    tol: dict | None = None,
) -> Primitive:
    """Attach rules to a primitive (by object or registered name).

    Only the rules given are set; the others are kept.

    Parameters
    ----------
    prim : Primitive or str
        The primitive, or its registered name.
    jvp : callable, optional
        ``jvp(primals, tangents, **params) -> (out, tangent)``; a ``None``
        tangent is a symbolic zero.
    vjp : callable, optional
        ``vjp(primals, needs, **params) -> (out, pullback)``, where
        ``pullback(ct)`` returns one cotangent (or ``None``) per argument and
        ``needs[i]`` says whether argument ``i`` wants one.
    batch : callable, optional
        ``batch(args, batched, **params) -> (out, out_batched)``, the vmap rule
        (the batch axis leads); ``elementwise_batch(p)`` for elementwise ones.
    pattern : callable, optional
        The sparsity rule (see ``xpgrad.rules.patterns``): which input elements
        each output element depends on. ``unary`` and ``binary`` declare the
        elementwise one; without one, ``sparse_jacobian`` takes every output
        element to depend on every input element (and reports the primitive).
    onehot : callable, optional
        ``onehot(vals, batched, params) -> value or None``: how a Jacobian's
        symbolic one-hot basis passes through the primitive without being made
        dense (``xpgrad._core.onehot``); None from it means "use the dense basis".
    samples : callable, optional
        ``samples(make) -> [(args, params), ...]``: where the conformance suite
        checks the rules (``shapes_samples`` for elementwise ones).
    tol : dict, optional
        ``{dtype name: rtol or (rtol, atol)}`` for the checks.

    Returns
    -------
    Primitive
        The primitive.

    See Also
    --------
    primitive : Create one.
    xpgrad.testing.check_primitive : Check the rules.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import extend
    >>> softplus = extend.primitive("softplus_r", lambda x: np.logaddexp(x, 0.0))
    >>> def softplus_vjp(primals, needs):
    ...     (x,) = primals
    ...     def softplus_pullback(ct):
    ...         return (ct / (1 + extend.F.exp(-x)),)
    ...     return softplus(x), softplus_pullback
    >>> _ = extend.defrule(softplus, vjp=softplus_vjp)
    >>> xpgrad.gradient(lambda x: softplus(x), 0.0)
    (0.5,)
    """
    p = PRIMITIVES[prim] if isinstance(prim, str) else prim
    if jvp is not None:
        p.jvp = jvp
    if vjp is not None:
        p.vjp = vjp
    if batch is not None:
        p.batch = batch
    if pattern is not None:
        p.pattern = pattern
    if onehot is not None:
        p.onehot = onehot
    if samples is not None:
        p.samples = samples
    if tol is not None:
        p.tol = tol
    return p


# -- batching ------------------------------------------------------------------
