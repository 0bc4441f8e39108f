"""Staging: one more interpreter, which records primitive calls into a program.

A ``StagingTrace`` computes every primitive on the concrete values of the
first call (so shapes and dtypes come from the existing impls, for free) and
records each call as an equation: the primitive, the backend function that
computes it, its parameters, its input atoms and its output variables. An atom
is a ``Var`` (a staged value) or anything else, which is a constant of the
program: a Python number, or a backend array not derived from the inputs.

Values the rules compute from shapes are Python values, so they stay static.
``bool()``, ``int()``, ``float()`` or ``index()`` of a staged value would bake
the first call's answer into the program, so they raise ``StagingError``.

The program is plain data (``Program``): the passes of ``simplify`` rewrite it
and ``lower`` turns it into Python source over the backend namespace.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple

from ..backends import namespace_of
from .trace import LeakedTracerError, Primitive, Trace, Tracer

__all__ = [
    "Var",
    "Eqn",
    "Program",
    "StagingTrace",
    "StagingTracer",
    "StagingError",
    "ForeignTracer",
    "SPECIALISE",
]


class StagingError(TypeError):
    """A staged value was used where the program would need its concrete value.

    ``jit`` records one program per input signature and replays it for every
    call with those shapes and dtypes, so anything that would bake the first
    call's data into the program raises it: ``bool()``, ``int()``,
    ``float()`` or ``index()`` of a staged value (Python ``if``, ``while``,
    indexing with it), and operations whose result shape depends on the data
    (``nonzero``, ``unique_*``, a boolean mask). The message names the value
    and the fixes: make the argument static (``static_argnums`` or
    ``static_argnames``), or use fixed-shape array operations such as
    ``xp.where``. A ``TypeError``, like JAX's ``ConcretizationTypeError``.

    See Also
    --------
    jit : Where it is raised.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> relu = xpgrad.jit(lambda x: x if x > 0 else 0 * x)
    >>> relu(np.array(1.0))
    Traceback (most recent call last):
    ...
    xpgrad._core.staging.StagingError: xpgrad.jit: bool() of a staged value ...
    >>> xpgrad.jit(lambda x: np.where(x > 0, x, 0.0))(np.array(-1.0))
    array(0.)
    """


class ForeignTracer(BaseException):
    """A value of a lower-level transformation reached the staging trace.

    Raised while recording, when the staged function closes over a value that
    an enclosing transformation (gradient, vmap, ...) is following: the program
    cannot take it as a constant. ``jit`` catches it and runs the function
    inline instead, which is always correct. A ``BaseException``, like
    ``GeneratorExit``: it is control flow of jit's, which a user's ``except
    Exception`` around the failing operation must not swallow into a program.
    """


class Var:
    """A staged value: its number in the program, its shape and dtype."""

    __slots__ = ("id", "shape", "dtype")

    def __init__(self, id: int, shape: tuple, dtype: Any):
        self.id = id
        self.shape = shape
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"v{self.id}"

    def aval(self) -> str:
        """``float64[3,4]``: the dtype and shape, as the program text shows them."""
        dims = ",".join(str(s) for s in self.shape)
        return f"{_dtype_name(self.dtype)}[{dims}]"


def _dtype_name(dtype: Any) -> str:
    s = str(dtype)
    return s.rsplit(".", 1)[-1].strip("'>")


class Eqn(NamedTuple):
    """One primitive call: ``outputs = fn(*inputs, **params)``.

    ``fn`` is what computes it on backend arrays: the backend function that the
    primitive's impl wraps (``np.sin``), or the impl itself.
    """

    prim: Primitive
    fn: Callable
    params: dict
    inputs: tuple
    outputs: tuple


class Program:
    """A staged program: input variables, equations in order, output atoms."""

    __slots__ = ("inputs", "eqns", "outputs")

    def __init__(self, inputs: list, eqns: list, outputs: list):
        self.inputs = inputs
        self.eqns = eqns
        self.outputs = outputs

    def as_text(self) -> str:
        """The program, one equation a line (like ``jax.make_jaxpr``)."""
        args = ", ".join(f"{v}: {v.aval()}" for v in self.inputs)
        lines = [f"program({args}):"]
        for e in self.eqns:
            outs = ", ".join(f"{v}: {v.aval()}" for v in e.outputs)
            ins = [_atom_text(a) for a in e.inputs]
            ins += [f"{k}={_param_text(v)}" for k, v in e.params.items()]
            lines.append(f"  {outs} = {e.prim.name}({', '.join(ins)})")
        outs = ", ".join(_atom_text(a) for a in self.outputs)
        lines.append(f"  return ({outs}{',' if len(self.outputs) == 1 else ''})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.as_text()


def _atom_text(a: Any) -> str:
    if type(a) is Var:
        return repr(a)
    shape = getattr(a, "shape", None)
    if shape is not None and not isinstance(a, (int, float, complex)):
        return f"const:{Var(0, tuple(shape), a.dtype).aval()}"
    return repr(a)


def _param_text(v: Any) -> str:
    if hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, type):
        return _atom_text(v)
    return repr(v)


class StagingTracer(Tracer):
    """A staged value: its variable in the program and its first-call value."""

    __slots__ = ("var", "val")
    _staged = True

    def __init__(self, trace: Trace, var: Var, val: Any):
        self._trace = trace
        self.var = var
        self.val = val

    @property
    def _value(self) -> Any:
        return self.val

    @property
    def shape(self) -> tuple:
        return self.var.shape

    @property
    def dtype(self) -> Any:
        return self.var.dtype

    def _concrete_value(self, what: str) -> Any:
        if self._constant():
            return self.val
        raise _concretization_error(self, what)

    def _constant(self) -> bool:
        t = self._trace
        return isinstance(t, StagingTrace) and self.var.id in t.const_ids

    def __float__(self) -> float:
        if self._constant():
            return float(self.val)
        raise _concretization_error(self, "float")

    def __complex__(self) -> complex:
        if self._constant():
            return complex(self.val)
        raise _concretization_error(self, "complex")


def _concretization_error(t: StagingTracer, what: str) -> Exception:
    if not isinstance(t._trace, StagingTrace):  # its jit has returned
        return LeakedTracerError(
            f"xpgrad.jit: {what}() of a staged value {t.var} that escaped the function "
            f"being staged (through a global, a closure or a mutable container). Return "
            f"the value from the function instead."
        )
    return StagingError(
        f"xpgrad.jit: {what}() of a staged value ({t.var}: {t.var.aval()}) would depend "
        f"on the data, but the staged program is the same for every call with these "
        f"shapes and dtypes. Fixes: make the argument it comes from static "
        f"(jit(f, static_argnums=...) or static_argnames=...), or replace the Python "
        f"`if`/`int()`/indexing by array operations such as xp.where(cond, a, b)."
    )


# Primitives whose result shape depends on the values of their staged inputs: the
# program cannot replay them for other data with the shapes of the first call.
_DATA_SHAPED = frozenset(
    ("nonzero", "unique_all", "unique_counts", "unique_inverse", "unique_values")
)
# What only reads its first argument's shape and dtype: constants of the program.
_SHAPE_ONLY = frozenset(("ones_like", "zeros_like", "empty_like", "full_like"))
# ... and these only when a staged boolean mask (or a staged count) is among them
_DATA_SHAPED_BY_ARRAY = frozenset(("getitem", "scatter_add", "repeat"))


#: Per primitive name, ``specialise(vals, params) -> (fn, params)`` or ``None``: a
#: cheaper call that computes the same result for these static parameters (a basic
#: index without the general key machinery). Rules modules fill it, next to the rule.
SPECIALISE: dict[str, Callable[[list, dict], Any]] = {}


class StagingTrace(Trace):
    def __init__(self, level: int, ns: Any):
        super().__init__(level, ns)
        self.inputs: list[Var] = []
        self.eqns: list[Eqn] = []
        self._ids = itertools.count()
        self._fns: dict[tuple, Callable] = {}
        #: variables that hold constants of the program (``const``), and what is
        #: computed from them alone
        self.const_ids: set[int] = set()

    def new_var(self, val: Any) -> Var:
        return Var(next(self._ids), tuple(val.shape), val.dtype)

    def new_input(self, val: Any) -> StagingTracer:
        var = self.new_var(val)
        self.inputs.append(var)
        return StagingTracer(self, var, val)

    def lift(self, val: Any) -> Any:
        """A constant of this trace: the value itself (it is embedded in the program)."""
        return val

    def const(self, val: Any) -> StagingTracer:
        """``val`` as a staged constant (``xp.zeros`` under jit): a variable defined by
        an equation with no inputs, which constant folding embeds in the program.
        Being a staged value, it can be written into (``out[mask] = x``)."""
        var = self.new_var(val)
        self.const_ids.add(var.id)
        self.eqns.append(Eqn(CONSTANT, _constant_fn(val), {}, (), (var,)))
        return StagingTracer(self, var, val)

    def _all_const(self, args: tuple) -> bool:
        ids = self.const_ids
        return bool(ids) and all(
            a.var.id in ids for a in args if type(a) is StagingTracer and a._trace is self
        )

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        if self._all_const(args):  # constants only: compute now, a constant again
            out = prim.impl(*[a.val if type(a) is StagingTracer else a for a in args], **params)
            return tuple(map(self.const, out)) if prim.multiple_results else self.const(out)
        vals = []
        atoms = []
        for a in args:
            if isinstance(a, Tracer):
                if type(a) is not StagingTracer or a._trace is not self:
                    raise ForeignTracer(prim.name)
                vals.append(a.val)
                atoms.append(a.var)
            else:
                vals.append(a)
                atoms.append(a)
        name = prim.name
        if name in _DATA_SHAPED or (name in _DATA_SHAPED_BY_ARRAY and _staged_index(name, atoms)):
            raise StagingError(
                f"xpgrad.jit: {name!r} of a staged value has a shape that depends on the "
                f"data, which a staged program cannot replay. Make the argument static "
                f"(static_argnums=...), or use a fixed-shape form (xp.where, "
                f"count_nonzero, an integer index array)."
            )
        if name in _SHAPE_ONLY and type(atoms[0]) is Var and not _any_var(atoms[1:]):
            # depends only on the shape and dtype, which are static: a constant
            return prim.impl(*vals, **params)
        fn = self.function(prim, vals)
        special = SPECIALISE.get(name)
        if special is not None:
            found = special(vals, params)
            if found is not None:
                fn, params = found
        out = fn(*vals, **params) if params else fn(*vals)
        if prim.multiple_results:
            out = tuple(out)
            out_vars = tuple(self.new_var(o) for o in out)
            self.eqns.append(Eqn(prim, fn, params, tuple(atoms), out_vars))
            return tuple(StagingTracer(self, v, o) for v, o in zip(out_vars, out))
        var = self.new_var(out)
        self.eqns.append(Eqn(prim, fn, params, tuple(atoms), (var,)))
        return StagingTracer(self, var, out)

    # The hot path while recording: elementwise calls with no parameters and one
    # result, without the argument lists, checks and dict of ``process``.
    def process1(self, prim: Primitive, x: Any) -> Any:
        if (
            prim.multiple_results
            or prim.name in _CHECKED
            or prim.name in SPECIALISE
            or self.const_ids
        ):
            return self.process(prim, (x,), {})
        if type(x) is not StagingTracer or x._trace is not self:
            raise ForeignTracer(prim.name)
        v = x.val
        fn = self.function(prim, (v,))
        out = fn(v)
        var = Var(next(self._ids), tuple(out.shape), out.dtype)
        self.eqns.append(Eqn(prim, fn, {}, (x.var,), (var,)))
        return StagingTracer(self, var, out)

    def process2(self, prim: Primitive, x1: Any, x2: Any) -> Any:
        if (
            prim.multiple_results
            or prim.name in _CHECKED
            or prim.name in SPECIALISE
            or self.const_ids
        ):
            return self.process(prim, (x1, x2), {})
        if isinstance(x1, Tracer):
            if type(x1) is not StagingTracer or x1._trace is not self:
                raise ForeignTracer(prim.name)
            v1, a1 = x1.val, x1.var
        else:
            v1 = a1 = x1
        if isinstance(x2, Tracer):
            if type(x2) is not StagingTracer or x2._trace is not self:
                raise ForeignTracer(prim.name)
            v2, a2 = x2.val, x2.var
        else:
            v2 = a2 = x2
        fn = self.function(prim, (v1, v2))
        out = fn(v1, v2)
        var = Var(next(self._ids), tuple(out.shape), out.dtype)
        self.eqns.append(Eqn(prim, fn, {}, (a1, a2), (var,)))
        return StagingTracer(self, var, out)

    def function(self, prim: Primitive, vals: Any) -> Callable:
        """What computes ``prim`` on these values (see ``_backend_function``), cached."""
        key = (prim, *map(type, vals))
        fn = self._fns.get(key)
        if fn is None:
            fn = self._fns[key] = _backend_function(prim, vals)
        return fn

    def program(self, out_leaves: list) -> Program:
        """The recorded program with these outputs (staged values or constants)."""
        outs = []
        for x in out_leaves:
            if isinstance(x, Tracer):
                if type(x) is not StagingTracer or x._trace is not self:
                    raise LeakedTracerError(
                        "xpgrad.jit: the function returned a value of a transformation "
                        "opened inside it (a tracer); return that transformation's result."
                    )
                outs.append(x.var)
            else:
                outs.append(x)
        return Program(list(self.inputs), list(self.eqns), outs)


# What ``process`` checks by name: the fast paths leave these calls to it.
_CHECKED = _DATA_SHAPED | _DATA_SHAPED_BY_ARRAY | _SHAPE_ONLY


def _staged_index(name: str, atoms: list) -> bool:
    """Whether a staged argument after the first sets the result's shape.

    That is a boolean mask for ``getitem``/``scatter_add`` (integer index arrays
    give fixed shapes), and any staged count for ``repeat``.
    """
    return any(type(a) is Var and (name == "repeat" or _is_bool(a.dtype)) for a in atoms[1:])


def _any_var(atoms: Any) -> bool:
    return any(type(a) is Var for a in atoms)


def _is_bool(dtype: Any) -> bool:
    return str(dtype).endswith("bool")


#: The "primitive" of a constant's equation (it has no inputs; see ``const``).
CONSTANT = Primitive("constant", lambda v: v)


def _constant_fn(val: Any) -> Callable:
    def constant() -> Any:
        return val

    return constant


def _backend_function(prim: Primitive, vals: list) -> Callable:
    """What ``prim.impl`` calls on these values: its backend function, else the impl.

    Replaying the backend function skips the impl's per-call lookup; it is the
    same call, so the staged program computes the same bits as eager code.
    """
    where = getattr(prim.impl, "backend_function", None)
    if where is None:
        return prim.impl
    module, name = where
    for v in vals:
        if type(v) not in (int, float, complex, bool) and v is not None:
            xp = namespace_of(v)
            return getattr(getattr(xp, module), name) if module else getattr(xp, name)
    return prim.impl
