"""gradient, withgradient, pullback and jvp: the first-order transformations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .._core.arrays import instantiate
from .._core.calls import record
from .._core.forward import ForwardTrace, ForwardTracer
from .._core.reverse import ReverseTracer
from .._core.trace import new_level
from .._core.zeros import Zero
from ..rules import F
from . import _edge as E
from ._owned import owned
from .grads import implicit_mode

if TYPE_CHECKING:
    from .grads import Grads

__all__ = ["gradient", "withgradient", "pullback", "jvp", "WithGradient"]


class WithGradient(NamedTuple):
    """``(val, grad)``: the function's value and the derivative.

    The result of ``withgradient``; a named tuple, so ``val, grad = result``
    works too.

    Parameters
    ----------
    val : array, number or pytree
        ``f(*args)``.
    grad : tuple or Grads
        The gradients, as ``gradient`` returns them.

    Examples
    --------
    >>> import xpgrad
    >>> res = xpgrad.withgradient(lambda x: x ** 3, 2.0)
    >>> res.val, res.grad
    (8.0, (12.0,))
    """

    val: Any
    grad: Any


class _Recorded:
    """The forward pass of ``f`` on pytree arguments under a reverse trace (``record``),
    with the API's checks of the arguments and conversions of the cotangents."""

    __slots__ = ("rec", "trace", "args_tree", "leaves", "nodes", "xp", "out")

    def __init__(
        self,
        f: Callable,
        args: tuple,
        xp: Any = None,
        wrt: tuple[int, ...] | None = None,
        name: str = "gradient",
    ):
        leaves, treedef = E.flatten(args)
        self.xp = xp = xp if xp is not None else E.common_xp(leaves)
        self.args_tree = treedef
        self.leaves = leaves
        chosen = [True] * len(leaves)
        if wrt is not None:
            chosen = [i in wrt for i in E.leaf_owners(args)]
        inputs, diff = [], []
        for x, c in zip(leaves, chosen):
            E.check_leaf(x, name)
            d = c and E.differentiable_leaf(x, xp)
            inputs.append(E.as_array(x, xp) if d else x)
            diff.append(d)
        n = len(args)
        if treedef.num_leaves != n or treedef.num_nodes != n + 1:  # not one leaf per argument
            f = _on_leaves(f, treedef)
        self.rec = rec = record(f, inputs, diff, xp)
        self.trace = rec.trace
        self.nodes = rec.nodes
        self.out = rec.out

    def unwrap(self, y: Any) -> Any:
        return self.rec.unwrap(y)

    def backward(self, roots: list, release: bool = False) -> tuple:
        """Cotangents of the arguments (pytrees like the arguments, None where unused)."""

        def convert(cts: list) -> list:
            grads = [
                None if ct is None else E.to_python(ct, x, self.xp)
                for x, ct in zip(self.leaves, cts)
            ]
            # each result its own writable array (views and shared cotangents copied)
            return owned(grads, self.leaves, self.xp)

        return tuple(E.unflatten(self.args_tree, self.rec.backward(roots, release, convert)))

    def release(self) -> None:
        self.rec.release()


def _on_leaves(f: Callable, treedef: Any) -> Callable:
    """``f`` as a function of the leaves of its pytree arguments."""
    return lambda *leaves: f(*E.unflatten(treedef, list(leaves)))


def _scalar_root(out: Any, rec: _Recorded, name: str) -> list:
    """Check that ``out`` is a real scalar; return the backward pass's root."""
    # (a constant of the trace, such as argmax's result, is not traced)
    traced = type(out) is ReverseTracer and out._trace is rec.trace and out.node is not None
    if (
        type(out) is bool
        or (E.is_array(out) and E.is_bool_dtype(rec.xp, out.dtype))
        or (
            E.is_array(out)
            and E.is_integral_dtype(rec.xp, out.dtype)
            and (not traced or _any_floating(rec))
        )
    ):
        # integer polynomials of integer arguments are differentiated (the seed's
        # integer Jacobians); any other integer result came from a piecewise-constant
        # function (argmax, astype, a comparison): no derivative, as in jacobian/JAX
        raise ValueError(
            f"xpgrad.{name}: the function returned a result of dtype {_dtype_word(out)}, which "
            f"has no derivative; return a floating value (for a count or an index, "
            f"differentiate the floating quantity it is computed from)"
        )
    shape = getattr(out, "shape", None)
    if shape is None and not E.is_number(out):
        raise ValueError(
            f"xpgrad.{name}: the function must return a real scalar (a 0-d array or a "
            f"number), got {type(out).__name__}. To differentiate several outputs use "
            f"xpgrad.jacobian; for auxiliary outputs use withgradient with a tuple."
        )
    if shape is not None and tuple(shape) != ():
        raise ValueError(
            f"xpgrad.{name}: the function must return a scalar, got an array of shape "
            f"{tuple(shape)}. Reduce it first (e.g. xp.sum) or use xpgrad.jacobian for "
            f"the derivative of every element."
        )
    if shape is not None and rec.xp.isdtype(out.dtype, "complex floating"):
        raise ValueError(
            f"xpgrad.{name}: the function returned a complex scalar; gradients are "
            f"defined for real-valued functions. Return xp.real(y) or xp.abs(y)**2, or "
            f"use xpgrad.jacobian / pullback for complex outputs."
        )
    if traced:
        return [(out.node, F.ones_like(out.primal))]
    return []


def _any_floating(rec: _Recorded) -> bool:
    xp = rec.xp
    return any(
        node is not None
        and (type(x) is float or (E.is_array(x) and xp.isdtype(x.dtype, "real floating")))
        for x, node in zip(rec.leaves, rec.nodes)
    )


def _dtype_word(out: Any) -> str:
    return "bool" if type(out) is bool else f"{out.dtype}"


@implicit_mode
def gradient(f: Callable, *args: Any, wrt: Any = None) -> tuple | Grads:
    """The gradient of a real scalar function, one entry per argument.

    Each entry has the structure of its argument (tuples, lists, dicts,
    namedtuples, dataclasses); leaves that are not numbers or numeric arrays
    (strings, booleans) get ``None``, and so do arguments the result does not
    depend on (Zygote's ``nothing``). Python-number arguments get Python numbers.

    ``wrt`` (an argument position, a parameter name, or a tuple of them, like
    JAX's ``argnums``) chooses the arguments to differentiate; the others are
    data: they enter ``f`` as constants of the trace (the same namespace as the
    traced values, and no derivative work) and their entries are ``None``.

    Reverse mode: ``f`` is recorded once and its tape walked back once, so the
    cost is a small multiple of one call of ``f`` whatever the number of
    inputs. Called as ``gradient(f, ps)`` with one ``Params``, the implicit
    mode: ``f`` takes no arguments, and the result is a ``Grads`` keyed by the
    parameters that ``f`` reads.

    Parameters
    ----------
    f : callable
        ``f(*args)``, a real scalar: a 0-d real array or a Python number.
    *args : array, number or pytree
        The point at which to differentiate, one value per parameter of
        ``f``; or one ``Params`` (implicit mode, ``f()`` then takes no
        arguments).
    wrt : int, str or tuple of them, optional
        The arguments to differentiate: positions (negative ones count from
        the end) or names of ``f``'s positional parameters. The others are
        data and get ``None``. Default: every argument. Not allowed with
        ``Params``.

    Returns
    -------
    tuple or Grads
        One entry per argument of ``args``, in order, each shaped like its
        argument: an array of its shape and dtype for an array, a Python
        number (``int``, ``float`` or ``complex``, after the rules' dtype) for a
        Python number, and for a container (tuple, list, dict, namedtuple,
        dataclass) the same structure with the derivative of each leaf.
        ``None`` for non-numeric leaves (strings, booleans, boolean arrays),
        for arguments that ``f``'s result does not depend on, and for
        arguments not named by ``wrt``. In implicit mode, a ``Grads`` mapping
        each ``Param`` to its gradient.

    Raises
    ------
    ValueError
        If ``f`` returns anything but a real scalar (an array of another
        shape, a complex scalar, a tuple); if ``wrt`` is empty, out of range,
        names a parameter ``f`` does not have, or names one argument twice.
    TypeError
        If ``f`` is not callable; if ``wrt`` holds something other than ints
        and strings, names a parameter of a function whose signature cannot be
        read, or is given with ``Params``; if the arrays come from two
        backends; or if an argument holds arrays without being a pytree.

    See Also
    --------
    withgradient : The value and the gradient, with auxiliary outputs.
    pullback : The vector-Jacobian product for any cotangent.
    jacobian : The derivatives of every element of an array output.
    hessian : Second derivatives.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> xpgrad.gradient(lambda w, x: np.sum((x @ w) ** 2), np.ones(2), np.eye(2), wrt="w")
    (array([2., 2.]), None)

    >>> import numpy as np, xpgrad
    >>> xpgrad.gradient(lambda x, y: x * y, 2.0, 3.0)
    (3.0, 2.0)
    >>> xpgrad.gradient(lambda a, t: np.sum(a * t[0]) + t[1], np.array([1, 2, 3]), (4, 5))
    (array([4, 4, 4]), (6, 1))

    Implicit parameters:

    >>> w = xpgrad.param(np.array([1.0, 2.0]))
    >>> gs = xpgrad.gradient(lambda: np.sum(w ** 2), xpgrad.Params([w]))
    >>> gs[w]
    array([2., 4.])
    """
    E.check_callable(f, "gradient")
    rec = _Recorded(f, args, wrt=E.wrt_positions(f, len(args), wrt, "gradient"))
    roots = _scalar_root(rec.out, rec, "gradient")
    grads = rec.backward(roots, release=True)
    rec.release()
    return grads


def _primary(out: Any) -> Any:
    if isinstance(out, tuple):  # also namedtuples
        if not out:
            raise ValueError("xpgrad.withgradient: the function returned an empty tuple")
        return out[0]
    if isinstance(out, dict):
        if not out:
            raise ValueError("xpgrad.withgradient: the function returned an empty dict")
        return next(iter(out.values()))
    return out


@implicit_mode
def withgradient(f: Callable, *args: Any, wrt: Any = None) -> WithGradient:
    """The value and the gradient, as ``(val, grad)``.

    If ``f`` returns a tuple, namedtuple or dict, the gradient is that of its
    first element and ``val`` is the whole return value (auxiliary outputs).
    ``wrt`` chooses the differentiated arguments, as in ``gradient``.

    One recorded call of ``f`` gives both, as ``gradient`` does (reverse mode).

    Parameters
    ----------
    f : callable
        ``f(*args)``: a real scalar, or a tuple, namedtuple or dict whose first
        element is one.
    *args : array, number or pytree
        The point, as in ``gradient`` (one ``Params`` for implicit mode).
    wrt : int, str or tuple of them, optional
        The arguments to differentiate, as in ``gradient``; default every
        argument. Not allowed with ``Params``.

    Returns
    -------
    WithGradient
        The named tuple ``(val, grad)``. ``val`` is ``f(*args)``, the whole
        return value (a 0-d result comes back as a Python number when every
        argument leaf is a Python number); ``grad`` is what
        ``gradient(f, *args, wrt=wrt)`` returns for the first element: a tuple
        with one entry per argument (``None`` where there is no derivative),
        or a ``Grads`` in implicit mode.

    Raises
    ------
    ValueError
        If the (first element of the) result is not a real scalar, or ``f``
        returns an empty tuple or dict; for a bad ``wrt``, as in ``gradient``.
    TypeError
        As in ``gradient`` (``f`` not callable, ``wrt`` of the wrong type or
        given with ``Params``, two backends).

    See Also
    --------
    gradient : The gradient alone.
    withjacobian : The value and the Jacobians.
    WithGradient : The result type.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.withgradient(lambda a, b: a / b, 1, 2)
    WithGradient(val=0.5, grad=(0.5, -0.25))

    An auxiliary output, and data that is not differentiated:

    >>> import numpy as np
    >>> def loss(w, x):
    ...     r = x @ w
    ...     return np.sum(r ** 2), r
    >>> val, grad = xpgrad.withgradient(loss, np.ones(2), np.eye(2), wrt=0)
    >>> val
    (np.float64(2.0), array([1., 1.]))
    >>> grad
    (array([2., 2.]), None)
    """
    E.check_callable(f, "withgradient")
    rec = _Recorded(f, args, wrt=E.wrt_positions(f, len(args), wrt, "withgradient"))
    roots = _scalar_root(_primary(rec.out), rec, "withgradient")
    grads = rec.backward(roots, release=True)
    val = _python_val(rec.unwrap(rec.out), args, rec.xp)
    rec.release()
    return WithGradient(val, grads)


def _python_val(val: Any, args: tuple, xp: Any) -> Any:
    """A 0-d result of Python-number arguments comes back as a Python number."""
    leaves, _ = E.flatten(args)
    if leaves and all(E.is_number(x) for x in leaves):
        return E.map_leaves(lambda v: E.to_python(v, 0.0, xp) if E.is_array(v) else v, val)
    return val


def pullback(f: Callable, *args: Any, wrt: Any = None) -> tuple[Any, Callable]:
    """``(y, back)``: the value and its pullback, ``back(dy) -> tuple`` of cotangents.

    ``wrt`` chooses the differentiated arguments, as in ``gradient``; the
    others get ``None``.

    ``dy`` has the structure and shapes of ``y`` (``None`` leaves are zeros);
    a numeric ``dy`` leaf is cast to the dtype of a floating output, while
    boolean leaves, and complex ones for a real output, raise. Results never
    alias ``dy`` (it is copied where the backend has mutable arrays). ``back``
    may be called many times; the recorded tape lives as long as ``back``.

    Reverse mode: ``f`` is recorded once; each call of ``back`` is one
    backward pass over the record, the vector-Jacobian product ``dy @ J``.
    ``y`` may be any pytree of arrays and numbers (complex outputs included).

    Parameters
    ----------
    f : callable
        ``f(*args)``: an array, a number, or a pytree of them.
    *args : array, number or pytree
        The point at which to differentiate.
    wrt : int, str or tuple of them, optional
        The arguments to differentiate, as in ``gradient``; default every
        argument.

    Returns
    -------
    y : array, number or pytree
        ``f(*args)``, as ``f`` returned it (not converted to Python numbers,
        unlike ``withgradient``'s ``val``).
    back : callable
        ``back(dy) -> tuple``: one cotangent per argument, in the structure of
        the arguments (as ``gradient`` returns them: arrays for arrays, Python
        numbers for Python numbers, containers leaf by leaf), ``None`` for
        non-numeric leaves, arguments ``y`` does not depend on, and arguments
        not named by ``wrt``. ``back`` raises ``ValueError`` when ``dy`` does
        not have ``y``'s structure or a leaf's shape, or is complex for a
        real output, and ``TypeError`` for a boolean or non-numeric leaf.

    Raises
    ------
    ValueError
        For a bad ``wrt``, as in ``gradient``.
    TypeError
        If ``f`` is not callable, ``wrt`` holds something other than ints and
        strings, or the arrays come from two backends.

    See Also
    --------
    gradient : The pullback of a scalar at ``dy = 1``.
    jvp : The other direction, a Jacobian-vector product.
    jacobian : Every row at once, by batched pullbacks.

    Examples
    --------
    >>> import xpgrad
    >>> y, back = xpgrad.pullback(lambda x: x * x, 3.0)
    >>> back(1.0)
    (6.0,)

    A vector output, with the second argument as data:

    >>> import numpy as np
    >>> y, back = xpgrad.pullback(lambda x, a: a * x ** 2, np.array([1.0, 2.0]), 3.0, wrt="x")
    >>> back(np.array([1.0, 10.0]))
    (array([  6., 120.]), None)
    """
    E.check_callable(f, "pullback")
    rec = _Recorded(f, args, wrt=E.wrt_positions(f, len(args), wrt, "pullback"), name="pullback")
    y = rec.unwrap(rec.out)
    out_leaves, out_tree = E.flatten(rec.out)

    def back(dy: Any) -> tuple:
        dy_leaves = E.flatten_like(out_tree, dy)  # (None for an output leaf: a zero)
        if dy_leaves is None:
            dy_leaves, dy_tree = E.flatten(dy)
            raise ValueError(
                f"xpgrad.pullback: the cotangent must have the structure of the output, "
                f"{out_tree} ({len(out_leaves)} leaves), got {dy_tree} ({len(dy_leaves)} "
                f"leaves). Pass one cotangent per output leaf, shaped like it (None for zero)."
            )
        roots = []
        for o, d in zip(out_leaves, dy_leaves):
            if d is None:
                continue
            if type(o) is ReverseTracer and o._trace is rec.trace and o.node is not None:
                roots.append((o.node, _cotangent(o, d, rec.xp, "pullback", "cotangent", "output")))
        return rec.backward(roots)

    return y, back


def basis_pullback(f: Callable, *args: Any) -> tuple[Any, Callable]:
    """``pullback(f, *args)`` for ``jacobian``, whose cotangents are its own basis.

    ``back(ct)`` takes only what ``jacobian`` passes: a chunk of basis rows
    under ``vmap`` (a tracer, never a caller's array) of the shape and dtype of
    ``f``'s single array output. So it skips what ``pullback``'s ``back`` checks
    of a caller's cotangent, once per chunk: the tree structure, the backend,
    the shape, the dtype and aliasing. ``jacobian`` refuses other outputs
    before any ``back`` call.
    """
    E.check_callable(f, "pullback")
    rec = _Recorded(f, args, name="pullback")
    o = rec.out
    traced = type(o) is ReverseTracer and o._trace is rec.trace and o.node is not None
    roots = (lambda ct: [(o.node, ct)]) if traced else (lambda ct: [])

    def back(ct: Any) -> tuple:
        return rec.backward(roots(ct))

    return rec.unwrap(o), back


def _cotangent(o: Any, d: Any, xp: Any, name: str, what: str, of: str) -> Any:
    """The caller's (co)tangent ``d`` for ``o``, checked, in ``o``'s dtype, never aliased.

    Numeric ``d`` is cast to a floating ``o``'s dtype (an ``int`` 1 for a
    ``float32`` output gives ``float32`` derivatives); booleans, strings and
    complex values for a real ``o`` are refused.
    """
    if not (E.is_array(d) or E.is_number(d)):
        raise TypeError(
            f"xpgrad.{name}: a {what} must be an array or a number (None for zero), got "
            f"{type(d).__name__}"
        )
    d = E.as_array(d, xp)
    E.common_xp([o, d])  # one backend
    if tuple(d.shape) != tuple(o.shape):
        raise ValueError(
            f"xpgrad.{name}: a {what} of shape {tuple(d.shape)} was given for an "
            f"{of} of shape {tuple(o.shape)}; they must match"
        )
    if xp.isdtype(d.dtype, "bool"):
        raise TypeError(
            f"xpgrad.{name}: a boolean {what} was given; pass a floating array of the "
            f"{of}'s dtype ({o.dtype})"
        )
    o_complex = xp.isdtype(o.dtype, "complex floating")
    if xp.isdtype(d.dtype, "complex floating") and not o_complex:
        raise ValueError(
            f"xpgrad.{name}: a complex {what} was given for a real {of}; pass a real one"
        )
    if d.dtype != o.dtype and xp.isdtype(o.dtype, ("real floating", "complex floating")):
        return F.astype(d, o.dtype)  # a new array
    return E.private(d, xp)


def jvp(f: Callable, primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """Forward mode: ``(f(*primals), directional derivative along tangents)``.

    ``tangents`` has the structure of ``primals`` (checked like ``pullback``'s
    cotangents: same shapes, cast to a floating argument's dtype, never aliased);
    outputs that do not depend on the inputs get zero tangents, and boolean
    arguments get no tangent.

    One forward pass of ``f`` on (primal, tangent) pairs, at the cost of a
    small multiple of one call of ``f``, the Jacobian-vector product ``J @ t``
    without forming ``J``. Every numeric argument is differentiated: give a
    zero tangent for an argument to hold fixed.

    Parameters
    ----------
    f : callable
        ``f(*primals)``: an array, a number, or a pytree of them.
    primals : tuple
        The point: one entry per argument of ``f`` (arrays, numbers, pytrees).
    tangents : tuple
        The direction: the structure of ``primals``, with an array of the same
        shape (or a number) for each numeric leaf.

    Returns
    -------
    y : array, number or pytree
        ``f(*primals)``.
    dy : array, number or pytree
        The directional derivative, in the structure of ``y``: an array of
        each array leaf's shape, zeros (``zeros_like``, or ``0.0 * y`` for a
        number) for outputs that do not depend on the inputs, ``None`` for
        non-numeric output leaves. When
        every primal leaf is a Python number, 0-d leaves of ``y`` and ``dy``
        are Python numbers.

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``primals`` or ``tangents`` is not a tuple,
        a tangent leaf is boolean or not an array or number, or the arrays come
        from two backends.
    ValueError
        If ``tangents`` does not have the structure of ``primals``, a tangent's
        shape differs from its argument's, or a tangent is complex for a real
        argument.

    See Also
    --------
    pullback : The other direction, a vector-Jacobian product.
    jacobian : Every column at once, by batched pushforwards.
    hvp : ``jvp`` of the gradient.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.jvp(lambda x: x ** 3, (2.0,), (1.0,))
    (8.0, 12.0)

    Several arguments; a zero tangent holds one fixed:

    >>> import numpy as np
    >>> xpgrad.jvp(lambda x, a: a * x ** 2, (np.array([1.0, 2.0]), 3.0), (np.ones(2), 0.0))
    (array([ 3., 12.]), array([ 6., 12.]))
    """
    E.check_callable(f, "jvp")
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("xpgrad.jvp: primals and tangents must be tuples (one entry per argument)")
    p_leaves, p_tree = E.flatten(primals)
    t_leaves = E.flatten_like(p_tree, tangents)  # (None for a primal leaf: no tangent)
    if t_leaves is None:
        raise ValueError(
            f"xpgrad.jvp: tangents must have the structure of primals ({p_tree}), got "
            f"{E.flatten(tangents)[1]}"
        )
    xp = E.common_xp(p_leaves + [t for t in t_leaves if t is not None])
    with new_level(ForwardTrace, E.namespace(xp)) as trace:
        wrapped = []
        for x, t in zip(p_leaves, t_leaves):
            if E.differentiable_leaf(x, xp) and t is not None:
                xa = E.as_array(x, xp)
                ta = _cotangent(xa, t, xp, "jvp", "tangent", "argument")
                wrapped.append(ForwardTracer(trace, xa, ta))
            else:
                wrapped.append(x)
        out = f(*E.unflatten(p_tree, wrapped))
    o_leaves, o_tree = E.flatten(out)
    ys, dys = [], []
    for o in o_leaves:
        if type(o) is ForwardTracer and o._trace is trace and o.tangent is not None:
            ys.append(o.primal)
            dys.append(o.tangent)
        else:
            if type(o) is ForwardTracer and o._trace is trace:  # a constant of the trace
                o = o.primal
            elif isinstance(o, Zero):  # (hvp of a function that ignores its argument)
                o = instantiate(o)
            ys.append(o)
            dys.append(F.zeros_like(o) if E.is_array(o) else 0.0 * o if E.is_number(o) else None)
    dys = owned(dys, p_leaves + t_leaves, xp)
    all_numbers = all(E.is_number(x) for x in p_leaves)
    if all_numbers:
        ys = [E.to_python(v, 0.0, xp) if E.is_array(v) else v for v in ys]
        dys = [E.to_python(v, 0.0, xp) if E.is_array(v) else v for v in dys]
    return E.unflatten(o_tree, ys), E.unflatten(o_tree, dys)
