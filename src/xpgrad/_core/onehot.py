"""One-hot batches: a Jacobian's basis chunk, kept symbolic while it can be.

A reverse Jacobian maps the pullback over rows of the identity, a forward one
maps the pushforward over its columns. Materialised, the first matrix product
such a batch meets (the pullback of ``A @ x``, the pushforward of ``A @ x``)
multiplies by ``k`` rows of the identity: ``O(k n m)`` work to copy ``k``
columns of ``A``. Kept as what it is, "row ``r`` is ``d[r]`` at position
``start + r`` and zero elsewhere", a product with an unbatched array scales
``d``, a matrix product gathers ``k`` columns or rows (``O(k m)``), and adding
or removing axes of length 1 changes only the shape. Any other function gets
the dense batch (``dense()``): the same array the basis was before. Each of
the few primitives that keep the structure declares which helper below is its
rule, beside its other rules (``defrule(p, onehot=onehot.scale)``).

The values are exactly the dense path's: a gathered column equals the matrix
product with a row of the identity, whose other terms are zeros. Where the
other operand holds an infinity or a NaN (or, for a division, a zero), the
dense product spreads NaN from ``0 * inf`` (``0 / 0``) into the off-position
entries, which a gather would not: such operands get the dense batch too
(``_spreads``), so both paths give the same numbers. A batch is one-hot only on
eager backends and for 1-D arguments (see ``jacobian``); everything here is
Array API calls through ``F``.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any

from .arrays import per_dtype, size_of
from .tables import F
from .trace import Tracer

__all__ = [
    "OneHot",
    "apply",
    "scale",
    "scale_divide",
    "negative",
    "positive",
    "expand_dims",
    "squeeze",
    "reshape",
    "matmul",
    "WITNESSES",
    "witness",
]

_NUMBERS = (bool, int, float, complex)


class OneHot:
    """``k`` batched values of per-example shape ``shape1``: row ``r`` is ``d[r]``
    (1 where ``d`` is None) at flat position ``start + r``, zero elsewhere.

    ``shape1`` has ``n`` along one axis and 1 along the others, so the flat
    position is the position along that axis.
    """

    __slots__ = ("xp", "k", "n", "start", "d", "shape1", "dtype", "device", "memo", "seq")

    def __init__(
        self,
        xp: Any,
        k: int,
        n: int,
        start: int,
        d: Any,
        shape1: tuple,
        dtype: Any,
        device: Any,
        memo: dict | None = None,
        seq: list | None = None,
    ):
        self.xp = xp
        self.k = k
        self.n = n
        self.start = start
        self.d = d
        self.shape1 = shape1
        self.dtype = dtype
        self.device = device
        #: what ``_spreads`` found, by position of the check in a chunk, shared by the
        #: chunks of one Jacobian (see ``_spreads``)
        self.memo = {} if memo is None else memo
        #: the number of checks made so far in this chunk: one counter per chunk
        #: (``basis`` makes a new batch per chunk; ``_like`` shares its counter)
        self.seq = [0] if seq is None else seq

    @property
    def shape(self) -> tuple:
        return (self.k,) + self.shape1

    @property
    def ndim(self) -> int:
        return 1 + len(self.shape1)

    def _like(self, d: Any = None, shape1: tuple | None = None) -> OneHot:
        return OneHot(
            self.xp,
            self.k,
            self.n,
            self.start,
            self.d if d is None else d,
            self.shape1 if shape1 is None else shape1,
            self.dtype if d is None else d.dtype,
            self.device,
            self.memo,
            self.seq,
        )

    def _device_kw(self) -> dict:
        return {} if self.device is None else {"device": self.device}

    def values(self) -> Any:
        """``d``, materialised (ones where it is None)."""
        if self.d is not None:
            return self.d
        return self.xp.ones((self.k,), dtype=self.dtype, **self._device_kw())

    def dense(self) -> Any:
        e = self.xp.eye(self.k, self.n, k=self.start, dtype=self.dtype, **self._device_kw())
        if self.d is not None:
            e = F.multiply(e, F.reshape(self.d, (self.k, 1)))
        return F.reshape(e, self.shape)


def _as_vector(u: Any, oh: OneHot) -> Any:
    """``u``'s values at the batch's positions (``k`` of them), or a scalar; None when
    ``u`` would broadcast the per-example shape beyond ``shape1``."""
    if type(u) in _NUMBERS:
        return u
    if not hasattr(u, "shape"):
        return None  # not an array: the dense path gives the backend's answer
    us = tuple(u.shape)
    s1 = oh.shape1
    if len(us) > len(s1):
        return None
    tail = s1[len(s1) - len(us) :]
    if any(a != 1 and a != b for a, b in zip(us, tail)):
        return None
    if math.prod(us) == 1:
        return F.reshape(u, ())
    return F.reshape(u, (oh.n,))[oh.start : oh.start + oh.k]


def scale(vals: list, batched: list, params: dict, divide: bool = False) -> Any:
    if len(vals) != 2 or batched[0] == batched[1]:
        return None
    i = 0 if batched[0] else 1
    oh, u = vals[i], vals[1 - i]
    if type(oh) is not OneHot or (divide and i != 0):
        return None
    v = _as_vector(u, oh)
    if v is None or _spreads(u, oh, divide):
        return None
    if divide:
        return oh._like(d=F.divide(oh.values(), v))
    if (
        oh.d is None
        and type(v) not in _NUMBERS
        and tuple(v.shape) == (oh.k,)
        and v.dtype == oh.dtype
        and not _complex(oh.xp, v.dtype)
    ):
        # ``1 * v`` is ``v``: the slice is the values, with no ones made (the batch's
        # values are only ever multiplied into a result, never handed out). Not for
        # complex: ``(1 + 0j) * v`` can turn a -0.0 part into 0.0, as the dense path does
        return oh._like(d=v)
    return oh._like(d=F.multiply(oh.values(), v))


def _spreads(u: Any, oh: OneHot, divide: bool = False) -> bool:
    """``_spreads_now``, made once per Jacobian for each check a chunk makes.

    The chunks of one Jacobian run the same function on the same primal
    values; only the basis differs, and no unbatched operand (the only kind
    checked) depends on the basis. So the ``j``-th check of every chunk sees
    the same values as the ``j``-th check of the first: its answer is kept by
    position, which also covers operands computed afresh in every chunk
    (``cos(x)`` in a forward pass, ``1 - y**2`` in a pullback), not only the
    constants. A check whose operand's shape or dtype differs from the kept
    one's is made again.
    """
    if type(u) in _NUMBERS:
        return _spreads_now(u, oh, divide)
    seq = oh.seq
    j = seq[0]
    seq[0] = j + 1
    sig = (getattr(u, "shape", None), getattr(u, "dtype", None), divide)
    memo = oh.memo
    hit = memo.get(j)
    if hit is not None and hit[0] == sig:
        return hit[1]
    res = _spreads_now(u, oh, divide)
    memo[j] = (sig, res)
    return res


#: Vectors of ones for the matrix check, by (namespace, length, dtype, device): made
#: once, never written, so a check is two matrix-vector products and no allocation.
_ONES: dict = {}


def _ones(xp: Any, n: int, dtype: Any, oh: OneHot) -> Any:
    key = (id(xp), n, type(dtype), dtype, oh.device)
    try:
        return _ONES[key]
    except KeyError:
        pass
    except TypeError:  # (an unhashable dtype or device: made each time)
        return xp.ones(n, dtype=dtype, **oh._device_kw())
    if len(_ONES) >= 64:
        _ONES.clear()
    o = _ONES[key] = xp.ones(n, dtype=dtype, **oh._device_kw())
    return o


def _spreads_now(u: Any, oh: OneHot, divide: bool) -> bool:
    """Whether the dense product with ``u`` would put NaN where the one-hot one has
    zeros: ``0 * inf``, ``0 * nan`` (and for a division ``0 / 0``, ``0 / nan``).

    One reduction over the backend value of ``u``. A staged ``u`` (under
    ``jit``) is judged by the staging call's value, so the program keeps the path
    chosen for the data it was staged with. Any other traced ``u`` (a nested
    derivative, as in ``hessian``) takes the dense path: measured faster there
    (W6 at n = 400: 2.2 ms dense, 8.3 ms one-hot), and no value is read.
    """
    if type(u) in _NUMBERS:
        z = complex(u)
        return not (math.isfinite(z.real) and math.isfinite(z.imag)) or (divide and z == 0)
    if isinstance(u, Tracer):
        if not u._staged:
            return True
        u = u._value
    xp = oh.xp
    if divide:  # 0 / inf is 0, like the gather: only NaN and zero spread
        return bool(xp.any(xp.logical_or(xp.isnan(u), u == 0)))
    if not _inexact(xp, u.dtype):
        return False  # integers and booleans are finite by construction
    if _proved(xp, u):
        return False
    # one reduction: an infinity or NaN makes the result non-finite (so does an
    # overflow of finite values, which only sends this operand down the dense path)
    shape = u.shape
    if len(shape) == 1:  # sum of |u|^2 (vecdot conjugates its first argument)
        r = xp.vecdot(u, u)
    elif len(shape) == 2:  # two matrix-vector products (BLAS): faster than a sum
        r = _ones(xp, shape[0], u.dtype, oh) @ u @ _ones(xp, shape[1], u.dtype, oh)
    else:
        r = xp.sum(u)
    z = complex(r)
    return not (math.isfinite(z.real) and math.isfinite(z.imag))


#: While ``jacobian`` runs (reverse mode), a table of the matrix operands whose
#: finiteness the forward pass can prove: ``id(a) -> (a, out, other)`` where
#: ``out`` is the product of ``a`` (or its transpose) with ``other``. None outside.
WITNESSES: ContextVar[dict | None] = ContextVar("xpgrad_onehot_witnesses", default=None)

#: An operand is read directly below this many elements, or below 8 times what
#: the proof reads: there the proof's few calls cost as much as the read
#: (NumPy, measured: 200 x 200 reads in 5.1 us, proves in 2.9; 8 x 2000 reads
#: in 3.2, proves in 4.1).
_PROOF_MIN = 16384


def witness(table: dict, a: Any, out: Any, other: Any) -> None:
    """Note that ``out`` is a matrix product of ``a`` (or of ``a``'s transpose) with
    ``other``, so that the check of ``a`` may read ``out`` and ``other`` instead.

    ``table`` is ``WITNESSES.get()``, taken by the rule while recording; the
    entry keeps ``a`` alive, so its ``id`` cannot be reused while it is there.
    """
    if not isinstance(a, Tracer):
        table[id(a)] = (a, out, other)


def _proved(xp: Any, u: Any) -> bool:
    """Whether ``u`` is finite, proved from a product it took part in (``witness``).

    Every entry of ``u`` multiplies some entry of ``other`` into some entry of
    ``out``. If ``other`` is finite and nowhere zero (so that no backend can skip
    the term, as BLAS may for a zero factor), an infinity or NaN in ``u`` makes
    that entry of ``out`` non-finite. So a finite, non-empty ``out`` proves ``u``
    finite, reading ``out`` and ``other`` instead of ``u``: for ``A @ x`` with
    ``A`` of 400 x 400, 800 elements instead of 160,000.

    One expression: ``other + 1 / other`` is non-finite exactly where ``other``
    is zero, infinite or NaN (or so small that ``1 / other`` overflows: then the
    proof fails and ``u`` is read), and a dot product of a vector with itself is
    non-finite if any of its terms is (or if it overflows: the same). False
    when there is no witness: the caller reads ``u``.
    """
    table = WITNESSES.get()
    if table is None:
        return False
    size = size_of(tuple(u.shape))
    if size < _PROOF_MIN:
        return False
    e = table.get(id(u))
    if e is None or e[0] is not u:
        return False
    _, out, other = e
    if isinstance(out, Tracer) or isinstance(other, Tracer) or not _inexact(xp, other.dtype):
        return False
    reads = size_of(tuple(out.shape))
    if reads == 0 or 8 * (reads + size_of(tuple(other.shape))) > size:
        return False
    o = out if len(out.shape) == 1 else xp.reshape(out, (-1,))
    t = other if len(other.shape) == 1 else xp.reshape(other, (-1,))
    t = t + 1 / t
    z = complex(t @ t + o @ o)
    return math.isfinite(z.real) and math.isfinite(z.imag)


@per_dtype
def _inexact(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is floating (real or complex)."""
    return bool(xp.isdtype(dtype, ("real floating", "complex floating")))


@per_dtype
def _complex(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is complex floating."""
    return bool(xp.isdtype(dtype, "complex floating"))


def negative(vals: list, batched: list, params: dict) -> Any:
    return vals[0]._like(d=F.negative(vals[0].values()))


def positive(vals: list, batched: list, params: dict) -> Any:
    return vals[0]


def _unit_axes(oh: OneHot, shape1: tuple) -> Any:
    """``oh`` with per-example shape ``shape1``, if that only moves axes of length 1."""
    if sum(1 for s in shape1 if s != 1) != 1 or oh.n not in shape1:
        return None
    return oh._like(shape1=tuple(shape1))


def expand_dims(vals: list, batched: list, params: dict) -> Any:
    oh = vals[0]
    axis = params.get("axis", 0)
    nd = len(oh.shape1) + 1
    if type(axis) is not int or not -nd <= axis < nd:
        return None
    a = axis % nd
    return _unit_axes(oh, oh.shape1[:a] + (1,) + oh.shape1[a:])


def squeeze(vals: list, batched: list, params: dict) -> Any:
    oh = vals[0]
    axis = params.get("axis")
    nd = len(oh.shape1)
    axes = (axis,) if type(axis) is int else axis
    if type(axes) is not tuple or not all(type(a) is int and -nd <= a < nd for a in axes):
        return None
    drop = {a % nd for a in axes}
    if any(oh.shape1[a] != 1 for a in drop):
        return None  # the dense path raises the standard's error
    return _unit_axes(oh, tuple(s for j, s in enumerate(oh.shape1) if j not in drop))


def reshape(vals: list, batched: list, params: dict) -> Any:
    shape = params.get("shape")
    if type(shape) is not tuple or not all(type(s) is int and s >= 1 for s in shape):
        return None
    return _unit_axes(vals[0], shape)


def matmul(vals: list, batched: list, params: dict) -> Any:
    """``M @ v`` or ``v @ M`` for one-hot vectors ``v`` and an unbatched matrix ``M``."""

    if batched[0] == batched[1]:
        return None
    oh, m = (vals[0], vals[1]) if batched[0] else (vals[1], vals[0])
    if type(oh) is not OneHot or not hasattr(m, "shape") or len(m.shape) != 2:
        return None
    if _spreads(m, oh):
        return None
    n, k, lo = oh.n, oh.k, oh.start
    if batched[1] and m.shape[1] == n and oh.shape1 in ((n,), (n, 1)):
        # M @ e_j is column j of M: rows of the result are columns start.. of M
        out = F.permute_dims(m[:, lo : lo + k], (1, 0))
        tail: tuple = oh.shape1[1:]
    elif batched[0] and m.shape[0] == n and oh.shape1 in ((n,), (1, n)):
        out = m[lo : lo + k, :]  # e_j @ M is row j of M
        tail = ()
    else:
        return None
    # always a product, even by ones: the slice is a view of ``m``, often a constant
    # the function closed over, and a Jacobian must own its memory (``J[0, 0] = v``
    # must not change ``m``); the product is the copy (staged too, under jit)
    out = F.multiply(out, F.reshape(oh.values(), (k, 1)))
    if batched[0] and oh.shape1 == (1, n):
        return F.reshape(out, (k, 1, out.shape[1]))
    return F.reshape(out, (k, out.shape[1]) + tail) if tail else out


def scale_divide(vals: list, batched: list, params: dict) -> Any:
    """``divide``: a one-hot numerator over an unbatched denominator."""
    return scale(vals, batched, params, divide=True)


def apply(prim: Any, vals: list, batched: list, params: dict) -> Any:
    """The batched result of ``prim`` kept one-hot or computed from the structure, or
    None: then the caller densifies and runs the batch rule.

    The rule is the primitive's own field (``defrule(p, onehot=...)``, declared
    beside the primitive with the helpers above): an attribute read, no lookup.
    """
    rule = prim.onehot
    return None if rule is None else rule(vals, batched, params)
