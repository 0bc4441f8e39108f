"""The API edge: pytrees in and out, backend detection, wrapping and unwrapping.

Everything here runs once per call of a transformation, never per operation.
The helpers that rules need too (flattening, ``is_array``, ``common_xp``, ...)
are defined in ``_core/pytree.py`` and re-exported here, so API code reads
them all as ``E.<name>``.
"""

from __future__ import annotations

from typing import Any, Callable

import optree

from .. import backends
from .._core.arrays import per_dtype
from .._core.namespace import traced_namespace
from .._core.pytree import (  # noqa: F401  (the edge's helpers, one import for the API)
    _NUMBER_TYPES,
    NS,
    as_array,
    backend_xp,
    common_xp,
    ensure_registered,
    flatten,
    is_array,
    is_number,
    map_leaves,
    unflatten,
)
from .._core.trace import Tracer, innermost


def flatten_like(treedef: Any, tree: Any) -> list | None:
    """``tree``'s leaves in the positions of ``treedef``'s, where ``None`` may stand
    for a whole leaf (a zero (co)tangent); None if the structures differ."""
    ensure_registered(tree)
    try:
        leaves = list(treedef.flatten_up_to(tree))
    except (ValueError, TypeError):
        return None
    for x in leaves:  # a container where the structure has a leaf is a mismatch too
        if x is not None:
            sub = optree.tree_leaves(x, namespace=NS)
            if len(sub) != 1 or sub[0] is not x:
                return None
    return leaves


def differentiable_leaf(x: Any, xp: Any) -> bool:
    """Numbers and numeric (non-boolean) arrays are differentiated; others get None."""
    if is_number(x):
        return True
    if is_array(x):
        return not is_bool_dtype(xp, x.dtype)
    return False


@per_dtype
def is_bool_dtype(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is boolean."""
    return bool(xp.isdtype(dtype, "bool"))


@per_dtype
def is_integral_dtype(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is an integer dtype."""
    return bool(xp.isdtype(dtype, "integral"))


def to_python(g: Any, like: Any, xp: Any) -> Any:
    """Give a derivative for a Python-number argument back as a Python number."""
    if g is None or isinstance(g, Tracer) or not is_number(like):
        return g
    if getattr(g, "shape", ()) != ():
        return g
    if xp.isdtype(g.dtype, "complex floating"):
        return complex(g)
    if xp.isdtype(g.dtype, "integral"):
        return int(g)
    return float(g)


def check_callable(f: Any, name: str) -> None:
    if not callable(f):
        raise TypeError(
            f"xpgrad.{name}: the first argument must be the function to differentiate, "
            f"got {type(f).__name__}. Call it as {name}(f, *args)."
        )


def namespace(xp: Any) -> Any:
    return traced_namespace(xp)


def private(x: Any, xp: Any) -> Any:
    """``x``, copied if it is a caller's mutable backend array.

    Derivatives may pass a cotangent or tangent straight through (identity,
    reshape, slicing): copying what the caller hands in means no result can
    alias or view the caller's arrays. Tracers and immutable (lazy) arrays are
    returned as they are.
    """
    if isinstance(x, Tracer) or not is_array(x) or not backends.capabilities(x)["inplace"]:
        return x
    return xp.asarray(x, copy=True)


# -- wrt=: which arguments are differentiated ------------------------------------


def wrt_positions(f: Callable, nargs: int, wrt: Any, name: str) -> tuple[int, ...] | None:
    """The positions named by ``wrt`` (ints, parameter names, or a tuple of them).

    None when ``wrt`` is None (every argument). Names are ``f``'s positional
    parameter names, as ``inspect.signature`` gives them.
    """
    if wrt is None:
        return None
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    if not items:
        raise ValueError(
            f"xpgrad.{name}: wrt=() selects no argument; omit wrt to differentiate all"
        )
    out: list[int] = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise TypeError(
                f"xpgrad.{name}: wrt takes argument positions (int) or parameter names (str), "
                f"got {w!r} of type {type(w).__name__}"
            )
        if isinstance(w, str):
            i = _position_of(f, w, name)
        else:
            i = w + nargs if w < 0 else w
        if not 0 <= i < nargs:
            raise ValueError(
                f"xpgrad.{name}: wrt={w!r} is out of range for the {nargs} argument(s) given"
            )
        if i in out:
            raise ValueError(f"xpgrad.{name}: wrt names argument {i} twice")
        out.append(i)
    return tuple(out)


def _position_of(f: Callable, pname: str, name: str) -> int:
    import inspect

    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(
            f"xpgrad.{name}: wrt={pname!r} names a parameter, but the signature of "
            f"{getattr(f, '__name__', f)!r} cannot be read; pass its position instead"
        ) from None
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if pname not in positional:
        raise ValueError(
            f"xpgrad.{name}: wrt={pname!r} is not a positional parameter of "
            f"{getattr(f, '__name__', 'the function')} (its positional parameters: "
            f"{', '.join(positional) or 'none'})"
        )
    return positional.index(pname)


def _is_leaf(a: Any) -> bool:
    """Whether ``a`` is one pytree leaf, decided without flattening where that is
    plain: numbers and arrays are leaves (the usual arguments of every call)."""
    return type(a) in _NUMBER_TYPES or is_array(a)


def leaf_owners(args: tuple) -> list[int]:
    """For each leaf of ``flatten(args)``, the position of the argument it belongs to."""
    owners: list[int] = []
    for i, a in enumerate(args):
        if _is_leaf(a):
            owners.append(i)
        else:
            owners.extend([i] * len(flatten(a)[0]))
    return owners


def per_argument(tree: Any, res: list, chosen: list[bool], args: tuple) -> tuple:
    """Per-leaf results back into one entry per argument: None for an argument none
    of whose leaves was chosen (not the structure filled with None)."""
    if len(res) == len(args) and all(_is_leaf(a) for a in args):  # one leaf each
        return tuple(g if c else None for g, c in zip(res, chosen))
    grouped = tuple(unflatten(tree, res))
    owners = leaf_owners(args)
    used = {o for o, c in zip(owners, chosen) if c}
    return tuple(g if i in used else None for i, g in enumerate(grouped))


def chosen_leaves(f: Callable, args: tuple, wrt: Any, name: str) -> list[bool]:
    """Which leaves of ``flatten(args)`` a Jacobian-type function differentiates.

    Zygote's contract (the seed): without ``wrt``, only arguments that are
    numbers or arrays themselves; a container argument (tuple, dict, ...) gets
    ``None``. An argument that ``wrt`` names is differentiated whole, leaf by
    leaf, and gets its structure back (JAX's pytree Jacobians).
    """
    sel = wrt_positions(f, len(args), wrt, name)
    out: list[bool] = []
    for i, a in enumerate(args):
        if _is_leaf(a):
            out.append(True if sel is None else i in sel)
            continue
        ls = flatten(a)[0]
        whole = len(ls) == 1 and ls[0] is a
        out.extend([whole if sel is None else i in sel] * len(ls))
    return out


def lift(x: Any) -> Any:
    """A backend array as a constant of the innermost active trace (other values as they are).

    Data arguments (not differentiated) enter the function this way, so code
    that mixes them with traced values sees one namespace, and no tangent or
    cotangent work is done for them.
    """
    if isinstance(x, Tracer) or not is_array(x):
        return x
    t = innermost()
    return x if t is None else t.const(x)


def check_leaf(x: Any, name: str) -> None:
    """Refuse an object that hides arrays from the pytree machinery (it would get None)."""
    if is_array(x) or is_number(x) or x is None or isinstance(x, (str, bytes, bool)):
        return
    attrs = getattr(x, "__dict__", None)
    if not isinstance(attrs, dict):
        return
    held = [k for k, v in attrs.items() if is_array(v)]
    if held:
        cls = type(x).__name__
        raise TypeError(
            f"xpgrad.{name}: an argument of type {cls} holds arrays ({', '.join(held)}) "
            f"but is not a pytree, so its derivative would be lost. Make {cls} a "
            f"dataclass, or register it: optree.register_pytree_node({cls}, flatten, "
            f"unflatten, namespace='xpgrad') (see docs/ecosystem.md)."
        )
