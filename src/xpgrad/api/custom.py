"""custom_rule: declare your own primitive with its forward and reverse rules."""

from __future__ import annotations

import functools
from typing import Any, Callable

from .._core.trace import NoRuleError, Primitive, bind
from ..rules import F, patterns
from ..rules._registry import PRIMITIVES
from .vmap import vmap

__all__ = ["custom_rule"]


class CustomPrimitive:
    """A user function that the transformations treat as one primitive.

    Its body runs on the level below every transformation (on backend arrays or
    lower-level values), so only the rules you give are differentiated:

    - ``jvp(primals, tangents) -> (out, tangent)``; absent tangents are zeros.
    - ``vjp(*primals) -> (out, pullback)`` with ``pullback(ct) -> tuple`` of one
      cotangent (or ``None``) per argument.
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
        def rule(primals: list, tangents: list) -> tuple:
            ts = [
                F.zeros_like(p) if t is None and hasattr(p, "shape") else t
                for p, t in zip(primals, tangents)
            ]
            return jvp(tuple(primals), tuple(ts))

        self.prim.jvp = rule
        return jvp

    def defvjp(self, vjp: Callable) -> Callable:
        # the backward pass checks the pullback's cotangents (count and shapes), as
        # it does for every rule
        def rule(primals: list, needs: list) -> tuple:
            return vjp(*primals)

        self.prim.vjp = rule
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
    ... def cube_vjp(x):
    ...     return cube(x), lambda ct: (3 * ct * x * x,)
    >>> xpgrad.gradient(cube, 2.0)
    (12.0,)
    """
    if fn is None:
        return lambda f: CustomPrimitive(f, name)
    return CustomPrimitive(fn, name)
