"""Extending xpgrad: the same registry API the built-in rules use.

>>> import xpgrad
>>> from xpgrad.extend import primitive, defrule, unary
"""

from ._core.trace import Primitive, bind  # noqa: F401
from .rules._registry import (  # noqa: F401
    NAMESPACE,
    PRIMITIVES,
    F,
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
