"""Extending xpgrad: the same registry API the built-in rules use.

Everything the rules modules import from the registry is here, so a rule
written outside xpgrad can do what a built-in one does (a test checks this
stays true).

>>> import xpgrad
>>> from xpgrad.extend import primitive, defrule, unary
>>> from xpgrad.extend import Zero, NoTangent, instantiate   # typed symbolic zeros
"""

from ._core.arrays import instantiate  # noqa: F401
from ._core.trace import Primitive, bind  # noqa: F401
from ._core.zeros import (  # noqa: F401
    AbstractZero,
    NoTangent,
    Zero,
    is_zero,
    zero_like,
)
from .rules._registry import (  # noqa: F401
    NAMESPACE,
    PRIMITIVES,
    F,
    align_batched,
    bilinear_jvp,
    binary,
    broadcast_tangent,
    complex_ok,
    defrule,
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
