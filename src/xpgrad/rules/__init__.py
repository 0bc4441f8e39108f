"""The rule registry, one module per chapter of the Array API standard.

Importing a module registers its primitives. A module that uses another's
primitives at import time imports that module itself, so the order below
(isort's) does not matter.
"""

from . import (  # noqa: F401
    _registry,
    checkpoint,
    creation,
    eager_update,
    elementwise,
    elementwise_complex,
    fft,
    forwarddiff,
    hooks,
    indexing,
    indexing_take,
    indexing_update,
    linalg,
    linalg_decomp,
    linalg_eig,
    linalg_norms,
    linalg_solve,
    linalg_spectral,
    linalg_vectors,
    manipulation,
    manipulation_join,
    manipulation_repeat,
    searching,
    sets,
    sorting,
    special,
    special_dist,
    statistical,
    statistical_cumulative,
    utility,
)
from ._registry import NAMESPACE, PRIMITIVES, F  # noqa: F401
