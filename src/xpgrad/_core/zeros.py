"""Typed symbolic zeros: ``Zero(shape, dtype)`` and ``NoTangent``.

Two different facts that a bare ``None`` used to carry both of
(ChainRulesCore's ``ZeroTangent`` / ``NoTangent``, JAX's ``ad.Zero``):

- ``Zero(shape, dtype)``: the derivative exists and is zero. It knows its
  shape and dtype (and the backend and device to make it on), so code that
  must hand out an array can ``instantiate`` it, and arithmetic skips the
  work: adding a zero returns the other operand, scaling one gives a zero of
  the broadcast shape.
- ``NoTangent``: there is no derivative at all (a boolean array, a string, an
  argument a rule declares not differentiable). Using it where a tangent is
  required is an error that says so, never a silent zero.

Inside the engine and the built-in rules, ``None`` stays the fast spelling of
a symbolic *zero* (one identity test on the hot path; see docs/design.md);
these types are what rules written by users receive (``custom_rule``) and what
the API uses where a zero needs its shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "AbstractZero",
    "NoTangent",
    "Zero",
    "is_zero",
    "untyped_jvp",
    "untyped_vjp",
    "zero_like",
]


def _broadcast(s1: tuple, s2: tuple) -> tuple:
    """The broadcast shape of two shapes (the standard's rules)."""
    n = max(len(s1), len(s2))
    a = (1,) * (n - len(s1)) + tuple(s1)
    b = (1,) * (n - len(s2)) + tuple(s2)
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        else:
            raise ValueError(f"xpgrad: shapes {tuple(s1)} and {tuple(s2)} do not broadcast")
    return tuple(out)


def _shape_dtype(x: Any) -> tuple:
    """``(shape, dtype)`` of an array, a Python number or a Zero."""
    if isinstance(x, (bool, int, float, complex)):
        return (), type(x)
    return tuple(x.shape), x.dtype


def _py(d: Any) -> bool:
    """Whether ``d`` is a Python number type (the "dtype" of a number's zero).

    By identity: NumPy's dtypes compare equal to ``float`` and friends.
    """
    return d is float or d is complex or d is int or d is bool


def _result_dtype(d1: Any, d2: Any, like: Any) -> Any:
    """The promoted dtype of two operands (Python scalar types defer to arrays)."""
    if _py(d1):
        return d2 if not _py(d2) or d1 is d2 else type(d1(0) * d2(0))
    if _py(d2):
        return d1
    xp = getattr(like, "__array_namespace__", None)
    return xp().result_type(d1, d2) if xp is not None else d1


class AbstractZero:
    """What ``Zero`` and ``NoTangent`` share: nothing to propagate.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import AbstractZero, NoTangent, Zero
    >>> isinstance(Zero.like(np.ones(2)), AbstractZero), isinstance(NoTangent(), AbstractZero)
    (True, True)
    """

    __slots__ = ()
    # NumPy (and tracers, see ``trace._to_top``) defer to our reflected operators,
    # so ``array + Zero`` is the array rather than an object array
    __array_ufunc__ = None

    def __bool__(self) -> bool:
        raise TypeError(
            f"xpgrad: the truth value of {self!r} is ambiguous; test "
            f"isinstance(t, xpgrad.extend.AbstractZero) (or Zero / NoTangent) instead"
        )


class Zero(AbstractZero):
    """A symbolic zero tangent or cotangent of known ``shape`` and ``dtype``.

    ``Zero.like(x)`` is the zero of ``x``'s shape, dtype, backend and device;
    ``instantiate(z)`` makes it an array (only where an array is required).
    Adding a zero returns the other operand (tangents added have one shape),
    scaling it (``*``, ``/`` by a primal) gives a zero of the broadcast shape,
    negating it gives itself.

    Parameters
    ----------
    shape : tuple of int
        The shape of the zero.
    dtype : dtype or type
        Its dtype (an array dtype, or ``float`` / ``complex`` / ``int`` for a
        Python number's zero).
    base : array, optional
        An array of the backend and device to instantiate it on.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import Zero, instantiate
    >>> z = Zero.like(np.ones((2, 3)))
    >>> z
    Zero(shape=(2, 3), dtype=float64)
    >>> y = np.arange(3.0)
    >>> (z + y) is y, -z, 2.0 * z
    (True, Zero(shape=(2, 3), dtype=float64), Zero(shape=(2, 3), dtype=float64))
    >>> instantiate(z)
    array([[0., 0., 0.],
           [0., 0., 0.]])
    """

    __slots__ = ("shape", "dtype", "base")

    def __init__(self, shape: tuple, dtype: Any, base: Any = None):
        self.shape = tuple(shape)
        self.dtype = dtype
        # an array of the backend and device to make the zero on (or None: a
        # Python number's zero, or a zero that only ever meets arrays)
        self.base = base

    @classmethod
    def like(cls, x: Any) -> Zero:
        """The zero of ``x``'s shape and dtype, on ``x``'s backend and device."""
        if isinstance(x, Zero):
            return x
        shape, dtype = _shape_dtype(x)
        return cls(shape, dtype, None if _py(dtype) else x)

    def __repr__(self) -> str:
        name = getattr(self.dtype, "__name__", None) or str(self.dtype)
        return f"Zero(shape={self.shape}, dtype={name})"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    # -- arithmetic: a zero adds nothing and scales to a zero -------------------
    def __add__(self, other: Any) -> Any:
        if isinstance(other, Zero):
            shape = _broadcast(self.shape, other.shape)
            like = self.base if self.base is not None else other.base
            return Zero(shape, _result_dtype(self.dtype, other.dtype, like), like)
        if isinstance(other, NoTangent):
            raise _no_tangent_error("+")
        return other

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self + (-other)

    def __rsub__(self, other: Any) -> Any:
        return self + other

    def __neg__(self) -> Zero:
        return self

    def __pos__(self) -> Zero:
        return self

    def _scaled(self, other: Any, op: str) -> Zero:
        if isinstance(other, NoTangent):
            raise _no_tangent_error(op)
        shape, dtype = _shape_dtype(other)
        like = self.base
        if like is None and not _py(dtype):
            like = other
        return Zero(_broadcast(self.shape, shape), _result_dtype(self.dtype, dtype, like), like)

    def __mul__(self, other: Any) -> Zero:
        return self._scaled(other, "*")

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Zero:  # 0 / y: a zero (y is a primal)
        return self._scaled(other, "/")


class NoTangent(AbstractZero):
    """There is no tangent: a boolean or non-array argument, or a non-differentiable one.

    A singleton: ``NoTangent()`` is ``NoTangent()``; test with ``t is
    NoTangent()`` or ``isinstance(t, NoTangent)``. Any arithmetic on it raises,
    since a value without a derivative was used where a derivative is needed.

    Examples
    --------
    >>> from xpgrad.extend import NoTangent, zero_like
    >>> zero_like("a label") is NoTangent()
    True
    """

    __slots__ = ()
    _instance: NoTangent | None = None

    def __new__(cls) -> NoTangent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NoTangent()"

    def _refuse(self, *args: Any) -> Any:
        raise _no_tangent_error("arithmetic")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = _refuse


def _no_tangent_error(op: str) -> TypeError:
    return TypeError(
        f"xpgrad: NoTangent used in {op!r}, where a tangent is required: this argument "
        f"has no derivative (a boolean or non-array value, or one its rule declares not "
        f"differentiable). Test for it (isinstance(t, xpgrad.extend.NoTangent)) and skip "
        f"its term; for an argument whose derivative is zero, use Zero.like(x)"
    )


def zero_like(x: Any) -> AbstractZero:
    """The absent tangent of ``x``: ``Zero.like(x)`` if ``x`` is numeric, else ``NoTangent()``.

    Numbers and numeric arrays (integers included: xpgrad differentiates
    integer code, as the seed's integer Jacobians require) have a zero tangent;
    booleans and every other value have none.

    Parameters
    ----------
    x : any
        A primal value.

    Returns
    -------
    Zero or NoTangent
        Its symbolic zero tangent, or ``NoTangent()``.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad.extend import zero_like
    >>> zero_like(np.ones((2, 2), dtype=np.float32)), zero_like(np.ones(2, dtype=bool))
    (Zero(shape=(2, 2), dtype=float32), NoTangent())
    """
    if isinstance(x, bool):
        return NoTangent()
    if isinstance(x, (int, float, complex)):
        return Zero((), type(x))
    dtype = getattr(x, "dtype", None)
    if dtype is None or not hasattr(x, "shape"):
        return NoTangent()
    try:
        if x.__array_namespace__().isdtype(dtype, "bool"):
            return NoTangent()
    except (AttributeError, TypeError):
        return NoTangent()
    return Zero(tuple(x.shape), dtype, x)


def is_zero(t: Any) -> bool:
    """Whether ``t`` carries nothing to propagate: ``None``, a ``Zero`` or ``NoTangent``.

    Parameters
    ----------
    t : any
        A tangent or cotangent.

    Returns
    -------
    bool
        True for the engine's ``None`` and the typed zeros.

    Examples
    --------
    >>> from xpgrad.extend import NoTangent, is_zero
    >>> is_zero(None), is_zero(NoTangent()), is_zero(1.0)
    (True, True, False)
    """
    return t is None or isinstance(t, AbstractZero)


# -- rules written by users: typed zeros out, the engine's None in ------------------------


def _untyped(t: Any) -> Any:
    """``t`` in the engine's spelling: None for a ``Zero`` or ``NoTangent``."""
    return None if isinstance(t, AbstractZero) else t


def untyped_jvp(jvp: Callable) -> Callable:
    """``jvp`` whose output tangent (or tangents) may be typed zeros, for the engine.

    The engine spells a symbolic zero ``None`` (one identity test on the hot
    path); rules written by users (``custom_rule``, ``xpgrad.extend.defrule``)
    may return ``Zero`` / ``NoTangent()``, which this turns into ``None`` on
    the way out. Without it a typed zero would reach the next rule as if it
    were an array, or be handed to the caller as a derivative.
    """

    def jvp_typed_zeros(primals: Any, tangents: Any, **params: Any) -> tuple:
        out, t = jvp(primals, tangents, **params)
        if type(t) is tuple or type(t) is list:  # a primitive with several results
            return out, tuple(_untyped(u) for u in t)
        return out, _untyped(t)

    return jvp_typed_zeros


def untyped_vjp(vjp: Callable) -> Callable:
    """``vjp`` whose pullback's cotangents may be typed zeros, for the engine (as
    ``untyped_jvp``). A result that is not a tuple or list is passed on as it
    is, for the backward pass to refuse with its own error."""

    def vjp_typed_zeros(primals: Any, needs: Any, **params: Any) -> tuple:
        out, pullback = vjp(primals, needs, **params)

        def pullback_typed_zeros(ct: Any) -> Any:
            gs = pullback(ct)
            if type(gs) is tuple or type(gs) is list:
                return tuple(_untyped(g) for g in gs)
            return gs

        return out, pullback_typed_zeros

    return vjp_typed_zeros
