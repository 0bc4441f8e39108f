"""vmap: map a function over a leading (or chosen) axis of its arguments.

The batched call itself (``batch_call``, and ``map_basis`` for Jacobians'
basis chunks) is in ``_core/calls``; here are the pytree arguments and checks.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import optree

from .._core.batch import BatchTrace, BatchTracer
from .._core.calls import batch_call, move_axis
from . import _edge as E

__all__ = ["vmap"]


def _axes_for(in_axes: Any, args: tuple) -> list:
    """One axis (or None) per leaf of ``args``; ``in_axes`` is a prefix of ``args``."""
    if isinstance(in_axes, int) or in_axes is None:
        leaves, _ = E.flatten(args)
        return [in_axes] * len(leaves)
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not isinstance(in_axes, tuple) or len(in_axes) != len(args):
        raise ValueError(
            f"xpgrad.vmap: in_axes must be an int, None, or a tuple with one entry per "
            f"argument ({len(args)}), got {in_axes!r}"
        )
    out = []
    for ax, a in zip(in_axes, args):
        E.ensure_registered(a)
        full = optree.tree_broadcast_prefix(ax, a, none_is_leaf=True, namespace=E.NS)
        out.extend(optree.tree_leaves(full, none_is_leaf=True, namespace=E.NS))
    return out


def vmap(
    f: Callable, in_axes: Any = 0, out_axes: Any = 0, *, axis_size: int | None = None
) -> Callable:
    """Vectorise ``f`` over an axis of its arguments (like ``jax.vmap``).

    The mapped axes must all have the same length; ``f`` sees one slice of
    each mapped argument at a time, and the results are stacked along
    ``out_axes``. The batch runs as one call on whole arrays (no Python loop).

    Parameters
    ----------
    f : callable
        The function to map, written for one slice of the mapped arguments.
    in_axes : int, None or tuple, optional
        The axis of each argument to map over: an int for all arguments,
        ``None`` for an argument that is not mapped, or a tuple with one entry
        per argument (each a prefix pytree of that argument). Default 0.
    out_axes : int or pytree, optional
        Where the mapped axis goes in each output: an int, or a prefix of the
        output's structure. Default 0.
    axis_size : int, optional
        The length of the mapped axis, needed only when no argument is mapped.

    Returns
    -------
    callable
        The vectorised function, taking the same arguments as ``f``.

    Raises
    ------
    ValueError
        If ``in_axes`` does not match the arguments, or the mapped axes differ
        in length.

    See Also
    --------
    jacobian : Maps pullbacks or pushforwards with ``vmap`` over basis chunks.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> xpgrad.vmap(lambda row: np.sum(row * row))(np.arange(6.0).reshape(2, 3))
    array([ 5., 50.])

    Map over the columns of the first argument only:

    >>> xpgrad.vmap(lambda col, w: col @ w, in_axes=(1, None))(np.eye(2), np.array([3.0, 4.0]))
    array([3., 4.])
    """
    E.check_callable(f, "vmap")

    @functools.wraps(f)
    def batched(*args: Any) -> Any:
        leaves, treedef = E.flatten(args)
        axes = _axes_for(in_axes, args)
        if len(axes) != len(leaves):
            raise ValueError("xpgrad.vmap: in_axes does not match the arguments' structure")
        xp = E.common_xp(leaves)
        size = axis_size
        for x, ax in zip(leaves, axes):
            if ax is None:
                continue
            if not E.is_array(x):
                raise ValueError(
                    f"xpgrad.vmap: cannot map over axis {ax} of a {type(x).__name__}; "
                    f"give it in_axes=None"
                )
            n = x.shape[ax]
            if size is None:
                size = n
            elif n != size:
                raise ValueError(f"xpgrad.vmap: mapped axes have different sizes ({size} and {n})")
        if size is None:
            raise ValueError("xpgrad.vmap: no argument is mapped; pass axis_size=")

        def make(trace: BatchTrace) -> tuple:
            wrapped = [
                x if ax is None else BatchTracer(trace, move_axis(x, ax, 0))
                for x, ax in zip(leaves, axes)
            ]
            return E.unflatten(treedef, wrapped)

        return batch_call(f, make, xp, size, out_axes)

    return batched
