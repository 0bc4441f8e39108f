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
- ``matmul``/``tensordot``/``vecdot``: contractions, exact for constant
  operands with zeros (a sparse matrix stored densely).
- ``core``: the stacked linear algebra functions: each matrix of the stack
  depends on the matching matrix of each argument.

A differentiable primitive without a rule is taken to make every output
element depend on every input element its arguments depend on.
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.sparsity import Pattern
from ._registry import PRIMITIVES, defrule

__all__ = ["elementwise", "movement", "reduction", "along_axes", "cumulative",
           "identity", "inline", "core", "install"]


def _shape(a: Any) -> tuple:
    return tuple(getattr(a, "shape", ()))


def _size(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _is_array(a: Any) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype")


def _axes(axis: Any, nd: int) -> tuple:
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
    return tr.remap(q, dest, _size(kshape))


def _mask(tr: Any, c: Any, out_shape: tuple, nonzero: bool = True) -> Any:
    """Flat boolean mask of a constant broadcast to ``out_shape`` (None if unknowable)."""
    c = tr.const(c)
    if c is None:
        return None
    xp = tr.xp
    m = (c != 0) if nonzero else c
    return xp.reshape(xp.broadcast_to(m, tuple(out_shape)), (-1,))


# -- elementwise --------------------------------------------------------------------------


def elementwise(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Pattern:
    """Output element ``e`` depends on element ``e`` of every (broadcast) argument."""
    oshape = _shape(out)
    parts = [broadcast(tr, q, _shape(a), oshape) for a, q in zip(primals, pats)]
    return tr.union(parts, _size(oshape))


def _product(tr: Any, primals: list, pats: list, shapes: list, oshape: tuple) -> Pattern:
    """A product broadcast to ``oshape``: a constant zero factor kills the element."""
    parts = [broadcast(tr, q, s, oshape) for q, s in zip(pats, shapes)]
    res = tr.union(parts, _size(oshape))
    for a, q, s in zip(primals, pats, shapes):
        if q is None and _is_array(a) and res.nnz:
            c = tr.const(a)
            if c is not None:
                xp = tr.xp
                m = xp.reshape(xp.broadcast_to(xp.reshape(c != 0, s), oshape), (-1,))
                res = tr.keep_rows(res, m)
    return res


def _multiply(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    return _product(tr, primals, pats, [_shape(a) for a in primals], _shape(out))


def _where(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    oshape = _shape(out)
    cond, cq = primals[0], pats[0]
    cmask = _mask(tr, cond, oshape, nonzero=False) if cq is None and _is_array(cond) else None
    parts = []
    for i in (1, 2):
        p = broadcast(tr, pats[i], _shape(primals[i]), oshape)
        if p is not None and cmask is not None:  # a constant condition picks one side
            p = tr.keep_rows(p, cmask if i == 1 else ~cmask)
        parts.append(p)
    return tr.union(parts, _size(oshape))


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
            is_data = _is_array(a) and (data == "all" or i in data)
            if is_data:
                shape = _shape(a)
                args.append(tr.ids(shape, start, dtype))
                if q is not None and q.nnz:
                    parts.append(q.keys + (start - 1) * tr.n)
                start += _size(shape)
            elif q is not None or (_is_array(a) and tr.const(a) is None):
                return _dense(tr, pats, out, prim)  # indices that depend on the input
            else:
                args.append(tr.const(a) if _is_array(a) else a)
        res = prim.impl(*args, **params)
        stacked = Pattern(xp.concat(parts) if parts else xp.zeros((0,), dtype=tr.i64),
                          start - 1)
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
        return [tr.dense(pats, _size(_shape(o))) for o in out]
    return tr.dense(pats, _size(_shape(out)))


def _scatter_add(tr: Any, primals: list, pats: list, out: Any, *, template: tuple,
                 shape: tuple) -> Pattern:
    """``zeros(shape)`` with ``ct`` added at ``key``: each element of ``ct`` has one target."""
    ct, arrays = primals[0], primals[1:]
    if any(q is not None for q in pats[1:]):
        return tr.dense(pats, _size(tuple(shape)))
    consts = [tr.const(a) for a in arrays]
    if any(c is None for c in consts):
        return tr.dense(pats, _size(tuple(shape)))
    xp = tr.xp
    target = PRIMITIVES["getitem"].impl(tr.ids(tuple(shape)), *consts, template=template)
    dest = xp.reshape(xp.broadcast_to(target, _shape(ct)), (-1,))
    return tr.remap(pats[0], dest, _size(tuple(shape)))


# -- reductions, whole lines, scans --------------------------------------------------------


def reduction(tr: Any, primals: list, pats: list, out: Any, *, axis: Any = None,
              keepdims: bool = False, **params: Any) -> Pattern:
    """Each output element depends on the input elements it reduces."""
    shape = _shape(primals[0])
    return reduce_to(tr, pats[0], shape, _axes(axis, len(shape)))


def _matrix_reduction(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
    shape = _shape(primals[0])
    res = reduce_to(tr, pats[0], shape, _axes((-2, -1), len(shape)))
    return [res, res] if isinstance(out, tuple) else res


def along_axes(tr: Any, q: Pattern, shape: tuple, oshape: tuple, axes: tuple) -> Pattern:
    """Each output element depends on the whole input along ``axes`` (lengths may change)."""
    r = reduce_to(tr, q, shape, axes)
    kshape = tuple(1 if i in axes else s for i, s in enumerate(shape))
    xp = tr.xp
    src = xp.reshape(xp.broadcast_to(tr.ids(kshape), tuple(oshape)), (-1,))
    return tr.gather(r, src)


def _sort(tr: Any, primals: list, pats: list, out: Any, *, axis: int = -1,
          **params: Any) -> Pattern:
    shape = _shape(primals[0])
    return along_axes(tr, pats[0], shape, shape, _axes(axis, len(shape)))


def _fft_axes(params: dict, nd: int, one_axis: bool) -> tuple:
    if one_axis:
        return _axes(params.get("axis", -1), nd)
    axes, s = params.get("axes"), params.get("s")
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    return _axes(axes, nd)


def _fft(one_axis: bool) -> Callable:
    def fft_pattern(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Pattern:
        shape = _shape(primals[0])
        axes = _fft_axes(params, len(shape), one_axis)
        return along_axes(tr, pats[0], shape, _shape(out), axes)

    return fft_pattern


def _cross(tr: Any, primals: list, pats: list, out: Any, *, axis: int = -1) -> Pattern:
    oshape = _shape(out)
    q = elementwise(tr, primals, pats, out)
    return along_axes(tr, q, oshape, oshape, _axes(axis, len(oshape)))


def cumulative(tr: Any, primals: list, pats: list, out: Any, *, axis: Any = None,
               include_initial: bool = False, **params: Any) -> Pattern:
    """Output ``k`` along the axis depends on inputs ``0..k`` (``0..k-1`` with an initial 0)."""
    xp, i64 = tr.xp, tr.i64
    shape = _shape(primals[0])
    a = 0 if axis is None else axis % len(shape)
    length, post = shape[a], _size(shape[a + 1:])
    lout = length + (1 if include_initial else 0)
    m = _size(_shape(out))
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


# -- contractions --------------------------------------------------------------------------


def _const_matrix(tr: Any, a: Any, q: Any, layout: Callable[[Any], Any]) -> Any:
    """``layout(a != 0)``, an ``(r, c)`` boolean, for a constant ``a``; else None."""
    if q is not None or not _is_array(a):
        return None
    c = tr.const(a)
    return None if c is None else layout(c != 0)


def _contract(tr: Any, qx: Any, qy: Any, mx: Any, my: Any, B: int, I: int, K: int,
              J: int) -> Pattern:
    """``out[b, i, j] = sum_k x[b, i, k] y[b, k, j]``: patterns of ``x``, ``y`` laid out so.

    ``mx`` (``(I, K)``) / ``my`` (``(K, J)``): where a constant operand is nonzero.
    """
    xp, i64 = tr.xp, tr.i64
    m = B * I * J
    parts = []
    if qx is not None:
        if my is None:  # every k reaches every j
            r = reduce_to(tr, qx, (B, I, K), (2,))
            src = xp.reshape(xp.broadcast_to(tr.ids((B, I, 1)), (B, I, J)), (-1,))
            parts.append(tr.gather(r, src))
        else:
            kk, jj = xp.nonzero(my)
            bi = xp.reshape(xp.arange(B * I, dtype=i64), (-1, 1))
            s = xp.reshape(bi * K + xp.astype(kk, i64), (-1,))
            d = xp.reshape(bi * J + xp.astype(jj, i64), (-1,))
            parts.append(tr.pull(qx, s, d, m))
    if qy is not None:
        if mx is None:
            r = reduce_to(tr, qy, (B, K, J), (1,))
            src = xp.reshape(xp.broadcast_to(tr.ids((B, 1, J)), (B, I, J)), (-1,))
            parts.append(tr.gather(r, src))
        else:
            ii, kk = xp.nonzero(mx)
            b = xp.reshape(xp.arange(B, dtype=i64), (-1, 1, 1))
            j = xp.reshape(xp.arange(J, dtype=i64), (1, 1, -1))
            kk = xp.reshape(xp.astype(kk, i64), (1, -1, 1))
            ii = xp.reshape(xp.astype(ii, i64), (1, -1, 1))
            s = xp.reshape(b * (K * J) + kk * J + j, (-1,))
            d = xp.reshape(b * (I * J) + ii * J + j, (-1,))
            parts.append(tr.pull(qy, s, d, m))
    return tr.union(parts, m)


def _matmul(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    x, y = primals
    xs, ys = _shape(x), _shape(y)
    xs2 = (1,) + xs if len(xs) == 1 else xs
    ys2 = ys + (1,) if len(ys) == 1 else ys
    xp = tr.xp
    batch = _broadcast_shapes(xs2[:-2], ys2[:-2])
    I, K = xs2[-2:]
    J = ys2[-1]
    qx = broadcast(tr, pats[0], xs2, batch + (I, K))
    qy = broadcast(tr, pats[1], ys2, batch + (K, J))

    def any_batch(shape2: tuple, r: int, c: int) -> Callable:
        return lambda nz: xp.any(xp.reshape(xp.reshape(nz, shape2), (-1, r, c)), axis=0)

    mx = _const_matrix(tr, x, pats[0], any_batch(xs2, I, K))
    my = _const_matrix(tr, y, pats[1], any_batch(ys2, K, J))
    return _contract(tr, qx, qy, mx, my, _size(batch), I, K, J)


def _broadcast_shapes(*shapes: tuple) -> tuple:
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(nd):
        dims = [s[i - nd + len(s)] for s in shapes if i - nd + len(s) >= 0]
        big = [d for d in dims if d != 1]
        out.append(big[0] if big else 1)
    return tuple(out)


def _tensordot(tr: Any, primals: list, pats: list, out: Any, *, axes: Any) -> Pattern:
    x, y = primals
    xs, ys = _shape(x), _shape(y)
    if isinstance(axes, int):
        cx, cy = tuple(range(len(xs) - axes, len(xs))), tuple(range(axes))
    else:
        cx = tuple(a % len(xs) for a in axes[0])
        cy = tuple(a % len(ys) for a in axes[1])
    fx = tuple(i for i in range(len(xs)) if i not in cx)
    fy = tuple(i for i in range(len(ys)) if i not in cy)
    I, J = _size(tuple(xs[i] for i in fx)), _size(tuple(ys[i] for i in fy))
    K = _size(tuple(xs[i] for i in cx))
    xp = tr.xp

    def laid(q: Any, shape: tuple, order: tuple) -> Any:
        if q is None:
            return None
        return tr.gather(q, xp.reshape(xp.permute_dims(tr.ids(shape), order), (-1,)))

    mx = _const_matrix(tr, x, pats[0],
                       lambda nz: xp.reshape(xp.permute_dims(nz, fx + cx), (I, K)))
    my = _const_matrix(tr, y, pats[1],
                       lambda nz: xp.reshape(xp.permute_dims(nz, cy + fy), (K, J)))
    return _contract(tr, laid(pats[0], xs, fx + cx), laid(pats[1], ys, cy + fy),
                     mx, my, 1, I, K, J)


def _vecdot(tr: Any, primals: list, pats: list, out: Any, *, axis: int = -1) -> Pattern:
    shapes = [_shape(a) for a in primals]
    full = _broadcast_shapes(*shapes)
    q = _product(tr, primals, pats, shapes, full)
    return reduce_to(tr, q, full, _axes(axis, len(full)))


def _outer(tr: Any, primals: list, pats: list, out: Any) -> Pattern:
    (n,), (m,) = _shape(primals[0]), _shape(primals[1])
    return _product(tr, primals, pats, [(n, 1), (1, m)], (n, m))


def _trace(tr: Any, primals: list, pats: list, out: Any, *, offset: int = 0,
           **params: Any) -> Pattern:
    xp = tr.xp
    shape = _shape(primals[0])
    diag = PRIMITIVES["linalg.diagonal"].impl(tr.ids(shape, 1), offset=offset)
    q = tr.gather(pats[0], xp.reshape(diag, (-1,)) - 1)
    dshape = _shape(diag)
    return reduce_to(tr, q, dshape, (len(dshape) - 1,))


# -- stacked linear algebra ----------------------------------------------------------------


def core(cores_in: Callable, cores_out: Callable) -> Callable:
    """Each output matrix depends on all of the matching (broadcast) matrix of each argument.

    ``cores_in(primals)`` / ``cores_out(primals, outs)``: how many trailing axes
    of each argument / output are the matrix (the rest are the stack).
    """

    def rule(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
        multiple = isinstance(out, tuple)
        outs = out if multiple else (out,)
        cin, cout = cores_in(primals), cores_out(primals, outs)
        xp = tr.xp
        res = []
        for o, co in zip(outs, cout):
            oshape = _shape(o)
            bo = oshape[:len(oshape) - co]
            parts = []
            for a, q, ci in zip(primals, pats, cin):
                if q is None:
                    continue
                ash = _shape(a)
                ba = ash[:len(ash) - ci]
                r = reduce_to(tr, q, ash, tuple(range(len(ba), len(ash))))
                src = xp.broadcast_to(tr.ids(ba), bo)
                src = xp.broadcast_to(xp.reshape(src, bo + (1,) * co), oshape)
                parts.append(tr.gather(r, xp.reshape(src, (-1,))))
            res.append(tr.union(parts, _size(oshape)))
        return res if multiple else res[0]

    return rule


def _square(primals: list) -> tuple:
    return (2,)


def _same_batch(primals: list, outs: tuple) -> tuple:
    nb = len(_shape(primals[0])) - 2
    return tuple(len(_shape(o)) - nb for o in outs)


def _solve_in(primals: list) -> tuple:
    return (2, 1 if len(_shape(primals[1])) == 1 else 2)


def _solve_out(primals: list, outs: tuple) -> tuple:
    return (1 if len(_shape(primals[1])) == 1 else 2,)


# -- functions as primitives ---------------------------------------------------------------


def identity(tr: Any, primals: list, pats: list, out: Any, **params: Any) -> Any:
    """Outputs are the arguments, unchanged (``hook``, ``eager_update``)."""
    if isinstance(out, tuple):
        return [q if q is not None else tr.empty(_size(_shape(o))) for q, o in zip(pats, out)]
    return pats[0]


def inline(tr: Any, primals: list, pats: list, out: Any, *, fn: Callable,
           **params: Any) -> Any:
    """Run the primitive's function ``fn`` on traced arguments (``checkpointed``).

    Constant array arguments are traced too, with the empty pattern: a strict
    backend refuses ``raw_array @ tracer``.
    """
    args = [tr.lift(p, q if q is not None or not _is_array(p) else tr.empty(_size(_shape(p))))
            for p, q in zip(primals, pats)]
    res = fn(*args)
    return [tr.pattern_of(r) for r in res]


# -- registration --------------------------------------------------------------------------

_ELEMENTWISE = (
    "exp expm1 log log1p log2 log10 sqrt square sin cos tan asin acos atan sinh cosh tanh "
    "asinh acosh atanh reciprocal abs sign negative positive conj real imag add subtract "
    "divide maximum minimum atan2 hypot logaddexp copysign remainder pow clip_scalar astype"
).split()
_MOVEMENT = {
    "reshape": (0,), "broadcast_to": (0,), "permute_dims": (0,), "matrix_transpose": (0,),
    "expand_dims": (0,), "squeeze": (0,), "flip": (0,), "roll": (0,), "moveaxis": (0,),
    "getitem": (0,), "take": (0,), "take_along_axis": (0,), "tril": (0,), "triu": (0,),
    "concat": "all", "stack": "all", "unstack": (0,), "tile": (0,), "repeat": (0,),
    "fft_resize": (0,), "linalg.diagonal": (0,), "index_update": (0, 1),
}
_REDUCTIONS = "sum mean prod var std max min linalg.vector_norm".split()
_FFTS = "fft ifft rfft irfft hfft ihfft fftn ifftn rfftn irfftn".split()
_LINALG = {
    "linalg.inv": (_square, _same_batch), "linalg.cholesky": (_square, _same_batch),
    "linalg.matrix_power": (_square, _same_batch), "linalg.pinv": (_square, _same_batch),
    "linalg.eigh": (_square, _same_batch), "linalg.eigvalsh": (_square, _same_batch),
    "linalg.svd": (_square, _same_batch), "linalg.svdvals": (_square, _same_batch),
    "linalg.qr": (_square, _same_batch), "linalg.solve": (_solve_in, _solve_out),
}
_SPECIAL = {
    "multiply": _multiply, "where": _where, "scatter_add": _scatter_add,
    "cumulative_sum": cumulative, "cumulative_prod": cumulative, "sort": _sort,
    "matmul": _matmul, "tensordot": _tensordot, "vecdot": _vecdot, "linalg.outer": _outer,
    "linalg.cross": _cross, "linalg.trace": _trace, "linalg.det": _matrix_reduction,
    "linalg.slogdet": _matrix_reduction, "linalg.matrix_norm": _matrix_reduction,
    "hook": identity, "showgrad": identity, "eager_update": identity,
    "checkpointed": inline, "forwarddiff": inline,
}


def install() -> None:
    """Attach the rules above to the registered primitives that have none yet."""
    table: dict[str, Callable] = dict(_SPECIAL)
    for name in _ELEMENTWISE:
        table[name] = elementwise
    for name in _REDUCTIONS:
        table[name] = reduction
    for name in _FFTS:
        table[f"fft.{name}"] = _fft(not name.endswith("n"))
    for name, (cin, cout) in _LINALG.items():
        table[name] = core(cin, cout)
    for name, data in _MOVEMENT.items():
        if name in PRIMITIVES:
            table[name] = movement(PRIMITIVES[name], data)
    for name in ("fft.fftshift", "fft.ifftshift"):
        if name in PRIMITIVES:
            table[name] = movement(PRIMITIVES[name], (0,), float_ids=True)
    for name, rule in table.items():
        p = PRIMITIVES.get(name)
        if p is not None and p.pattern is None:
            defrule(p, pattern=rule)


install()
