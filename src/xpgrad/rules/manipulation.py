"""Manipulation functions: reshapes and axis moves are linear, rules are transposes.

They only move elements, so each one's sparsity rule is ``patterns.movement`` of
itself; the ones that add or remove axes of length 1 keep a one-hot basis one-hot.
"""

from __future__ import annotations

from typing import Any

from ._axes import shift_axis
from ._registry import F, defrule, export, linear, onehot, patterns, unbroadcast, xp_of


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
defrule(reshape, pattern=patterns.movement(reshape), onehot=onehot.reshape)


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
defrule(broadcast_to, pattern=patterns.movement(broadcast_to))


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
defrule(permute_dims, pattern=patterns.movement(permute_dims))

matrix_transpose = linear(
    "matrix_transpose",
    lambda ct, x: F.matrix_transpose(ct),
    batch=lambda args, batched: (F.matrix_transpose(args[0]), True),
    samples=lambda make: [((make((2, 3)),), {}), ((make((4, 2, 3)),), {})],
)
defrule(matrix_transpose, pattern=patterns.movement(matrix_transpose))


# expand_dims and squeeze ------------------------------------------------------------
def _expand_batch(args: list, batched: list, axis: Any = 0) -> tuple:
    return F.expand_dims(args[0], axis=shift_axis(axis)), True


expand_dims = linear(
    "expand_dims",
    lambda ct, x, axis=0: F.reshape(ct, x.shape),
    batch=_expand_batch,
    samples=lambda make: [((make((2, 3)),), {"axis": 1}), ((make((3,)),), {"axis": -1})],
)
defrule(expand_dims, pattern=patterns.movement(expand_dims), onehot=onehot.expand_dims)


def _squeeze_batch(args: list, batched: list, axis: Any) -> tuple:
    return F.squeeze(args[0], axis=shift_axis(axis)), True


squeeze = linear(
    "squeeze",
    lambda ct, x, axis: F.reshape(ct, x.shape),
    batch=_squeeze_batch,
    samples=lambda make: [
        ((make((2, 1, 3)),), {"axis": 1}),
        ((make((1, 3, 1)),), {"axis": (0, 2)}),
    ],
)
defrule(squeeze, pattern=patterns.movement(squeeze), onehot=onehot.squeeze)


# flip, roll, moveaxis ----------------------------------------------------------------
flip = linear(
    "flip",
    lambda ct, x, axis=None: F.flip(ct, axis=axis),
    batch=lambda args, batched, axis=None: (
        F.flip(args[0], axis=shift_axis(axis, args[0].ndim - 1)),
        True,
    ),
    samples=lambda make: [
        ((make((4,)),), {}),
        ((make((2, 3)),), {"axis": 1}),
        ((make((2, 3, 2)),), {"axis": (0, -1)}),
    ],
)
defrule(flip, pattern=patterns.movement(flip))


def _negate(shift: Any) -> Any:
    return tuple(-s for s in shift) if isinstance(shift, (tuple, list)) else -shift


def _roll_batch(args: list, batched: list, shift: Any, axis: Any = None) -> tuple:
    x = args[0]
    if axis is None:  # roll the flattened logical array, one row per batch element
        flat = F.reshape(x, (x.shape[0], -1))
        return F.reshape(roll_p(flat, shift=shift, axis=1), tuple(x.shape)), True
    return roll_p(x, shift=shift, axis=shift_axis(axis)), True


roll_p: Any = linear(
    "roll",
    lambda ct, x, shift, axis=None: roll_p(ct, shift=_negate(shift), axis=axis),
    batch=_roll_batch,
    samples=lambda make: [
        ((make((5,)),), {"shift": 2}),
        ((make((2, 3)),), {"shift": -1}),
        ((make((2, 3)),), {"shift": 1, "axis": 1}),
        ((make((2, 3, 2)),), {"shift": (1, 2), "axis": (0, -1)}),
    ],
)
defrule(roll_p, pattern=patterns.movement(roll_p))


def _moveaxis_batch(args: list, batched: list, source: Any, destination: Any) -> tuple:
    return moveaxis_p(args[0], source=shift_axis(source), destination=shift_axis(destination)), True


moveaxis_p: Any = linear(
    "moveaxis",
    lambda ct, x, source, destination: moveaxis_p(ct, source=destination, destination=source),
    impl=lambda x, source, destination: xp_of(x).moveaxis(x, source, destination),
    batch=_moveaxis_batch,
    samples=lambda make: [
        ((make((2, 3)),), {"source": 0, "destination": 1}),
        ((make((2, 3, 4)),), {"source": -1, "destination": 0}),
        ((make((2, 3, 4)),), {"source": (0, 1), "destination": (2, 0)}),
    ],
)
defrule(moveaxis_p, pattern=patterns.movement(moveaxis_p))


# The namespace's signatures take these parameters positionally; primitives take
# every non-array parameter by keyword, so the exported functions translate.
def _reshape(x: Any, /, shape: tuple, *, copy: bool | None = None) -> Any:
    return reshape(x, shape=tuple(shape), copy=copy)


def _broadcast_to(x: Any, /, shape: tuple) -> Any:
    return broadcast_to(x, shape=tuple(shape))


def _permute_dims(x: Any, /, axes: tuple) -> Any:
    return permute_dims(x, axes=tuple(axes))


def _matrix_transpose(x: Any, /) -> Any:
    return matrix_transpose(x)


def _squeeze(x: Any, /, axis: int | tuple) -> Any:
    return squeeze(x, axis=axis)


def _expand_dims(x: Any, /, axis: int = 0) -> Any:
    return expand_dims(x, axis=axis)


def _flip(x: Any, /, *, axis: int | tuple | None = None) -> Any:
    return flip(x, axis=axis)


def _roll(x: Any, /, shift: int | tuple, *, axis: int | tuple | None = None) -> Any:
    return roll_p(x, shift=shift, axis=axis)


def _moveaxis(x: Any, source: int | tuple, destination: int | tuple, /) -> Any:
    return moveaxis_p(x, source=source, destination=destination)


for _name, _fn in (
    ("reshape", _reshape),
    ("broadcast_to", _broadcast_to),
    ("permute_dims", _permute_dims),
    ("matrix_transpose", _matrix_transpose),
    ("squeeze", _squeeze),
    ("expand_dims", _expand_dims),
    ("flip", _flip),
    ("roll", _roll),
    ("moveaxis", _moveaxis),
):
    export(_name, _fn)

from ._registry import complex_ok  # noqa: E402

# Defined on complex inputs by the standard: conformance checks them on complex128 too.
complex_ok(
    "reshape",
    "broadcast_to",
    "permute_dims",
    "matrix_transpose",
    "expand_dims",
    "squeeze",
    "flip",
    "roll",
    "moveaxis",
)
