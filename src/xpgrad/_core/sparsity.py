"""Sparsity detection: which elements of the input each value depends on.

A fourth interpreter beside forward, reverse and batch. A ``SparsityTracer``
carries its value (computed one level down, so shapes, branches and data-
dependent indexing behave as in the plain program) and a ``Pattern``: the set
of pairs (element of this value, element of the input ``x``) through which the
value may depend on ``x``, C-order flat indices both. Each primitive's
``pattern`` rule maps its arguments' patterns to its result's.

Patterns are *global* and *conservative*: a pair is dropped only when the
derivative is zero for every input ``x`` (a structural zero: a product with a
constant zero, an element that an index never reads), never because it happens
to be zero at this ``x``. Values that depend on ``x`` only through
non-differentiable functions (comparisons, ``argmax``) carry the empty pattern
but stay traced, so that rules never take them for constants. Only control
flow on values (``if x[0] > 0``) makes a pattern local to the branch taken.

A pattern is one sorted array of distinct int64 keys ``row * n + col`` in the
*pattern namespace* (the backend's own, or the host's for a lazy backend), so
that union is concatenate-sort-deduplicate and the entries of one row are a
``searchsorted`` range. The algebra below (``gather``, ``pull``, ``remap``,
``union``, ``dense``) uses Array API functions only.
"""

from __future__ import annotations

from typing import Any

from .arrays import size_of
from .trace import Primitive, Trace, Tracer, bind

__all__ = ["Pattern", "PatternTooLargeError", "SparsityTrace", "SparsityTracer", "distinct"]


def distinct(xp: Any, k: Any) -> Any:
    """Sorted distinct values of the 1-D ``k``.

    Sort and compare neighbours rather than ``unique_values``: NumPy 2.4's
    hash-based ``unique`` is ~50 times slower than a sort on int64 keys.
    """
    k = xp.sort(k)
    if k.shape[0] <= 1:
        return k
    first = xp.ones((1,), dtype=xp.bool)
    return k[xp.concat([first, k[1:] != k[:-1]])]


class PatternTooLargeError(ValueError):
    """A sparsity pattern would hold more entries than the trace's ``max_nnz``."""


class Pattern:
    """Sorted, distinct keys ``row * n + col`` of a value with ``size`` elements."""

    __slots__ = ("keys", "size", "ptr", "single")

    def __init__(self, keys: Any, size: int, single: bool | None = None):
        self.keys = keys
        self.size = size
        self.ptr: Any = None  # row pointers, made on first use (see SparsityTrace.row_ptr)
        self.single = single  # at most one entry per element? (None: not known yet)

    @property
    def nnz(self) -> int:
        return int(self.keys.shape[0])

    def __repr__(self) -> str:
        return f"Pattern(size={self.size}, nnz={self.nnz})"


class SparsityTracer(Tracer):
    __slots__ = ("primal", "pat")

    def __init__(self, trace: Trace, primal: Any, pat: Pattern):
        self._trace = trace
        self.primal = primal
        self.pat = pat

    @property
    def _value(self) -> Any:
        return self.primal

    def _concrete_value(self, what: str) -> Any:
        return self.primal


class SparsityTrace(Trace):
    """Propagates patterns with respect to one input of ``n`` elements.

    ``xp`` is the pattern namespace; ``host`` converts an x-independent array
    of the program (a constant) to it, or is None when the program's backend
    is the pattern namespace itself. ``fallbacks`` collects the names of the
    primitives that had no pattern rule (their results were taken to depend
    on every input element their arguments depend on).
    """

    def __init__(
        self, level: int, ns: Any, n: int, xp: Any, host: Any = None, max_nnz: int = 1 << 28
    ):
        super().__init__(level, ns)
        self.n = n
        self.xp = xp
        self.host = host
        self.max_nnz = max_nnz
        self.fallbacks: set[str] = set()
        self.i64 = xp.int64

    # -- the interpreter ----------------------------------------------------------
    def process(self, prim: Primitive, args: tuple, params: dict) -> Any:
        primals = []
        pats: list[Pattern | None] = []
        for a in args:
            if type(a) is SparsityTracer and a._trace is self:
                primals.append(a.primal)
                pats.append(a.pat)
            else:
                primals.append(a)
                pats.append(None)
        out = bind(prim, tuple(primals), params)
        outs = out if prim.multiple_results else (out,)
        res: Any  # a list, or the pattern rule's tuple
        if not prim.differentiable:
            res = [self.empty(size_of(tuple(o.shape))) for o in outs]
        elif prim.pattern is not None:
            res = prim.pattern(self, primals, pats, out, **params)
            if not prim.multiple_results:
                res = (res,)
        else:
            self.fallbacks.add(prim.name)
            res = [self.dense(pats, size_of(tuple(o.shape))) for o in outs]
        wrapped = tuple(SparsityTracer(self, o, p) for o, p in zip(outs, res))
        return wrapped if prim.multiple_results else wrapped[0]

    def const(self, value: Any) -> SparsityTracer:
        return SparsityTracer(self, value, self.empty(size_of(tuple(value.shape))))

    def lift(self, primal: Any, pat: Pattern | None) -> Any:
        """A traced value of this trace (``primal`` itself when ``pat`` is None)."""
        return primal if pat is None else SparsityTracer(self, primal, pat)

    def pattern_of(self, v: Any) -> Pattern:
        """The pattern of a result: a value not traced here depends on nothing."""
        if type(v) is SparsityTracer and v._trace is self:
            return v.pat
        shape = tuple(getattr(v, "shape", ()))
        return self.empty(size_of(shape))

    def host_value(self, a: Any) -> Any:
        """An x-independent array as a pattern-namespace array (None if unknowable)."""
        if isinstance(a, Tracer):  # a value of an enclosing transformation
            return None
        return a if self.host is None else self.host(a)

    # -- building blocks ----------------------------------------------------------
    def ids(self, shape: tuple, start: int = 0, dtype: Any = None) -> Any:
        """``start, start + 1, ...`` laid out in ``shape`` (C order)."""
        xp = self.xp
        r = xp.arange(start, start + size_of(shape), dtype=self.i64)
        if dtype is not None:
            r = xp.astype(r, dtype)
        return xp.reshape(r, tuple(shape))

    def empty(self, size: int) -> Pattern:
        return Pattern(self.xp.zeros((0,), dtype=self.i64), size, single=True)

    def identity(self) -> Pattern:
        """The pattern of ``x`` itself: element ``i`` depends on element ``i``."""
        n = self.n
        return Pattern(self.xp.arange(n, dtype=self.i64) * (n + 1), n, single=True)

    def _check(self, total: int, what: str) -> None:
        if total > self.max_nnz:
            raise PatternTooLargeError(
                f"xpgrad: the sparsity pattern of {what} would hold {total} entries, more "
                f"than max_nnz={self.max_nnz}: the Jacobian is too dense for a sparse "
                f"evaluation. Use xpgrad.jacobian, pass a known pattern=, or raise the limit "
                f"(xpgrad.api.sparse_plan.MAX_NNZ)."
            )

    def _dedupe(self, k: Any) -> Any:
        return distinct(self.xp, k)

    def row_ptr(self, p: Pattern) -> Any:
        """``ptr[e]:ptr[e + 1]`` are the entries of element ``e``; two trailing ``nnz``
        so that element ``size`` (standing for "none") has no entries."""
        if p.ptr is None:
            xp = self.xp
            ptr = xp.searchsorted(p.keys, xp.arange(p.size + 1, dtype=self.i64) * self.n)
            p.ptr = xp.concat([ptr, ptr[-1:]])
        return p.ptr

    def is_single(self, p: Pattern) -> bool:
        """Whether no element has two entries (``x`` itself, elementwise maps, padding)."""
        if p.single is None:
            xp = self.xp
            rows = p.keys // self.n
            p.single = p.nnz < 2 or bool(xp.all(rows[1:] > rows[:-1]))
        return p.single

    def _lookup(self, p: Pattern, src: Any) -> tuple[Any, Any]:
        """``(lo, cnt)``: where the entries of each element ``src[g]`` (-1: none) are."""
        xp, n = self.xp, self.n
        if 4 * src.shape[0] >= p.size:  # many lookups: row pointers, then take
            ptr = self.row_ptr(p)
            at = xp.where(src < 0, p.size, src)
            lo = xp.take(ptr, at)
            return lo, xp.take(ptr, at + 1) - lo
        lo = xp.searchsorted(p.keys, src * n)
        return lo, xp.searchsorted(p.keys, src * n + n) - lo

    def _expand(self, p: Pattern, src: Any, shift: Any, what: str) -> Any:
        """For each group ``g``: the keys of element ``src[g]`` (-1: none), plus ``shift[g]``.

        The output is grouped by ``g`` in order, each group's keys ascending.
        """
        xp, keys = self.xp, p.keys
        lo, cnt = self._lookup(p, src)
        total = int(xp.sum(cnt)) if cnt.shape[0] else 0
        if total == 0:
            return xp.zeros((0,), dtype=self.i64)
        self._check(total, what)
        g = xp.repeat(xp.arange(cnt.shape[0], dtype=self.i64), cnt)
        before = xp.cumulative_sum(cnt) - cnt  # exclusive prefix sum
        pos = xp.take(lo - before, g) + xp.arange(total, dtype=self.i64)
        return xp.take(keys, pos) + xp.take(shift, g)

    # -- the pattern algebra ------------------------------------------------------
    def gather(self, p: Pattern, src: Any) -> Pattern:
        """Output element ``e`` is input element ``src[e]`` (``-1``: no element)."""
        xp, n = self.xp, self.n
        m = int(src.shape[0])
        if p.nnz == 0:
            return self.empty(m)
        e = xp.arange(m, dtype=self.i64)
        if m == p.size and bool(xp.all(src == e)):  # reshape, squeeze, a full slice
            return p
        if self.is_single(p):  # at most one entry per element: no repeat needed
            lo, cnt = self._lookup(p, src)
            has = cnt > 0
            if not bool(xp.all(has)):
                e, src, lo = e[has], src[has], lo[has]
            return Pattern(xp.take(p.keys, lo) + (e - src) * n, m, single=True)
        return Pattern(self._expand(p, src, (e - src) * n, "an indexing result"), m)

    def pull(self, p: Pattern, s: Any, d: Any, size: int) -> Pattern:
        """Output element ``d[r]`` depends on input element ``s[r]``, for every ``r``."""
        if p.nnz == 0 or s.shape[0] == 0:
            return self.empty(size)
        k = self._expand(p, s, (d - s) * self.n, "a contraction")
        return Pattern(self._dedupe(k), size)

    def remap(self, p: Pattern, dest: Any, size: int) -> Pattern:
        """Input element ``i`` flows into output element ``dest[i]`` (a reduction)."""
        if p.nnz == 0:
            return self.empty(size)
        xp, n = self.xp, self.n
        rows = p.keys // n
        k = xp.take(dest, rows) * n + (p.keys - rows * n)
        return Pattern(self._dedupe(k), size)

    def keep_rows(self, p: Pattern, mask: Any) -> Pattern:
        """Only the entries of the elements where the flat boolean ``mask`` holds."""
        if p.nnz == 0:
            return p
        keep = self.xp.take(mask, p.keys // self.n)
        return Pattern(p.keys[keep], p.size)

    def union(self, pats: list, size: int) -> Pattern:
        ps: list[Pattern] = []
        for p in pats:  # the same pattern twice (x * x) counts once
            if p is not None and p.nnz and all(p.keys is not q.keys for q in ps):
                ps.append(p)
        if not ps:
            return self.empty(size)
        if len(ps) == 1:
            return ps[0] if ps[0].size == size else Pattern(ps[0].keys, size)
        return Pattern(self._dedupe(self.xp.concat([p.keys for p in ps])), size)

    def dense(self, pats: list, size: int) -> Pattern:
        """Every output element depends on every input element any argument depends on."""
        xp, n = self.xp, self.n
        ps = [p for p in pats if p is not None and p.nnz]
        if not ps or size == 0:
            return self.empty(size)
        cols = self._dedupe(xp.concat([p.keys % n for p in ps]))
        self._check(size * int(cols.shape[0]), "a result without a pattern rule")
        rows = xp.reshape(xp.arange(size, dtype=self.i64) * n, (size, 1))
        return Pattern(xp.reshape(rows + xp.reshape(cols, (1, -1)), (-1,)), size)
