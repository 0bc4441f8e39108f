"""The libraries under comparison, imported only when enabled and installed.

Every library is optional except xpgrad and NumPy: a peer that is missing or
disabled with ``--peers`` gets a reason, which the report prints as "skipped".
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: Column order of every table.
LIBS = ("xpgrad", "xpgrad jit", "xpgrad loop", "bare tape", "jax eager", "jax jit", "torch.func", "autograd")
#: The peers xpgrad's eager rows are measured against (jit is the compiled ceiling).
EAGER_PEERS = ("jax eager", "torch.func", "autograd")
#: ``--peers`` names -> the columns they enable.
PEER_GROUPS = {"jax": ("jax eager", "jax jit"), "torch": ("torch.func",), "autograd": ("autograd",)}


class Peers:
    """Imported peer modules (``None`` when unavailable) and why any is missing."""

    def __init__(self, enabled: set[str]):
        self.skipped: dict[str, str] = {}
        self.jax = self.jnp = self.torch = self.autograd = self.anp = None
        self.versions: dict[str, str] = {}
        if "jax" in enabled:
            try:
                # CPU only, float64 like every other column; set before jax is imported.
                os.environ.setdefault("JAX_PLATFORMS", "cpu")
                import jax
                import jax.numpy as jnp

                jax.config.update("jax_enable_x64", True)
                self.jax, self.jnp = jax, jnp
                self.versions["jax"] = jax.__version__
                import jaxlib

                self.versions["jaxlib"] = jaxlib.__version__
            except Exception as e:  # noqa: BLE001 - any import failure means "skip"
                self._skip("jax", f"not installed ({type(e).__name__}: {e})")
        else:
            self._skip("jax", "disabled (--peers)")
        if "torch" in enabled:
            try:
                import torch
                import torch.func

                self.torch = torch
                self.versions["torch"] = torch.__version__
            except Exception as e:  # noqa: BLE001
                self._skip("torch", f"not installed ({type(e).__name__}: {e})")
        else:
            self._skip("torch", "disabled (--peers)")
        if "autograd" in enabled:
            try:
                import autograd
                import autograd.numpy as anp

                self.autograd, self.anp = autograd, anp
                self.versions["autograd"] = _dist_version("autograd")
            except Exception as e:  # noqa: BLE001
                self._skip("autograd", f"not installed ({type(e).__name__}: {e})")
        else:
            self._skip("autograd", "disabled (--peers)")

    def _skip(self, group: str, reason: str) -> None:
        for col in PEER_GROUPS[group]:
            self.skipped[col] = reason

    # -- conversions ---------------------------------------------------------------
    def to_jax(self, tree: Any) -> Any:
        return _map(tree, self.jnp.asarray)

    def to_torch(self, tree: Any) -> Any:
        return _map(tree, lambda a: self.torch.from_numpy(np.array(a, copy=True)))

    def sync(self, value: Any) -> Any:
        """Wait for JAX's asynchronous dispatch, so timings include the work."""
        if self.jax is not None:
            self.jax.block_until_ready(value)
        return value


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:  # noqa: BLE001
        return "unknown"


def _map(tree: Any, fn: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _map(v, fn) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(v, fn) for v in tree)
    return fn(tree)


def to_numpy(tree: Any) -> Any:
    """Any library's result (arrays, tensors, pytrees of them) as NumPy arrays."""
    if isinstance(tree, dict):
        return {k: to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [to_numpy(v) for v in tree]
    if hasattr(tree, "detach"):  # torch
        return tree.detach().cpu().numpy()
    return np.asarray(tree)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """``np.allclose`` over matching pytrees of arrays."""
    a, b = to_numpy(a), to_numpy(b)
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(allclose(a[k], b[k], rtol, atol) for k in a)
        )
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(allclose(x, y, rtol, atol) for x, y in zip(a, b))
        )
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))
