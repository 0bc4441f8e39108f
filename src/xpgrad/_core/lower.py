"""Lowering: a staged ``Program`` becomes Python source over the backend namespace.

The generated function calls each equation's backend function directly
(``sin(v0)`` is the backend's ``sin``), with no tracers and no dispatch, so
replaying a program costs one Python call per remaining equation. The source
is kept on the function (``fn.source``) so a user can read what runs, as with
torch.fx's ``GraphModule.code``.
"""

from __future__ import annotations

import keyword
import math
from typing import Any, Callable

from .staging import Program, Var

__all__ = ["lower"]

_LITERALS = (int, bool, str, type(None))


class _Globals:
    """The names the generated source refers to: functions and constants."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"__builtins__": {}}
        self._by_id: dict[int, str] = {}

    def name(self, obj: Any, base: str) -> str:
        known = self._by_id.get(id(obj))
        if known is not None:
            return known
        base = base.replace(".", "_")
        if keyword.iskeyword(base) or not base.isidentifier():
            base = f"f_{base}" if base.isidentifier() else "const"
        name = base
        i = 1
        while name in self.ns:
            name = f"{base}_{i}"
            i += 1
        self.ns[name] = obj
        self._by_id[id(obj)] = name
        return name


def _literal(v: Any) -> str | None:
    """Source text that evaluates to ``v`` exactly, or ``None`` for a global."""
    t = type(v)
    if t in _LITERALS:
        return repr(v)
    if t is float:
        return repr(v) if math.isfinite(v) else None
    if t is complex:
        ok = math.isfinite(v.real) and math.isfinite(v.imag)
        return f"complex({v.real!r}, {v.imag!r})" if ok else None
    if t is tuple:
        items = []
        for i in v:
            text = _literal(i)
            if text is None:
                return None
            items.append(text)
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
    return None


# Arrays smaller than this (elements) are not worth a ``del``: they fit in cache
# anyway, and each line costs compile time on programs of thousands of equations.
_DEL_MIN_SIZE = 16384


def _last_uses(program: Program) -> list[list[Var]]:
    """Per equation, the large variables no later equation or output reads.

    Deleting them there lets the backend reuse their memory while it is still in
    cache, instead of keeping every intermediate alive until the program returns.
    """
    last: dict[Var, int] = {}
    for i, e in enumerate(program.eqns):
        for a in e.inputs:
            if type(a) is Var:
                last[a] = i
        for v in e.outputs:
            last.setdefault(v, i)  # an unused result dies where it is made
    keep = {a for a in program.outputs if type(a) is Var}
    dead: list[list[Var]] = [[] for _ in program.eqns]
    for v, i in last.items():
        if v not in keep and _size(v) >= _DEL_MIN_SIZE:
            dead[i].append(v)
    return dead


def _size(v: Var) -> float:
    n = 1.0
    for s in v.shape:
        n *= s if s is not None else float("inf")  # unknown (lazy) sizes: assume large
    return n


def lower(program: Program, copy: Callable | None = None) -> Callable:
    """A plain Python function of the program's inputs, returning its outputs' tuple.

    ``copy`` (for backends with mutable arrays) is applied to each output that is
    an input, a constant, or an earlier output, so that no result aliases an
    argument, a constant kept by the program, or another result.
    """
    g = _Globals()

    def atom(a: Any) -> str:
        if type(a) is Var:
            return repr(a)
        text = _literal(a)
        return text if text is not None else g.name(a, "const")

    lines = [f"def program({', '.join(repr(v) for v in program.inputs)}):"]
    dead_after = _last_uses(program)
    for i, e in enumerate(program.eqns):
        fn = g.name(e.fn, e.prim.name)
        args = [atom(a) for a in e.inputs]
        for k, v in e.params.items():
            text = _literal(v)
            args.append(f"{k}={text if text is not None else g.name(v, k)}")
        outs = ", ".join(repr(v) for v in e.outputs)
        if e.prim.multiple_results and len(e.outputs) == 1:
            outs += ","
        lines.append(f"    {outs} = {fn}({', '.join(args)})")
        if dead_after[i]:
            lines.append(f"    del {', '.join(repr(v) for v in dead_after[i])}")
    results = []
    made = set()
    inputs = set(program.inputs)
    for a in program.outputs:
        text = atom(a)
        if type(a) is Var:
            aliased = a in inputs or a in made
            made.add(a)
        else:
            aliased = hasattr(a, "shape")  # an array constant (numbers are immutable)
        if copy is not None and aliased:
            text = f"{g.name(copy, 'copy')}({text})"
        results.append(text)
    lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    source = "\n".join(lines) + "\n"
    code = compile(source, "<xpgrad.jit program>", "exec")
    exec(code, g.ns)
    fn = g.ns["program"]
    fn.source = source
    fn.constants = {k: v for k, v in g.ns.items() if k not in ("__builtins__", "program")}
    return fn
