"""``Grads``: gradients keyed by ``Param``, with value-based arithmetic; flat vectors.

What implicit-mode ``gradient``, ``withgradient`` and ``jacobian`` return. The
arithmetic keeps the keys (``gs1 + gs2``, ``gs * 0.5``, ``gs + {w: arr}``) and
refuses operands with a different key set. ``copy_to`` / ``copy_from`` move the
values of ``Params`` or ``Grads`` to and from one flat vector (C order).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from typing import Any, Callable, Iterator

from . import _edge as E
from .params import Param, Params, copy_from, copy_to, flatten_values, implicit  # noqa: F401

__all__ = [
    "Grads",
    "copy_to",
    "copy_from",
    "implicit_mode",
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


def implicit_mode(api: Callable) -> Callable:
    """``api`` (gradient, withgradient, jacobian, withjacobian) that also takes one
    ``Params``: implicit mode, Zygote's ``gradient(() -> loss(x), ps)``.

    The one path for all four: every keyword is forwarded to ``api`` (``mode``,
    ``chunk_size``, ``progress``, ...), except ``wrt``, which selects positional
    arguments and so has no meaning with ``Params``. The result's derivatives
    come back as a ``Grads`` keyed by the parameters (inside ``(val, grad)`` for
    the ``with*`` functions).
    """
    name = api.__name__

    @functools.wraps(api)
    def with_params(f: Callable, *args: Any, **kw: Any) -> Any:
        if not (len(args) == 1 and isinstance(args[0], Params)):
            return api(f, *args, **kw)
        if kw.pop("wrt", None) is not None:
            raise TypeError(
                f"xpgrad.{name}: wrt= selects positional arguments; with Params the "
                f"parameters themselves say what is differentiated"
            )
        E.check_callable(f, name)
        ps = args[0]
        res = implicit(lambda g, *v: api(g, *v, **kw), f, ps, name)
        if name.startswith("with"):
            return type(res)(res.val, Grads(dict(zip(ps, res.grad))))
        return Grads(dict(zip(ps, res)))

    return with_params
