"""xpgrad backend adapter for NumPy (the default backend)."""

from __future__ import annotations

from typing import Any

import array_api_compat.numpy as _xp
import numpy as np

name = "numpy"
default = True
capabilities = {"inplace": True, "float64": True, "complex": True, "lazy": False}


def is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def namespace(x: Any) -> Any:
    return _xp


def scatter_add(xp: Any, target: Any, key: Any, values: Any) -> Any:
    np.add.at(target, key, values)
    return target


def index_update(xp: Any, x: Any, key: Any, value: Any) -> Any:
    out = np.array(x, copy=True)
    out[key] = value
    return out


def memory(x: Any) -> tuple[Any, bool]:
    """The base array owning ``x``'s data, and whether ``x`` can be written in place."""
    if not isinstance(x, np.ndarray):  # NumPy scalars are immutable values
        return id(x), True
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    writable = bool(x.flags.writeable)
    if writable and 0 in x.strides:  # a broadcast view (stride 0 along a long axis)
        writable = all(st != 0 or n <= 1 for st, n in zip(x.strides, x.shape))
    return id(root), writable


def to_host(x: Any) -> Any:
    return np.asarray(x)


def special(fname: str) -> Any:
    """``scipy.special.<fname>`` (NumPy arrays in, NumPy arrays out), or None without SciPy."""
    try:
        import scipy.special as sp
    except ImportError:
        return None
    return getattr(sp, fname, None)


def random(seed: int) -> Any:
    rng = np.random.default_rng(seed)

    def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = np.float64) -> Any:
        return np.asarray(rng.uniform(low, high, size=shape), dtype=dtype)

    return make
