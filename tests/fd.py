"""Central finite differences on NumPy: the independent check the tests compare
derivatives with (no xpgrad code involved)."""

from __future__ import annotations

from typing import Any

import numpy as np


def fd_jacobian(f: Any, x: Any, eps: float = 1e-6) -> np.ndarray:
    """The ``(size of f(x), size of x)`` Jacobian of ``f`` at ``x``, column by column (C order)."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))).reshape(-1) / (2 * eps))
    return np.stack(cols, axis=1)
