"""Extending xpgrad: the same registry API the built-in rules use.

Everything the rules modules import from the registry is here, so a rule
written outside xpgrad can do what a built-in one does (a test checks this
stays true).

>>> import xpgrad
>>> from xpgrad.extend import primitive, defrule, unary
>>> from xpgrad.extend import Zero, NoTangent, instantiate   # typed symbolic zeros

One difference, on the way out only: ``defrule`` here lets the rules it
attaches return the typed zeros (``Zero``, ``NoTangent()``) where the built-in
rules return ``None``; the engine receives ``None`` either way. The rules
still receive ``None`` for a zero tangent (see docs/rules.md).
"""

import functools as _functools
from typing import Any as _Any

from ._core.arrays import instantiate  # noqa: F401
from ._core.registry import defrule as _defrule
from ._core.trace import Primitive, bind  # noqa: F401
from ._core.zeros import (  # noqa: F401
    AbstractZero,
    NoTangent,
    Zero,
    is_zero,
    zero_like,
)
from ._core.zeros import untyped_jvp as _untyped_jvp
from ._core.zeros import untyped_vjp as _untyped_vjp
from .rules._registry import (  # noqa: F401
    NAMESPACE,
    PRIMITIVES,
    F,
    align_batched,
    bilinear_jvp,
    binary,
    broadcast_tangent,
    complex_ok,
    elementwise_batch,
    export,
    is_scalar,
    linear,
    meta_of,
    nondifferentiable,
    onehot,
    patterns,
    primitive,
    project,
    shapes_samples,
    unary,
    unbroadcast,
    xp_of,
)


@_functools.wraps(_defrule)
def defrule(prim: _Any, *, jvp: _Any = None, vjp: _Any = None, **rules: _Any) -> Primitive:
    # the registry's defrule, with typed zeros turned into the engine's None on the
    # way out of the rules (untyped_jvp / untyped_vjp): a Zero returned by a user's
    # pullback is never handed on as if it were an array
    return _defrule(
        prim,
        jvp=None if jvp is None else _untyped_jvp(jvp),
        vjp=None if vjp is None else _untyped_vjp(vjp),
        **rules,
    )
