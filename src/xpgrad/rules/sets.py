"""Set functions: ``unique_*``.

The unique values are values of the input, so they carry its derivative: each
is gathered from its first occurrence, ``values == take(reshape(x, (-1,)),
indices)``, with the indices, inverse indices and counts constants (JAX makes
the same choice; at tied elements the function is not differentiable, and the
first occurrence receives the whole cotangent). Results are the backend's own
named tuples for ``unique_all``, ``unique_counts`` and ``unique_inverse``. They
cannot run under ``vmap``: each batch element would have its own number of
unique values.
"""

from __future__ import annotations

from typing import Any

from .._core.trace import Tracer
from ._registry import F, export, nondifferentiable
from .indexing_take import take_p

__all__ = ["unique_all", "unique_counts", "unique_inverse", "unique_values"]


def _no_batch(name: str) -> Any:
    def batch(args: list, batched: list) -> tuple:
        raise ValueError(
            f"xpgrad: {name} cannot run under vmap: each batch element would have its own "
            f"number of unique values (a data-dependent shape). Call it outside vmap, or "
            f"loop over the batch."
        )

    batch.__name__ = f"{name}_batch"
    return batch


_tuples = {
    name: nondifferentiable(name, batch=_no_batch(name), multiple_results=True)[0]
    for name in ("unique_all", "unique_counts", "unique_inverse")
}
(_values,) = nondifferentiable("unique_values", batch=_no_batch("unique_values"))


def _gather(x: Any, indices: Any, name: str) -> Any:
    """The unique values, gathered from their first occurrences in ``x``."""
    n = indices.shape[0]
    if n is None or n != n:  # None or NaN: a lazy backend that has not computed it
        raise ValueError(
            f"xpgrad: the derivative of {name} needs the number of unique values, which a "
            f"lazy backend (Dask) does not know before computing (a data-dependent shape). "
            f"Differentiate on an eager backend, or take the unique values outside the "
            f"differentiated function."
        )
    return take_p(F.reshape(x, (-1,)), indices, axis=0)


def _traced_values(x: Any, res: Any, name: str) -> Any:
    """``res`` with its values gathered from ``x`` when ``x`` is traced (so that they
    carry its derivative), else ``res`` as the backend returned it."""
    if not isinstance(x, Tracer):
        return res
    indices = res.indices if hasattr(res, "indices") else _tuples["unique_all"](x).indices
    return res._replace(values=_gather(x, indices, name))


def unique_all(x: Any, /) -> Any:
    """Unique values of ``x`` with their first indices, inverse indices and counts.

    A named tuple ``(values, indices, inverse_indices, counts)`` of the backend.
    """
    return _traced_values(x, _tuples["unique_all"](x), "unique_all")


def unique_counts(x: Any, /) -> Any:
    """Unique values of ``x`` and their counts: a named tuple ``(values, counts)``."""
    return _traced_values(x, _tuples["unique_counts"](x), "unique_counts")


def unique_inverse(x: Any, /) -> Any:
    """Unique values of ``x`` and the inverse indices: ``(values, inverse_indices)``.

    >>> import numpy as np
    >>> unique_inverse(np.array([2.0, 1.0, 2.0])).inverse_indices
    array([1, 0, 1])
    """
    return _traced_values(x, _tuples["unique_inverse"](x), "unique_inverse")


def unique_values(x: Any, /) -> Any:
    """The unique values of ``x``, sorted.

    >>> import numpy as np, xpgrad
    >>> xpgrad.gradient(lambda x: np.sum(unique_values(x) ** 2), np.array([3.0, 1.0, 3.0]))
    (array([6., 2., 0.]),)
    """
    values = _values(x)  # first, so that vmap's error names this function
    if not isinstance(x, Tracer):
        return values
    return _gather(x, _tuples["unique_all"](x).indices, "unique_values")


for _fn in (unique_all, unique_counts, unique_inverse, unique_values):
    export(_fn.__name__, _fn)
