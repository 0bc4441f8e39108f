"""Extending xpgrad: the same registry API the built-in rules use.

>>> import xpgrad
>>> from xpgrad.extend import primitive, defrule, unary
"""

from .rules._registry import (  # noqa: F401
    F,
    NAMESPACE,
    PRIMITIVES,
    binary,
    defrule,
    elementwise_batch,
    export,
    linear,
    nondifferentiable,
    primitive,
    shapes_samples,
    unary,
    unbroadcast,
)
from ._core.trace import Primitive, bind  # noqa: F401
