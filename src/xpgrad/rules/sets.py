"""Set functions: ``unique_*``, constant to every derivative.

Results are the backend's own (its named tuples for ``unique_all``,
``unique_counts`` and ``unique_inverse``). They cannot run under ``vmap``: each
batch element would have its own number of unique values.
"""

from __future__ import annotations

from typing import Any

from ._registry import export, nondifferentiable

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


def unique_all(x: Any, /) -> Any:
    """Unique values of ``x`` with their first indices, inverse indices and counts.

    A named tuple ``(values, indices, inverse_indices, counts)`` of the backend.
    """
    return _tuples["unique_all"](x)


def unique_counts(x: Any, /) -> Any:
    """Unique values of ``x`` and their counts: a named tuple ``(values, counts)``."""
    return _tuples["unique_counts"](x)


def unique_inverse(x: Any, /) -> Any:
    """Unique values of ``x`` and the inverse indices: ``(values, inverse_indices)``.

    >>> import numpy as np
    >>> unique_inverse(np.array([2.0, 1.0, 2.0])).inverse_indices
    array([1, 0, 1])
    """
    return _tuples["unique_inverse"](x)


def unique_values(x: Any, /) -> Any:
    """The unique values of ``x``, sorted."""
    return _values(x)


for _fn in (unique_all, unique_counts, unique_inverse, unique_values):
    export(_fn.__name__, _fn)
