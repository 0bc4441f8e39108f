"""xpgrad backend adapter for array-api-strict: the proof that only the standard is used."""

from __future__ import annotations

import importlib.util
from typing import Any

if importlib.util.find_spec("array_api_strict") is None:
    raise ImportError("xpgrad_strict needs array-api-strict: pip install 'xpgrad[strict]'")

import array_api_strict as _xp  # noqa: E402
import numpy as np
from array_api_strict._array_object import Array as _Array

name = "array_api_strict"
default = False
capabilities = {"inplace": True, "float64": True, "complex": True, "lazy": False}


def is_array(x: Any) -> bool:
    return isinstance(x, _Array)


def namespace(x: Any) -> Any:
    return _xp


def memory(x: Any) -> tuple[Any, bool]:
    """The NumPy array owning the data inside ``x``, and whether ``x`` can be written.

    array-api-strict's broadcast views are read-only NumPy views: writing raises."""
    a = x._array
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    return id(root), bool(a.flags.writeable) and all(
        st != 0 or n <= 1 for st, n in zip(a.strides, a.shape)
    )


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
