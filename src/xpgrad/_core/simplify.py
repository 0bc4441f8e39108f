"""Simplification passes over a staged ``Program``, each small and testable alone.

Every pass takes a program and returns a new one computing the same outputs
with the same bits (up to the sign of a NaN, which IEEE 754 does not
interpret: ``fold_negations``): no pass reorders or re-associates arithmetic. ``simplify``
runs them in the order that lets each feed the next.
"""

from __future__ import annotations

from typing import Any

from ..backends import is_lazy, namespace_of
from .staging import Eqn, Program, Var, _dtype_name

__all__ = [
    "dead_code",
    "common_subexpressions",
    "fold_constants",
    "fold_negations",
    "drop_identities",
    "renumber",
    "scalar_constants",
    "simplify",
]


def _subst(a: Any, env: dict) -> Any:
    return env.get(a, a) if type(a) is Var else a


def _inputs(e: Eqn, env: dict) -> Eqn:
    """``e`` with its inputs renamed by ``env`` (itself when none is renamed)."""
    if not env or not any(type(a) is Var and a in env for a in e.inputs):
        return e
    return e._replace(inputs=tuple(_subst(a, env) for a in e.inputs))


def _renamed(program: Program, eqns: list, env: dict) -> Program:
    outs = [_subst(a, env) for a in program.outputs]
    return Program(list(program.inputs), eqns, outs)


def dead_code(program: Program) -> Program:
    """Drop the equations whose outputs no output depends on (primitives are pure)."""
    live = {a for a in program.outputs if type(a) is Var}
    kept = []
    for e in reversed(program.eqns):
        if any(v in live for v in e.outputs):
            kept.append(e)
            live.update(a for a in e.inputs if type(a) is Var)
    kept.reverse()
    return Program(list(program.inputs), kept, list(program.outputs))


def _freeze(x: Any) -> Any:
    """A hashable key equal only for equal parameters (``None`` if there is none)."""
    t = type(x)
    if t in (float, complex):  # repr tells -0.0 from 0.0 (equal, and hashed alike)
        return (t, repr(x))
    if t in (int, bool, str, type(None)):
        return (t, x)
    if t is Var:
        return x
    if t in (tuple, list):
        items = tuple(_freeze(i) for i in x)
        return None if None in items else (t, items)
    if t is dict:
        items = tuple((k, _freeze(v)) for k, v in x.items())
        return None if any(v is None for _, v in items) else (t, items)
    if t is slice:
        k = _freeze((x.start, x.stop, x.step))
        return None if k is None else (t, k)
    if hasattr(x, "shape"):  # an array constant: the same object only
        return ("id", id(x))
    try:
        hash(x)
    except TypeError:
        return None
    return (t, x)


def common_subexpressions(program: Program) -> Program:
    """Compute each repeated call (same function, parameters and inputs) once."""
    env: dict[Var, Any] = {}
    seen: dict[Any, tuple] = {}
    eqns = []
    for e in program.eqns:
        e = _inputs(e, env)
        key = _eqn_key(e)
        if key is not None:
            prev = seen.get(key)
            if prev is not None:
                env.update(zip(e.outputs, prev))
                continue
            seen[key] = e.outputs
        eqns.append(e)
    return _renamed(program, eqns, env)


def _eqn_key(e: Eqn) -> Any:
    """``_freeze((fn, inputs, params))`` without its recursion in the common cases."""
    inputs = []
    for a in e.inputs:
        t = type(a)
        if t is Var:
            inputs.append(a)
        elif t is int:
            inputs.append((t, a))
        else:
            k = _freeze(a)
            if k is None:
                return None
            inputs.append(k)
    params = _freeze(e.params) if e.params else ()
    if params is None:
        return None
    try:
        hash(e.fn)
    except TypeError:
        return None
    return (e.fn, tuple(inputs), params)


def fold_constants(program: Program) -> Program:
    """Evaluate the equations whose inputs are all constants, once, while staging.

    Recording already folds what does not depend on the inputs (such calls never
    reach the staging trace); this pass folds what other rewrites leave constant.
    """
    env: dict[Var, Any] = {}
    eqns = []
    for e in program.eqns:
        e = _inputs(e, env)
        if any(type(a) is Var for a in e.inputs):
            eqns.append(e)
            continue
        out = e.fn(*e.inputs, **e.params)
        outs = tuple(out) if e.prim.multiple_results else (out,)
        env.update(zip(e.outputs, outs))
    return _renamed(program, eqns, env)


def _is_one(a: Any) -> bool:
    """A Python 1, or an array constant of ones (a reverse pass's seed, broadcast)."""
    if type(a) in (int, float):
        return a == 1
    if type(a) is Var or not hasattr(a, "shape") or type(a) is bool or is_lazy(a):
        return False  # (a lazy constant is not computed to find out)
    xp = namespace_of(a)
    try:
        return bool(xp.all(a == 1))
    except Exception:  # noqa: BLE001 - a constant we cannot inspect is kept
        return False


def _identity_of(e: Eqn) -> Any:
    """The input that equation ``e`` returns unchanged, or ``None``.

    Only rewrites that are exact: ``x * 1`` (also for NaN and signed zeros), and
    a reshape, broadcast or cast that keeps the shape and dtype.
    """
    if len(e.outputs) != 1:
        return None
    out = e.outputs[0]
    name = e.prim.name
    if name == "multiply" and len(e.inputs) == 2:
        a, b = e.inputs
        x = a if _is_one(b) else b if _is_one(a) else None
    elif name in ("reshape", "broadcast_to", "astype"):
        x = e.inputs[0]
    else:
        return None
    if type(x) is Var and x.shape == out.shape and x.dtype == out.dtype:
        return x
    return None


def drop_identities(program: Program) -> Program:
    """Replace calls that return their input unchanged by the input itself."""
    env: dict[Var, Any] = {}
    eqns = []
    for e in program.eqns:
        e = _inputs(e, env)
        x = _identity_of(e)
        if x is not None:
            env[e.outputs[0]] = x
            continue
        eqns.append(e)
    return _renamed(program, eqns, env)


def renumber(program: Program) -> Program:
    """The same program with its variables numbered 0, 1, 2 ... in order (for reading)."""
    env: dict[Var, Var] = {}

    def new(v: Var) -> Var:
        env[v] = w = Var(len(env), v.shape, v.dtype)
        return w

    inputs = [new(v) for v in program.inputs]
    eqns = []
    for e in program.eqns:
        ins = tuple(_subst(a, env) for a in e.inputs)
        eqns.append(e._replace(inputs=ins, outputs=tuple(new(v) for v in e.outputs)))
    return Program(inputs, eqns, [_subst(a, env) for a in program.outputs])


_ARITHMETIC = frozenset(("add", "subtract", "multiply", "divide"))


def _uniform_scalar(a: Any, dtype: Any) -> Any:
    """The Python number every element of the array constant ``a`` equals, or ``None``.

    Only for real floating and integer constants of ``dtype``: IEEE arithmetic with
    that number, cast back to ``dtype``, gives the same bits as with the array.
    """
    if type(a) is Var or not hasattr(a, "shape") or is_lazy(a) or a.dtype != dtype:
        return None
    xp = namespace_of(a)
    if xp.isdtype(dtype, "real floating"):
        cast: Any = float
    elif xp.isdtype(dtype, "integral"):
        cast = int
    else:
        return None
    first = xp.reshape(a, (-1,))[0] if a.shape else a
    try:
        return cast(first) if bool(xp.all(a == first)) else None
    except Exception:  # noqa: BLE001 - a constant we cannot inspect is kept
        return None


def scalar_constants(program: Program) -> Program:
    """An array constant of one repeated value in ``+ - * /`` becomes that number.

    A rule's partial broadcast to a full array (``100 * x`` gives a constant of
    hundreds) then costs the backend one array read less per replay. Only where
    the other operand alone already has the result's shape and dtype.
    """
    eqns = []
    for e in program.eqns:
        if e.prim.name in _ARITHMETIC and len(e.inputs) == 2 and not e.params:
            out = e.outputs[0]
            a, b = e.inputs
            for i, (c, x) in enumerate(((a, b), (b, a))):
                if type(x) is Var and x.shape == out.shape and x.dtype == out.dtype:
                    num = _uniform_scalar(c, out.dtype)
                    if num is not None:
                        e = e._replace(inputs=(num, x) if i == 0 else (x, num))
                        break
        eqns.append(e)
    return Program(list(program.inputs), eqns, list(program.outputs))


_REAL_FLOATING = frozenset(("float16", "bfloat16", "float32", "float64"))


def _negated(c: Any) -> Any:
    """``-c`` for a Python number constant, or None (an ``int`` 0: ``-0`` is ``0``,
    which would lose the sign of a zero product)."""
    t = type(c)
    if t is float:
        return -c
    if t is int and c != 0:
        return -c
    return None


def _real_floating(v: Var) -> bool:
    return _dtype_name(v.dtype) in _REAL_FLOATING


def fold_negations(program: Program) -> Program:
    """Move negations into scalar constants, and cancel them in pairs.

    ``-(-x)`` is ``x``; ``-(c * x)``, ``c * (-x)`` and ``(-x) * c`` are
    ``(-c) * x``; ``-(x / c)`` and ``(-x) / c`` are ``x / (-c)``; ``-(c / x)``
    and ``c / (-x)`` are ``(-c) / x``. For real floating values these are the
    same values: negation flips the sign bit and nothing else, and rounding is
    symmetric in the sign, so signed zeros and infinities come out alike. Only
    the sign bit of a NaN may differ, which IEEE 754 leaves unspecified for
    arithmetic and no comparison sees.
    A reverse pass makes many of them (the pullback of ``subtract`` negates),
    and the rewritten products often become common subexpressions or dead.
    No rewrite adds an equation.
    """
    env: dict[Var, Any] = {}
    neg_of: dict[Var, Var] = {}  # y = negative(x): y -> x
    scaled: dict[Var, Eqn] = {}  # y = c * x, x * c, x / c or c / x, with c a number
    eqns = []
    for e in program.eqns:
        e = _inputs(e, env)
        name = e.prim.name
        if len(e.outputs) != 1 or e.params or not _real_floating(e.outputs[0]):
            eqns.append(e)
            continue
        out = e.outputs[0]
        if name == "negative" and len(e.inputs) == 1 and type(e.inputs[0]) is Var:
            x = e.inputs[0]
            inner = neg_of.get(x)
            if inner is not None and inner.shape == out.shape and inner.dtype == out.dtype:
                env[out] = inner  # -(-x)
                continue
            prod = scaled.get(x)
            if prod is not None:  # -(c * x) and the like: the product with -c
                ins = tuple(_negated(a) if type(a) is not Var else a for a in prod.inputs)
                e = prod._replace(inputs=ins, outputs=(out,))
                scaled[out] = e
            else:
                neg_of[out] = x
            eqns.append(e)
            continue
        if name in ("multiply", "divide") and len(e.inputs) == 2:
            a, b = e.inputs
            for i, (v, c) in enumerate(((a, b), (b, a))):
                if type(v) is Var and type(c) is not Var and _negated(c) is not None:
                    base = neg_of.get(v)
                    if base is not None and base.shape == v.shape and base.dtype == v.dtype:
                        nc = _negated(c)
                        e = e._replace(inputs=(base, nc) if i == 0 else (nc, base))
                    scaled[out] = e
                    break
        eqns.append(e)
    return _renamed(program, eqns, env)


def simplify(program: Program) -> Program:
    """All passes: identities first (they expose common subexpressions), dead code last."""
    program = fold_negations(drop_identities(scalar_constants(program)))
    program = fold_constants(program)
    program = common_subexpressions(program)
    return renumber(dead_code(program))
