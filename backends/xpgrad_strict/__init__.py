"""xpgrad backend adapter for array-api-strict: the proof that only the standard is used."""

from __future__ import annotations

from typing import Any

import array_api_strict as _xp
from array_api_strict._array_object import Array as _Array
import numpy as np

name = "array_api_strict"
default = False
capabilities = {"inplace": True, "float64": True, "complex": True, "lazy": False}


def is_array(x: Any) -> bool:
    return isinstance(x, _Array)


def namespace(x: Any) -> Any:
    return _xp


def to_host(x: Any) -> Any:
    return np.from_dlpack(x)


def special(fname: str) -> Any:
    """``scipy.special.<fname>`` on the arrays' data, shared with NumPy through DLPack.

    array-api-strict has no special functions; its arrays export their memory
    through ``__dlpack__`` (public API), so SciPy computes on a zero-copy NumPy
    view and the result comes back on the first array's device.
    """
    try:
        import scipy.special as sp
    except ImportError:
        return None
    fn = getattr(sp, fname, None)
    if fn is None:
        return None

    def on_strict(*args: Any) -> Any:
        device = next(a.device for a in args if isinstance(a, _Array))
        host = [np.from_dlpack(a) if isinstance(a, _Array) else a for a in args]
        return _xp.asarray(fn(*host), device=device)

    on_strict.__name__ = fname
    return on_strict


def random(seed: int) -> Any:
    rng = np.random.default_rng(seed)

    def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = None) -> Any:
        return _xp.asarray(rng.uniform(low, high, size=shape), dtype=dtype or _xp.float64)

    return make
