"""The results of the sparse API: a COO ``SparseMatrix`` and a ``SparsityPattern``.

Both are named tuples of backend arrays (plus the shape), so they unpack as
``rows, cols, values, shape = S`` and travel through user code as plain data.
Conversions to SciPy and CuPy sparse matrices import those libraries only
when called.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import backends
from .._core.trace import Tracer
from . import _edge as E
from ._chunks import device_of, zeros

__all__ = ["SparseMatrix", "SparsityPattern"]


def _xp_of(a: Any) -> Any:
    return E.namespace(E.backend_xp(a)) if isinstance(a, Tracer) else backends.namespace_of(a)


def _densify(rows: Any, cols: Any, values: Any, shape: tuple) -> Any:
    """The dense ``shape`` array with ``values`` at ``(rows, cols)``, standard functions only.

    No scatter: every position looks itself up among the sorted entry keys.
    """
    m, n = shape
    ixp = backends.namespace_of(rows)
    vxp = _xp_of(values)
    raw = E.backend_xp(values) if isinstance(values, Tracer) else vxp
    if rows.shape[0] == 0:
        return zeros(raw, (m, n), values.dtype, values)
    keys = rows * n + cols
    order = ixp.argsort(keys, stable=True)
    keys = ixp.take(keys, order)
    dev = device_of(rows)  # on the entries' device, not the default one
    pos = ixp.arange(m * n, dtype=keys.dtype, **({} if dev is None else {"device": dev}))
    i = ixp.minimum(ixp.searchsorted(keys, pos), keys.shape[0] - 1)
    hit = ixp.take(keys, i) == pos
    vals = vxp.take(vxp.take(values, order, axis=0), i, axis=0)
    out = vxp.where(hit, vals, zeros(raw, (), values.dtype, values))
    return vxp.reshape(out, (m, n))


def _host(a: Any) -> Any:
    return backends.to_host(a)


class _MatrixFields(NamedTuple):
    rows: Any
    cols: Any
    values: Any
    shape: tuple


class SparseMatrix(_MatrixFields):
    """A sparse matrix in coordinate (COO) form: ``M[rows[k], cols[k]] = values[k]``.

    Entries are distinct, in row-major order when the pattern was detected.
    Attributes set by ``sparse_jacobian`` and ``sparse_hessian``: ``npasses``
    (the number of colors: directional derivatives computed, where a dense
    Jacobian needs ``n`` or ``m``), ``mode`` and ``coloring``.

    Parameters
    ----------
    rows : array
        Row indices (int64), an array of the backend that computed them.
    cols : array
        Column indices (int64), of the same backend.
    values : array
        The entries, of the same backend.
    shape : tuple of int
        ``(m, n)``.

    See Also
    --------
    sparse_jacobian : Makes these.
    SparsityPattern : The entries without values.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> rows, cols, values, shape = S = xpgrad.sparse_jacobian(np.sin, np.zeros(3))
    >>> S
    SparseMatrix(shape=(3, 3), nnz=3)
    >>> values, S.npasses, S.mode
    (array([1., 1., 1.]), 1, 'forward')
    >>> S.to_scipy().toarray()
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    npasses: int
    mode: str
    coloring: str

    @property
    def nnz(self) -> int:
        return int(self.rows.shape[0])

    def todense(self) -> Any:
        """The dense ``(m, n)`` array (zeros off the pattern)."""
        return _densify(self.rows, self.cols, self.values, tuple(self.shape))

    def to_scipy(self) -> Any:
        """A ``scipy.sparse.coo_array`` (host copy; needs SciPy)."""
        import scipy.sparse

        return scipy.sparse.coo_array(
            (_host(self.values), (_host(self.rows), _host(self.cols))), shape=tuple(self.shape)
        )

    def to_cupyx(self) -> Any:
        """A ``cupyx.scipy.sparse.coo_matrix`` on the GPU (needs CuPy and CuPy arrays)."""
        import cupyx.scipy.sparse

        return cupyx.scipy.sparse.coo_matrix(
            (self.values, (self.rows, self.cols)), shape=tuple(self.shape)
        )

    def __repr__(self) -> str:
        return f"SparseMatrix(shape={tuple(self.shape)}, nnz={self.nnz})"


class _PatternFields(NamedTuple):
    rows: Any
    cols: Any
    shape: tuple


class SparsityPattern(_PatternFields):
    """Where a Jacobian or Hessian may be nonzero: the entries ``(rows[k], cols[k])``.

    Detected patterns are conservative (every nonzero at every input is an
    entry) and sorted row-major. ``fallbacks`` names the primitives that had
    no pattern rule (treated as dense); pass the pattern back as
    ``pattern=`` to skip detection.

    Parameters
    ----------
    rows : array
        Row indices (int64).
    cols : array
        Column indices (int64).
    shape : tuple of int
        ``(m, n)``.

    See Also
    --------
    jacobian_sparsity, hessian_sparsity : Make these.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> P = xpgrad.jacobian_sparsity(lambda x: x[::-1] * x[0], np.ones(3))
    >>> P.rows, P.cols
    (array([0, 0, 1, 1, 2]), array([0, 2, 0, 1, 0]))
    >>> P.fallbacks
    ()
    """

    fallbacks: tuple

    @property
    def nnz(self) -> int:
        return int(self.rows.shape[0])

    def todense(self) -> Any:
        """A dense boolean ``(m, n)`` array, True on the pattern."""
        xp = backends.namespace_of(self.rows)
        ones = xp.ones(self.rows.shape, dtype=xp.bool)
        return _densify(self.rows, self.cols, ones, tuple(self.shape))

    def to_scipy(self) -> Any:
        """A boolean ``scipy.sparse.coo_array`` (host copy; needs SciPy)."""
        import scipy.sparse

        rows, cols = _host(self.rows), _host(self.cols)
        return scipy.sparse.coo_array((rows >= 0, (rows, cols)), shape=tuple(self.shape))

    def __repr__(self) -> str:
        return f"SparsityPattern(shape={tuple(self.shape)}, nnz={self.nnz})"
