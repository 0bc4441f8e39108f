"""Chunks of basis directions: making them, assembling the per-chunk blocks of
a Jacobian, and the forward-mode Jacobian's chunk loop (``forward_jacobian``).

Shared by ``jacobian`` (both modes), ``hessian``, ``hessian_reverse``,
``diaghessian``, the sparse Jacobians and the ``forwarddiff`` primitive. The
identity matrix is never formed whole: each chunk is the slice
``eye(k, n, k=start)`` of it. How many directions a chunk holds (the memory
budget) is the API's choice (``api/_chunks``).
"""

from __future__ import annotations

from typing import Any, Callable

from .. import backends
from .arrays import device_kw, device_of, size_of
from .arrays import raw as _raw
from .calls import map_basis
from .config import config
from .namespace import traced_namespace
from .onehot import OneHot
from .registry import F
from .trace import Tracer
from .zeros import Zero

__all__ = ["Blocks", "basis", "flat_rows", "forward_jacobian", "one_pass", "zeros"]


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
    if onehot and config.onehot_basis and not lazy and tuple(shape) == (n,) and n > 1:
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
            ns = traced_namespace(self.xp)
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


def forward_jacobian(
    push: Callable,
    x: Any,
    xp: Any,
    k: int,
    chunk_size: int | None = None,
    bar: Any = None,
) -> list:
    """The Jacobian of each output of ``push`` in ``x``, by batched pushforwards.

    ``push(t)`` gives the output tangent, or a tuple of them, for a tangent
    ``t`` of ``x`` (a ``Zero`` for an output that does not depend on ``x``). It is
    mapped over chunks of ``k`` basis tangents of ``x`` (columns of the
    identity; a lazy backend gets one pass with ``chunk_size`` directions per
    backend chunk, see ``one_pass``). The result has one ``(m, n)`` array per
    output (``m`` its size, ``n`` that of ``x``, ``n > 0``), or a ``Zero`` of
    that shape, in the dtype both modes agree on, where the output does not
    depend on ``x``: no zero block is made per chunk, and when no output
    depends on ``x`` one pass is all. ``bar`` (a progress bar) advances by the
    columns of each chunk.
    """
    shape = tuple(x.shape)
    n = size_of(shape)
    step = n if one_pass(x) else k
    nblocks = -(-n // step)
    dev = device_of(x)
    batched = map_basis(push, xp)
    memo: dict = {}  # the one-hot basis's checks of operands, for every chunk
    # per output: its Blocks, or None and its Zero Jacobian (no comprehensions:
    # this runs once per jacobian call, whose overhead is measured)
    blocks: list | None = None
    zero: list = []
    for start in range(0, n, step):
        kk = min(step, n - start)
        dys = batched(basis(xp, start, kk, n, x.dtype, shape, dev, chunk_size, x, True, memo))
        if type(dys) is not tuple:
            dys = (dys,)
        if blocks is None:  # an output independent of x is so in every chunk
            blocks = []
            live = False
            for d in dys:
                if isinstance(d, Zero):
                    dt = xp.result_type(d.dtype, x.dtype)
                    zero.append(Zero((size_of(tuple(d.shape)), n), dt, x))
                    blocks.append(None)
                else:
                    zero.append(None)
                    blocks.append(Blocks(xp, (size_of(tuple(d.shape[1:])), n), 1, nblocks))
                    live = True
            if not live:  # nothing depends on x: one pass was enough
                return zero
        for b, d in zip(blocks, dys):
            if b is None:
                continue
            if isinstance(d, Zero):  # (zero in this chunk only)
                d = zeros(xp, (kk, b.shape[0]), d.dtype, x)
            b.add(F.permute_dims(flat_rows(d, kk), (1, 0)))
        if bar is not None:
            bar.update(kk)
    assert blocks is not None, "forward_jacobian needs an input with elements"
    for j, b in enumerate(blocks):
        if b is not None:
            zero[j] = b.result()
    return zero
