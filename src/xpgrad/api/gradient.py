"""gradient, withgradient, pullback and jvp: the first-order transformations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from .._core.forward import ForwardTrace, ForwardTracer
from .._core.reverse import ReverseTrace, ReverseTracer, backward
from .._core.trace import new_level
from ..rules import F
from . import _edge as E
from ._owned import owned
from .params import Params

if TYPE_CHECKING:
    from .grads import Grads

__all__ = ["gradient", "withgradient", "pullback", "jvp", "WithGradient"]


class WithGradient(NamedTuple):
    """``(val, grad)``: the function's value and the derivative."""

    val: Any
    grad: Any


class _Recorded:
    """The forward pass of ``f`` under a reverse trace, ready for backward passes."""

    __slots__ = ("trace", "args_tree", "leaves", "tracers", "xp", "out")

    def __init__(self, f: Callable, args: tuple, xp: Any = None):
        leaves, treedef = E.flatten(args)
        self.xp = xp = xp if xp is not None else E.common_xp(leaves)
        self.args_tree = treedef
        self.leaves = leaves
        with new_level(ReverseTrace, E.namespace(xp)) as trace:
            self.trace = trace
            tracers: list[Any] = []
            wrapped = []
            for x in leaves:
                if E.differentiable_leaf(x, xp):
                    t = trace.new_leaf(E.as_array(x, xp))
                    tracers.append(t)
                    wrapped.append(t)
                else:
                    tracers.append(None)
                    wrapped.append(x)
            self.tracers = tracers
            self.out = f(*E.unflatten(treedef, wrapped))

    def unwrap(self, y: Any) -> Any:
        trace = self.trace
        return E.map_leaves(
            lambda v: v.primal if type(v) is ReverseTracer and v._trace is trace else v, y
        )

    def backward(self, roots: list, release: bool = False) -> tuple:
        """Cotangents of the arguments (pytrees like the arguments, None where unused)."""
        trace = self.trace
        with trace.lock:
            cts = backward(trace.tape, roots, F.add, release)
            grads = [
                None if t is None else E.to_python(cts[t.node], x, self.xp)
                for x, t in zip(self.leaves, self.tracers)
            ]
            # each result its own writable array (views and shared cotangents copied)
            grads = owned(grads, self.leaves, self.xp)
            for fin in trace.finalizers:
                fin()
        return tuple(E.unflatten(self.args_tree, grads))

    def release(self) -> None:
        self.trace.tape = []


def _scalar_root(out: Any, rec: _Recorded, name: str) -> list:
    """Check that ``out`` is a real scalar; return the backward pass's root."""
    traced = type(out) is ReverseTracer and out._trace is rec.trace
    if (
        type(out) is bool
        or (E.is_array(out) and rec.xp.isdtype(out.dtype, "bool"))
        or (
            E.is_array(out)
            and rec.xp.isdtype(out.dtype, "integral")
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
        t is not None
        and (type(x) is float or (E.is_array(x) and xp.isdtype(x.dtype, "real floating")))
        for x, t in zip(rec.leaves, rec.tracers)
    )


def _dtype_word(out: Any) -> str:
    return "bool" if type(out) is bool else f"{out.dtype}"


def gradient(f: Callable, *args: Any) -> tuple | Grads:
    """The gradient of a real scalar function, one entry per argument.

    Each entry has the structure of its argument (tuples, lists, dicts,
    namedtuples, dataclasses); leaves that are not numbers or numeric arrays
    (strings, booleans) get ``None``, and so do arguments the result does not
    depend on (Zygote's ``nothing``). Python-number arguments get Python numbers.

    >>> import numpy as np, xpgrad
    >>> xpgrad.gradient(lambda x, y: x * y, 2.0, 3.0)
    (3.0, 2.0)
    >>> xpgrad.gradient(lambda a, t: np.sum(a * t[0]) + t[1], np.array([1, 2, 3]), (4, 5))
    (array([4, 4, 4]), (6, 1))

    See also: withgradient, pullback, jacobian, hessian.
    """
    E.check_callable(f, "gradient")
    if len(args) == 1 and isinstance(args[0], Params):  # implicit mode
        from .grads import implicit_gradient

        return implicit_gradient(gradient, f, args[0])
    rec = _Recorded(f, args)
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


def withgradient(f: Callable, *args: Any) -> WithGradient:
    """The value and the gradient, as ``(val, grad)``.

    If ``f`` returns a tuple, namedtuple or dict, the gradient is that of its
    first element and ``val`` is the whole return value (auxiliary outputs).

    >>> import xpgrad
    >>> xpgrad.withgradient(lambda a, b: a / b, 1, 2)
    WithGradient(val=0.5, grad=(0.5, -0.25))
    """
    E.check_callable(f, "withgradient")
    if len(args) == 1 and isinstance(args[0], Params):  # implicit mode
        from .grads import implicit_withgradient

        return implicit_withgradient(withgradient, f, args[0])
    rec = _Recorded(f, args)
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


def pullback(f: Callable, *args: Any) -> tuple[Any, Callable]:
    """``(y, back)``: the value and its pullback, ``back(dy) -> tuple`` of cotangents.

    ``dy`` has the structure and shapes of ``y`` (``None`` leaves are zeros);
    a numeric ``dy`` leaf is cast to the dtype of a floating output, while
    boolean leaves, and complex ones for a real output, raise. Results never
    alias ``dy`` (it is copied where the backend has mutable arrays). ``back``
    may be called many times; the recorded tape lives as long as ``back``.

    >>> import xpgrad
    >>> y, back = xpgrad.pullback(lambda x: x * x, 3.0)
    >>> back(1.0)
    (6.0,)
    """
    E.check_callable(f, "pullback")
    rec = _Recorded(f, args)
    y = rec.unwrap(rec.out)
    out_leaves, out_tree = E.flatten(rec.out)

    def back(dy: Any) -> tuple:
        dy_leaves, dy_tree = E.flatten(dy)
        if dy_tree != out_tree:
            raise ValueError(
                f"xpgrad.pullback: the cotangent must have the structure of the output, "
                f"{out_tree} ({len(out_leaves)} leaves), got {dy_tree} ({len(dy_leaves)} "
                f"leaves). Pass one cotangent per output leaf, shaped like it (None for zero)."
            )
        roots = []
        for o, d in zip(out_leaves, dy_leaves):
            if d is None:
                continue
            if type(o) is ReverseTracer and o._trace is rec.trace:
                roots.append((o.node, _cotangent(o, d, rec.xp, "pullback", "cotangent", "output")))
        return rec.backward(roots)

    return y, back


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

    >>> import xpgrad
    >>> xpgrad.jvp(lambda x: x ** 3, (2.0,), (1.0,))
    (8.0, 12.0)
    """
    E.check_callable(f, "jvp")
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("xpgrad.jvp: primals and tangents must be tuples (one entry per argument)")
    p_leaves, p_tree = E.flatten(primals)
    t_leaves, t_tree = E.flatten(tangents)
    if p_tree != t_tree:
        raise ValueError(
            f"xpgrad.jvp: tangents must have the structure of primals ({p_tree}), got {t_tree}"
        )
    xp = E.common_xp(p_leaves + t_leaves)
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
        if type(o) is ForwardTracer and o._trace is trace:
            ys.append(o.primal)
            dys.append(o.tangent)
        else:
            ys.append(o)
            dys.append(F.zeros_like(o) if E.is_array(o) else 0.0 * o if E.is_number(o) else None)
    dys = owned(dys, p_leaves + t_leaves, xp)
    all_numbers = all(E.is_number(x) for x in p_leaves)
    if all_numbers:
        ys = [E.to_python(v, 0.0, xp) if E.is_array(v) else v for v in ys]
        dys = [E.to_python(v, 0.0, xp) if E.is_array(v) else v for v in dys]
    return E.unflatten(o_tree, ys), E.unflatten(o_tree, dys)
