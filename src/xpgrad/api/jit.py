"""``jit``: stage a function once per input signature, then replay the program.

The first call for a signature runs the function under a ``StagingTrace``
(``_core/staging.py``), which records every primitive call into a program; the
program is simplified (``_core/simplify.py``) and lowered to Python source over
the backend namespace (``_core/lower.py``). Later calls with the same signature
call the generated function: no tracers, no dispatch, no rules.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple

from .. import backends
from .._core.arrays import device_of
from .._core.lower import lower
from .._core.simplify import simplify
from .._core.staging import ForeignTracer, Program, StagingTrace, StagingTracer
from .._core.trace import Tracer, new_level
from . import _edge as E

__all__ = ["jit", "Jitted", "Lowered", "CacheInfo"]


class CacheInfo(NamedTuple):
    """How often a jitted function replayed, traced, or ran inline."""

    hits: int  # calls that replayed a cached program
    traces: int  # calls that staged a new program (a new signature)
    inline: int  # calls that ran the function itself (inside a transformation)
    size: int  # programs in the cache


class Lowered:
    """A staged, simplified program, the Python source it was lowered to, and what replays it.

    ``fn`` is xpgrad's generated function (its text is ``source``); ``run`` is what
    later calls replay: the backend adapter's further compilation of ``fn`` where
    its ``lower`` hook gives one (``xpgrad.backends.Backend``), else ``fn`` itself.
    """

    def __init__(self, program: Program, fn: Callable, run: Callable | None = None):
        self.program = program
        self.fn = fn
        self.run = fn if run is None else run
        self.source: str = fn.source  # type: ignore[attr-defined]

    def as_text(self) -> str:
        """The program, one equation a line (as ``jax.make_jaxpr`` prints)."""
        return self.program.as_text()

    def __repr__(self) -> str:
        return self.as_text()


class _Entry(NamedTuple):
    lowered: Lowered
    run: Callable  # lowered.run, one attribute lookup closer to the replay
    out_tree: Any
    single: bool  # the output is one leaf (no unflattening)


class Jitted:
    """A function that is staged once per input signature and replayed after."""

    def __init__(self, fn: Callable, static_argnums: Any = (), static_argnames: Any = ()):
        E.check_callable(fn, "jit")
        self.fn = fn
        nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        try:
            kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            sig = inspect.signature(fn).parameters.values()
            params = [p.name for p in sig if p.kind in kinds]  # those a position can reach
        except (TypeError, ValueError):  # builtins and some callables have none
            params = []
        # a static argument may be passed by position or by name: know both
        nums += tuple(params.index(n) for n in names if n in params and params.index(n) not in nums)
        names += tuple(params[i] for i in nums if i < len(params) and params[i] not in names)
        self._nums = tuple(sorted(set(nums)))
        self._names = frozenset(names)
        self._cache: dict[Any, _Entry] = {}
        self._fast: dict[Any, _Entry] = {}  # the same entries, by _fast_key
        self._hits = self._inline = 0
        functools.update_wrapper(self, fn)

    @property
    def trace_count(self) -> int:
        """How many times the function was staged (once per new input signature)."""
        return len(self._cache)

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, len(self._cache), self._inline, len(self._cache))

    def clear_cache(self) -> None:
        self._cache.clear()
        self._fast.clear()
        self._hits = self._inline = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fast = _fast_key(args) if not kwargs and not self._nums else None
        if fast is not None:  # arrays only, a signature seen before: no pytree work
            entry = self._fast.get(fast)
            if entry is not None:
                self._hits += 1
                outs = entry.run(*args)
                return outs[0] if entry.single else E.unflatten(entry.out_tree, list(outs))
        split = self._split(args, kwargs)
        if split is None:  # called with a transformation's tracers: run inline
            self._inline += 1
            return self.fn(*args, **kwargs)
        key, leaves, arrays = split
        entry = self._cache.get(key)
        if entry is None:
            staged = self._stage(args, kwargs, key, leaves)
            if staged is None:
                self._inline += 1
                return self.fn(*args, **kwargs)
            if fast is not None:
                self._fast[fast] = self._cache[key]
            return staged
        if fast is not None:
            self._fast[fast] = entry
        self._hits += 1
        outs = entry.run(*arrays)
        return outs[0] if entry.single else E.unflatten(entry.out_tree, list(outs))

    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """Stage (or reuse) the program for these arguments, without replaying it."""
        split = self._split(args, kwargs)
        if split is None:
            raise TypeError(
                "xpgrad.jit(...).lower: the arguments include values of an active "
                "transformation; call lower with concrete arrays."
            )
        key, leaves, _ = split
        if key not in self._cache and self._stage(args, kwargs, key, leaves) is None:
            raise TypeError(
                "xpgrad.jit(...).lower: the function closes over a value of an enclosing "
                "transformation, so it runs inline and has no program; pass that value "
                "as an argument."
            )
        return self._cache[key].lowered

    # -- the signature -------------------------------------------------------------
    def _split(self, args: tuple, kwargs: dict) -> tuple | None:
        """(signature key, dynamic leaves, array leaves), or None if a tracer is among them."""
        statics = []
        if self._nums:
            dyn = list(args)
            for i in self._nums:
                if i < len(args):
                    statics.append((i, _static(args[i], f"argument {i}")))
                    dyn[i] = None
            args = tuple(dyn)
        if kwargs and self._names:
            dyn_kw = {}
            for k, v in kwargs.items():
                if k in self._names:
                    statics.append((k, _static(v, f"argument {k!r}")))
                else:
                    dyn_kw[k] = v
            kwargs = dyn_kw
        leaves, treedef = E.flatten((args, kwargs))
        sig = []
        arrays = []
        for x in leaves:
            if isinstance(x, Tracer):
                return None
            if E.is_array(x):
                if hasattr(x, "device"):
                    _ARRAY_TYPES.add(type(x))
                sig.append((type(x), tuple(x.shape), x.dtype, _device_key(x)))
                arrays.append(x)
            else:  # numbers, strings, None: part of the signature, by value
                sig.append(_static(x, f"the leaf {x!r}"))
        return (treedef, tuple(sig), tuple(statics)), leaves, arrays

    # -- staging ---------------------------------------------------------------------
    def _stage(self, args: tuple, kwargs: dict, key: Any, leaves: list) -> Any:
        """Stage ``fn`` for this signature; returns the first call's result (or None)."""
        xp = E.common_xp(leaves)
        try:
            with new_level(StagingTrace, E.namespace(xp)) as trace:
                wrapped = [trace.new_input(x) if E.is_array(x) else x for x in leaves]
                dyn_args, dyn_kwargs = E.unflatten(key[0], wrapped)
                call_args = list(dyn_args)
                for i in self._nums:
                    if i < len(args):
                        call_args[i] = args[i]
                call_kwargs = {
                    **dyn_kwargs,
                    **{k: v for k, v in kwargs.items() if k in self._names},
                }
                out = self.fn(*call_args, **call_kwargs)
                out_leaves, out_tree = E.flatten(out)
                program = trace.program(out_leaves)
                first = [
                    x.val if type(x) is StagingTracer and x._trace is trace else x
                    for x in out_leaves
                ]
        except ForeignTracer:
            return None
        like = next((x for x in leaves if E.is_array(x)), None)  # None: numbers only
        copy = None
        if like is not None and backends.capabilities(like)["inplace"]:
            copy = functools.partial(_copy, xp)
        program = simplify(program)
        fn = lower(program, copy)
        # the adapter may compile the program further, once per signature (no arrays,
        # no backend: the generated function runs as it is)
        run = fn if like is None else backends.lower(like, program, fn)
        lowered = Lowered(program, fn, run)
        single = out_tree.num_leaves == 1 and out_tree.num_nodes == 1
        self._cache[key] = _Entry(lowered, run, out_tree, single)
        return first[0] if single else E.unflatten(out_tree, first)

    def __repr__(self) -> str:
        return f"<xpgrad.jit of {getattr(self.fn, '__qualname__', self.fn)!r}>"


# Backend array types seen by the full signature: positional arguments all of these
# types take the fast path (a tuple of their metadata as the key).
_ARRAY_TYPES: set[type] = set()


def _fast_key(args: tuple) -> tuple | None:
    key = []
    for a in args:
        t = type(a)
        if t not in _ARRAY_TYPES:
            return None
        key.append((t, a.shape, a.dtype, a.device))
    return tuple(key)


def _copy(xp: Any, x: Any) -> Any:
    return xp.asarray(x, copy=True)


def _device_key(x: Any) -> Any:
    d = device_of(x)
    try:
        hash(d)
    except TypeError:
        return repr(d)
    return d


def _static(v: Any, what: str) -> Any:
    """The signature key of a static value: hashable, and -0.0 apart from 0.0."""
    t = type(v)
    if t is float or t is complex:
        return (t, repr(v))
    try:
        hash(v)
    except TypeError:
        raise TypeError(
            f"xpgrad.jit: the static {what} has the unhashable type {t.__name__}, so "
            f"calls cannot be matched to staged programs. Pass a hashable value (a "
            f"tuple instead of a list, a frozenset instead of a set), or pass arrays "
            f"as dynamic (non-static) arguments."
        ) from None
    return (t, v)


def jit(fn: Callable | None = None, *, static_argnums: Any = (), static_argnames: Any = ()) -> Any:
    """Stage ``fn`` once per input signature and replay the staged program after.

    The first call with a new signature (backend, device, pytree structure,
    shapes and dtypes of the array arguments, and the values of the static
    arguments) runs ``fn`` once on the arguments while recording every array
    operation into a program; the program is simplified (dead code, common
    subexpressions, constants) and lowered to Python source that calls the
    backend's functions directly. Later calls run that source: no tracing, no
    rules. The result equals eager ``fn`` to the last bit (the same backend
    calls, in the same order).

    ``fn`` may use every transformation inside (``gradient``, ``jacobian``,
    ``hessian``, ``vmap``, ``jvp``, ``checkpointed`` ...), and a jitted function
    may itself be transformed (``gradient(jit(f), x)``: called with the values
    of a transformation, it runs ``fn`` inline).

    Static values: arguments named by ``static_argnums``/``static_argnames``,
    and every non-array leaf (Python numbers, strings, ``None``), are part of
    the signature by value: a new value stages again. Python control flow on an
    array argument (``if x > 0``, ``int(n)``) raises a ``StagingError`` naming
    the fixes; make that argument static, or use ``xp.where``.

    Parameters
    ----------
    fn : callable, optional
        The function to stage. Omitted (``@jit(static_argnums=...)``), ``jit``
        returns a decorator that takes it.
    static_argnums : int or tuple of int, optional
        Positions of the arguments that are static: part of the signature by
        value (they must be hashable), passed to ``fn`` as they are, never
        staged. Default none.
    static_argnames : str or tuple of str, optional
        Names of static arguments passed by keyword; a name of a positional
        parameter of ``fn`` also makes its position static, and a position in
        ``static_argnums`` its name. Default none.

    Returns
    -------
    Jitted or callable
        A ``Jitted``: called like ``fn``, it returns what ``fn`` returns (the
        same pytree structure, shapes and dtypes); ``.lower(*args)`` gives
        the ``Lowered`` program (``.as_text()``, ``.source``),
        ``.trace_count`` the number of signatures staged, ``.cache_info()``
        and ``.clear_cache()`` manage the cache. Without ``fn``, a decorator
        that makes one.

    Raises
    ------
    TypeError
        If ``fn`` is not callable. Calls of the result raise ``StagingError``
        (a ``TypeError``) for Python control flow on staged values or
        operations whose result shape depends on the data, and ``TypeError``
        for an unhashable static argument.

    See Also
    --------
    StagingError : What data-dependent Python control flow raises.
    gradient : Transformations compose with ``jit`` both ways.
    jacobian : A staged Jacobian replays without the batching machinery.
    vmap : Vectorise before or after staging.
    checkpointed : Recompute instead of storing, inside a staged function.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> df = xpgrad.jit(lambda x: xpgrad.gradient(lambda y: np.sum(y ** 3), x)[0])
    >>> df(np.array([1.0, 2.0]))
    array([ 3., 12.])
    >>> df(np.array([3.0, 4.0])), df.trace_count
    (array([27., 48.]), 1)
    >>> print(df.lower(np.array([1.0, 2.0])).as_text())
    program(v0: float64[2]):
      v1: float64[2] = pow(v0, 2)
      v2: float64[2] = multiply(3, v1)
      return (v2,)

    A static argument: each new value of ``n`` stages a new program.

    >>> @xpgrad.jit(static_argnums=1)
    ... def power(x, n):
    ...     return x**n
    >>> power(np.array([2.0]), 3), power(np.array([2.0]), 2), power.trace_count
    (array([8.]), array([4.]), 2)
    """
    if fn is None:
        return functools.partial(
            jit, static_argnums=static_argnums, static_argnames=static_argnames
        )
    return Jitted(fn, static_argnums, static_argnames)
