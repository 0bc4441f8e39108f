"""xpgrad: automatic differentiation of Array API code, on any conforming backend."""

from . import optimisers  # noqa: E402
from . import rules as _rules  # noqa: F401  (registers every primitive)
from ._core.config import config  # noqa: E402
from ._core.staging import StagingError  # noqa: E402
from ._core.trace import LeakedTracerError, NoRuleError  # noqa: E402
from .api.buffer import Buffer  # noqa: E402
from .api.checkpoint import checkpointed  # noqa: E402
from .api.custom import custom_rule  # noqa: E402
from .api.eager import eager_update  # noqa: E402
from .api.forward import forwarddiff  # noqa: E402
from .api.gradient import WithGradient, gradient, jvp, pullback, withgradient  # noqa: E402
from .api.grads import Grads, copy_from, copy_to  # noqa: E402
from .api.hessian import diaghessian, hessian, hessian_reverse, hvp  # noqa: E402
from .api.hooks import hook, showgrad  # noqa: E402
from .api.ignore import ignore_derivatives, stop_gradient  # noqa: E402
from .api.jacobian import WithJacobian, jacobian, withjacobian  # noqa: E402
from .api.jit import jit  # noqa: E402
from .api.params import Param, Params, param  # noqa: E402
from .api.sparse import (  # noqa: E402
    SparseMatrix,
    SparsityPattern,
    hessian_sparsity,
    jacobian_sparsity,
    sparse_hessian,
    sparse_jacobian,
)
from .api.vmap import vmap  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "gradient",
    "withgradient",
    "pullback",
    "jvp",
    "vmap",
    "jacobian",
    "withjacobian",
    "hessian",
    "hessian_reverse",
    "diaghessian",
    "hvp",
    "config",
    "WithJacobian",
    "ignore_derivatives",
    "stop_gradient",
    "custom_rule",
    "param",
    "Param",
    "Params",
    "Grads",
    "copy_to",
    "copy_from",
    "Buffer",
    "hook",
    "showgrad",
    "forwarddiff",
    "checkpointed",
    "eager_update",
    "jit",
    "StagingError",
    "sparse_jacobian",
    "sparse_hessian",
    "jacobian_sparsity",
    "hessian_sparsity",
    "SparseMatrix",
    "SparsityPattern",
    "optimisers",
    "WithGradient",
    "LeakedTracerError",
    "NoRuleError",
]
