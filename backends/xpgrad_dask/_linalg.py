"""The ``linalg`` hook: Dask's linear algebra, one matrix at a time.

``dask.array.linalg`` works on single 2-D matrices with chunking rules of its own
(square blocks for ``cholesky``/``inv``/``solve``, tall-and-skinny for ``qr``/``svd``)
and lacks ``det``, ``slogdet``, ``eigh``, ``eigvalsh``, ``pinv``, ``matrix_power`` and
``cross``. The Array API asks for stacks of matrices, which is a generalised ufunc:
``dask.array.apply_gufunc`` runs NumPy's function on blocks holding whole matrices
(it gathers the last two axes into one chunk) and keeps the stack axes chunked. Lazy:
nothing is computed here.
"""

from __future__ import annotations

from typing import Any

# name -> (number of array arguments, signature builder(shapes, params), output kinds)
# output kinds: "x" the input dtype, "r" its real dtype, "i" the default integer.
_ONE = {
    "cholesky": ("(n,n)->(n,n)", "x"),
    "inv": ("(n,n)->(n,n)", "x"),
    "matrix_power": ("(n,n)->(n,n)", "x"),
    "det": ("(n,n)->()", "x"),
    "slogdet": ("(n,n)->(),()", "xr"),
    "eigh": ("(n,n)->(n),(n,n)", "rx"),
    "eigvalsh": ("(n,n)->(n)", "r"),
    "eig": ("(n,n)->(n),(n,n)", "cc"),
    "eigvals": ("(n,n)->(n)", "c"),
    "pinv": ("(m,n)->(n,m)", "x"),
    "svdvals": ("(m,n)->(k)", "r"),
    "matrix_rank": ("(m,n)->()", "i"),
}
# functions Dask already does right for stacks and any chunking
_NATIVE = (
    "outer",
    "trace",
    "diagonal",
    "vector_norm",
    "tensordot",
    "vecdot",
    "matmul",
    "matrix_transpose",
)


def _dtypes(np: Any, dtype: Any, kinds: str) -> list:
    real = np.finfo(dtype).dtype if np.issubdtype(dtype, np.inexact) else dtype
    # "c": the complex dtype of that precision (eig, eigvals; NumPy's may come back real)
    cplx = np.result_type(real, np.complex64)
    table = {"x": dtype, "r": real, "i": np.dtype(np.int64), "c": cplx}
    return [table[k] for k in kinds]


def linalg(xp: Any, name: str, *args: Any, **params: Any) -> Any:
    """``xp.linalg.<name>(*args, **params)`` for Dask arrays, on stacks of matrices."""
    if name in _NATIVE:
        return getattr(xp.linalg, name)(*args, **params)
    import array_api_compat.numpy as npx
    import dask.array as da
    import numpy as np

    fn = getattr(npx.linalg, name)
    x = args[0]
    m, n = x.shape[-2:] if x.ndim >= 2 else (None, None)
    k = min(m, n) if m is not None else None
    arrays: tuple = (x,)
    extra: tuple = args[1:]
    axes = None
    keepdims = False
    if name in _ONE:
        sig, kinds = _ONE[name]
    elif name == "svd":
        sig = (
            "(m,n)->(m,m),(k),(n,n)"
            if params.get("full_matrices", True)
            else "(m,n)->(m,k),(k),(k,n)"
        )
        kinds = "xrx"
    elif name == "qr":
        sig = (
            "(m,n)->(m,m),(m,n)"
            if params.get("mode", "reduced") == "complete"
            else "(m,n)->(m,k),(k,n)"
        )
        kinds = "xx"
    elif name == "matrix_norm":
        keepdims = params.pop("keepdims", False)
        sig, kinds = "(m,n)->()", "r"
    elif name == "solve":
        arrays, extra = args[:2], args[2:]
        sig = "(n,n),(n)->(n)" if args[1].ndim == 1 else "(n,n),(n,j)->(n,j)"
        kinds = "x"
    elif name == "cross":
        arrays, extra = args[:2], args[2:]
        axis = params.pop("axis", -1)
        sig, kinds, axes = "(i),(i)->(i)", "x", [(axis,), (axis,), (axis,)]
    else:
        return getattr(xp.linalg, name)(*args, **params)
    dtype = np.result_type(*(a.dtype for a in arrays))

    dts = _dtypes(np, dtype, kinds)

    def per_block(*blocks: Any) -> Any:
        out = fn(*blocks, *extra, **params)
        if isinstance(out, tuple):
            return tuple(np.asarray(o, dtype=d) for o, d in zip(out, dts))
        return np.asarray(out, dtype=dts[0])

    out = da.apply_gufunc(
        per_block,
        sig,
        *arrays,
        output_dtypes=dts if len(dts) > 1 else dts[0],
        output_sizes={"k": k} if k is not None else None,
        axes=axes,
        allow_rechunk=True,
    )
    if keepdims:
        out = out[..., None, None]
    return out
