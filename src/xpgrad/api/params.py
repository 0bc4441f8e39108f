"""Implicit parameters: the ``Param`` box, ``param`` and ``Params``.

Plain arrays cannot announce that they were read, so implicit mode boxes them.
A ``Param`` holds a backend array and behaves like it. While
``gradient(f, Params([...]))`` runs ``f``, a context variable maps each watched
box to the tracer that stands for it, and every read of the box goes to that
tracer instead: that is how the reads are differentiated without changing ``f``.

The box is a ``Tracer`` of its own kind, so that it reaches every function the
way a tracer does (operators, ``xp = array_namespace(w)``, NumPy functions):
its trace sits just above the trace of the tracer it stands for (or below every
trace when not watched) and interprets any primitive by unboxing the arguments
and binding again. Rules therefore never see a box.
"""

from __future__ import annotations

import contextvars
import inspect
import operator
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .. import backends
from .._core.arrays import size_of
from .._core.trace import Trace, Tracer, bind
from ..rules.indexing_update import write  # the backend-agnostic index update
from . import _edge as E

if TYPE_CHECKING:
    from .grads import Grads

__all__ = ["Param", "param", "Params", "implicit", "unbox"]

# Param -> the tracer that stands for it in the transformation now running f.
_watched: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "xpgrad_watched_params", default=None
)


def unbox(x: Any) -> Any:
    """The current value of a ``Param`` (its tracer while watched); others unchanged."""
    return x._cur() if type(x) is Param else x


def _unbox_deep(x: Any) -> Any:
    """Unbox Params inside the lists, tuples and dicts of an argument (keys, out=)."""
    if type(x) is Param:
        return x._cur()
    t = type(x)
    if t is tuple or t is list:
        return t(_unbox_deep(v) for v in x)
    if t is dict:
        return {k: _unbox_deep(v) for k, v in x.items()}
    return x


class _BoxTrace(Trace):
    """The trace of a box: unbox the arguments, then bind again."""

    __slots__ = ("level", "box")

    def __init__(self, level: float, box: Param):
        self.level = level
        self.box = box

    @property
    def ns(self) -> Any:
        return E.namespace(backends.namespace_of(self.box._array))

    def process(self, prim: Any, args: tuple, params: dict) -> Any:
        return bind(prim, tuple(unbox(a) for a in args), params)


class Param(Tracer):
    """A box around an array whose reads are traced in implicit-mode gradients.

    Make one with :func:`param`. Outside a transformation it is its array:
    operators, indexing, ``xp = array_namespace(w)`` (xpgrad's namespace) and
    NumPy functions all work on it. ``w.value`` is the backend array;
    ``w[...] = new``, ``w -= d`` and assigning ``w.value`` update it and keep the
    box's identity, which is what ``Params`` and ``Grads`` are keyed by. Hashing
    is by identity and ``==`` is elementwise, as for arrays.

    Parameters
    ----------
    value : array
        The backend array to box (``param`` also accepts numbers).

    See Also
    --------
    param : Make a box.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> w = xpgrad.param(np.array([1.0, 2.0]))
    >>> w * 2
    array([2., 4.])
    >>> w -= 1.0
    >>> w.value
    array([0., 1.])
    """

    __slots__ = ("_array", "__weakref__")
    __array_priority__ = 1001

    def __init__(self, value: Any):
        self._array = value

    def _cur(self) -> Any:
        d = _watched.get()
        if d is not None:
            t = d.get(self)
            if t is not None:
                return t
        return self._array

    @property  # type: ignore[override]
    def _trace(self) -> _BoxTrace:
        d = _watched.get()
        t = d.get(self) if d is not None else None
        if isinstance(t, Tracer):
            # just above the tracer it stands for: met first by bind, then unboxed
            return _BoxTrace(t._trace.level + 0.5, self)
        return _BoxTrace(-0.5, self)  # below every trace: a constant to all of them

    @property
    def _value(self) -> Any:
        return self._cur()

    def _concrete_value(self, what: str) -> Any:
        return self._cur()

    @property
    def value(self) -> Any:
        """The backend array in the box (not the tracer, even while watched)."""
        return self._array

    @value.setter
    def value(self, new: Any) -> None:
        self._check_writable("assigning w.value")
        new = unbox(new)
        if isinstance(new, Tracer) or not E.is_array(new):
            raise TypeError(
                f"xpgrad.Param: w.value must be a backend array, got {type(new).__name__}"
            )
        self._array = new

    def _check_writable(self, what: str) -> None:
        d = _watched.get()
        if d is not None and self in d:
            raise TypeError(
                f"xpgrad.Param: {what} while this parameter is being differentiated is not "
                f"allowed (the derivative would be wrong). Update parameters after the "
                f"gradient call, or use eager_update."
            )

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_writable("w[...] = value")

        self._array = write(self._array, _unbox_deep(key), unbox(value))

    def _inplace(self, op: Callable, other: Any, what: str) -> Param:
        self._check_writable(what)
        self._array = op(self._array, unbox(other))  # in place where the backend can
        return self

    def __float__(self) -> float:
        return float(self._cur())

    def __complex__(self) -> complex:
        return complex(self._cur())

    def __repr__(self) -> str:
        return f"param({self._array!r})"

    def __reduce__(self) -> Any:
        return (param, (self._array,))

    def __deepcopy__(self, memo: dict) -> Param:
        xp = backends.namespace_of(self._array)
        return Param(xp.asarray(self._array, copy=True))

    def to_device(self, device: Any, /, *, stream: Any = None) -> Any:
        return self._cur().to_device(device)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._cur().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Any:
        return self._cur().__dlpack_device__()

    # -- NumPy protocols: unbox and call again (``out=`` included) --------------
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self._cur().__array__(*args, **kwargs)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        inputs = tuple(_unbox_deep(x) for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = _unbox_deep(kwargs["out"])
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return func(*_unbox_deep(tuple(args)), **_unbox_deep(dict(kwargs)))


for _n, _op in {
    "add": operator.iadd,
    "sub": operator.isub,
    "mul": operator.imul,
    "truediv": operator.itruediv,
    "pow": operator.ipow,
}.items():
    setattr(
        Param, f"__i{_n}__", lambda self, o, _op=_op, _n=_n: self._inplace(_op, o, f"w {_n}= x")
    )


def param(x: Any) -> Param:
    """Box an array (or a Python number) as a parameter for implicit-mode gradients.

    The box refers to ``x`` itself (no copy): updating the box in place updates
    ``x``. A Python number becomes a 0-d array of the default backend.

    Parameters
    ----------
    x : array or number
        The parameter's value.

    Returns
    -------
    Param
        The box, which behaves like ``x`` everywhere.

    See Also
    --------
    Params : A set of boxes, the implicit arguments of ``gradient``.
    Grads : The gradients, keyed by box.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> w = xpgrad.param(np.array([3.0]))
    >>> gs = xpgrad.gradient(lambda: np.sum(w * w), xpgrad.Params([w]))
    >>> gs[w]
    array([6.])
    """
    if isinstance(x, Param):
        return x
    if isinstance(x, Tracer):
        raise TypeError(
            "xpgrad.param: got a traced value; box the concrete array before the "
            "transformation starts (w = xpgrad.param(array)) and read it inside f"
        )
    if E.is_number(x):
        x = backends.default_namespace().asarray(x)
    if not E.is_array(x):
        raise TypeError(f"xpgrad.param: expected an array or a number, got {type(x).__name__}")
    return Param(x)


class Params:
    """An ordered set of ``Param`` boxes: the implicit arguments of ``gradient(f, ps)``.

    Parameters
    ----------
    params : iterable of Param, optional
        The boxes, in order (duplicates are kept once).

    See Also
    --------
    param : Make a box.
    Grads : What ``gradient(f, ps)`` returns.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> w, b = xpgrad.param(np.ones(2)), xpgrad.param(np.zeros(2))
    >>> ps = xpgrad.Params([w, b])
    >>> len(ps), w in ps
    (2, True)
    """

    __slots__ = ("_items",)

    def __init__(self, params: Iterable[Param] = ()):
        self._items: dict[Param, None] = {}
        for i, p in enumerate(params):
            self.add(p, _position=i)

    def add(self, p: Param, *, _position: int | None = None) -> None:
        """Add ``p`` (once; adding it again does nothing)."""
        if not isinstance(p, Param):
            where = f" at position {_position}" if _position is not None else ""
            raise TypeError(
                f"xpgrad.Params: expected Param boxes, got {type(p).__name__}{where}. A plain "
                f"array cannot announce that it was read; box it with w = xpgrad.param(array) "
                f"and use the box in the function: gradient(lambda: loss(w), Params([w]))."
            )
        self._items[p] = None

    def discard(self, p: Param) -> None:
        self._items.pop(p, None)

    def __iter__(self) -> Iterator[Param]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, p: Any) -> bool:
        return isinstance(p, Param) and p in self._items

    def __getitem__(self, i: int) -> Param:
        return list(self._items)[i]

    def __repr__(self) -> str:
        return "Params([" + ", ".join(_describe(p) for p in self) + "])"

    def to_vector(self) -> Any:
        """All values in one flat vector, C order, in the order of the set."""
        return flatten_values([p.value for p in self], self)

    def copy_from(self, vec: Any) -> Params:
        """Write ``vec`` (as made by ``to_vector``) back into the boxes, in place."""
        copy_from(self, vec)
        return self


def _describe(p: Param) -> str:
    v = p.value
    return f"param(shape={tuple(v.shape)}, dtype={v.dtype})"


def implicit(transform: Callable, f: Callable, ps: Params, name: str) -> Any:
    """Run the explicit ``transform(g, *values)`` with ``g`` watching the boxes of ``ps``."""
    try:
        inspect.signature(f).bind()
    except TypeError:
        raise TypeError(
            f"xpgrad.{name}: with Params, the function takes no arguments (it reads the "
            f"boxes it closes over): {name}(lambda: loss(w, b), Params([w, b]))"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): let the call decide
        pass
    boxes = list(ps)
    values = [p._cur() for p in boxes]  # a tracer already if an outer transformation watches
    outer = _watched.get() or {}

    def g(*vals: Any) -> Any:
        d = dict(outer)
        d.update(zip(boxes, vals))
        token = _watched.set(d)
        try:
            out = f()
        finally:
            _watched.reset(token)
        return E.map_leaves(unbox, out)

    return transform(g, *values)


# -- Params and Grads as one flat vector (copy!, to_vector) --------------------------


def flatten_values(values: list, keys: Any) -> Any:
    """``values`` (None as zeros shaped like its key) as one C-order vector."""
    parts = []
    xp = None
    for p, v in zip(keys, values):
        xp = xp or backends.namespace_of(p.value)
        if v is None:
            v = xp.zeros(tuple(p.value.shape), dtype=p.value.dtype)
        parts.append(_flat(v))
    if xp is None:
        return backends.default_namespace().zeros((0,))
    return _ns_of(parts).concat(parts) if parts else xp.zeros((0,))


def _flat(v: Any) -> Any:
    return _ns_of([v]).reshape(v, (-1,))


def _ns_of(vs: list) -> Any:
    for v in vs:
        if isinstance(v, Tracer):
            return E.namespace(E.backend_xp(v))
    return backends.namespace_of(vs[0])


def _check_size(n: int, vec: Any, name: str, entries: list | None = None) -> None:
    if not E.is_array(vec):
        raise TypeError(
            f"xpgrad.{name}: the vector must be a 1-d backend array of length {n}, got "
            f"{type(vec).__name__}"
        )
    E.common_xp([vec] + [p.value for p, _ in entries or ()])  # one backend
    if tuple(vec.shape) != (n,):
        raise ValueError(
            f"xpgrad.{name}: the vector has shape {tuple(vec.shape)}, but the parameters "
            f"hold {n} numbers in all; pass a 1-d vector of length {n}"
        )


def copy_to(vec: Any, src: Params | Grads) -> Any:
    """Copy the values of ``src`` (``Params`` or ``Grads``) into the flat vector ``vec``.

    Julia's ``copy!(vec, ps)``: C order, parameters in their set order, zeros
    for ``None`` gradients. ``vec`` is written in place where the backend
    allows; the filled vector is returned (use the result).

    Parameters
    ----------
    vec : array
        A 1-D array with as many elements as ``src`` holds in all.
    src : Params or Grads
        The values to copy.

    Returns
    -------
    array
        ``vec``, filled.

    Raises
    ------
    ValueError
        If ``vec`` has the wrong size.

    See Also
    --------
    copy_from : The other direction.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> w, b = xpgrad.param(np.array([[1.0, 2.0], [3.0, 4.0]])), xpgrad.param(np.array([5.0]))
    >>> xpgrad.copy_to(np.zeros(5), xpgrad.Params([w, b]))
    array([1., 2., 3., 4., 5.])
    """
    entries = _entries(src)
    n = sum(size_of(tuple(p.value.shape)) for p, _ in entries)
    _check_size(n, vec, "copy_to", entries)
    flat = flatten_values([v for _, v in entries], [p for p, _ in entries])
    xp = backends.namespace_of(vec)
    if flat.dtype != vec.dtype:
        flat = xp.astype(flat, vec.dtype)
    if backends.capabilities(vec)["inplace"]:
        vec[...] = flat
        return vec
    return flat


def copy_from(dst: Params | Grads, vec: Any) -> Params | Grads:
    """Copy consecutive pieces of the flat vector ``vec`` into ``dst``; returns ``dst``.

    Julia's ``copy!(ps, vec)``. ``Params`` are updated in place (their
    identity is kept); ``Grads`` get new arrays, in each parameter's shape and
    dtype.

    Parameters
    ----------
    dst : Params or Grads
        Where to copy to, in its set order.
    vec : array
        A 1-D array with as many elements as ``dst`` holds in all.

    Returns
    -------
    Params or Grads
        ``dst``.

    Raises
    ------
    ValueError
        If ``vec`` has the wrong size.

    See Also
    --------
    copy_to : The other direction.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> w = xpgrad.param(np.zeros((2, 2)))
    >>> _ = xpgrad.copy_from(xpgrad.Params([w]), np.arange(4.0))
    >>> w.value
    array([[0., 1.],
           [2., 3.]])
    """
    entries = _entries(dst)
    n = sum(size_of(tuple(p.value.shape)) for p, _ in entries)
    _check_size(n, vec, "copy_from", entries)
    xp = backends.namespace_of(vec)
    o = 0
    for p, _ in entries:
        shape = tuple(p.value.shape)
        k = size_of(shape)
        piece = xp.reshape(vec[o : o + k], shape)
        o += k
        if piece.dtype != p.value.dtype:
            piece = xp.astype(piece, p.value.dtype)
        if isinstance(dst, Params):
            p[...] = piece
        else:
            dst._grads[p] = xp.asarray(piece, copy=True)  # not a view into vec
    return dst


# -- the implicit-mode transformations ---------------------------------------------


def _entries(src: Any) -> list[tuple[Param, Any]]:
    if isinstance(src, Params):
        return [(p, p.value) for p in src]
    grads = getattr(src, "_grads", None)  # a Grads (defined over Params, in grads.py)
    if isinstance(grads, dict):
        return list(grads.items())
    raise TypeError(
        f"xpgrad: expected Params or Grads, got {type(src).__name__}; for a pytree of "
        f"arrays, flatten it with xp.concat([xp.reshape(a, (-1,)) for a in leaves])"
    )
