"""The per-operation path: primitives, tracers, the trace stack and ``bind``.

A transformation (forward, reverse, batch) opens a *trace* at the next level of
a per-context stack. Values it follows are wrapped in its ``Tracer`` subclass.
``bind`` finds the highest-level trace among a primitive's arguments and lets it
interpret the call; arguments of lower levels are constants to that trace and
are handled by the lower traces when the rule itself calls primitives. This is
JAX's autodidax design in a few dozen lines. The hot path is ``bind``, and for
elementwise primitives its fixed-arity form ``fast_call``.
"""

from __future__ import annotations

import contextvars
from typing import Any, Callable

import array_api_compat

from .tables import F, ufuncs
from .zeros import AbstractZero

__all__ = [
    "Primitive",
    "Trace",
    "Tracer",
    "PrimalTracer",
    "bind",
    "fast_call",
    "bind_operator",
    "new_level",
    "innermost",
    "LeakedTracerError",
    "NoRuleError",
]

# The active traces of this thread / async context, outermost first. A trace's
# level is its position here; the innermost one is where constants created by
# the traced namespace (``zeros``, comparisons, ...) belong.
_stack: contextvars.ContextVar[tuple] = contextvars.ContextVar("xpgrad_traces", default=())


def innermost() -> "Trace | None":
    """The innermost active trace of this context, or None outside every transformation."""
    s = _stack.get()
    return s[-1] if s else None


# A trace that has ended gets this level: any leaked tracer of it then wins the
# top-trace search in ``bind`` and its trace raises, instead of being silently
# taken for a constant by another trace that reuses the same level number.
_DEAD = 1 << 60
#: Levels below this belong to live traces (an implicit-mode box's sits between two).
LIVE_LEVELS = _DEAD


class LeakedTracerError(RuntimeError):
    """A tracer was used after the transformation that made it had ended.

    Raised instead of silently taking the stale value for a constant: a value
    inside a differentiated function escaped (through a global, a closure or a
    container) and was used later. Return it from the function instead, or
    detach it with ``ignore_derivatives``.

    Examples
    --------
    >>> import xpgrad
    >>> leaked = []
    >>> _ = xpgrad.gradient(lambda x: leaked.append(x) or x * 2, 1.0)
    >>> leaked[0] + 1
    Traceback (most recent call last):
    ...
    xpgrad._core.trace.LeakedTracerError: xpgrad: a traced value from a transformation that has already returned was passed to 'add'...
    """


class NoRuleError(NotImplementedError):
    """A primitive has no rule for the transformation that met it.

    The message names the primitive and how to register the missing rule
    (``xpgrad.extend.defrule``), declare the function with ``custom_rule``, or
    mark it non-differentiable.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> double = xpgrad.extend.primitive("my_double", impl=lambda x: 2 * x, export_as=False)
    >>> xpgrad.gradient(lambda x: np.sum(double(x)), np.ones(2))
    Traceback (most recent call last):
    ...
    xpgrad._core.trace.NoRuleError: xpgrad: 'my_double' has no reverse-mode (vjp) rule...
    """


def _no_rule(prim: "Primitive", what: str, field: str) -> NoRuleError:
    return NoRuleError(
        f"xpgrad: {prim.name!r} has no {what} rule. Register one with "
        f"xpgrad.extend.defrule({prim.name!r}, {field}=...), declare the function with "
        f"@xpgrad.custom_rule, or mark it non-differentiable with "
        f"xpgrad.extend.nondifferentiable(...)."
    )


class Primitive:
    """One function of the Array API standard, with all its rules side by side.

    ``impl(*args, **params)`` is the primal on backend arrays; ``jvp(primals,
    tangents, **params) -> (out, tangent)`` the pushforward (``None`` is a
    symbolic zero tangent); ``vjp(primals, needs, **params) -> (out, pullback)``
    the pullback maker, where ``needs[i]`` says whether argument ``i`` wants a
    cotangent and ``pullback(ct)`` returns one cotangent (or ``None``) per
    argument; ``batch(args, batched, **params) -> (out, out_batched)`` the
    vmap rule, with the batch axis always leading.  ``jvp``/``vjp`` are
    ``None`` for a non-differentiable primitive, which then passes through.

    Parameters
    ----------
    name : str
        The registered name.
    impl : callable
        The primal on backend arrays.
    multiple_results : bool, optional
        Whether ``impl`` returns a tuple of arrays. Default False.

    See Also
    --------
    xpgrad.extend.primitive : Create and register one.
    xpgrad.extend.defrule : Attach its rules.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import extend
    >>> sin = extend.PRIMITIVES["sin"]
    >>> isinstance(sin, extend.Primitive), sin.name, sin.vjp is not None
    (True, 'sin', True)
    >>> sin(np.array([0.0]))
    array([0.])
    """

    __slots__ = (
        "name",
        "impl",
        "jvp",
        "vjp",
        "batch",
        "pattern",
        "onehot",
        "multiple_results",
        "differentiable",
        "samples",
        "tol",
        "fast",
        "__weakref__",
    )

    def __init__(self, name: str, impl: Callable, *, multiple_results: bool = False):
        self.name = name
        self.impl = impl
        self.jvp: Callable | None = None
        self.vjp: Callable | None = None
        self.batch: Callable | None = None
        self.pattern: Callable | None = None
        #: how a Jacobian's one-hot basis passes through, or None (see ``_core.onehot``)
        self.onehot: Callable | None = None
        self.multiple_results = multiple_results
        self.differentiable = True
        self.samples: Callable | None = None
        self.tol: dict | None = None
        #: what the traced namespace exports: ``self``, or for primitives of a fixed
        #: number of positional arguments a plain function (see ``fast_call``)
        self.fast: Callable = self

    def __call__(self, *args: Any, **params: Any) -> Any:
        # bind(), inlined: this is the hottest line of the library
        top = None
        level = -1
        for a in args:
            if isinstance(a, Tracer):
                t = a._trace
                if t.level > level:
                    top = t
                    level = t.level
        if top is None:
            return self.impl(*args, **params) if params else self.impl(*args)
        return top.process(self, args, params)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


class Trace:
    """One level of the trace stack; subclasses interpret primitives.

    (No ``__slots__``: a trace that ends changes its class to ``_DeadTrace``.)
    """

    def __init__(self, level: int, ns: Any):
        self.level: float = level  # an implicit-mode box's trace sits between levels
        self.ns = ns

    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        raise NotImplementedError

    def const(self, value: Any) -> Any:
        """``value`` (of a lower level) as a constant of this trace: a tracer that
        carries no derivative, so that code mixing it with this trace's values sees
        one namespace. Operations whose traced arguments are all constants compute
        at once and record nothing. A trace that has no constants of its own
        returns ``value`` itself."""
        return value

    def consts(self, prim: Primitive, out: Any) -> Any:
        """The result(s) of ``prim`` computed one level down, as constants here."""
        if prim.multiple_results:
            made = [self.const(o) for o in out]
            # keep a named tuple's type (unique_all and friends)
            return out._make(made) if hasattr(out, "_make") else tuple(made)
        return self.const(out)

    # What ``fast_call`` and the operators use: a one- or two-argument call with
    # no parameters, of a primitive with one result. A trace on the hot path
    # overrides them to skip building the argument tuple and parameter dict.
    def process1(self, prim: Primitive, x: Any) -> Any:
        return self.process(prim, (x,), {})

    def process2(self, prim: Primitive, x1: Any, x2: Any) -> Any:
        return self.process(prim, (x1, x2), {})

    def end(self) -> None:
        self.level = _DEAD
        self.__class__ = _DeadTrace  # type: ignore[assignment]


class _DeadTrace(Trace):
    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        raise LeakedTracerError(
            f"xpgrad: a traced value from a transformation that has already returned was "
            f"passed to {prim.name!r}. This happens when a value inside a function being "
            f"differentiated escapes through a global, a closure or a mutable container and "
            f"is used later. Return the value from the function instead, or detach it with "
            f"xpgrad.ignore_derivatives before storing it."
        )


class new_level:
    """Context manager that opens a trace of ``cls`` at the next level."""

    __slots__ = ("cls", "ns", "kw", "trace", "token")

    def __init__(self, cls: type, ns: Any, **kw: Any):
        self.cls = cls
        self.ns = ns
        self.kw = kw

    def __enter__(self) -> Any:
        stack = _stack.get()
        self.trace = self.cls(len(stack), self.ns, **self.kw)
        self.token = _stack.set(stack + (self.trace,))
        return self.trace

    def __exit__(self, *exc: Any) -> None:
        _stack.reset(self.token)
        self.trace.end()


def fast_call(p: Primitive, nargs: int) -> Callable:
    """``p`` as a plain function of ``nargs`` (1 or 2) positional arguments.

    It dispatches as ``Primitive.__call__`` does, for a third of the cost: calling
    an instance goes through ``__call__``'s lookup and packs ``*args`` and
    ``**params``, while a closure with a fixed signature does neither. Rules call
    elementwise primitives several times per operation, in both directions, so
    this is most of W2's per-operation overhead (``python -m
    benchmarks.instructions``). The names are the standard's (``sin(x, /)``,
    ``add(x1, x2, /)``).
    """
    fn: Callable
    if nargs == 1:

        def call1(x: Any, /) -> Any:
            if isinstance(x, Tracer):
                return x._trace.process1(p, x)
            return p.impl(x)

        fn = call1
    elif nargs == 2:

        def call2(x1: Any, x2: Any, /) -> Any:
            if isinstance(x1, Tracer):
                t = x1._trace
                if isinstance(x2, Tracer) and x2._trace.level > t.level:
                    t = x2._trace
                return t.process2(p, x1, x2)
            if isinstance(x2, Tracer):
                return x2._trace.process2(p, x1, x2)
            return p.impl(x1, x2)

        fn = call2
    else:
        raise ValueError(f"fast_call: nargs must be 1 or 2, not {nargs!r}")
    fn.__name__ = fn.__qualname__ = p.name.rsplit(".", 1)[-1]
    setattr(fn, "primitive", p)  # noqa: B010 (functions take attributes; mypy does not know)
    return fn


def bind(prim: Primitive, args: tuple, params: dict) -> Any:
    """Apply ``prim`` to ``args``: interpreted by the highest trace, else eagerly.

    The dispatch itself lives in ``Primitive.__call__`` (the hot path);
    ``bind(p, args, params)`` is ``p(*args, **params)``.

    Parameters
    ----------
    prim : Primitive
        The primitive.
    args : tuple
        Its positional arguments (backend arrays, numbers or tracers).
    params : dict
        Its keyword arguments.

    Returns
    -------
    array, tracer or tuple
        The result, a tracer when an argument was traced.

    See Also
    --------
    Primitive : What is bound.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import extend
    >>> extend.bind(extend.PRIMITIVES["sum"], (np.ones((2, 3)),), {"axis": 0})
    array([2., 2., 2.])
    """
    return prim(*args, **params)


# The operators below reach the same functions as the traced namespace, through
# the registry's table of traced functions (filled as the rules register).
_ops = F


def _derivative_error(what: str) -> TypeError:
    return TypeError(
        f"xpgrad: {what}() of a traced value would silently drop its derivative. "
        f"Use xpgrad.ignore_derivatives(x) to take the value without a derivative, "
        f"or keep the computation in array functions."
    )


def _to_top(prim: Primitive) -> tuple[Callable, Callable]:
    """The operator and reflected operator for the elementwise primitive ``prim``.

    With a number or a raw array on the other side, this tracer's trace is the
    top one, so they go to it without the primitive's dispatch.
    """
    fast = prim.fast

    def op(self: Tracer, o: Any) -> Any:
        if isinstance(o, Tracer):
            return fast(self, o)
        if isinstance(o, AbstractZero):  # ``t + Zero``: the zero's own arithmetic answers
            return NotImplemented
        return self._trace.process2(prim, self, o)

    def rop(self: Tracer, o: Any) -> Any:
        if isinstance(o, Tracer):
            return fast(o, self)
        return self._trace.process2(prim, o, self)

    return op, rop


def bind_operator(prim: Primitive, dunder: str) -> None:
    """Bind ``__<dunder>__`` and ``__r<dunder>__`` of every tracer to ``prim``.

    For the hottest operators (``+ - * / **``): the rules module that defines
    the primitive binds it once, so a call goes straight to the primitive's
    dispatch with no lookup.
    """
    op, rop = _to_top(prim)
    setattr(Tracer, f"__{dunder}__", op)
    setattr(Tracer, f"__r{dunder}__", rop)


class Tracer:
    """A value followed by a transformation; an Array API array in its own right."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000
    #: a value of a staging trace (``jit``), whose ``_value`` is the staging call's
    _staged = False
    # declared for type checkers (no runtime effect): every subclass sets _trace
    # in __init__ and defines _concrete_value
    _trace: Any
    _concrete_value: Callable[[str], Any]

    # -- what every subclass provides ----------------------------------------
    @property
    def _value(self) -> Any:  # the value one level down (for shape, dtype, ...)
        raise NotImplementedError

    # -- array attributes ------------------------------------------------------
    def __array_namespace__(self, api_version: str | None = None) -> Any:
        return self._trace.ns

    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    @property
    def device(self) -> Any:
        return array_api_compat.device(self._value)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int | None:
        n = 1
        for s in self.shape:
            if s is None:
                return None
            n *= s
        return n

    @property
    def T(self) -> Any:
        if self.ndim != 2:
            raise ValueError("x.T is defined for 2-D arrays only; use xp.permute_dims or x.mT")
        return _ops.permute_dims(self, (1, 0))

    @property
    def mT(self) -> Any:
        return _ops.matrix_transpose(self)

    def to_device(self, device: Any, /, *, stream: Any = None) -> Any:
        if device == self.device:
            return self
        raise NotImplementedError(
            f"xpgrad: moving a traced value from {self.device!r} to {device!r} is not "
            f"differentiated yet; move the arguments to that device before "
            f"differentiating the function"
        )

    # -- conversion to Python --------------------------------------------------
    def __bool__(self) -> bool:
        return bool(_concrete(self, "bool"))

    def __int__(self) -> int:
        return int(_concrete(self, "int"))

    def __index__(self) -> int:
        return _concrete(self, "index").__index__()

    def __float__(self) -> float:
        if not _is_constant(self):
            raise _derivative_error("float")
        return float(_concrete(self, "float"))

    def __complex__(self) -> complex:
        if not _is_constant(self):
            raise _derivative_error("complex")
        return complex(_concrete(self, "complex"))

    def _constant(self) -> bool:
        """Whether this tracer carries no derivative at its own level."""
        return False

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self) -> Any:
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self) -> int:  # tracers are mutable-like values: identity hash
        return id(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype}, level={self._trace.level})"

    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: Any = None,
        dl_device: Any = None,
        copy: Any = None,
    ) -> Any:
        if not _is_constant(self):
            raise TypeError(
                "xpgrad: a traced value cannot be exported with DLPack; detach it "
                "first with xpgrad.ignore_derivatives"
            )
        # a constant of the trace carries no derivative: export its value
        kw = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
        v = _concrete(self, "dlpack")
        try:
            return v.__dlpack__(**{k: a for k, a in kw.items() if a is not None})
        except TypeError:  # an older exporter without the 2023.12 keywords
            return v.__dlpack__(stream=stream)

    def __dlpack_device__(self) -> Any:
        return _concrete(self, "dlpack").__dlpack_device__()

    # -- operators: the same functions as the traced namespace -----------------
    # The hottest ones, + - * / **, are bound to their primitives by the rules
    # that define them (``bind_operator``: no lookup per call).

    def __floordiv__(self, o: Any) -> Any:
        return _ops.floor_divide(self, o)

    def __rfloordiv__(self, o: Any) -> Any:
        return _ops.floor_divide(o, self)

    def __mod__(self, o: Any) -> Any:
        return _ops.remainder(self, o)

    def __rmod__(self, o: Any) -> Any:
        return _ops.remainder(o, self)

    def __matmul__(self, o: Any) -> Any:
        return _ops.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Any:
        return _ops.matmul(o, self)

    def __neg__(self) -> Any:
        return _ops.negative(self)

    def __pos__(self) -> Any:
        return _ops.positive(self)

    def __abs__(self) -> Any:
        return _ops.abs(self)

    def __invert__(self) -> Any:
        return _ops.bitwise_invert(self)

    def __and__(self, o: Any) -> Any:
        return _ops.bitwise_and(self, o)

    def __rand__(self, o: Any) -> Any:
        return _ops.bitwise_and(o, self)

    def __or__(self, o: Any) -> Any:
        return _ops.bitwise_or(self, o)

    def __ror__(self, o: Any) -> Any:
        return _ops.bitwise_or(o, self)

    def __xor__(self, o: Any) -> Any:
        return _ops.bitwise_xor(self, o)

    def __rxor__(self, o: Any) -> Any:
        return _ops.bitwise_xor(o, self)

    def __lshift__(self, o: Any) -> Any:
        return _ops.bitwise_left_shift(self, o)

    def __rlshift__(self, o: Any) -> Any:
        return _ops.bitwise_left_shift(o, self)

    def __rshift__(self, o: Any) -> Any:
        return _ops.bitwise_right_shift(self, o)

    def __rrshift__(self, o: Any) -> Any:
        return _ops.bitwise_right_shift(o, self)

    def __lt__(self, o: Any) -> Any:
        return _ops.less(self, o)

    def __le__(self, o: Any) -> Any:
        return _ops.less_equal(self, o)

    def __gt__(self, o: Any) -> Any:
        return _ops.greater(self, o)

    def __ge__(self, o: Any) -> Any:
        return _ops.greater_equal(self, o)

    def __eq__(self, o: Any) -> Any:
        return _ops.equal(self, o)  # type: ignore[override]

    def __ne__(self, o: Any) -> Any:
        return _ops.not_equal(self, o)  # type: ignore[override]

    def __getitem__(self, key: Any) -> Any:
        return _ops.getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        # A functional index update that rebinds this tracer to the new value, so
        # derivatives flow through both the old and the written values. Nothing
        # else sees the write: slices of tracers are copies, not views.
        new = _ops.index_update(self, key, value)
        if not isinstance(new, Tracer) or new._trace is not self._trace:
            raise TypeError(
                "xpgrad: x[key] = v writes a value of an inner transformation into an "
                "array made outside it. Create the array inside the differentiated "
                "function, or build the result functionally (xp.where, xp.concat)."
            )
        if type(new) is not type(self):  # a constant that now depends on the trace
            self.__class__ = type(new)
        _copy_slots(new, self)

    def _copy(self) -> Any:
        """A new tracer object for the same value (``asarray(x, copy=True)``)."""
        new = object.__new__(type(self))
        _copy_slots(self, new)
        return new

    # -- NumPy interop: np.sin(tracer) reaches the traced namespace ------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            return NotImplemented
        if method == "__call__":
            fn = ufuncs().get(ufunc.__name__)
            return NotImplemented if fn is None else fn(*self._adopt(inputs), **kwargs)
        if method == "reduce":
            fn = ufuncs().get(_REDUCTIONS.get(ufunc.__name__, ""))
            if fn is None:
                return NotImplemented
            kwargs.pop("dtype", None) if kwargs.get("dtype") is None else None
            return fn(*inputs, **kwargs)
        return NotImplemented

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        fn = ufuncs().get(func.__name__)
        if fn is None:
            raise TypeError(_numpy_habit(f"numpy.{func.__name__}", func.__name__, call=True))
        return fn(*self._adopt(args), **kwargs)

    def _adopt(self, inputs: Any) -> tuple:
        """NumPy arrays that meet a tracer of another backend in a NumPy function
        (``np.arange(3.0) * x``, as SciPy writes for namespaces it does not know)
        become arrays of the tracer's backend, as that backend's own arrays would
        need; otherwise the result would hold a NumPy value under, say, an
        array-api-strict tracer.

        An integer or boolean NumPy array meeting a floating tracer is cast to the
        tracer's dtype: NumPy's function would promote them (``np.fft.fftfreq``
        multiplies an integer ``arange`` by a float spacing), where a backend
        that keeps to the standard refuses mixed kinds."""
        xp = self._trace.ns._xp
        out = []
        for a in inputs:
            t = type(a)
            if t.__module__ == "numpy":
                ns = _numpy_ns(t, a)
                if ns is not None and ns is not xp:
                    a = xp.asarray(a)
                    if xp.isdtype(a.dtype, ("integral", "bool")) and xp.isdtype(
                        self.dtype, ("real floating", "complex floating")
                    ):
                        a = xp.astype(a, self.dtype)
            out.append(a)
        return tuple(out)

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        # torch.sin(tracer) reaches the traced namespace; only functions whose torch
        # meaning is the standard's (no hidden defaults such as std's unbiased=True)
        name = getattr(func, "__name__", "")
        if name in _TORCH_SAME and not kwargs:
            fn = ufuncs().get(name)
            if fn is not None:
                return fn(*args)
        return NotImplemented

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        if not _is_constant(self):
            raise _derivative_error("numpy.asarray")
        # a constant carries no derivative (array sizes, masks, creation results)
        v = _concrete(self, "numpy.asarray")
        return v.__array__() if dtype is None else v.__array__(dtype)

    def __dask_tokenize__(self) -> Any:
        # dask.array functions wrap unknown array-likes lazily (from_array), which
        # would carry the tracer past the end of its transformation and lose the
        # derivative; tokenizing is the first thing they do
        raise TypeError(
            "xpgrad: a dask.array function was applied to a traced value, which would "
            "lose its derivative. Call the traced namespace's function instead: "
            "xp = x.__array_namespace__(); xp.sum(x), ..."
        )


# NumPy names that are not the standard's, with the standard's way to say them
_STANDARD_FOR = {
    "dot": "xp.matmul(a, b), xp.vecdot(a, b) or xp.tensordot(a, b, axes=1)",
    "einsum": "xp.tensordot / xp.matmul / xp.vecdot, or einops' array_api functions",
    "inner": "xp.vecdot(a, b)",
    "outer": "xp.multiply(a[:, None], b[None, :])",
    "transpose": "xp.permute_dims(x, axes) or x.mT",
    "swapaxes": "xp.permute_dims(x, axes) or xp.moveaxis",
    "concatenate": "xp.concat(arrays, axis=...)",
    "cumsum": "xp.cumulative_sum(x, axis=...)",
    "cumprod": "xp.cumulative_prod(x, axis=...)",
    "ravel": "xp.reshape(x, (-1,))",
    "flatten": "xp.reshape(x, (-1,))",
    "reshape": "xp.reshape(x, shape)",
    "astype": "xp.astype(x, dtype)",
    "sum": "xp.sum(x, axis=...)",
    "mean": "xp.mean(x, axis=...)",
    "prod": "xp.prod(x, axis=...)",
    "max": "xp.max(x, axis=...)",
    "min": "xp.min(x, axis=...)",
    "std": "xp.std(x, axis=..., correction=...)",
    "var": "xp.var(x, axis=..., correction=...)",
    "argmax": "xp.argmax(x, axis=...)",
    "argmin": "xp.argmin(x, axis=...)",
    "all": "xp.all(x)",
    "any": "xp.any(x)",
    "clip": "xp.clip(x, min, max)",
    "round": "xp.round(x)",
    "copy": "xp.asarray(x, copy=True)",
    "item": "float(x) / int(x) (only for values that carry no derivative)",
    "tolist": "xpgrad.ignore_derivatives(x) first",
    "squeeze": "xp.squeeze(x, axis=...)",
    "repeat": "xp.repeat(x, repeats, axis=...)",
    "take": "xp.take(x, indices, axis=...)",
    "conjugate": "xp.conj(x)",
    "real": "xp.real(x)",
    "imag": "xp.imag(x)",
    "diagonal": "xp.linalg.diagonal(x)",
    "trace": "xp.linalg.trace(x)",
    "norm": "xp.linalg.vector_norm(x) or xp.linalg.matrix_norm(x)",
    "sort": "xp.sort(x, axis=...)",
    "argsort": "xp.argsort(x, axis=...)",
    "nonzero": "xp.nonzero(x)",
    "fill": "x[...] = value",
    "dump": "xpgrad.ignore_derivatives(x) first",
}
_NUMPY_METHODS = frozenset(_STANDARD_FOR) | {
    "view",
    "resize",
    "put",
    "itemset",
    "setflags",
    "ptp",
    "cumsum",
    "byteswap",
    "tobytes",
}


def _habit_property(name: str) -> property:
    def numpy_method(self: Tracer) -> Any:
        raise AttributeError(_numpy_habit(f"x.{name}", name, call=False))

    return property(numpy_method)


# NumPy's methods (x.sum(), x.reshape(...), x.astype(...)) get the standard's
# spelling: properties that raise AttributeError, so that hasattr() stays False.
# (Not a __getattr__: it would slow every attribute read of every tracer, since
# CPython specialises attribute loads only for types without one.)
def install_numpy_habits() -> None:
    for name in sorted(_NUMPY_METHODS):
        if not hasattr(Tracer, name):
            setattr(Tracer, name, _habit_property(name))


def _numpy_habit(what: str, name: str, call: bool) -> str:
    how = _STANDARD_FOR.get(name)
    hint = f"use {how}" if how else "use the standard's functions on xp"
    kind = "is not in the Array API standard" if call else "is a NumPy method, not the standard's"
    return (
        f"xpgrad: {what} {kind}, so it cannot follow derivatives; {hint}, "
        f"with xp = x.__array_namespace__() (or array_api_compat.array_namespace(x))."
    )


_TORCH_SAME = frozenset(
    "abs acos acosh asin asinh atan atan2 atanh cos cosh exp expm1 log log1p log2 log10 "
    "sin sinh sqrt square tan tanh sign floor ceil trunc reciprocal maximum minimum "
    "logaddexp hypot matmul where isnan isinf isfinite real imag conj".split()
)

#: The namespace of each NumPy type (None: not an array), for ``_adopt``: it
#: depends on the type alone, and ``array_namespace`` costs microseconds per call.
_NUMPY_NS: dict[type, Any] = {}


def _numpy_ns(t: type, a: Any) -> Any:
    try:
        return _NUMPY_NS[t]
    except KeyError:
        pass
    ns = array_api_compat.array_namespace(a) if hasattr(a, "__array_namespace__") else None
    _NUMPY_NS[t] = ns
    return ns


_REDUCTIONS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}


class PrimalTracer(Tracer):
    """A tracer whose value one level down is its ``primal`` (forward and reverse mode).

    ``shape`` and ``dtype`` read the primal directly rather than through
    ``_value``: the backward pass checks every cotangent's shape, and rules
    read shapes all the time.
    """

    __slots__ = ("primal",)
    primal: Any

    @property
    def _value(self) -> Any:
        return self.primal

    @property
    def shape(self) -> tuple:
        return self.primal.shape

    @property
    def dtype(self) -> Any:
        return self.primal.dtype

    def _concrete_value(self, what: str) -> Any:
        return self.primal


def _copy_slots(src: Any, dst: Any) -> None:
    for cls in type(src).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name != "__weakref__" and hasattr(src, name):
                setattr(dst, name, getattr(src, name))


def _is_constant(x: Any) -> bool:
    """A traced value with no derivative at any level (it may become a number)."""
    while isinstance(x, Tracer):
        if not x._constant():
            return False
        x = x._value
    return True


def _concrete(x: Any, what: str) -> Any:
    """The backend value under all levels, for ``bool``/``int``/``index``."""
    while isinstance(x, Tracer):
        x = x._concrete_value(what)
    return x


install_numpy_habits()
