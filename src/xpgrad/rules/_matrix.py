"""Matrix helpers shared by the linear-algebra rules: constants, symmetric parts, masks.

Everything works on stacks of matrices (the last two axes), calls traced
functions only, and so differentiates again.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.arrays import device_of, raw
from ._registry import F, xp_of


def mT(x: Any) -> Any:
    return F.matrix_transpose(x)


def cj(x: Any) -> Any:
    """``conj(x)`` for complex ``x``; real ``x`` as it is (no extra traced call)."""
    return F.conj(x) if is_complex(x) else x


def mH(x: Any) -> Any:
    """The conjugate transpose ``x^H`` (the transpose for real ``x``)."""
    return cj(mT(x))


def eye_like(like: Any, n: int, m: int | None = None, k: int = 0) -> Any:
    """A constant ``n x m`` identity (shifted by ``k``) of ``like``'s backend, dtype, device."""
    r = raw(like)
    xp = xp_of(r)
    m = n if m is None else m
    dev = device_of(r)
    # from aranges rather than xp.eye: Dask's eye loses blocks when n < m
    i = xp.reshape(xp.arange(n, device=dev), (n, 1))
    j = xp.reshape(xp.arange(m, device=dev), (1, m))
    return xp.astype(j - i == k, like.dtype)


def sym(x: Any) -> Any:
    """The Hermitian part ``(x + x^H) / 2`` (symmetric part for real ``x``).

    Exact (bit for bit) on Hermitian input.
    """
    return F.add(0.5 * x, 0.5 * mH(x))


def imag_part_i(x: Any) -> Any:
    """``1j * imag(x)`` as ``(x - conj(x)) / 2``, of ``x``'s complex dtype."""
    return F.subtract(0.5 * x, 0.5 * F.conj(x))


def col(v: Any) -> Any:
    """``v[..., None, :]``: a vector as a row, to scale the columns of a matrix."""
    return F.expand_dims(v, axis=-2)


def row(v: Any) -> Any:
    """``v[..., :, None]``: a vector as a column, to scale the rows of a matrix."""
    return F.expand_dims(v, axis=-1)


def matrix_diagonal(x: Any) -> Any:
    """The main diagonal of each matrix of a stack, ``(..., n, n) -> (..., n)``."""
    return F.linalg_diagonal(x)


def gap_reciprocals(w: Any) -> Any:
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it.

    Where two entries of ``w`` are exactly equal the result is ``inf``: derivatives
    of eigenvectors and singular vectors at repeated eigen/singular values are
    undefined, and an infinite (or NaN) result says so instead of a finite wrong
    number.
    """
    n = w.shape[-1]
    i = eye_like(w, n)
    d = F.subtract(col(w), row(w))
    return F.subtract(F.divide(1.0, F.add(d, i)), i)


def safe_denominator(x: Any) -> Any:
    """``x`` with exact zeros replaced by ones (for derivatives with a limit of 0 there)."""
    return F.add(x, F.astype(F.equal(x, 0.0), x.dtype))


def extremum_weights(v: Any, axis: int, largest: bool) -> Any:
    """Weights (summing to 1 along ``axis``) on the entries of ``v`` equal to its extremum.

    Ties share the derivative evenly, as the rules of ``max`` and ``min`` do; the
    extremum is recomputed here so the comparison is exact.
    """
    e = (F.max if largest else F.min)(v, axis=axis, keepdims=True)
    hit = F.astype(F.equal(v, e), v.dtype)
    return F.divide(hit, F.sum(hit, axis=axis, keepdims=True))


def is_complex(x: Any) -> bool:
    r = raw(x)
    return xp_of(r).isdtype(r.dtype, "complex floating")


def linalg_impl(
    name: str, *, symmetric: bool = False, multiple: bool = False, positional: tuple = ()
) -> Any:
    """The primal of ``linalg.<name>``: the backend's function, or its adapter's ``linalg`` hook.

    ``symmetric``: applied to the Hermitian part ``(x + x^H) / 2`` (see ``linalg_decomp``). ``multiple``:
    results as a plain tuple, since backends' own result types differ. ``positional``:
    parameters the backend takes positionally (primitives take them by keyword). A
    backend whose linalg extension is partial or restricted (Dask: 2-D only, chunking
    rules, no ``det``/``eigh``) supplies ``linalg(xp, name, *args, **params)``.
    """

    def impl(*args: Any, **params: Any) -> Any:
        x = args[0]
        xp = xp_of(x)
        if symmetric:
            xt = xp.matrix_transpose(x)
            if xp.isdtype(x.dtype, "complex floating"):
                xt = xp.conj(xt)
            args = (0.5 * x + 0.5 * xt,) + args[1:]
        if positional:
            args = args + tuple(params.pop(p) for p in positional)
        fn = backends.hook(x, "linalg")
        if fn is not None:
            out = fn(xp, name, *args, **params)
        else:
            out = getattr(xp.linalg, name)(*args, **params)
        return tuple(out) if multiple else out

    impl.__name__ = f"{name}_impl"
    return impl


def stack_batch(p: Any) -> Any:
    """Batch rule of a one-argument function of the last two axes: the batch axis
    is one more stack axis, so the function applies as it is."""

    def batch(args: list, batched: list, **params: Any) -> tuple:
        return p(args[0], **params), True

    return batch


def check_unique(x: Any, ambiguous: bool, what: str, fix: str) -> None:
    """Raise for a decomposition whose extra columns of a non-square ``x`` are arbitrary."""
    m, n = x.shape[-2:]
    if ambiguous and m != n:
        raise ValueError(
            f"xpgrad: {what} of a non-square ({m} x {n}) matrix has extra columns that are "
            f"not unique, so it has no derivative; use {fix}"
        )


# -- samples for the conformance suite -------------------------------------------------------
def well_conditioned_sample(make: Any, shape: tuple) -> Any:
    """A diagonally dominant sample: invertible, condition number below ~3."""
    a = make(shape, -1.0, 1.0)
    return a + 4 * make.xp.eye(shape[-1], dtype=a.dtype)


def _sample_mH(xp: Any, b: Any) -> Any:
    bt = xp.matrix_transpose(b)
    return xp.conj(bt) if xp.isdtype(b.dtype, "complex floating") else bt


def spd_sample(make: Any, shape: tuple) -> Any:
    """A Hermitian (symmetric) positive definite sample, ``B B^H + n I``."""
    xp = make.xp
    b = make(shape, -1.0, 1.0)
    n = shape[-1]
    return xp.matmul(b, _sample_mH(xp, b)) + n * xp.eye(n, dtype=b.dtype)


def symmetric_sample(make: Any, shape: tuple) -> Any:
    """A random Hermitian (symmetric) sample (distinct eigenvalues with probability one)."""
    b = make(shape)
    return b + _sample_mH(make.xp, b)
