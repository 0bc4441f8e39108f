"""Fixtures shared by the conformance suite: one entry per installed backend."""

from __future__ import annotations

import os
from typing import Any

import pytest

import xpgrad.backends as B

# Backends whose conformance runs in the default test command. Set
# XPGRAD_BACKENDS=numpy,array_api_strict,dask,torch to choose (tox sets one per env).
_WANTED = os.environ.get("XPGRAD_BACKENDS")

# Dask's conformance pass costs about 15 CPU-minutes (Dask spends ~3 ms building
# each operation and ~0.5 s scheduling each check), which alone would take the
# 2-core CI past its budget. By default it runs only when asked for
# (XPGRAD_BACKENDS=dask, `tox -e dask`); the default test command still covers
# Dask through tests/test_dask.py (laziness, LocalCluster, Jacobians, utilities).
_OPT_IN = {"dask"}


def backend_names() -> list[str]:
    names = sorted(B.available())
    if _WANTED:
        return [n for n in names if n in _WANTED.split(",")]
    return [n for n in names if n not in _OPT_IN]


# XPGRAD_TORCH_DEVICE=cuda puts the torch backend's samples on that device (the
# GPU script, benchmarks/gpu/, runs the suite so). Only the samples are built
# under it: the rules and the checker then run with no default device set, so a
# function that creates an array without ``device=`` fails there, as it would
# for a user whose tensors are on a GPU.
_TORCH_DEVICE = os.environ.get("XPGRAD_TORCH_DEVICE")


class Maker:
    """Sample arrays for rules: ``make(shape, low, high)`` in one dtype of one backend."""

    def __init__(self, adapter: Any, dtype_name: str = "float64", seed: int = 0):
        self.adapter = adapter
        self.xp = adapter.namespace(None)
        self.rand = adapter.random(seed)
        self.dtype_name = dtype_name

    def samples(self, prim: Any) -> list:
        """``prim.samples(self)``, on the device ``XPGRAD_TORCH_DEVICE`` names for torch."""
        if _TORCH_DEVICE and self.adapter.name == "torch":
            import torch

            with torch.device(_TORCH_DEVICE):
                return list(prim.samples(self))
        return list(prim.samples(self))

    def __call__(self, shape: tuple, low: float = -2.0, high: float = 2.0) -> Any:
        if self.dtype_name == "mixed":
            # real and complex128 arguments in turn: a real argument of a function
            # of complex values must still get a real cotangent (its own dtype)
            self.calls = getattr(self, "calls", 0) + 1
            name = "complex128" if self.calls % 2 == 0 else "float64"
            return Maker(self.adapter, name, seed=self.calls)(shape, low, high)
        if self.dtype_name.startswith("complex"):
            # real and imaginary parts both drawn from [low, high): a rule's domain
            # (log's low > 0) then keeps complex samples off the branch cuts too
            real = "float32" if self.dtype_name == "complex64" else "float64"
            dt = getattr(self.xp, self.dtype_name)
            re = self.xp.astype(self.rand(tuple(shape), low, high, getattr(self.xp, real)), dt)
            im = self.xp.astype(self.rand(tuple(shape), low, high, getattr(self.xp, real)), dt)
            return re + im * 1j
        return self.rand(tuple(shape), low, high, getattr(self.xp, self.dtype_name))

    def dtype(self, name: str) -> Any:
        return getattr(self.xp, name)

    def int(self, shape: tuple, low: int, high: int) -> Any:
        x = self.rand(tuple(shape), low, high, self.xp.float64)
        return self.xp.astype(self.xp.floor(x), self.xp.int64)


@pytest.fixture(params=backend_names())
def backend(request: Any) -> Any:
    return B.get(request.param)


# -- known backend failures, as data -----------------------------------------------------
# conformance/xfails/<backend>.txt: one entry per line, ``<test> <primitive>  # reason``,
# where <test> and <primitive> may use shell wildcards (``test_rule* fft.*``). A
# listed test that passes fails the run (strict), so the lists cannot go stale.

_XFAIL_DIR = os.path.join(os.path.dirname(__file__), "xfails")


def load_xfails(backend: str) -> list[tuple[str, str, str]]:
    """``[(test pattern, primitive pattern, reason)]``; empty if ``backend`` has no file."""
    path = os.path.join(_XFAIL_DIR, f"{backend}.txt")
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as fh:
        for line in fh:
            entry, _, reason = line.partition("#")
            fields = entry.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(f"{path}: expected '<test> <primitive>  # reason', got {line!r}")
            out.append((fields[0], fields[1], reason.strip() or "known failure"))
    return out


def pytest_collection_modifyitems(config: Any, items: list) -> None:
    import fnmatch

    cache: dict[str, list] = {}
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        bname, name = params.get("bname"), params.get("name")
        if bname is None or name is None:
            continue
        if bname not in cache:
            cache[bname] = load_xfails(bname)
        for test, prim, reason in cache[bname]:
            if fnmatch.fnmatchcase(item.originalname, test) and fnmatch.fnmatchcase(name, prim):
                item.add_marker(pytest.mark.xfail(reason=f"{bname}: {reason}", strict=True))
                break
