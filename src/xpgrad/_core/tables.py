"""The registry's tables, which the tracer, the namespace and the registry share.

Plain containers with no imports, so that ``trace`` (the tracer's operators),
``namespace`` and ``registry`` can all read them without importing each other
in a circle.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any, Callable

__all__ = ["PRIMITIVES", "NAMESPACE", "F", "ufuncs", "saved"]

#: Every primitive, by name (``"linalg.solve"`` for extensions).
PRIMITIVES: dict[str, Any] = {}
#: What the traced namespace exports, by name (``"linalg.x"`` for extensions).
NAMESPACE: dict[str, Callable] = {}
#: Traced functions by name, for use inside rules and by the tracer's operators:
#: ``F.sin(x)`` (dotted names with underscores: ``F.linalg_solve``).
F = types.SimpleNamespace()
#: Extensions whose functions depend on the backend: ``name -> offered(xp, fns)``,
#: which gives the extension object for backend ``xp`` (or None for no extension),
#: from the exported functions ``fns`` of that extension. Filled by rules modules.
EXTENSIONS: dict[str, Callable[[Any, dict], Any]] = {}
#: Traced namespaces built so far, by ``id`` of the backend namespace; emptied by
#: ``export`` so that a namespace built before an export sees it.
_namespace_cache: dict[int, Any] = {}

# numpy ufunc name -> traced namespace name, for ``np.sin(tracer)``
_UFUNC_NAMES = {
    "absolute": "abs",
    "arccos": "acos",
    "arccosh": "acosh",
    "arcsin": "asin",
    "arcsinh": "asinh",
    "arctan": "atan",
    "arctan2": "atan2",
    "arctanh": "atanh",
    "true_divide": "divide",
    "power": "pow",
    "invert": "bitwise_invert",
    "left_shift": "bitwise_left_shift",
    "right_shift": "bitwise_right_shift",
    "conjugate": "conj",
    "mod": "remainder",
    "concatenate": "concat",
}
_ufuncs: dict[str, Callable] = {}


def ufuncs() -> dict[str, Callable]:
    """The traced functions by NumPy name (``np.sin(tracer)``, ``np.sum(tracer)``)."""
    if not _ufuncs:
        _ufuncs.update((n, fn) for n, fn in NAMESPACE.items() if "." not in n)
        _ufuncs.update((u, NAMESPACE[n]) for u, n in _UFUNC_NAMES.items() if n in NAMESPACE)
    return _ufuncs


def exported() -> None:
    """Forget what was built from the tables (an ``export`` added a name)."""
    _namespace_cache.clear()
    _ufuncs.clear()


@contextlib.contextmanager
def saved() -> Iterator[None]:
    """Undo, on exit, every primitive and export registered inside the block.

    For tests and examples that declare primitives: the conformance suite checks
    every registered primitive, so one left behind would be checked too.
    """
    prims, ns, funcs = dict(PRIMITIVES), dict(NAMESPACE), dict(vars(F))
    try:
        yield
    finally:
        PRIMITIVES.clear()
        PRIMITIVES.update(prims)
        NAMESPACE.clear()
        NAMESPACE.update(ns)
        for k in list(vars(F)):
            if k not in funcs:
                delattr(F, k)
        exported()
