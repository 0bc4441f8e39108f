"""``Buffer``: an array you may write into inside differentiated code.

Each write ``buf[key] = v`` produces a new value through the ``index_update``
primitive (``x`` with ``x[key]`` replaced by ``v``), so every write is
differentiated and the backend needs no in-place writes. Repeated positions in
a key: the last write wins (``_winners``), decided before the backend writes,
since backends differ (NumPy keeps the last, torch leaves it unspecified, the
standard too); the pullback gives the cotangent to the winning write only. Outside any
transformation, writes go in place into the buffer's own array while nobody
else can see it. ``copy()`` hands the array out and freezes the buffer.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.arrays import device_kw
from .._core.trace import Tracer
from ..rules.indexing import join_key, split_key
from ..rules.indexing_update import (
    _cast,
    _last_writes,
    index_update,
    index_update_p,
    write,
)
from . import _edge as E
from .params import unbox

__all__ = ["Buffer", "index_update", "write"]


# -- the Buffer ------------------------------------------------------------------


class Buffer:
    """An array-like you can write into (``buf[key] = v``) inside differentiated code.

    ``Buffer(like, *shape)`` is a zero-filled buffer with ``like``'s dtype and
    backend and the given shape (Julia's ``similar``; ``Buffer(x, (3, 5))``
    works too); ``Buffer(array)`` starts as a copy of ``array``. Reads
    (``buf[key]``) and writes are differentiated, through every write.
    ``buf.copy()`` (or ``copy.copy(buf)``) returns the contents as an array of
    the backend and freezes the buffer: later writes raise. A Buffer is not an
    array: use the copy for arithmetic and linear algebra.

    A write whose integer-array key names one position several times keeps the
    last of those writes (in C order of the key, NumPy's assignment), on every
    backend, and every mode agrees: only the winning value gets a derivative.
    ``buf[np.array([0, 0])] = v`` holds ``v[1]`` at position 0.

    Parameters
    ----------
    like : array
        Gives the dtype and backend; with no ``shape``, also the shape and the
        initial contents.
    *shape : int or tuple of int
        The shape of a zero-filled buffer.

    See Also
    --------
    checkpointed : Another way to save memory in differentiated loops.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> def vstack(xs):
    ...     buf = xpgrad.Buffer(xs, xs.shape[0], 5)
    ...     for i in range(5):
    ...         buf[:, i] = xs
    ...     return buf.copy()
    >>> vstack(np.array([1, 2, 3]))[0]
    array([1, 1, 1, 1, 1])
    >>> xpgrad.gradient(lambda x: np.sum(vstack(x)), np.array([1.0, 2.0, 3.0]))
    (array([5., 5., 5.]),)
    """

    __slots__ = ("_data", "_frozen", "_own")

    def __init__(self, like: Any, *shape: Any):
        like = unbox(like)
        if not E.is_array(like):
            raise TypeError(
                f"xpgrad.Buffer: the first argument must be an array (whose dtype and "
                f"backend the buffer takes), got {type(like).__name__}"
            )
        xp = E.backend_xp(like)
        if shape:
            if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
                shape = tuple(shape[0])
            if not all(type(s) is int and s >= 0 for s in shape):
                raise TypeError(
                    f"xpgrad.Buffer: the shape must be non-negative ints, got {shape!r}"
                )
            self._data = xp.zeros(tuple(shape), dtype=like.dtype, **device_kw(like))
        elif isinstance(like, Tracer):
            self._data = like  # writes build new values; like itself is never changed
        else:
            self._data = xp.asarray(like, copy=True)
        # whether _data is an array that only this buffer can see (then write in place)
        self._own = not isinstance(self._data, Tracer)
        self._frozen = False

    @property
    def shape(self) -> tuple:
        return tuple(self._data.shape)

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def __len__(self) -> int:
        return self._data.shape[0]

    def __getitem__(self, key: Any) -> Any:
        self._own = False  # the result may be a view of our array
        return self._data[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._frozen:
            raise RuntimeError(
                "xpgrad.Buffer: this buffer was frozen by copy(); its contents now belong "
                "to the copied array. Make a new Buffer to write more."
            )
        value = unbox(value)
        data = self._data
        E.common_xp([data, value])  # one backend (a clear TypeError otherwise)
        template, arrays = split_key(key)
        if (
            self._own
            and not isinstance(value, Tracer)
            and not any(isinstance(a, Tracer) for a in arrays)
            and backends.capabilities(data)["inplace"]
        ):
            written = _cast(data, _last_writes(data, value, template, arrays))
            try:
                data[join_key(template, arrays)] = written
                return
            except IndexError:  # array-api-strict writes no integer-array keys
                pass
        self._data = index_update_p(data, value, *arrays, template=template)
        self._own = not isinstance(self._data, Tracer)  # a fresh array from the impl

    def copy(self) -> Any:
        """The contents as an array of the backend; the buffer is frozen from now on."""
        self._frozen = True
        self._own = False
        return self._data

    __copy__ = copy

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("xpgrad.Buffer is not an array; take its contents with buf.copy() first")

    def __repr__(self) -> str:
        state = ", frozen" if self._frozen else ""
        return f"Buffer(shape={self.shape}, dtype={self.dtype}{state})"
