"""The rule registry, one module per chapter of the Array API standard."""

from . import _registry  # noqa: F401
from . import elementwise, statistical, manipulation, indexing, linalg, creation  # noqa: F401
from ._registry import NAMESPACE, PRIMITIVES, F  # noqa: F401
