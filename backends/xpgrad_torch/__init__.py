"""xpgrad backend adapter for PyTorch tensors, through array-api-compat's torch namespace.

xpgrad's own engine differentiates; torch's autograd is never used (tensors
are plain values to it). torch is imported on first use only.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from typing import Any, Callable

if importlib.util.find_spec("torch") is None:
    raise ImportError("xpgrad_torch needs torch: pip install 'xpgrad[torch]'")

name = "torch"
default = False
capabilities = {"inplace": True, "float64": True, "complex": True, "lazy": False}

#: Whether ``xpgrad.jit`` hands its staged programs to ``torch.compile`` (the ``lower``
#: hook). Off by default: on the CPU, compiling takes seconds per signature and
#: gained little on most benchmark rows, and Inductor may reorder reductions
#: (docs/jit.md, "Backends and the lowering hook", has the measurements). Turn it
#: on for long-running programs of large elementwise work (an HVP: 5x faster):
#: ``xpgrad.backends.get("torch").compile_programs = True``.
compile_programs = False


def is_array(x: Any) -> bool:
    mod = sys.modules.get("torch")
    return mod is not None and isinstance(x, mod.Tensor)


def namespace(x: Any) -> Any:
    import array_api_compat.torch as xp

    return xp


def getitem(x: Any, key: Any) -> Any:
    """``x[key]``, also with negative slice steps (torch's own indexing rejects them).

    Each negative-step slice becomes a positive-step slice of the flipped axis.
    """
    if not isinstance(key, tuple):
        key = (key,)
    if not any(isinstance(k, slice) and k.step is not None and k.step < 0 for k in key):
        return x[key]
    import torch

    ndim = x.ndim
    used = sum(_axes_used(k) for k in key if k is not Ellipsis)
    axis = 0
    flips = []
    new = []
    for k in key:
        if k is Ellipsis:
            axis += ndim - used
        elif isinstance(k, slice) and k.step is not None and k.step < 0:
            n = x.shape[axis]
            picked = range(*k.indices(n))
            if len(picked) == 0:
                new.append(slice(0, 0))
            else:
                start = n - 1 - picked[0]
                new.append(slice(start, start + (len(picked) - 1) * -k.step + 1, -k.step))
                flips.append(axis)
            axis += 1
            continue
        else:
            axis += _axes_used(k)
        new.append(k)
    if flips:
        x = torch.flip(x, dims=flips)
    return x[tuple(new)]


def _axes_used(k: Any) -> int:
    if k is None:
        return 0
    if getattr(k, "dtype", None) is not None and str(k.dtype) == "torch.bool":
        return k.ndim
    return 1


def scatter_add(xp: Any, target: Any, key: Any, values: Any) -> Any:
    """``index_add_`` over the flat positions of ``target[key]`` (accumulates repeats)."""
    import torch

    shape = tuple(target.shape)
    pos = getitem(torch.arange(math.prod(shape), device=target.device).reshape(shape), key)
    vals = torch.broadcast_to(
        torch.as_tensor(values, dtype=target.dtype, device=target.device), pos.shape
    )
    flat = target.reshape(-1)
    flat.index_add_(0, pos.reshape(-1), vals.reshape(-1))
    return flat.reshape(shape)


def index_update(xp: Any, x: Any, key: Any, value: Any) -> Any:
    out = x.clone()
    out[key] = value
    return out


def memory(x: Any) -> tuple[Any, bool]:
    """The storage ``x`` views, and whether it can be written (``expand`` gives stride 0)."""
    try:
        root: Any = (str(x.device), x.untyped_storage().data_ptr())
    except (RuntimeError, AttributeError):  # tensors without storage (meta, sparse)
        root = id(x)
    return root, all(st != 0 or n <= 1 for st, n in zip(x.stride(), x.shape))


def to_host(x: Any) -> Any:
    return x.detach().cpu().numpy()


def special(fname: str) -> Any:
    """``torch.special.<fname>`` (same names and argument order as ``scipy.special``)."""
    import torch

    return getattr(torch.special, fname, None)


def random(seed: int) -> Any:
    """Samples drawn by one seeded CPU generator (the same numbers on every device).

    Each sample is then placed on torch's default device, which a
    ``with torch.device("cuda"):`` block sets (conformance/conftest.py does,
    for ``XPGRAD_TORCH_DEVICE=cuda``); a CPU generator cannot draw on CUDA.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)

    def make(shape: tuple, low: float = -2.0, high: float = 2.0, dtype: Any = None) -> Any:
        u = torch.rand(tuple(shape), generator=gen, dtype=torch.float64, device="cpu")
        out = (low + (high - low) * u).to(torch.get_default_device())
        return out if dtype is None else out.to(dtype)

    return make


def lower(program: Any, fn: Callable) -> Callable | None:
    """``torch.compile`` of a staged program's function, where ``compile_programs`` is on.

    jit promises results equal to eager code within 1 ulp, which Inductor does
    not (it may reorder a reduction). So the first replay runs both xpgrad's
    function and the compiled one, and keeps the compiled one only if every
    result is within 1 ulp of xpgrad's; otherwise (or if torch cannot compile
    the program) it warns once and replays xpgrad's function from then on.
    That first replay returns xpgrad's results.
    """
    if not compile_programs:
        return None
    import torch

    compiled = torch.compile(_with_builtins(fn), dynamic=False)
    chosen: Callable | None = None

    def run(*args: Any) -> tuple:
        nonlocal chosen
        if chosen is not None:
            return chosen(*args)
        want = fn(*args)
        try:
            got = compiled(*args)
        except Exception as e:  # noqa: BLE001 - whatever torch cannot compile, xpgrad runs
            chosen = fn
            _decline(f"torch.compile failed on it ({type(e).__name__}: {e})")
            return want
        if all(_within_one_ulp(g, w) for g, w in zip(got, want)):
            chosen = compiled
        else:
            chosen = fn
            _decline("torch.compile changed its results by more than 1 ulp")
        return want

    return run


def _with_builtins(fn: Callable) -> Callable:
    """``fn`` with Python's builtins: xpgrad's generated function runs with none, which
    dynamo cannot guard on when it inlines the functions that function calls."""
    import builtins
    import types

    return types.FunctionType(fn.__code__, {**fn.__globals__, "__builtins__": builtins.__dict__})


def _decline(why: str) -> None:
    warnings.warn(
        f"xpgrad_torch: {why}, so xpgrad.jit replays its own Python function for this "
        f"program (exact, without compilation). Set compile_programs = False on the "
        f"torch adapter to skip the attempt.",
        RuntimeWarning,
        stacklevel=3,
    )


def _within_one_ulp(a: Any, b: Any) -> bool:
    """Whether ``a`` is ``b`` to 1 ulp of ``b``: same dtype and shape, NaN where ``b``
    is NaN; integers and booleans exactly."""
    import torch

    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return bool(a == b or (a != a and b != b))  # a number: exactly, NaN included
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.is_complex():
        a, b = torch.view_as_real(a), torch.view_as_real(b)
    if not a.is_floating_point():
        return bool(torch.equal(a, b))
    big = torch.abs(b)
    ulp = torch.nextafter(big, torch.full_like(big, math.inf)) - big
    ok = (a == b) | (torch.isnan(a) & torch.isnan(b)) | (torch.abs(a - b) <= ulp)
    return bool(torch.all(ok))
