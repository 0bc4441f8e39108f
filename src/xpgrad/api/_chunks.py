"""Chunks of basis directions: how many fit the memory budget, and the progress bar.

Shared by ``jacobian`` (both modes), ``hessian``, ``hessian_reverse`` and
``diaghessian``. Making the chunks and putting the per-chunk blocks of a
Jacobian together is engine work, in ``_core/chunks`` (re-exported here), so
that the ``forwarddiff`` primitive's rules use the same chunk loop.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import device_of, per_dtype, size_of
from .._core.chunks import Blocks, basis, flat_rows, one_pass, zeros
from .._core.config import config

__all__ = [
    "NO_PROGRESS",
    "Blocks",
    "basis",
    "choose_chunk",
    "device_of",
    "flat_rows",
    "itemsize",
    "one_pass",
    "progress",
    "size_of",
    "zeros",
]


@per_dtype
def itemsize(xp: Any, dtype: Any) -> int:
    """Bytes per element of ``dtype`` (8 if the backend cannot say)."""
    try:
        if xp.isdtype(dtype, "complex floating"):
            return 2 * xp.finfo(dtype).bits // 8
        if xp.isdtype(dtype, "real floating"):
            return xp.finfo(dtype).bits // 8
        if xp.isdtype(dtype, "integral"):
            return xp.iinfo(dtype).bits // 8
    except (TypeError, ValueError):
        pass
    return 8


def choose_chunk(
    ndirs: int,
    per_direction: int,
    nbytes_item: int,
    chunk_size: int | None,
    memory_budget: int | None,
    name: str,
    like: Any = None,
) -> int:
    """The number of basis directions pushed through the program at once.

    An explicit ``chunk_size`` wins (capped at ``ndirs``). Otherwise one
    direction is estimated to need ``chunk_work_factor * itemsize *
    per_direction`` bytes, where ``per_direction`` is the number of input plus
    output elements that one direction touches, and as many directions as fit
    the budget are taken (at least one). When ``like`` (the array the
    directions live on) is on a CPU, the chunk is also kept to
    ``cpu_chunk_bytes`` of basis, but to no fewer than ``cpu_chunk_min``
    directions and no more than ``cpu_max_passes`` passes. All four are
    settings of ``xpgrad.config``, read once per call.
    """
    if ndirs <= 0:
        return 1
    if chunk_size is not None:
        if type(chunk_size) is not int or chunk_size < 1:
            raise ValueError(
                f"xpgrad.{name}: chunk_size must be a positive int (the number of basis "
                f"directions per batched pass), got {chunk_size!r}; or leave it None to "
                f"fit the memory budget"
            )
        return min(chunk_size, ndirs)
    if memory_budget is None:
        budget = config.memory_budget
    elif type(memory_budget) is not int or memory_budget <= 0:
        raise ValueError(
            f"xpgrad.{name}: memory_budget must be a positive int (bytes), got {memory_budget!r}"
        )
    else:
        budget = memory_budget
    per = config.chunk_work_factor * nbytes_item * max(1, per_direction)
    k = budget // per
    if like is not None and on_cpu(like):
        cache_k = config.cpu_chunk_bytes // (nbytes_item * max(1, per_direction))
        k = min(k, max(config.cpu_chunk_min, cache_k, -(-ndirs // config.cpu_max_passes)))
    return max(1, min(ndirs, k))


def on_cpu(x: Any) -> bool:
    """Whether ``x`` lives in host memory (NumPy, array-api-strict, torch on the CPU)."""
    dev = device_of(x)
    return dev is None or "cpu" in str(dev).lower()


class _NoProgress:
    """The progress bar of ``progress=False``: does nothing."""

    __slots__ = ()

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


NO_PROGRESS: Any = _NoProgress()


def progress(enabled: Any, total: int, name: str, lazy: bool = False) -> Any:
    """A progress bar over ``total`` basis directions, or :data:`NO_PROGRESS`.

    ``enabled`` is the ``progress=`` argument of ``jacobian``, ``hessian``,
    ``hessian_reverse`` and ``diaghessian``. The bar is tqdm's (``tqdm.auto``:
    a widget in notebooks), imported only when asked for. On a lazy backend
    (Dask) the chunk loop only builds the graph, so the bar says so: the work
    happens at ``compute``, where Dask's own diagnostics show it.
    """
    if enabled is False or enabled is None:
        return NO_PROGRESS
    if enabled is not True:
        raise TypeError(f"xpgrad.{name}: progress must be True or False, got {enabled!r}")
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            f"xpgrad.{name}: progress=True needs the tqdm package: pip install tqdm "
            f"(or pip install 'xpgrad[progress]'); or pass progress=False"
        ) from None
    desc = f"{name} (building the Dask graph)" if lazy else name
    return tqdm(total=total, desc=desc, unit="dir", leave=True)  # keep the final line
