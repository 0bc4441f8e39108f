"""xpgrad: automatic differentiation of Array API code, on any conforming backend."""

from . import rules as _rules  # noqa: F401  (registers every primitive)
from ._core.namespace import install_operators as _install

_install()

from ._core.trace import LeakedTracerError, NoRuleError  # noqa: E402
from .api.gradient import WithGradient, gradient, jvp, pullback, withgradient  # noqa: E402
from .api.vmap import vmap  # noqa: E402
from .api.ignore import ignore_derivatives, stop_gradient  # noqa: E402
from .api.custom import custom_rule  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "gradient",
    "withgradient",
    "pullback",
    "jvp",
    "vmap",
    "ignore_derivatives",
    "stop_gradient",
    "custom_rule",
    "WithGradient",
    "LeakedTracerError",
    "NoRuleError",
]
