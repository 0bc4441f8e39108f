"""The ``fft`` extension: every transform is linear, so a rule is only its transpose.

The pushforward of a linear function is the function itself. The pullback is
its transpose under the engine's complex convention (JAX's): the cotangent
pairing is ``<u, v> = Re(sum(u * v))``, bilinear, with no conjugation.

- ``fft``/``ifft``/``fftn``/``ifftn``: the DFT matrix is symmetric, so each
  transposes to itself with the same ``norm``.
- ``rfft``/``rfftn`` (real -> half spectrum): the transpose of "take the first
  ``n//2 + 1`` entries of a full FFT, of a real input" is an ``irfft`` of the
  conjugated cotangent, with the interior bins halved (``irfft`` counts each of
  them twice, as ``z`` and ``conj(z)``) and the ``norm`` swapped
  (backward <-> forward: ``irfft`` carries the ``1/n`` that ``rfft`` does not).
- ``irfft``/``irfftn``: the conjugate of an ``rfft`` of the cotangent with the
  interior bins doubled (JAX's rule), ``norm`` swapped.
- ``hfft`` is ``irfft(conj(x))`` and ``ihfft`` is ``conj(rfft(x))`` with the
  ``norm`` swapped, so their transposes follow from the two above.
- ``fftshift`` and ``ifftshift`` are permutations, each the other's transpose.

``n``/``s`` zero-pad or crop the input before transforming; that step is the
(unexported) linear primitive ``fft_resize``, whose transpose resizes back.
Batch rules only move axes: the batch axis is first, so non-negative axes
shift by one and negative ones stay.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.arrays import device_of
from .._core.arrays import raw as _raw
from ._registry import F, complex_ok, defrule, export, linear, patterns, xp_of

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
_NORMS = tuple(_SWAP)


def _check_norm(norm: str) -> None:
    if norm not in _SWAP:
        raise ValueError(f"xpgrad: norm must be one of {_NORMS}, got {norm!r}")


def _shift(axes: Any) -> Any:
    """Axis params of a logical value, for its batched value (batch axis first)."""
    if axes is None:
        return None
    if isinstance(axes, (tuple, list)):
        return tuple(a + 1 if a >= 0 else a for a in axes)
    return axes + 1 if axes >= 0 else axes


def _real_dtype(ns: Any, dtype: Any) -> Any:
    if ns.isdtype(dtype, "complex floating"):
        return ns.float32 if dtype == ns.complex64 else ns.float64
    return dtype


def _complex_dtype(ns: Any, dtype: Any) -> Any:
    if ns.isdtype(dtype, "complex floating"):
        return dtype
    return ns.complex64 if dtype == ns.float32 else ns.complex128


def _as_complex(ct: Any) -> Any:
    """Complex transforms need complex input (array-api-strict insists)."""
    ns = xp_of(_raw(ct))
    if ns.isdtype(ct.dtype, "complex floating"):
        return ct
    return F.astype(ct, _complex_dtype(ns, ct.dtype))


def _as_real(ct: Any) -> Any:
    """The real cotangent of a real output (the imaginary part pairs with nothing)."""
    ns = xp_of(_raw(ct))
    return F.real(ct) if ns.isdtype(ct.dtype, "complex floating") else ct


# -- implementations ---------------------------------------------------------------------
def _whole(x: Any, axes: Any) -> Any:
    """Chunked backends (Dask) transform along whole axes only: the adapter's
    ``whole_axes(x, axes)`` hook gathers each axis into one chunk."""
    fn = backends.hook(x, "whole_axes")
    if fn is None:
        return x
    if axes is None:
        axes = tuple(range(x.ndim))
    elif not isinstance(axes, (tuple, list)):
        axes = (axes,)
    return fn(x, tuple(axes))


# transforms defined on complex input, whose real input is cast (rfft/ihfft/rfftn
# take real input only)
_COMPLEX_IN = frozenset(("fft", "ifft", "fftn", "ifftn", "irfft", "hfft", "irfftn"))


def _impl(name: str) -> Any:
    def impl(x: Any, **params: Any) -> Any:
        if "axis" in params:
            x = _whole(x, params["axis"])
        elif params.get("axes") is None and params.get("s") is not None:
            x = _whole(x, tuple(range(-len(params["s"]), 0)))
        else:
            x = _whole(x, params.get("axes"))
        xp = xp_of(x)
        if name in _COMPLEX_IN and not xp.isdtype(x.dtype, "complex floating"):
            # a real signal is a complex one with zero imaginary part (NumPy, torch
            # and JAX accept it; the standard, and array-api-strict, ask for complex)
            x = xp.astype(x, _complex_dtype(xp, x.dtype))
        return getattr(xp.fft, name)(x, **params)

    impl.__name__ = f"{name}_impl"
    return impl


# -- pad / crop along axes -----------------------------------------------------------
def _resize_impl(x: Any, *, axes: tuple, lengths: tuple) -> Any:
    xp = xp_of(x)
    for ax, n in zip(axes, lengths):
        cur = x.shape[ax]
        if n < cur:
            key = [slice(None)] * x.ndim
            key[ax] = slice(0, n)
            x = x[tuple(key)]
        elif n > cur:
            shape = list(x.shape)
            shape[ax] = n - cur
            pad = xp.zeros(tuple(shape), dtype=x.dtype, device=device_of(x))
            x = xp.concat([x, pad], axis=ax)
    return x


def _resize_batch(args: list, batched: list, axes: tuple, lengths: tuple) -> tuple:
    return resize(args[0], axes=_shift(axes), lengths=lengths), True


resize = linear(
    "fft_resize",
    lambda ct, x, axes, lengths: _resize_to(ct, axes, tuple(x.shape[a] for a in axes)),
    impl=_resize_impl,
    batch=_resize_batch,
    samples=lambda make: [
        ((make((5,)),), {"axes": (-1,), "lengths": (3,)}),
        ((make((2, 3)),), {"axes": (0, 1), "lengths": (4, 2)}),
    ],
)
defrule(resize, pattern=patterns.movement(resize))  # crops or zero-fills
from ._registry import NAMESPACE as _NS  # noqa: E402

_NS.pop("fft_resize", None)  # an implementation detail, not part of the namespace


def _resize_to(x: Any, axes: tuple, lengths: tuple) -> Any:
    """``x`` padded with zeros or cropped to ``lengths`` along ``axes`` (no-op if equal)."""
    if all(x.shape[a] == n for a, n in zip(axes, lengths)):
        return x
    return resize(x, axes=tuple(axes), lengths=tuple(lengths))


# -- the doubling mask of the half spectrum -------------------------------------------
def _half_mask(ct: Any, axis: int, n: int, interior: float) -> Any:
    """Weights along ``axis`` of a half spectrum of a length-``n`` signal: 1 for the
    zero bin (and the Nyquist bin when ``n`` is even), ``interior`` for the others."""
    raw = _raw(ct)
    ns = xp_of(raw)
    dtype = _real_dtype(ns, ct.dtype)
    m = n // 2 + 1
    k = ns.arange(m, device=device_of(raw))
    edge = k == 0
    if n % 2 == 0:
        edge = ns.logical_or(edge, k == n // 2)
    dev = device_of(raw)
    mask = ns.where(
        edge, ns.ones(m, dtype=dtype, device=dev), ns.full(m, interior, dtype=dtype, device=dev)
    )
    ndim = len(ct.shape)
    return ns.reshape(mask, (m,) + (1,) * (ndim - (axis % ndim) - 1))


# -- one-axis transforms ---------------------------------------------------------------
def _n_in(x: Any, n: Any, axis: int) -> int:
    return x.shape[axis] if n is None else n


def _n_half(x: Any, n: Any, axis: int) -> int:
    """The signal length of a half spectrum (irfft/hfft's default n)."""
    return 2 * (x.shape[axis] - 1) if n is None else n


def _fft_t(name: str) -> Any:
    def transpose(ct: Any, x: Any, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
        out = getattr(F, f"fft_{name}")(_as_complex(ct), axis=axis, norm=norm)
        return _resize_to(out, (axis,), (x.shape[axis],))

    transpose.__name__ = f"{name}_transpose"
    return transpose


def _rfft_t(ct: Any, x: Any, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    n = _n_in(x, n, axis)
    w = F.multiply(F.conj(_as_complex(ct)), _half_mask(ct, axis, n, 0.5))
    out = F.fft_irfft(w, n=n, axis=axis, norm=_SWAP[norm])
    return _resize_to(out, (axis,), (x.shape[axis],))


def _irfft_t(ct: Any, x: Any, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    n = _n_half(x, n, axis)
    y = F.fft_rfft(_as_real(ct), n=n, axis=axis, norm=_SWAP[norm])
    out = F.conj(F.multiply(y, _half_mask(y, axis, n, 2.0)))
    return _resize_to(out, (axis,), (x.shape[axis],))


def _hfft_t(ct: Any, x: Any, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    # hfft = irfft(conj(x)) with the norm swapped: conj(irfft^T(ct, swapped norm))
    n = _n_half(x, n, axis)
    y = F.fft_rfft(_as_real(ct), n=n, axis=axis, norm=norm)
    out = F.multiply(y, _half_mask(y, axis, n, 2.0))
    return _resize_to(out, (axis,), (x.shape[axis],))


def _ihfft_t(ct: Any, x: Any, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    # ihfft = conj(rfft(x)) with the norm swapped: rfft^T(conj(ct), swapped norm)
    n = _n_in(x, n, axis)
    w = F.multiply(_as_complex(ct), _half_mask(ct, axis, n, 0.5))
    out = F.fft_irfft(w, n=n, axis=axis, norm=norm)
    return _resize_to(out, (axis,), (x.shape[axis],))


def _axis_batch(name: str) -> Any:
    def batch(args: list, batched: list, axis: int = -1, **params: Any) -> tuple:
        return getattr(F, f"fft_{name}")(args[0], axis=_shift(axis), **params), True

    return batch


# -- n-axis transforms -----------------------------------------------------------------
def _axes_of(x: Any, s: Any, axes: Any) -> tuple:
    nd = len(x.shape)
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    return tuple(a % nd for a in axes)


def _s_in(x: Any, s: Any, axes: tuple) -> tuple:
    if s is None:
        return tuple(x.shape[a] for a in axes)
    return tuple(x.shape[a] if m == -1 else m for a, m in zip(axes, s))


def _s_half(x: Any, s: Any, axes: tuple) -> tuple:
    if s is None:
        return tuple(x.shape[a] for a in axes[:-1]) + (2 * (x.shape[axes[-1]] - 1),)
    full = _s_in(x, s, axes)
    if s[-1] == -1:
        full = full[:-1] + (2 * (x.shape[axes[-1]] - 1),)
    return full


def _fftn_t(name: str) -> Any:
    def transpose(ct: Any, x: Any, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
        ax = _axes_of(x, s, axes)
        out = getattr(F, f"fft_{name}")(_as_complex(ct), axes=ax, norm=norm)
        return _resize_to(out, ax, tuple(x.shape[a] for a in ax))

    transpose.__name__ = f"{name}_transpose"
    return transpose


def _rfftn_t(ct: Any, x: Any, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    ax = _axes_of(x, s, axes)
    full = _s_in(x, s, ax)
    w = F.multiply(F.conj(_as_complex(ct)), _half_mask(ct, ax[-1], full[-1], 0.5))
    out = F.fft_irfftn(w, s=full, axes=ax, norm=_SWAP[norm])
    return _resize_to(out, ax, tuple(x.shape[a] for a in ax))


def _irfftn_t(ct: Any, x: Any, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    ax = _axes_of(x, s, axes)
    full = _s_half(x, s, ax)
    y = F.fft_rfftn(_as_real(ct), s=full, axes=ax, norm=_SWAP[norm])
    out = F.conj(F.multiply(y, _half_mask(y, ax[-1], full[-1], 2.0)))
    return _resize_to(out, ax, tuple(x.shape[a] for a in ax))


def _axes_batch(name: str) -> Any:
    def batch(args: list, batched: list, s: Any = None, axes: Any = None, **params: Any) -> tuple:
        x = args[0]
        nd = len(x.shape) - 1
        if axes is None:  # make "all axes" / "the last len(s) axes" explicit
            axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
        return getattr(F, f"fft_{name}")(x, s=s, axes=_shift(axes), **params), True

    return batch


# -- shifts ------------------------------------------------------------------------------
def _shift_batch(name: str) -> Any:
    def batch(args: list, batched: list, axes: Any = None) -> tuple:
        x = args[0]
        if axes is None:
            axes = tuple(range(len(x.shape) - 1))
        return getattr(F, f"fft_{name}")(x, axes=_shift(axes)), True

    return batch


# -- samples -------------------------------------------------------------------------------
def _c(make: Any, shape: tuple) -> Any:
    """A complex sample: make() gives the real and imaginary parts."""
    return make(shape) + 1j * make(shape)


def _axis_samples(make: Any) -> list:
    # the complex transforms get make()'s arrays as they come: real ones in the
    # real passes (a real signal must get a real cotangent), complex ones in the
    # complex pass (they are declared complex_ok below); the real transforms
    # (rfft, ihfft) take real input only
    return [
        ((make((5,)),), {}),
        ((make((4,)),), {"norm": "ortho"}),
        ((make((3, 4)),), {"axis": 0, "norm": "forward"}),
        ((make((5,)),), {"n": 7}),
        ((make((2, 6)),), {"n": 3, "axis": -1}),
    ]


def _half_samples(make: Any) -> list:
    # half spectra: n is the signal length (odd and even, padded and cropped)
    return [
        ((_c(make, (4,)),), {}),
        ((_c(make, (4,)),), {"n": 7, "norm": "ortho"}),
        ((_c(make, (3, 3)),), {"axis": 0, "norm": "forward"}),
        ((_c(make, (2, 5)),), {"n": 4}),
        ((_c(make, (3,)),), {"n": 10}),
        ((make((4,)),), {}),  # as make() gives it: real in the real passes
        ((make((2, 5)),), {"n": 6}),
    ]


def _axes_samples(make: Any) -> list:  # as _axis_samples
    return [
        ((make((3, 4)),), {}),
        ((make((2, 3, 4)),), {"axes": (0, 2), "norm": "ortho"}),
        ((make((3, 5)),), {"s": (4, 3), "axes": (0, 1), "norm": "forward"}),
        ((make((2, 3, 3)),), {"s": (2, 6), "axes": (2, 1)}),
    ]


def _halfn_samples(make: Any) -> list:
    return [
        ((_c(make, (3, 3)),), {}),
        ((_c(make, (2, 3, 4)),), {"axes": (0, 2), "norm": "ortho"}),
        ((_c(make, (3, 4)),), {"s": (4, 5), "axes": (0, 1), "norm": "forward"}),
        ((_c(make, (2, 3, 3)),), {"s": (3, 3), "axes": (2, 1)}),
        ((make((3, 3)),), {}),  # as make() gives it: real in the real passes
    ]


def _shift_samples(make: Any) -> list:
    return [
        ((make((5,)),), {}),
        ((make((4, 3)),), {"axes": 0}),
        ((_c(make, (3, 4)),), {"axes": (0, 1)}),
        ((make((2, 3, 5)),), {"axes": (-1, 0)}),
    ]


# -- registration ----------------------------------------------------------------------------
_ONE_AXIS = (
    ("fft", _fft_t("fft"), False),
    ("ifft", _fft_t("ifft"), False),
    ("rfft", _rfft_t, True),
    ("irfft", _irfft_t, None),
    ("hfft", _hfft_t, None),
    ("ihfft", _ihfft_t, True),
)
_N_AXES = (
    ("fftn", _fftn_t("fftn"), False),
    ("ifftn", _fftn_t("ifftn"), False),
    ("rfftn", _rfftn_t, True),
    ("irfftn", _irfftn_t, None),
)

PRIMS: dict[str, Any] = {}
for _name, _t, _real in _ONE_AXIS:
    PRIMS[_name] = linear(
        _name,
        _t,
        impl=_impl(_name),
        module="fft",
        batch=_axis_batch(_name),
        pattern=patterns.fft(one_axis=True),  # each output reads its whole line
        samples=_half_samples if _real is None else _axis_samples,
    )
for _name, _t, _real in _N_AXES:
    PRIMS[_name] = linear(
        _name,
        _t,
        impl=_impl(_name),
        module="fft",
        batch=_axes_batch(_name),
        pattern=patterns.fft(one_axis=False),
        samples=_halfn_samples if _real is None else _axes_samples,
    )
for _p in PRIMS.values():  # sums of n terms in float32: a looser tolerance
    defrule(_p, tol={"float32": (1e-3, 1e-3), "complex64": (1e-3, 1e-3)})
complex_ok(*(PRIMS[n] for n in ("fft", "ifft", "fftn", "ifftn", "irfft", "hfft", "irfftn")))
for _name, _other in (("fftshift", "ifftshift"), ("ifftshift", "fftshift")):
    PRIMS[_name] = linear(
        _name,
        lambda ct, x, axes=None, _o=_other: getattr(F, f"fft_{_o}")(ct, axes=axes),
        module="fft",
        batch=_shift_batch(_name),
        samples=_shift_samples,
    )
    # a roll, applied to element numbers as floats (the backend's fftshift may want them)
    defrule(PRIMS[_name], pattern=patterns.movement(PRIMS[_name], float_ids=True))


# -- the namespace's functions, with the standard's exact signatures ---------------------------
def _one_axis(name: str, doc: str) -> Any:
    p = PRIMS[name]

    def fn(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
        _check_norm(norm)
        return p(x, n=n, axis=axis, norm=norm)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return export(f"fft.{name}", fn)


def _n_axes(name: str, doc: str) -> Any:
    p = PRIMS[name]

    def fn(x: Any, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
        _check_norm(norm)
        if s is not None:
            s = tuple(int(m) for m in s)
        if axes is not None:
            axes = tuple(int(a) for a in axes)
            if s is not None and len(s) != len(axes):
                raise ValueError(f"xpgrad: s {s} and axes {axes} must have the same length")
        return p(x, s=s, axes=axes, norm=norm)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return export(f"fft.{name}", fn)


def _shift_fn(name: str, doc: str) -> Any:
    p = PRIMS[name]

    def fn(x: Any, /, *, axes: Any = None) -> Any:
        if isinstance(axes, (list, tuple)):
            axes = tuple(int(a) for a in axes)
        return p(x, axes=axes)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return export(f"fft.{name}", fn)


fft = _one_axis(
    "fft",
    """One-dimensional discrete Fourier transform (``xp.fft.fft``).

    Linear: its derivative is itself and its pullback is ``fft`` again (the DFT
    matrix is symmetric), padded or cropped back when ``n`` changed the length.

    >>> import numpy as np, xpgrad
    >>> def power(z):
    ...     xp = z.__array_namespace__()
    ...     return xp.sum(xp.abs(xp.fft.fft(z)) ** 2)
    >>> xpgrad.gradient(power, np.asarray([1.0 + 0j, 2.0 + 0j]))[0]  # 2 * n * conj(z)
    array([4.+0.j, 8.+0.j])
    """,
)
ifft = _one_axis("ifft", "Inverse one-dimensional DFT (``xp.fft.ifft``), differentiable.")
rfft = _one_axis("rfft", "DFT of a real array, half spectrum (``xp.fft.rfft``), differentiable.")
irfft = _one_axis("irfft", "Inverse of ``rfft``: a real signal (``xp.fft.irfft``), differentiable.")
hfft = _one_axis("hfft", "DFT of a Hermitian signal given by half (``xp.fft.hfft``).")
ihfft = _one_axis("ihfft", "Inverse of ``hfft`` (``xp.fft.ihfft``), differentiable.")
fftn = _n_axes("fftn", "N-dimensional DFT (``xp.fft.fftn``), differentiable.")
ifftn = _n_axes("ifftn", "Inverse N-dimensional DFT (``xp.fft.ifftn``), differentiable.")
rfftn = _n_axes("rfftn", "N-dimensional DFT of a real array (``xp.fft.rfftn``).")
irfftn = _n_axes("irfftn", "Inverse of ``rfftn`` (``xp.fft.irfftn``), differentiable.")
fftshift = _shift_fn("fftshift", "Move the zero frequency to the centre (``xp.fft.fftshift``).")
ifftshift = _shift_fn("ifftshift", "Inverse of ``fftshift`` (``xp.fft.ifftshift``).")
