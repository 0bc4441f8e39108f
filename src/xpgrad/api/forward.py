"""``forwarddiff``: differentiate a piece of a reverse-mode program in forward mode.

The primitive and its rules are in ``rules/forwarddiff.py`` (the chunk loop
is ``jacobian(mode="forward")``'s); here is the user-facing function.
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.calls import top_trace
from .._core.pytree import FlatFn
from ..rules.forwarddiff import forwarddiff_p
from . import _edge as E
from .params import unbox

__all__ = ["forwarddiff", "DEFAULT_CHUNK_THRESHOLD"]

#: ForwardDiff.jl's default: at most this many basis tangents per pass.
DEFAULT_CHUNK_THRESHOLD = 12


def forwarddiff(f: Callable, x: Any, *, chunk_threshold: int = DEFAULT_CHUNK_THRESHOLD) -> Any:
    """``f(x)``, differentiated by forward mode instead of reverse mode.

    Under ``gradient`` (or any reverse-mode transformation) the Jacobian of
    ``f`` at ``x`` is computed in the forward pass by pushing at most
    ``chunk_threshold`` basis tangents through ``f`` at once, and kept instead
    of ``f``'s intermediates; the backward pass multiplies it by the
    cotangent. Time grows with ``x``'s size, memory with the Jacobian's, so it
    suits small ``x`` and long computations on it.

    Values that ``f`` closes over get no derivative through ``f`` (Zygote's
    rule); pass them through ``x`` instead.

    Parameters
    ----------
    f : callable
        A function of ``x`` alone.
    x : array, number or pytree
        The argument (a pytree: a tuple or list of numbers and arrays).
    chunk_threshold : int, optional
        The most basis tangents pushed through ``f`` in one batched pass.
        Default 12.

    Returns
    -------
    array, number or pytree
        ``f(x)``.

    See Also
    --------
    checkpointed : Recompute instead of storing.

    Examples
    --------
    >>> import xpgrad
    >>> xpgrad.gradient(lambda x: xpgrad.forwarddiff(lambda x: x * x, x), 5)
    (10,)
    >>> xpgrad.gradient(lambda a, b: xpgrad.forwarddiff(lambda a: a * b, a), 2, 3)
    (3, None)
    >>> xpgrad.gradient(lambda a, b: xpgrad.forwarddiff(lambda ab: ab[0] * ab[1], [a, b]), 2, 3)
    (3, 2)
    """
    E.check_callable(f, "forwarddiff")
    if type(chunk_threshold) is not int or chunk_threshold < 1:
        raise ValueError(
            f"xpgrad.forwarddiff: chunk_threshold must be a positive int (basis tangents "
            f"per forward pass), got {chunk_threshold!r}"
        )
    fn = FlatFn(f, (x,))
    arrays = [unbox(a) for a in fn.arrays((x,))]
    owner = top_trace(arrays)
    if owner is None:  # nothing to differentiate here
        return f(x)
    outs = forwarddiff_p(*arrays, fn=fn, chunk=chunk_threshold, owner=owner)
    return fn.rebuild(outs)
