"""``Grads``: gradients keyed by ``Param``, with value-based arithmetic; flat vectors.

What implicit-mode ``gradient``, ``withgradient`` and ``jacobian`` return. The
arithmetic keeps the keys (``gs1 + gs2``, ``gs * 0.5``, ``gs + {w: arr}``) and
refuses operands with a different key set. ``copy_to`` / ``copy_from`` move the
values of ``Params`` or ``Grads`` to and from one flat vector (C order).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any, Callable, Iterator

from .. import backends
from .._core.trace import Tracer
from . import _edge as E
from .params import Param, Params, implicit

__all__ = [
    "Grads",
    "copy_to",
    "copy_from",
    "implicit_gradient",
    "implicit_withgradient",
    "implicit_jacobian",
]


class Grads(Mapping):
    """A mapping ``Param -> gradient`` (``None`` where the parameter was not used).

    Iterating gives the parameters in the order of the ``Params`` they came
    from; ``gs[w]`` the gradient of ``w``. Arithmetic is by value and keeps the
    keys: ``gs1 + gs2``, ``gs1 - gs2``, ``gs * 0.5``, ``-gs``, ``gs + {w: a, b: c}``
    (a dict keyed by the same parameters) and in place ``gs += ...``; ``None``
    counts as zero. Operands with a different key set raise ``ValueError``.

    Parameters
    ----------
    grads : mapping, optional
        ``Param -> gradient`` (``gradient(f, ps)`` makes these; build one by
        hand only to combine gradients).

    See Also
    --------
    Params : The parameters a ``Grads`` is keyed by.
    copy_to : Flatten the gradients into one vector.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> w = xpgrad.param(np.array([1.0, 2.0]))
    >>> gs = xpgrad.gradient(lambda: np.sum(w * w), xpgrad.Params([w]))
    >>> (gs + gs)[w]
    array([4., 8.])
    >>> gs.map(lambda g: g / 2)[w]
    array([1., 2.])
    """

    __slots__ = ("_grads",)

    def __init__(self, grads: Mapping | None = None):
        self._grads: dict[Param, Any] = {}
        if grads is not None and not isinstance(grads, Mapping):
            raise TypeError(
                f"xpgrad.Grads: expected a mapping from Param boxes to gradients, got "
                f"{type(grads).__name__}"
            )
        for p, g in (grads or {}).items():
            if not isinstance(p, Param):
                raise TypeError(f"xpgrad.Grads: keys must be Param boxes, got {type(p).__name__}")
            self._grads[p] = g

    def __getitem__(self, p: Any) -> Any:
        try:
            return self._grads[p]
        except (KeyError, TypeError):
            raise KeyError(
                f"xpgrad.Grads: {p!r:.60} is not one of the parameters of this gradient; "
                f"index with the Param boxes that were passed in Params([...])"
            ) from None

    def __iter__(self) -> Iterator[Param]:
        return iter(self._grads)

    def __len__(self) -> int:
        return len(self._grads)

    def __contains__(self, p: Any) -> bool:
        return isinstance(p, Param) and p in self._grads

    # Mapping's __eq__ would compare arrays elementwise; Grads compare by identity.
    __eq__ = object.__eq__  # type: ignore[assignment]
    __hash__ = object.__hash__  # type: ignore[assignment]

    @property
    def params(self) -> Params:
        return Params(self._grads)

    def __repr__(self) -> str:
        parts = []
        for p, g in self._grads.items():
            v = p.value
            desc = "None" if g is None else f"shape {tuple(getattr(g, 'shape', ()))}"
            parts.append(f"param{tuple(v.shape)}: {desc}")
        return "Grads(" + ", ".join(parts) + ")"

    # -- value-based arithmetic ---------------------------------------------
    def _other(self, other: Any, what: str) -> Callable[[Param], Any] | None:
        """A getter for ``other``'s value at a key, or None if ``other`` is unsupported."""
        if isinstance(other, (Grads, Mapping)):
            keys = other._grads if isinstance(other, Grads) else other
            mine = set(map(id, self._grads))
            theirs = {id(k) for k in keys}
            if mine != theirs:
                raise ValueError(
                    f"xpgrad.Grads: {what} needs the same parameters on both sides; these "
                    f"have {len(mine)} and {len(theirs)} keys, {len(mine ^ theirs)} of them "
                    f"not shared. Take both gradients with the same Params."
                )
            return lambda p: other[p]
        if E.is_number(other) or (E.is_array(other) and not isinstance(other, Param)):
            return lambda p: other
        return None

    def _combine(self, other: Any, op: Callable, what: str, reflected: bool = False) -> Any:
        get = self._other(other, what)
        if get is None:
            return NotImplemented
        out = {}
        for p, g in self._grads.items():
            a, b = g, get(p)
            if reflected:
                a, b = b, a
            out[p] = _apply(op, a, b)
        return Grads(out)

    def __add__(self, o: Any) -> Any:
        return self._combine(o, operator.add, "+")

    def __radd__(self, o: Any) -> Any:
        return self._combine(o, operator.add, "+", True)

    def __sub__(self, o: Any) -> Any:
        return self._combine(o, operator.sub, "-")

    def __rsub__(self, o: Any) -> Any:
        return self._combine(o, operator.sub, "-", True)

    def __mul__(self, o: Any) -> Any:
        return self._combine(o, operator.mul, "*")

    def __rmul__(self, o: Any) -> Any:
        return self._combine(o, operator.mul, "*", True)

    def __truediv__(self, o: Any) -> Any:
        return self._combine(o, operator.truediv, "/")

    def __neg__(self) -> Grads:
        return self.map(operator.neg)

    def _inplace(self, o: Any, op: Callable, what: str) -> Grads:
        res = self._combine(o, op, what)
        if res is NotImplemented:
            return NotImplemented
        self._grads.update(res._grads)
        return self

    def __iadd__(self, o: Any) -> Any:
        return self._inplace(o, operator.add, "+=")

    def __isub__(self, o: Any) -> Any:
        return self._inplace(o, operator.sub, "-=")

    def __imul__(self, o: Any) -> Any:
        return self._inplace(o, operator.mul, "*=")

    def __itruediv__(self, o: Any) -> Any:
        return self._inplace(o, operator.truediv, "/=")

    def map(self, fn: Callable[[Any], Any]) -> Grads:
        """New ``Grads`` with ``fn(g)`` for every gradient (``None`` stays ``None``)."""
        return Grads({p: None if g is None else fn(g) for p, g in self._grads.items()})

    def foreach(self, fn: Callable[[Any], Any]) -> None:
        """Call ``fn(g)`` on every gradient, for in-place functions.

        If ``fn`` returns an array, it replaces the gradient, so out-of-place
        functions work too on backends without in-place writes.
        """
        for p, g in self._grads.items():
            if g is None:
                continue
            r = fn(g)
            if r is not None and r is not g and E.is_array(r):
                self._grads[p] = r

    # -- flat vectors --------------------------------------------------------
    def to_vector(self) -> Any:
        """All gradients in one flat vector (C order; zeros for ``None``)."""
        return flatten_values([self._grads[p] for p in self._grads], self._grads)

    def copy_from(self, vec: Any) -> Grads:
        """Replace the gradients by consecutive pieces of ``vec``."""
        copy_from(self, vec)
        return self


def _apply(op: Callable, a: Any, b: Any) -> Any:
    # None is a zero gradient
    if a is None and b is None:
        return None
    if op is operator.add:
        return b if a is None else a if b is None else a + b
    if op is operator.sub:
        return -b if a is None else a if b is None else a - b
    if a is None or b is None:  # zero times (or over) anything
        return None
    return op(a, b)


# -- flat vectors --------------------------------------------------------------


def _entries(src: Any) -> list[tuple[Param, Any]]:
    if isinstance(src, Grads):
        return list(src._grads.items())
    if isinstance(src, Params):
        return [(p, p.value) for p in src]
    raise TypeError(
        f"xpgrad: expected Params or Grads, got {type(src).__name__}; for a pytree of "
        f"arrays, flatten it with xp.concat([xp.reshape(a, (-1,)) for a in leaves])"
    )


def _size(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


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
    n = sum(_size(tuple(p.value.shape)) for p, _ in entries)
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
    n = sum(_size(tuple(p.value.shape)) for p, _ in entries)
    _check_size(n, vec, "copy_from", entries)
    xp = backends.namespace_of(vec)
    o = 0
    for p, _ in entries:
        shape = tuple(p.value.shape)
        k = _size(shape)
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


def implicit_gradient(transform: Callable, f: Callable, ps: Params) -> Grads:
    grads = implicit(transform, f, ps, "gradient")
    return Grads(dict(zip(ps, grads)))


def implicit_withgradient(transform: Callable, f: Callable, ps: Params, **kw: Any) -> Any:
    """``withgradient`` or ``withjacobian`` in implicit mode: ``(val, Grads)``."""
    res = implicit(lambda g, *v: transform(g, *v, **kw), f, ps, transform.__name__)
    return type(res)(res.val, Grads(dict(zip(ps, res.grad))))


def implicit_jacobian(transform: Callable, f: Callable, ps: Params, **kw: Any) -> Grads:
    jacs = implicit(lambda g, *v: transform(g, *v, **kw), f, ps, "jacobian")
    return Grads(dict(zip(ps, jacs)))
