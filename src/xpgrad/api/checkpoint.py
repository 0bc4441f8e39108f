"""``checkpointed``: trade time for memory by recomputing a function's forward pass.

The primitive and its rules are in ``rules/checkpoint.py``; here is the
user-facing function.
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.calls import top_trace
from .._core.pytree import FlatFn
from ..rules.checkpoint import checkpoint_p
from . import _edge as E
from .params import unbox

__all__ = ["checkpointed"]


def checkpointed(f: Callable, *xs: Any) -> Any:
    """``f(*xs)``, recomputed in the backward pass instead of stored (gradient checkpointing).

    The result and the derivatives equal those of ``f(*xs)``; under reverse
    mode only ``xs`` are kept for the backward pass, where ``f``'s forward pass
    runs again to compute the cotangents. This saves the memory of ``f``'s
    intermediates at the cost of running ``f`` twice. ``f`` must be pure and
    take every differentiated value it uses as an argument (closures over
    differentiated values raise an error).

    ``f`` must also be deterministic (random numbers come from a key or state
    passed as an argument): recomputed outputs of another shape or dtype raise
    ``ValueError``, and so do other values on eager backends (compared by two
    sums per output, up to rounding). Lazy backends (Dask) compare shapes and
    dtypes only.

    Parameters
    ----------
    f : callable
        A pure, deterministic function of ``xs``.
    *xs : array, number or pytree
        Its arguments.

    Returns
    -------
    array, number or pytree
        ``f(*xs)``.

    Raises
    ------
    ValueError
        If the recomputation gives other outputs than the first run.

    See Also
    --------
    forwarddiff : Keep a small Jacobian instead of the intermediates.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> layer = lambda h, w: np.tanh(h @ w)
    >>> w = np.eye(2)
    >>> g1 = xpgrad.gradient(lambda w: np.sum(xpgrad.checkpointed(layer, np.ones(2), w)), w)
    >>> g2 = xpgrad.gradient(lambda w: np.sum(layer(np.ones(2), w)), w)
    >>> bool(np.allclose(g1[0], g2[0]))
    True
    """
    E.check_callable(f, "checkpointed")
    fn = FlatFn(f, xs)
    arrays = [unbox(a) for a in fn.arrays(xs)]
    owner = top_trace(arrays)
    if owner is None:
        return f(*xs)
    outs = checkpoint_p(*arrays, fn=fn, owner=owner)
    return fn.rebuild(outs)
