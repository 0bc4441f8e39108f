"""The rule registry, one module per chapter of the Array API standard."""

from . import _registry  # noqa: F401
from . import elementwise, statistical, manipulation, indexing, linalg, creation  # noqa: F401
from . import statistical_cumulative, manipulation_join, manipulation_repeat  # noqa: F401
from . import elementwise_complex, fft  # noqa: F401
from . import linalg_vectors, linalg_solve, linalg_decomp, linalg_spectral  # noqa: F401
from . import linalg_norms, linalg_eig  # noqa: F401
from . import indexing_take, searching, sorting, sets, utility  # noqa: F401
from . import special  # noqa: F401
from ._registry import NAMESPACE, PRIMITIVES, F  # noqa: F401
