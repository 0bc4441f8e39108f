"""Pytrees and leaves: flattening arguments and results, telling arrays from
numbers, the one backend of a call, and ``FlatFn`` (a function of array leaves).

The API edge (``api/_edge``) and the primitives whose parameter is a user
function (``rules/checkpoint``, ``rules/forwarddiff``) share these; everything
here runs once per call of a transformation, never per operation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import array_api_compat
import optree

from .. import backends
from .trace import Tracer

__all__ = [
    "NS",
    "FlatFn",
    "as_array",
    "backend_xp",
    "common_xp",
    "ensure_registered",
    "flatten",
    "is_array",
    "is_number",
    "map_leaves",
    "unflatten",
]

NS = "xpgrad"  # optree namespace for the dataclasses we register on the fly

_PY_NUMBERS = (int, float, complex)


def ensure_registered(tree: Any) -> None:
    """Register dataclass types found in ``tree`` as pytree nodes (fields in order)."""
    stack = [tree]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            cls = type(x)
            if cls not in _registered:
                _register_dataclass(cls)
            stack.extend(getattr(x, f.name) for f in dataclasses.fields(x))


_registered: set[type] = set()


def _register_dataclass(cls: type) -> None:
    names = tuple(f.name for f in dataclasses.fields(cls))

    def flatten(obj: Any) -> tuple:
        return tuple(getattr(obj, n) for n in names), None, names

    def unflatten(_: Any, children: Any) -> Any:
        obj: Any = object.__new__(cls)
        for n, c in zip(names, children):
            object.__setattr__(obj, n, c)
        return obj

    try:
        optree.register_pytree_node(cls, flatten, unflatten, namespace=NS)
    except ValueError:
        pass  # already registered (another thread)
    _registered.add(cls)


def flatten(tree: Any) -> tuple[list, Any]:
    ensure_registered(tree)
    return optree.tree_flatten(tree, namespace=NS)


def unflatten(treedef: Any, leaves: list) -> Any:
    return optree.tree_unflatten(treedef, leaves)


_NUMBER_TYPES = frozenset(_PY_NUMBERS)


def is_array(x: Any) -> bool:
    t = type(x)
    try:
        return _ARRAY_TYPES[t]
    except KeyError:
        pass
    res = isinstance(x, Tracer) or (
        t not in _NUMBER_TYPES
        and t is not bool
        and not isinstance(x, str)
        and array_api_compat.is_array_api_obj(x)
    )
    if len(_ARRAY_TYPES) < 1000:  # (types made on the fly must not grow it forever)
        _ARRAY_TYPES[t] = res
    return res


#: ``is_array``'s answer per type: it depends on the type alone, and every
#: transformation asks it of each argument and result several times.
_ARRAY_TYPES: dict[type, bool] = {}


def is_number(x: Any) -> bool:
    """A Python number (exactly int, float or complex; NumPy scalars are arrays)."""
    return type(x) in _NUMBER_TYPES


def backend_xp(x: Any) -> Any:
    if isinstance(x, Tracer):
        return x._trace.ns._xp
    return backends.namespace_of(x)


def common_xp(leaves: list) -> Any:
    """The one backend namespace of the array leaves (numpy's if there are none)."""
    xp = None
    for a in leaves:
        if is_array(a):
            ns = backend_xp(a)
            if xp is None:
                xp = ns
            elif ns is not xp:
                raise TypeError(
                    f"xpgrad: arrays from two backends in one call ({_name(xp)} and "
                    f"{_name(ns)}). Convert them to one library first, e.g. with "
                    f"xp.asarray or from_dlpack."
                )
    if xp is None:
        xp = backends.default_namespace()
    return xp


def _name(xp: Any) -> str:
    return getattr(xp, "__name__", repr(xp))


def as_array(x: Any, xp: Any) -> Any:
    """A Python number as a 0-d array of ``xp``; arrays unchanged."""
    if is_number(x):
        return xp.asarray(x)
    return x


def map_leaves(fn: Callable, tree: Any) -> Any:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])


class FlatFn:
    """``f(*args)`` as a function of its array leaves only, returning array leaves.

    Non-array leaves of the arguments (strings, functions, ``None``) are baked
    in; non-array leaves of the result are kept aside and put back by
    ``rebuild``. Python numbers in the result become 0-d arrays. It is the
    parameter of the primitives that take a user function (``checkpointed``,
    ``forwarddiff``): their rules call it on array leaves only.
    """

    __slots__ = ("f", "in_tree", "static", "slots", "xp", "out_tree", "out_static", "out_slots")

    def __init__(self, f: Callable, args: tuple):
        leaves, self.in_tree = flatten(args)
        self.f = f
        self.slots = [i for i, v in enumerate(leaves) if is_array(v) or is_number(v)]
        taken = set(self.slots)
        self.static = [None if i in taken else v for i, v in enumerate(leaves)]
        self.xp = common_xp(leaves)
        self.out_tree: Any = None
        self.out_static: list = []
        self.out_slots: list = []

    def arrays(self, args: tuple) -> list:
        leaves, _ = flatten(args)
        return [leaves[i] for i in self.slots]

    def __call__(self, *arrays: Any) -> tuple:
        leaves = list(self.static)
        for i, a in zip(self.slots, arrays):
            leaves[i] = a
        out = self.f(*unflatten(self.in_tree, leaves))
        o_leaves, self.out_tree = flatten(out)
        self.out_slots = [i for i, v in enumerate(o_leaves) if is_array(v) or is_number(v)]
        taken = set(self.out_slots)
        self.out_static = [None if i in taken else v for i, v in enumerate(o_leaves)]
        return tuple(as_array(o_leaves[i], self.xp) for i in self.out_slots)

    def rebuild(self, outs: tuple) -> Any:
        leaves = list(self.out_static)
        for i, o in zip(self.out_slots, outs):
            leaves[i] = o
        return unflatten(self.out_tree, leaves)
