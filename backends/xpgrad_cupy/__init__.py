"""xpgrad backend adapter for CuPy arrays (CUDA GPUs).

CuPy is imported on first use only; where CuPy is installed but no CUDA device
is present the adapter is still listed, and CuPy raises on the first array.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

if importlib.util.find_spec("cupy") is None:
    raise ImportError("xpgrad_cupy needs CuPy: pip install 'xpgrad[cupy]'")

name = "cupy"
default = False
capabilities = {"inplace": True, "float64": True, "complex": True, "lazy": False}


def is_array(x: Any) -> bool:
    mod = sys.modules.get("cupy")
    return mod is not None and isinstance(x, mod.ndarray)


def namespace(x: Any) -> Any:
    import array_api_compat.cupy as xp

    return xp


def scatter_add(xp: Any, target: Any, key: Any, values: Any) -> Any:
    import cupyx

    cupyx.scatter_add(target, key, values)
    return target


def index_update(xp: Any, x: Any, key: Any, value: Any) -> Any:
    out = x.copy()
    out[key] = value
    return out


def memory(x: Any) -> tuple[Any, bool]:
    """The device allocation ``x`` views, and whether it can be written (not broadcast)."""
    return (x.device.id, x.data.mem.ptr), all(
        st != 0 or n <= 1 for st, n in zip(x.strides, x.shape)
    )


def to_host(x: Any) -> Any:
    return x.get()


def special(fname: str) -> Any:
    """``cupyx.scipy.special.<fname>`` (untested here: it needs a CUDA GPU)."""
    import cupyx.scipy.special as sp

    return getattr(sp, fname, None)


def random(seed: int) -> Any:
    """Samples drawn on the host by NumPy (the same numbers as the numpy backend's)."""
    import cupy
    import numpy as np

    rng = np.random.default_rng(seed)

    def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = None) -> Any:
        out = cupy.asarray(rng.uniform(low, high, size=shape))
        return out if dtype is None else out.astype(dtype)

    return make
