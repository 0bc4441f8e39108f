"""Sparsity-pattern rules: which input elements each output element depends on.

A pattern rule is ``rule(tr, primals, pats, out, **params) -> Pattern`` (a list
for a multiple-result primitive), where ``tr`` is the running
``SparsityTrace`` (its algebra: ``gather``, ``pull``, ``remap``, ``union``,
``dense``, ``keep_rows``; ``ids`` and ``const`` build index arrays),
``pats[i]`` is the pattern of argument ``i`` or None when that argument does
not depend on the input, and ``out`` is the primitive's result. Rules must be
global and conservative (see ``xpgrad._core.sparsity``): the conformance suite
checks each one against the nonzeros of the dense Jacobian.

The helpers state the structure, as ``unary``/``linear`` state the math:

- ``elementwise``: output element ``e`` reads element ``e`` of each
  (broadcast) argument; ``multiply`` and ``where`` also drop the elements that
  a constant zero factor or a constant condition rules out.
- ``movement(p)``: data movement (reshape, indexing, concat, ...): the
  primitive itself is applied to arrays of element numbers, which tells where
  each output element comes from. One rule for every such primitive.
- ``reduction``, ``along_axes``, ``cumulative``: reductions, whole-line
  functions (sort, FFTs), prefix scans.
- ``dense``: the declared fallback, every output element on every input one.
- contractions and linear algebra live in ``patterns_linalg``.

Each primitive declares its rule where it is defined (``defrule(p,
pattern=...)``; ``unary`` and ``binary`` declare ``elementwise``), so this
module holds the helpers only and imports no registry. A differentiable
primitive that declares none is taken to make every output element depend on
every input element its arguments depend on, and ``sparse_jacobian`` reports
it (a registry test requires every built-in one to declare a rule, ``dense``
included).
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.arrays import size_of
from .._core.sparsity import Pattern

__all__ = [
    "elementwise",
    "multiply",
    "where",
    "movement",
    "reduction",
    "along_axes",
    "sort",
    "fft",
    "cumulative",
    "broadcast",
    "reduce_to",
    "product",
    "identity",
    "inline",
    "dense",
]


def shape_of(a: Any) -> tuple:
    return tuple(getattr(a, "shape", ()))


def is_array(a: Any) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype")


def norm_axes(axis: Any, nd: int) -> tuple:
    if axis is None:
        return tuple(range(nd))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % nd for a in axis)) if nd else ()


def broadcast(tr: Any, q: Pattern | None, shape: tuple, out_shape: tuple) -> Pattern | None:
    """``q`` of a value of ``shape``, broadcast to ``out_shape``."""
    if q is None or tuple(shape) == tuple(out_shape):
        return q
    xp = tr.xp
    src = xp.reshape(xp.broadcast_to(tr.ids(shape), tuple(out_shape)), (-1,))
    return tr.gather(q, src)


def reduce_to(tr: Any, q: Pattern, shape: tuple, axes: tuple) -> Pattern:
    """``q`` reduced over ``axes`` (the result laid out with those axes kept as 1)."""
    kshape = tuple(1 if i in axes else s for i, s in enumerate(shape))
    if kshape == tuple(shape):
        return q
    xp = tr.xp
    dest = xp.reshape(xp.broadcast_to(tr.ids(kshape), tuple(shape)), (-1,))
    return tr.remap(q, dest, size_of(kshape))


def _mask(tr: Any, c: Any, out_shape: tuple, nonzero: bool = True) -> Any:
    """Flat boolean mask of a constant broadcast to ``out_shape`` (None if unknowable)."""
    c = tr.host_value(c)
    if c is None:
        return None
    xp = tr.xp
    m = (c != 0) if nonzero else c
    return xp.reshape(xp.broadcast_to(m, tuple(out_shape)), (-1,))


# -- elementwise --------------------------------------------------------------------------


def elementwise(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Pattern:
    """Output element ``e`` depends on element ``e`` of every (broadcast) argument."""
    oshape = shape_of(out)
    parts = [broadcast(tr, q, shape_of(a), oshape) for a, q in zip(primals, pats)]
    return tr.union(parts, size_of(oshape))


def product(tr: Any, primals: list, pats: list, shapes: list, oshape: tuple) -> Pattern:
    """A product broadcast to ``oshape``: a constant zero factor kills the element."""
    parts = [broadcast(tr, q, s, oshape) for q, s in zip(pats, shapes)]
    res = tr.union(parts, size_of(oshape))
    for a, q, s in zip(primals, pats, shapes):
        if q is None and is_array(a) and res.nnz:
            c = tr.host_value(a)
            if c is not None:
                xp = tr.xp
                m = xp.reshape(xp.broadcast_to(xp.reshape(c != 0, s), oshape), (-1,))
                res = tr.keep_rows(res, m)
    return res


def multiply(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    """``multiply``: elementwise, less the elements a constant zero factor kills."""
    return product(tr, primals, pats, [shape_of(a) for a in primals], shape_of(out))


def where(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    """``where``: a constant condition picks one side per element."""
    oshape = shape_of(out)
    cond, cq = primals[0], pats[0]
    cmask = _mask(tr, cond, oshape, nonzero=False) if cq is None and is_array(cond) else None
    parts = []
    for i in (1, 2):
        p = broadcast(tr, pats[i], shape_of(primals[i]), oshape)
        if p is not None and cmask is not None:  # a constant condition picks one side
            p = tr.keep_rows(p, cmask if i == 1 else ~cmask)
        parts.append(p)
    return tr.union(parts, size_of(oshape))


# -- data movement ------------------------------------------------------------------------


def movement(prim: Any, data: Any = (0,), float_ids: bool = False) -> Callable:
    """The rule of a primitive that only moves, copies or zero-fills elements.

    The primitive is applied to arrays of element numbers (from 1; 0 marks a
    filled-in zero) in place of its ``data`` arguments (positions, or "all"
    arrays); each output element's number says which input element it is.
    The other array arguments (indices) are used as they are when they do not
    depend on the input; otherwise every output element may be any input one.
    """

    def rule(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
        xp = tr.xp
        args, parts, start = [], [], 1
        dtype = xp.float64 if float_ids else None
        for i, (a, q) in enumerate(zip(primals, pats)):
            is_data = is_array(a) and (data == "all" or i in data)
            if is_data:
                shape = shape_of(a)
                args.append(tr.ids(shape, start, dtype))
                if q is not None and q.nnz:
                    parts.append(q.keys + (start - 1) * tr.n)
                start += size_of(shape)
            elif q is not None:
                return _dense(tr, pats, out, prim)  # indices that depend on the input
            elif is_array(a):
                c = tr.host_value(a)
                if c is None:  # a value of an enclosing transformation
                    return _dense(tr, pats, out, prim)
                args.append(c)
            else:
                args.append(a)
        res = prim.impl(*args, **params)
        stacked = Pattern(xp.concat(parts) if parts else xp.zeros((0,), dtype=tr.i64), start - 1)
        outs = res if prim.multiple_results else (res,)
        pats_out = []
        for o in outs:
            src = xp.reshape(o, (-1,))
            if float_ids:
                src = xp.astype(src, tr.i64)
            pats_out.append(tr.gather(stacked, src - 1))
        return pats_out if prim.multiple_results else pats_out[0]

    rule.__qualname__ = f"{prim.name}_pattern"
    return rule


def _dense(tr: Any, pats: list, out: Any, prim: Any) -> Any:
    if prim.multiple_results:
        return [tr.dense(pats, size_of(shape_of(o))) for o in out]
    return tr.dense(pats, size_of(shape_of(out)))


def dense(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
    """Every output element depends on every input element of every argument.

    The explicit fallback, for a primitive whose structure is not worth a rule
    (declare it with the reason beside the primitive): always correct, never tight.
    """
    if isinstance(out, tuple):
        return [tr.dense(pats, size_of(shape_of(o))) for o in out]
    return tr.dense(pats, size_of(shape_of(out)))


# -- reductions, whole lines, scans --------------------------------------------------------


def reduction(
    tr: Any,
    primals: list,
    pats: list,
    out: Any,
    *,
    axis: Any = None,
    keepdims: bool = False,
    **params: Any,
) -> Pattern:
    """Each output element depends on the input elements it reduces."""
    shape = shape_of(primals[0])
    return reduce_to(tr, pats[0], shape, norm_axes(axis, len(shape)))


def along_axes(tr: Any, q: Pattern, shape: tuple, oshape: tuple, axes: tuple) -> Pattern:
    """Each output element depends on the whole input along ``axes`` (lengths may change)."""
    r = reduce_to(tr, q, shape, axes)
    kshape = tuple(1 if i in axes else s for i, s in enumerate(shape))
    xp = tr.xp
    src = xp.reshape(xp.broadcast_to(tr.ids(kshape), tuple(oshape)), (-1,))
    return tr.gather(r, src)


def sort(tr: Any, primals: list, pats: list, out: Any, *, axis: int = -1, **params: Any) -> Pattern:
    """Each output element depends on the whole line along ``axis``."""
    shape = shape_of(primals[0])
    return along_axes(tr, pats[0], shape, shape, norm_axes(axis, len(shape)))


def _fft_axes(params: dict, nd: int, one_axis: bool) -> tuple:
    if one_axis:
        return norm_axes(params.get("axis", -1), nd)
    axes, s = params.get("axes"), params.get("s")
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    return norm_axes(axes, nd)


def fft(one_axis: bool) -> Callable:
    """The rule of an FFT over one ``axis`` (``one_axis``) or over ``axes``/``s``."""

    def fft_pattern(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Pattern:
        shape = shape_of(primals[0])
        axes = _fft_axes(params, len(shape), one_axis)
        return along_axes(tr, pats[0], shape, shape_of(out), axes)

    return fft_pattern


def cumulative(
    tr: Any,
    primals: list,
    pats: list,
    out: Any,
    *,
    axis: Any = None,
    include_initial: bool = False,
    **params: Any,
) -> Pattern:
    """Output ``k`` along the axis depends on inputs ``0..k`` (``0..k-1`` with an initial 0)."""
    xp, i64 = tr.xp, tr.i64
    shape = shape_of(primals[0])
    a = 0 if axis is None else axis % len(shape)
    length, post = shape[a], size_of(shape[a + 1 :])
    lout = length + (1 if include_initial else 0)
    m = size_of(shape_of(out))
    e = xp.arange(m, dtype=i64)
    pos = (e // post) % lout
    base = (e // (post * lout)) * (length * post) + e % post
    cnt = pos if include_initial else pos + 1
    total = int(xp.sum(cnt)) if m else 0
    tr._check(total, "a cumulative sum or product")
    d = xp.repeat(e, cnt)
    k = xp.arange(total, dtype=i64) - xp.take(xp.cumulative_sum(cnt) - cnt, d)
    s = xp.take(base, d) + k * post
    return tr.pull(pats[0], s, d, m)


# -- functions as primitives ---------------------------------------------------------------


def identity(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
    """Outputs are the arguments, unchanged (``hook``, ``eager_update``)."""
    if isinstance(out, tuple):
        return [q if q is not None else tr.empty(size_of(shape_of(o))) for q, o in zip(pats, out)]
    return pats[0]


def inline(tr: Any, primals: list, pats: list, out: Any, *, fn: Callable, **params: Any) -> Any:
    """Run the primitive's function ``fn`` on traced arguments (``checkpointed``).

    Constant array arguments are traced too, with the empty pattern: a strict
    backend refuses ``raw_array @ tracer``.
    """
    args = [
        tr.lift(p, q if q is not None or not is_array(p) else tr.empty(size_of(shape_of(p))))
        for p, q in zip(primals, pats)
    ]
    res = fn(*args)
    return [tr.pattern_of(r) for r in res]
