"""Manipulation functions: reshapes and axis moves are linear, rules are transposes."""

from __future__ import annotations

from typing import Any

from ._axes import shift_axis
from ._registry import F, export, linear, unbroadcast


def _inverse_perm(axes: tuple) -> tuple:
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


# reshape ---------------------------------------------------------------------------
def _reshape_batch(args: list, batched: list, shape: tuple, copy: Any = None) -> tuple:
    x = args[0]
    return F.reshape(x, (x.shape[0],) + tuple(shape)), True


reshape = linear(
    "reshape",
    lambda ct, x, shape, copy=None: F.reshape(ct, x.shape),
    batch=_reshape_batch,
    samples=lambda make: [
        ((make((2, 3)),), {"shape": (3, 2)}),
        ((make((2, 3)),), {"shape": (-1,)}),
        ((make((6,)),), {"shape": (1, 2, 3)}),
    ],
)


# broadcast_to ----------------------------------------------------------------------
def _broadcast_to_batch(args: list, batched: list, shape: tuple) -> tuple:
    x = args[0]
    nd = x.ndim - 1
    if nd < len(shape):
        x = F.reshape(x, (x.shape[0],) + (1,) * (len(shape) - nd) + tuple(x.shape[1:]))
    return F.broadcast_to(x, (x.shape[0],) + tuple(shape)), True


broadcast_to = linear(
    "broadcast_to",
    lambda ct, x, shape: unbroadcast(ct, x),
    batch=_broadcast_to_batch,
    samples=lambda make: [
        ((make((3,)),), {"shape": (2, 3)}),
        ((make((2, 1)),), {"shape": (2, 4)}),
        ((make(()),), {"shape": (3,)}),
    ],
)


# permute_dims and matrix_transpose -------------------------------------------------
def _permute_batch(args: list, batched: list, axes: tuple) -> tuple:
    return F.permute_dims(args[0], (0,) + tuple(a % (args[0].ndim - 1) + 1 for a in axes)), True


permute_dims = linear(
    "permute_dims",
    lambda ct, x, axes: F.permute_dims(ct, _inverse_perm(tuple(a % len(x.shape) for a in axes))),
    batch=_permute_batch,
    samples=lambda make: [
        ((make((2, 3)),), {"axes": (1, 0)}),
        ((make((2, 3, 4)),), {"axes": (2, 0, 1)}),
    ],
)

matrix_transpose = linear(
    "matrix_transpose",
    lambda ct, x: F.matrix_transpose(ct),
    batch=lambda args, batched: (F.matrix_transpose(args[0]), True),
    samples=lambda make: [((make((2, 3)),), {}), ((make((4, 2, 3)),), {})],
)


# expand_dims and squeeze ------------------------------------------------------------
def _expand_batch(args: list, batched: list, axis: Any = 0) -> tuple:
    return F.expand_dims(args[0], axis=shift_axis(axis)), True


expand_dims = linear(
    "expand_dims",
    lambda ct, x, axis=0: F.reshape(ct, x.shape),
    batch=_expand_batch,
    samples=lambda make: [((make((2, 3)),), {"axis": 1}), ((make((3,)),), {"axis": -1})],
)


def _squeeze_batch(args: list, batched: list, axis: Any) -> tuple:
    return F.squeeze(args[0], axis=shift_axis(axis)), True


squeeze = linear(
    "squeeze",
    lambda ct, x, axis: F.reshape(ct, x.shape),
    batch=_squeeze_batch,
    samples=lambda make: [((make((2, 1, 3)),), {"axis": 1}), ((make((1, 3, 1)),), {"axis": (0, 2)})],
)


# The namespace's signatures take these parameters positionally; primitives take
# every non-array parameter by keyword, so the exported functions translate.
def _reshape(x: Any, /, shape: Any, *, copy: Any = None) -> Any:
    return reshape(x, shape=tuple(shape), copy=copy)


def _broadcast_to(x: Any, /, shape: Any) -> Any:
    return broadcast_to(x, shape=tuple(shape))


def _permute_dims(x: Any, /, axes: Any) -> Any:
    return permute_dims(x, axes=tuple(axes))


def _squeeze(x: Any, /, axis: Any) -> Any:
    return squeeze(x, axis=axis)


def _expand_dims(x: Any, /, axis: Any = 0) -> Any:
    return expand_dims(x, axis=axis)


for _name, _fn in (("reshape", _reshape), ("broadcast_to", _broadcast_to),
                   ("permute_dims", _permute_dims), ("squeeze", _squeeze),
                   ("expand_dims", _expand_dims)):
    export(_name, _fn)
