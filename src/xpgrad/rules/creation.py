"""Creation and data-type functions that take arrays: ``astype``, ``*_like``, ``tril``.

Creation functions that take only shapes (``zeros``, ``arange``, ...) make
constants of the backend and live on the traced namespace itself.
"""

from __future__ import annotations

from typing import Any

from .._core.arrays import raw as _rawv
from ._registry import (
    PRIMITIVES,
    F,
    defrule,
    elementwise_batch,
    export,
    linear,
    nondifferentiable,
    patterns,
    primitive,
    xp_of,
)

nondifferentiable("zeros_like", "ones_like", "empty_like", "full_like")


def _is_inexact(x: Any, dtype: Any) -> bool:
    return xp_of(x).isdtype(dtype, ("real floating", "complex floating"))


def _astype_impl(x: Any, dtype: Any, copy: bool = True, device: Any = None) -> Any:
    return xp_of(x).astype(x, dtype, copy=copy)


astype = primitive("astype", _astype_impl, export_as=False)


def astype_fn(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    """``xp.astype``: differentiable between floating dtypes; to integers it is constant."""
    return astype(x, dtype=dtype, copy=copy)


export("astype", astype_fn)


def _astype_jvp(primals: list, tangents: list, dtype: Any, **kw: Any) -> tuple:
    x, t = primals[0], tangents[0]
    out = astype(x, dtype=dtype, **kw)
    if not _is_inexact(_rawv(x), dtype):
        return out, None
    return out, astype(t, dtype=dtype, **kw)


def _astype_vjp(primals: list, needs: list, dtype: Any, **kw: Any) -> tuple:
    x = primals[0]
    out = astype(x, dtype=dtype, **kw)
    xdtype = x.dtype
    if not _is_inexact(_rawv(x), dtype):
        return out, lambda ct: (None,)
    keep = _is_inexact(_rawv(x), xdtype)

    def astype_pullback(ct: Any) -> tuple:
        # integer inputs keep the floating cotangent (their derivative is not rounded)
        if keep and ct.dtype != xdtype:
            ns = xp_of(_rawv(ct))
            if ns.isdtype(ct.dtype, "complex floating") and not ns.isdtype(
                xdtype, "complex floating"
            ):
                ct = F.real(ct)  # real -> complex: the transpose keeps the real part
            if ct.dtype != xdtype:
                ct = F.astype(ct, xdtype)
        return (ct,)

    return out, astype_pullback


defrule(
    astype,
    jvp=_astype_jvp,
    vjp=_astype_vjp,
    batch=elementwise_batch(astype),
    pattern=patterns.elementwise,
    samples=lambda make: [
        ((make((2, 3)),), {"dtype": make.dtype("float32")}),
        ((make((3,)),), {"dtype": make.dtype("float64")}),
        ((make((3,)),), {"dtype": make.dtype("complex128")}),
        ((make((3,)) + 1j * make((3,)),), {"dtype": make.dtype("complex64")}),
    ],
    tol={"float32": 1e-3},
)


def _tri(name: str) -> Any:
    def transpose(ct: Any, x: Any, k: int = 0) -> Any:
        return getattr(F, name)(ct, k=k)

    p = linear(
        name,
        transpose,
        samples=lambda make: [((make((3, 3)),), {}), ((make((2, 3, 4)),), {"k": 1})],
    )
    defrule(
        p,
        batch=lambda args, batched, k=0: (getattr(F, name)(args[0], k=k), True),
        pattern=patterns.movement(p),  # keeps or zero-fills elements
    )
    return p


tril = _tri("tril")
triu = _tri("triu")


# stop_gradient: the value without derivative at every differentiation level,
# but still batched under vmap. Having no jvp/vjp, forward and reverse traces
# pass it down to the level below, which does the same.
(stop_gradient,) = nondifferentiable("stop_gradient")
stop_gradient.impl = lambda x: x


# The namespace's functions, with the standard's exact signatures (the primitives
# take every non-array parameter by keyword).
_zeros_like, _ones_like, _empty_like, _full_like = (
    PRIMITIVES[n] for n in ("zeros_like", "ones_like", "empty_like", "full_like")
)


def zeros_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Any:
    return _zeros_like(x, dtype=dtype, device=device)


def ones_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Any:
    return _ones_like(x, dtype=dtype, device=device)


def empty_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Any:
    return _empty_like(x, dtype=dtype, device=device)


def full_like(x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Any:
    return _full_like(x, fill_value=fill_value, dtype=dtype, device=device)


def _tril(x: Any, /, *, k: int = 0) -> Any:
    return tril(x, k=k)


def _triu(x: Any, /, *, k: int = 0) -> Any:
    return triu(x, k=k)


for _fn in (zeros_like, ones_like, empty_like, full_like):
    export(_fn.__name__, _fn)
export("tril", _tril)
export("triu", _triu)

from ._registry import complex_ok  # noqa: E402

# Defined on complex inputs by the standard: conformance checks them on complex128 too.
complex_ok("tril", "triu")
