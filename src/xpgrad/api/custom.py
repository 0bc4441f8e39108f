"""custom_rule: declare your own primitive with its forward and reverse rules."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .._core.trace import NoRuleError, Primitive, bind
from .._core.zeros import untyped_jvp, untyped_vjp, zero_like
from ..rules import patterns
from ..rules._registry import PRIMITIVES
from .vmap import vmap

__all__ = ["custom_rule"]


class CustomPrimitive:
    """A user function that the transformations treat as one primitive.

    Its body runs on the level below every transformation (on backend arrays or
    lower-level values), so only the rules you give are differentiated:

    - ``jvp(primals, tangents) -> (out, tangent)``: an argument that is not
      being differentiated has the tangent ``Zero(shape, dtype)`` (a numeric
      one) or ``NoTangent()`` (a boolean or non-array one), never a zero array;
      the rule may return a ``Zero`` too.
    - ``vjp(primals, needs) -> (out, pullback)``, like the built-in rules:
      ``needs[i]`` says whether argument ``i`` wants a cotangent, and
      ``pullback(ct)`` returns a tuple of one cotangent per argument (``None``,
      ``Zero`` or ``NoTangent()`` where there is none).
    - ``batch``: optional; by default the function is vmapped through its body.

    Rules are written with array functions of the traced namespace
    (``x.__array_namespace__()``, operators), so they differentiate again.
    """

    def __init__(self, fn: Callable, name: str | None = None):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.prim = Primitive(str(name or getattr(fn, "__qualname__", "custom")), fn)
        # until defjvp/defvjp attach a rule, a transformation that needs one says
        # which to declare (and which transformation would do without it)
        self.prim.jvp = self._missing_jvp
        self.prim.vjp = self._missing_vjp
        self.prim.batch = self._default_batch
        # sparsity detection runs through the function's own body (exact pattern)
        self.prim.pattern = self._pattern
        PRIMITIVES.setdefault(self.prim.name, self.prim)

    def __call__(self, *args: Any) -> Any:
        return bind(self.prim, args, {})

    def defjvp(self, jvp: Callable) -> Callable:
        _check_signature(jvp, self, "defjvp", ("primals", "tangents"))

        def rule(primals: list, tangents: list) -> tuple:
            # the engine's None (a symbolic zero) becomes a typed zero for the user
            ts = tuple(zero_like(p) if t is None else t for p, t in zip(primals, tangents))
            return jvp(tuple(primals), ts)

        self.prim.jvp = untyped_jvp(rule)
        return jvp

    def defvjp(self, vjp: Callable) -> Callable:
        _check_signature(vjp, self, "defvjp", ("primals", "needs"))

        # the backward pass checks the pullback's cotangents (count and shapes), as
        # it does for every rule
        def rule(primals: list, needs: list) -> tuple:
            return vjp(tuple(primals), tuple(needs))

        self.prim.vjp = untyped_vjp(rule)
        return vjp

    @property
    def _short(self) -> str:
        return str(getattr(self.fn, "__name__", self.prim.name))

    def _missing_jvp(self, primals: list, tangents: list) -> tuple:
        name = self.prim.name
        raise NoRuleError(
            f"xpgrad: the custom_rule {name!r} has no forward-mode rule, which forward "
            f"mode needs (jvp, forward jacobian, and hessian, which is forward over "
            f"reverse). Declare one with @{self._short}.defjvp, or use hessian_reverse / "
            f"jacobian(..., mode='reverse'), which need only the defvjp rule."
        )

    def _missing_vjp(self, primals: list, needs: list) -> tuple:
        name = self.prim.name
        raise NoRuleError(
            f"xpgrad: the custom_rule {name!r} has no reverse-mode rule, which gradient, "
            f"pullback and reverse jacobians need. Declare one with @{self._short}.defvjp, or "
            f"use forward mode (jvp, jacobian(..., mode='forward')), which needs only the "
            f"defjvp rule."
        )

    def defbatch(self, batch: Callable) -> Callable:
        self.prim.batch = batch
        return batch

    def _pattern(self, tr: Any, primals: list, pats: list, out: Any) -> Any:
        return patterns.inline(tr, primals, pats, out, fn=lambda *a: (self.fn(*a),))[0]

    def _default_batch(self, args: list, batched: list) -> tuple:
        axes = tuple(0 if b else None for b in batched)
        return vmap(self.fn, in_axes=axes)(*args), True


def _check_signature(rule: Callable, cp: CustomPrimitive, how: str, names: tuple) -> None:
    """Refuse a rule that cannot be called as ``rule(primals, second)``.

    Rules once took the primals spread out (``vjp(x, y)``); such a rule takes
    one positional parameter per argument of the function, with its names, or
    ``*args``. Caught here, when it is attached, with how to write it now.
    """
    try:
        sig = inspect.signature(rule)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    try:
        fn_names = [
            p.name
            for p in inspect.signature(cp.fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        fn_names = []
    # the old spelling: fewer than two parameters (``vjp(x)``, ``vjp(*primals)``),
    # more than two required, or exactly the function's own two parameters
    spread = len(fn_names) == 2 and [p.name for p in positional[:2]] == fn_names
    if len(positional) >= 2 and len(required) <= 2 and not spread:
        return
    short = cp._short
    bare = sig.replace(
        parameters=[p.replace(annotation=p.empty) for p in params],
        return_annotation=sig.empty,
    )
    first, second = names
    if how == "defvjp":
        example = (
            f"    @{short}.defvjp\n"
            f"    def {short}_vjp({first}, {second}):\n"
            f"        x, = {first}          # the arguments, as a tuple\n"
            f"        ...                   # {second}[i]: does argument i want a cotangent?\n"
            f"        return out, pullback  # pullback(ct) -> one cotangent per argument"
        )
    else:
        example = (
            f"    @{short}.defjvp\n"
            f"    def {short}_jvp({first}, {second}):\n"
            f"        (x,), (t,) = {first}, {second}   # t: a tangent, Zero or NoTangent()\n"
            f"        return out, tangent_out"
        )
    raise TypeError(
        f"xpgrad: the {how} rule {getattr(rule, '__name__', rule)!r} of custom_rule "
        f"{short!r} has the signature {bare}; a {how} rule takes two arguments, "
        f"({first}, {second}), like the built-in rules (the arguments as one tuple, not "
        f"spread out as {short}'s own parameters). Write it as\n{example}"
    )


def custom_rule(fn: Callable | None = None, *, name: str | None = None) -> Any:
    """Decorator: make ``fn`` a primitive; then attach ``@fn.defjvp`` / ``@fn.defvjp``.

    The rules are written like the built-in ones (``xpgrad.extend``) and are
    checked by ``xpgrad.testing.check_grads`` the same way.

    Parameters
    ----------
    fn : callable, optional
        The primal function. Without it, ``custom_rule(name=...)`` returns the
        decorator.
    name : str, optional
        The primitive's name, used in error messages (default: ``fn``'s name).

    Returns
    -------
    callable
        The primitive, callable like ``fn``, with ``defjvp`` and ``defvjp``
        decorators to attach its rules (or the decorator, without ``fn``).

    See Also
    --------
    xpgrad.extend.primitive : The lower-level registry API.
    xpgrad.testing.check_grads : Check the rules against finite differences.

    Examples
    --------
    >>> import xpgrad
    >>> @xpgrad.custom_rule
    ... def cube(x):
    ...     return x * x * x
    >>> @cube.defvjp
    ... def cube_vjp(primals, needs):
    ...     (x,) = primals
    ...     return cube(x), lambda ct: (3 * ct * x * x,)
    >>> xpgrad.gradient(cube, 2.0)
    (12.0,)
    """
    if fn is None:
        return lambda f: CustomPrimitive(f, name)
    return CustomPrimitive(fn, name)
