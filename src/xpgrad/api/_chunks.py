"""Chunks of basis directions: how many fit the memory budget, making them, and
putting the per-chunk blocks of a Jacobian or Hessian together.

Shared by ``jacobian`` (both modes), ``hessian``, ``hessian_reverse`` and
``diaghessian``. The identity matrix is never formed whole: each chunk is the
slice ``eye(k, n, k=start)`` of it.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.arrays import device_kw, device_of, size_of
from .._core.arrays import raw as _raw
from .._core.onehot import OneHot
from .._core.trace import Tracer
from ..rules import F
from . import _edge as E
from .config import config

__all__ = [
    "NO_PROGRESS",
    "WORK_FACTOR",
    "Blocks",
    "basis",
    "choose_chunk",
    "itemsize",
    "progress",
    "size_of",
]

#: Copies of the inputs and outputs that one basis direction is assumed to
#: need while it is pushed through the program (its tangents or cotangents of
#: the intermediates). See ``choose_chunk``.
WORK_FACTOR = 8

#: On a CPU, a chunk's basis is kept to about this many bytes (4 MiB, a share of
#: a last-level cache) unless the budget is smaller: the memory-bound batched
#: elementwise work then runs in cache instead of streaming (and page-faulting)
#: arrays of tens of MiB. Measured on the W4/W5/W6 benchmark rows: 2-2.5x faster
#: than one 32 MiB pass. GPUs, and explicit ``chunk_size``, are not affected.
CPU_CHUNK_BYTES = 4 * 2**20

#: The fewest directions the CPU cache rule leaves in a chunk, so that a wide
#: program is not run as hundreds of tiny passes (Python overhead per pass).
CPU_CHUNK_MIN = 32

#: The most passes the CPU cache rule may split the directions into: every pass
#: also streams the program's unbatched operands (the matrix of ``A @ x``, 80 MiB
#: at n = 3200) once more, so a big problem keeps wide chunks (W3 at n = 3200:
#: 40 passes of 81 directions took 1.13 s, 8 of 400 1.05 s, one pass 0.96 s).
CPU_MAX_PASSES = 8


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
    direction is estimated to need ``WORK_FACTOR * itemsize * per_direction``
    bytes, where ``per_direction`` is the number of input plus output elements
    that one direction touches, and as many directions as fit the budget are
    taken (at least one). When ``like`` (the array the directions live on) is
    on a CPU, the chunk is also kept to ``CPU_CHUNK_BYTES`` of basis, but to
    no fewer than ``CPU_CHUNK_MIN`` directions and no more than
    ``CPU_MAX_PASSES`` passes: see ``CPU_CHUNK_BYTES``.
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
    per = WORK_FACTOR * nbytes_item * max(1, per_direction)
    k = budget // per
    if like is not None and on_cpu(like):
        cache_k = CPU_CHUNK_BYTES // (nbytes_item * max(1, per_direction))
        k = min(k, max(CPU_CHUNK_MIN, cache_k, -(-ndirs // CPU_MAX_PASSES)))
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


#: Whether eager Jacobians of 1-D arguments or outputs start from a symbolic
#: one-hot basis (``_core.onehot``); tests compare both paths.
ONEHOT = True


def basis(
    xp: Any,
    start: int,
    k: int,
    n: int,
    dtype: Any,
    shape: tuple,
    device: Any,
    chunk: int | None = None,
    like: Any = None,
    onehot: bool = False,
    memo: dict | None = None,
) -> Any:
    """Rows ``start .. start+k`` of the ``n x n`` identity, each shaped ``shape``.

    ``onehot``: a batch trace will receive it (``map_basis``), so where that is
    the same batch (an eager backend, directions that are vectors: ``shape ==
    (n,)``) it is returned as a symbolic ``OneHot`` (see ``_core.onehot``).

    A backend whose adapter has a ``basis`` hook (Dask) builds it itself from
    ``like`` (the array the directions live on), with ``chunk`` directions per
    block of the batch axis (``None``: the adapter's choice): see ``one_pass``.

    Eager backends get ``xp.eye(k, n, k=start)``. A lazy backend without a hook
    gets it built from two ``arange`` instead: a non-square Dask ``eye``
    (array-api-compat 1.16, dask 2026.8) builds a graph that fails to compute
    ("Missing dependency ('eye-...', 0, 1)"), because
    ``dask.array.eye`` takes its second positional argument as ``chunks``.
    """
    fn = backends.hook(_raw(like), "basis") if like is not None else None
    if fn is not None:
        return fn(xp, start, k, n, dtype, tuple(shape), chunk, _raw(like))
    kw = {} if device is None else {"device": device}
    lazy = like is not None and backends.is_lazy(_raw(like))
    if onehot and ONEHOT and not lazy and tuple(shape) == (n,) and n > 1:
        return OneHot(xp, k, n, start, None, (n,), dtype, device, memo)
    if not lazy:  # one pass writing the ones: no comparison, no cast
        return xp.reshape(xp.eye(k, n, k=start, dtype=dtype, **kw), (k,) + tuple(shape))
    rows = xp.reshape(xp.arange(start, start + k, **kw), (k, 1))
    cols = xp.reshape(xp.arange(n, **kw), (1, n))
    e = xp.reshape(xp.astype(rows == cols, dtype), (k,) + tuple(shape))
    if chunk is not None:
        e = backends.rechunk_batch(e, chunk)
    return e


def one_pass(like: Any) -> bool:
    """Whether every basis direction goes into one batched pass.

    True for a lazy backend (Dask): its adapter chunks the basis along the
    batch axis, so the chunks of directions become the backend's chunks, the
    Jacobian is one chunked lazy array, and the scheduler computes its blocks
    in parallel with bounded memory instead of a Python loop over chunks.
    """
    return backends.is_lazy(_raw(like))


class Blocks:
    """Assemble blocks along ``axis`` (0: rows, 1: columns) of a 2-D result.

    Plain arrays are written into one preallocated result, so that at most one
    block exists beside it; traced values (a jacobian inside another
    transformation) and immutable arrays (JAX) are concatenated at the end.
    """

    __slots__ = ("axis", "nblocks", "out", "parts", "pos", "shape", "xp")

    def __init__(self, xp: Any, shape: tuple, axis: int, nblocks: int):
        self.xp = xp
        self.shape = shape
        self.axis = axis
        self.nblocks = nblocks
        self.out: Any = None
        self.parts: list = []
        self.pos = 0

    def add(self, block: Any) -> None:
        k = block.shape[self.axis]
        if self.nblocks == 1:
            self.parts.append(block)
        elif self.out is None and not self.parts and not isinstance(block, Tracer):
            xp = self.xp
            dev = device_of(block)
            kw = {} if dev is None else {"device": dev}
            try:
                self.out = xp.empty(self.shape, dtype=block.dtype, **kw)
                self._write(block, k)
            except (TypeError, NotImplementedError, ValueError):
                self.out = None
                self.parts.append(block)
        elif self.out is not None and not isinstance(block, Tracer):
            self._write(block, k)
        else:
            if self.out is not None:  # a traced block after plain ones: fall back
                self.parts.append(self._written())
                self.out = None
            self.parts.append(block)
        self.pos += k

    def _write(self, block: Any, k: int) -> None:
        sl = slice(self.pos, self.pos + k)
        if block.dtype != self.out.dtype:
            block = self.xp.astype(block, self.out.dtype)
        if self.axis == 0:
            self.out[sl, ...] = block
        else:
            self.out[:, sl] = block

    def _written(self) -> Any:
        sl = slice(0, self.pos)
        return self.out[sl, ...] if self.axis == 0 else self.out[:, sl]

    def result(self) -> Any:
        if self.out is not None:
            return self.out
        if len(self.parts) == 1:
            return self.parts[0]
        if any(isinstance(p, Tracer) for p in self.parts):
            ns = E.namespace(self.xp)
            concat = getattr(ns, "concat", None)
            if concat is None:
                raise NotImplementedError(
                    "xpgrad: assembling a chunked jacobian of traced values needs the "
                    "'concat' primitive; pass chunk_size=None with a larger memory_budget "
                    "so that one chunk covers every direction"
                )
            return concat(self.parts, axis=self.axis)
        return self.xp.concat(self.parts, axis=self.axis)


def zeros(xp: Any, shape: tuple, dtype: Any, like: Any) -> Any:
    return xp.zeros(shape, dtype=dtype, **device_kw(like))


def flat_rows(v: Any, k: int) -> Any:
    """A batched value ``(k, *shape)`` as the 2-D ``(k, size)``."""
    if v.ndim == 2:
        return v
    return F.reshape(v, (k, size_of(tuple(v.shape[1:]))))
