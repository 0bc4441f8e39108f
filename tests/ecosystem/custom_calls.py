"""Sample calls for functions whose signature no generic template fits: classes (called
after construction), methods (on an object built from the differentiated input),
functions that take callables, filter specifications, rotations.

Each entry builds everything it needs from its arguments (never from arrays closed over
from outside, which would mix a raw array with a tracer: see docs/ecosystem.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eco_harness import Template, _labels, _u


def ns(a: Any) -> Any:
    return a.__array_namespace__()


def _grid(n: int = 6) -> np.ndarray:
    return np.linspace(0.0, 1.0, n)


def _mid(x: Any) -> Any:
    """Query points between the grid points, made from the grid itself."""
    return (x[:-1] + x[1:]) / 2


def _quats() -> np.ndarray:
    q = _u((3, 4), 0.1, 1.0, seed=5)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _moments(z: Any, p: Any, k: Any) -> Any:
    """``sum |z|^2 + sum |p|^2 + k``: zeros and poles, whatever their order."""
    xp = ns(z)
    return xp.sum(xp.real(z * xp.conj(z))) + xp.sum(xp.real(p * xp.conj(p))) + k


def _c(name: str, make: Any, wrt: tuple, via: Any, **kwargs: Any) -> tuple[str, Template]:
    return name, Template("custom", make, wrt, kwargs, via)


def _rot() -> Any:
    from scipy.spatial.transform import Rotation

    return Rotation


def _rt() -> Any:
    from scipy.spatial.transform import RigidTransform

    return RigidTransform


_T = "scipy.spatial.transform."
_R = _T + "Rotation."
_RT = _T + "RigidTransform."
_SOS = lambda: (np.array([[0.2, 0.3, 0.1], [0.1, 0.2, 0.1]]),)  # noqa: E731


def _sos(b: Any) -> Any:
    """Second-order sections from traced numerators; the denominators (whose first
    coefficient must stay exactly 1) are data made in the same namespace."""
    return ns(b).concat([b, ns(b).asarray([[1.0, -0.3, 0.2], [1.0, 0.1, 0.3]])], axis=1)

CUSTOM: dict[str, Template] = dict(
    [
        # -- array-api-extra ------------------------------------------------------------
        _c("array_api_extra.at", lambda: (_u((6,)), _u((2,), seed=1)), (0, 1),
           lambda at: lambda x, y: at(x)[1:3].add(y)),
        _c("array_api_extra.apply_where", lambda: (_u((6,)),), (0,),
           lambda aw: lambda x: aw(x > 0.5, x, lambda a: ns(a).exp(a), fill_value=0.0)),
        _c("array_api_extra.atleast_nd", lambda: (_u((3,)),), (0,),
           lambda f: lambda x: f(x, ndim=3)),
        _c("array_api_extra.lazy_apply", lambda: (_u((6,)),), (0,),
           lambda f: lambda x: f(lambda a: a * 2.0, x, shape=x.shape, dtype=x.dtype)),
        _c("array_api_extra.one_hot", lambda: (_labels(),), (),
           lambda f: lambda y: f(y, 3)),
        _c("array_api_extra.default_dtype", lambda: (), (),
           lambda f: lambda: f(__import__("numpy"))),
        _c("array_api_extra.diag_indices", lambda: (), (), lambda f: lambda: f(3, xp=np)),
        _c("array_api_extra.tril_indices", lambda: (), (), lambda f: lambda: f(3, xp=np)),
        _c("array_api_extra.triu_indices", lambda: (), (), lambda f: lambda: f(3, xp=np)),
        _c("array_api_extra.unravel_index", lambda: (np.array([1, 5]),), (),
           lambda f: lambda i: f(i, (2, 3))),
        _c("array_api_extra.pad", lambda: (_u((4,)),), (0,), lambda f: lambda x: f(x, 2)),
        _c("array_api_extra.partition", lambda: (_u((6,)),), (0,), lambda f: lambda x: f(x, 2)),
        _c("array_api_extra.argpartition", lambda: (_u((6,)),), (0,),
           lambda f: lambda x: f(x, 2)),
        # -- einops ------------------------------------------------------------------------
        _c("einops.array_api.rearrange", lambda: (_u((2, 3)),), (0,),
           lambda f: lambda x: f(x, "a b -> b a")),
        _c("einops.array_api.reduce", lambda: (_u((2, 3)),), (0,),
           lambda f: lambda x: f(x, "a b -> b", "max")),
        _c("einops.array_api.repeat", lambda: (_u((2, 3)),), (0,),
           lambda f: lambda x: f(x, "a b -> a b c", c=2)),
        _c("einops.array_api.pack", lambda: (_u((2, 3)), _u((2,), seed=1)), (0, 1),
           lambda f: lambda x, y: f([x, y], "a *")[0]),
        _c("einops.array_api.unpack", lambda: (_u((2, 4)),), (0,),
           lambda f: lambda x: f(x, [(3,), (1,)], "a *")),
        # -- scipy: constants, differentiate, fft, integrate -----------------------------------
        _c("scipy.constants.convert_temperature", lambda: (_u((6,)),), (0,),
           lambda f: lambda x: f(x, "Celsius", "Fahrenheit")),
        _c("scipy.differentiate.derivative", lambda: (_u((6,)),), (0,),
           lambda f: lambda x: f(ns(x).exp, x).df),
        _c("scipy.differentiate.jacobian", lambda: (_u((3,)),), (0,),
           lambda f: lambda x: f(ns(x).sin, x).df),
        _c("scipy.differentiate.hessian", lambda: (_u((2,)),), (0,),
           lambda f: lambda x: f(lambda t: ns(t).sum(t**3, axis=0), x).ddf),
        _c("scipy.fft.fht", lambda: (_u((8,)),), (0,), lambda f: lambda x: f(x, 0.1, 0.5)),
        _c("scipy.fft.ifht", lambda: (_u((8,)),), (0,), lambda f: lambda x: f(x, 0.1, 0.5)),
        _c("scipy.integrate.tanhsinh", lambda: (_u((3,)), _u((3,), 1.0, 2.0, seed=1)), (0, 1),
           lambda f: lambda a, b: f(ns(a).exp, a, b).integral),
        _c("scipy.integrate.cubature", lambda: (_u((2,)), _u((2,), 1.0, 2.0, seed=1)), (0, 1),
           lambda f: lambda a, b: f(lambda t: ns(t).sum(t**2, axis=-1), a, b).estimate),
        _c("scipy.integrate.nsum", lambda: (_u((3,), 1.0, 2.0),), (0,),
           lambda f: lambda s: f(lambda k, s: 1.0 / k**s, ns(s).ones_like(s), 50 * ns(s).ones_like(s),
                                 args=(s,)).sum),
        _c("scipy.integrate.qmc_quad", lambda: (_u((1,)),), (0,),
           lambda f: lambda a: f(lambda t: t[0] ** 2, a, a + 1.0,
                                 qrng=__import__("scipy").stats.qmc.Halton(1, scramble=False))
           .integral),
        # -- scipy.interpolate: build, then evaluate between the knots ------------------------
        *[
            _c(f"scipy.interpolate.{n}", lambda: (_grid(), _u((6,))), (1,),
               lambda cls: lambda x, y: cls(x, y)(_mid(x)))
            for n in ("CubicSpline", "Akima1DInterpolator", "PchipInterpolator",
                      "make_interp_spline", "make_smoothing_spline")
        ],
        _c("scipy.interpolate.make_splrep", lambda: (_grid(8), _u((8,))), (1,),
           lambda f: lambda x, y: f(x, y, s=0)(_mid(x))),
        _c("scipy.interpolate.make_lsq_spline", lambda: (_grid(8), _u((8,))), (1,),
           lambda f: lambda x, y: f(x, y, ns(x).concat([x[:1]] * 4 + [x[-1:]] * 4), k=3)(_mid(x))),
        _c("scipy.interpolate.generate_knots", lambda: (_grid(8), _u((8,))), (1,),
           lambda f: lambda x, y: list(f(x, y, s=0.01))[-1]),
        _c("scipy.interpolate.CubicHermiteSpline",
           lambda: (_grid(), _u((6,)), _u((6,), seed=1)), (1, 2),
           lambda cls: lambda x, y, d: cls(x, y, d)(_mid(x))),
        _c("scipy.interpolate.PPoly", lambda: (_u((3, 5)), _grid()), (0,),
           lambda cls: lambda c, x: cls(c, x)(_mid(x))),
        _c("scipy.interpolate.BPoly", lambda: (_u((3, 5)), _grid()), (0,),
           lambda cls: lambda c, x: cls(c, x)(_mid(x))),
        _c("scipy.interpolate.BSpline",
           lambda: (np.array([0.0, 0, 0, 0, 0.5, 1, 1, 1, 1]), _u((5,))), (1,),
           lambda cls: lambda t, c: cls(t, c, 3)(_mid(t[3:6]))),
        _c("scipy.interpolate.RegularGridInterpolator", lambda: (_grid(), _u((6,))), (1,),
           lambda cls: lambda x, y: cls((x,), y)(ns(x).reshape(_mid(x), (-1, 1)))),
        _c("scipy.interpolate.RBFInterpolator", lambda: (_u((6, 2)), _u((6,), seed=1)), (1,),
           lambda cls: lambda p, v: cls(p, v)(p[:3] + 0.05)),
        _c("scipy.interpolate.NdBSpline",
           lambda: (np.array([0.0, 0, 0, 0, 0.5, 1, 1, 1, 1]), _u((5, 5))), (1,),
           lambda cls: lambda t, c: cls((t, t), c, 3)(ns(c).stack([_mid(t[3:6])] * 2, axis=1))),
        # -- scipy.ndimage -----------------------------------------------------------------------
        _c("scipy.ndimage.affine_transform", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, ns(x).asarray([[0.9, 0.1], [0.0, 1.0]]), order=1)),
        _c("scipy.ndimage.map_coordinates", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, ns(x).asarray([[0.5, 2.2], [1.5, 3.1]]), order=1)),
        _c("scipy.ndimage.geometric_transform", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, lambda c: (c[0] * 0.9, c[1] * 0.9), order=1)),
        _c("scipy.ndimage.generic_filter", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, np.mean, size=2)),
        _c("scipy.ndimage.generic_filter1d", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, lambda i, o: o.__setitem__(slice(None), i[1:] + i[:-1]), 2)),
        _c("scipy.ndimage.vectorized_filter", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, lambda w, axis: ns(w).mean(w, axis=axis), size=2)),
        _c("scipy.ndimage.rank_filter", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, 1, size=2)),
        _c("scipy.ndimage.labeled_comprehension", lambda: (_u((6,)),), (0,),
           lambda f: lambda x: f(x, ns(x).asarray([1, 1, 2, 2, 1, 2]), ns(x).asarray([1, 2]),
                                 lambda v: ns(v).mean(v), ns(x).float64, 0.0)),
        *[
            _c(f"scipy.ndimage.{n}", lambda: (_u((5, 5)),), (0,),
               lambda f: lambda x: f(x, 1.0))
            for n in ("gaussian_filter", "gaussian_gradient_magnitude", "gaussian_laplace")
        ],
        *[
            _c(f"scipy.ndimage.{n}", lambda: (_u((5, 5)),), (0,),
               lambda f: lambda x: f(x, size=2))
            for n in ("grey_closing", "grey_dilation", "grey_erosion", "grey_opening",
                      "maximum_filter", "minimum_filter", "median_filter",
                      "morphological_gradient", "morphological_laplace", "black_tophat",
                      "white_tophat")
        ],
        _c("scipy.ndimage.generic_gradient_magnitude", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, __import__("scipy").ndimage.sobel)),
        _c("scipy.ndimage.generic_laplace", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, lambda a, axis, output, mode, cval: __import__("scipy")
                                 .ndimage.correlate1d(a, [1.0, -2.0, 1.0], axis, output, mode,
                                                      cval))),
        _c("scipy.ndimage.find_objects", lambda: (np.array([[1, 1, 0], [0, 2, 2]]),), (),
           lambda f: lambda lab: f(lab)),
        _c("scipy.ndimage.histogram", lambda: (_u((6,)),), (0,),
           lambda f: lambda x: f(x, 0.0, 1.0, 4)),
        _c("scipy.ndimage.watershed_ift",
           lambda: (np.array([[1, 2, 3], [2, 1, 0], [3, 2, 1]], dtype=np.uint8),), (),
           lambda f: lambda x: f(x, np.array([[1, 0, 0], [0, 0, 0], [0, 0, 2]]))),
        # -- scipy.optimize.elementwise --------------------------------------------------------
        _c("scipy.optimize._elementwise.find_root", lambda: (_u((3,), 1.0, 2.0),), (0,),
           lambda f: lambda s: f(lambda t, s: t**3 - s, (0 * s, 0 * s + 2), args=(s,)).x),
        _c("scipy.optimize._elementwise.find_minimum", lambda: (_u((3,)),), (0,),
           lambda f: lambda s: f(lambda t, s: (t - s) ** 2, (0 * s - 1, 0 * s + 0.1, 0 * s + 2),
                                 args=(s,)).x),
        _c("scipy.optimize._elementwise.bracket_root", lambda: (_u((3,), 1.0, 2.0),), (0,),
           lambda f: lambda s: f(lambda t, s: t**3 - s, 0 * s + 0.5, args=(s,)).bracket),
        _c("scipy.optimize._elementwise.bracket_minimum", lambda: (_u((3,)),), (0,),
           lambda f: lambda s: f(lambda t, s: (t - s) ** 2, 0 * s + 0.1, args=(s,)).bracket),
        # -- scipy.signal -------------------------------------------------------------------
        _c("scipy.signal.cheby1", lambda: (np.asarray(1.0), np.asarray(0.3)), (0, 1),
           lambda f: lambda rp, wn: f(3, rp, wn)),
        _c("scipy.signal.cheby2", lambda: (np.asarray(30.0), np.asarray(0.3)), (0, 1),
           lambda f: lambda rs, wn: f(3, rs, wn)),
        _c("scipy.signal.ellip", lambda: (np.asarray(1.0), np.asarray(30.0), np.asarray(0.3)),
           (0, 1, 2), lambda f: lambda rp, rs, wn: f(3, rp, rs, wn)),
        # roots come in an order that a perturbation can change (np.roots): a function
        # of the zeros and poles that does not depend on their order
        _c("scipy.signal.tf2zpk",
           lambda: (np.array([1.0, 0.5, 0.3]), np.array([1.0, -0.4, 0.2, 0.1])), (0, 1),
           lambda f: lambda b, a: _moments(*f(b, a))),
        _c("scipy.signal.iirfilter", lambda: (np.asarray(0.3),), (0,),
           lambda f: lambda wn: f(3, wn, btype="low")),
        _c("scipy.signal.iirdesign", lambda: (np.asarray(0.2), np.asarray(0.4)), (0, 1),
           lambda f: lambda wp, ws: f(wp, ws, 1, 30)),
        *[
            _c(f"scipy.signal.{n}", lambda: (np.asarray(0.3), np.asarray(30.0)), (0, 1),
               lambda f: lambda w0, q: f(w0, q))
            for n in ("iirnotch", "iirpeak")
        ],
        _c("scipy.signal.iircomb", lambda: (np.asarray(30.0),), (0,),
           lambda f: lambda q: f(1000.0, q, fs=8000.0)),
        *[
            _c(f"scipy.signal.{n}", lambda: (np.asarray(0.2), np.asarray(0.3)), (0, 1),
               lambda f: lambda wp, ws: f(wp, ws, 1, 30)[1])
            for n in ("buttord", "cheb1ord", "cheb2ord", "ellipord")
        ],
        _c("scipy.signal.bilinear_zpk", lambda: (_u((2,)), -_u((3,), seed=1)), (0, 1),
           lambda f: lambda z, p: f(z, p, 1.0, 2.0)),
        _c("scipy.signal.zpk2sos", lambda: (_u((2,)), -_u((2,), seed=1)), (0, 1),
           lambda f: lambda z, p: f(z, p, 1.0)),
        _c("scipy.signal.bode", lambda: (_u((2,)), _u((3,), 0.5, 1.5, seed=1)), (0, 1),
           lambda f: lambda b, a: f((b, a), w=ns(b).linspace(0.1, 2.0, 5))[1:]),
        _c("scipy.signal.impulse", lambda: (_u((2,)), _u((3,), 0.5, 1.5, seed=1)), (0, 1),
           lambda f: lambda b, a: f((b, a), N=5)[1]),
        _c("scipy.signal.group_delay", lambda: (_u((3,)), np.array([1.0, -0.3, 0.1])), (0,),
           lambda f: lambda b, a: f((b, a), w=5)[1]),
        _c("scipy.signal.filtfilt",
           lambda: (_u((3,)), np.array([1.0, -0.3, 0.1]), _u((24,), seed=1)), (0, 2),
           lambda f: lambda b, a, x: f(b, a, x)),
        *[
            _c(f"scipy.signal.{n}", lambda: (*_SOS(), _u((24,), seed=1)), (0, 1),
               lambda f: lambda b, x: f(_sos(b), x))
            for n in ("sosfilt", "sosfiltfilt")
        ],
        _c("scipy.signal.sosfilt_zi", _SOS, (0,), lambda f: lambda b: f(_sos(b))),
        *[
            _c(f"scipy.signal.{n}", _SOS, (0,), lambda f: lambda b: f(_sos(b), worN=8)[1])
            for n in ("freqz_sos", "sosfreqz")
        ],
        _c("scipy.signal.firls", lambda: (np.array([0.0, 0.2, 0.3, 1.0]),), (0,),
           lambda f: lambda bands: f(7, bands, ns(bands).asarray([1.0, 1.0, 0.0, 0.0]))),
        _c("scipy.signal.firwin2", lambda: (np.array([1.0, 0.8, 0.1, 0.0]),), (0,),
           lambda f: lambda gain: f(7, ns(gain).asarray([0.0, 0.3, 0.6, 1.0]), gain)),
        _c("scipy.signal.remez", lambda: (np.array([0.0, 0.1, 0.2, 0.5]),), (0,),
           lambda f: lambda bands: f(7, bands, ns(bands).asarray([1.0, 0.0]))),
        _c("scipy.signal.gammatone", lambda: (np.asarray(440.0),), (0,),
           lambda f: lambda fr: f(fr, "iir", fs=16000.0)),
        _c("scipy.signal.get_window", lambda: (np.asarray(1.5),), (0,),
           lambda f: lambda s: f(("gaussian", s), 8)),
        _c("scipy.signal.order_filter", lambda: (_u((5, 5)),), (0,),
           lambda f: lambda x: f(x, ns(x).ones((3, 3)), 4)),
        _c("scipy.signal.place_poles",
           lambda: (np.array([[0.0, 1.0], [-2.0, -3.0]]), np.array([[0.0], [1.0]])), (0,),
           lambda f: lambda A, B: f(A, B, ns(A).asarray([-1.0, -2.0])).gain_matrix),
        _c("scipy.signal.resample_poly", lambda: (_u((12,)),), (0,),
           lambda f: lambda x: f(x, 2, 3)),
        _c("scipy.signal.savgol_filter", lambda: (_u((12,)),), (0,),
           lambda f: lambda x: f(x, 5, 2)),
        _c("scipy.signal.spline_filter", lambda: (_u((8, 8)),), (0,),
           lambda f: lambda x: f(x)),
        _c("scipy.signal.choose_conv_method", lambda: (_u((6,)), _u((3,), seed=1)), (),
           lambda f: lambda a, b: f(a, b)),
        _c("scipy.signal.windows.taylor", lambda: (np.asarray(30.0),), (0,),
           lambda f: lambda sll: f(8, 4, sll)),
        # the windows build NumPy arrays unless given xp= (then the traced namespace)
        *[
            _c(f"scipy.signal.windows.{n}", lambda: (np.asarray(3.0),), (0,),
               lambda f: lambda beta: f(8, beta, xp=ns(beta)))
            for n in ("kaiser", "kaiser_bessel_derived")
        ],
        _c("scipy.signal.windows.exponential", lambda: (np.asarray(3.0),), (0,),
           lambda f: lambda tau: f(8, tau=tau)),
        _c("scipy.signal.windows.general_cosine", lambda: (np.array([0.5, 0.5]),), (0,),
           lambda f: lambda a: f(8, a)),
        # -- scipy.special (3-argument, integer-parameter functions) ---------------------------
        *[
            _c(f"scipy.special.{n}", lambda: (np.array([1, 2, 3]), np.array([5, 6, 7]),
                                               _u((3,))), (2,),
               lambda f: lambda k, n, p: f(k, n, p))
            for n in ("bdtri", "nbdtr", "nbdtrc", "nbdtri")
        ],
        # -- scipy.special: distribution functions, differentiated in their data argument;
        # the parameters (shapes, degrees of freedom, counts, orders) are constants
        *[
            _c(f"scipy.special.{n}", lambda lo=lo, hi=hi: (_u((3,), 1.0, 4.0, seed=1),
                                                          _u((3,), lo, hi)), (1,),
               lambda f: lambda a, x: f(a, x))
            for n, lo, hi in (("gammainc", 0.5, 3.0), ("gammaincc", 0.5, 3.0),
                              ("gammaincinv", 0.2, 0.8), ("gammainccinv", 0.2, 0.8),
                              ("chdtr", 0.5, 4.0), ("chdtrc", 0.5, 4.0), ("chdtri", 0.2, 0.8),
                              ("stdtr", -2.0, 2.0), ("stdtrit", 0.2, 0.8))
        ],
        *[
            _c(f"scipy.special.{n}", lambda lo=lo, hi=hi: (np.array([1, 2, 3]), _u((3,), lo, hi)),
               (1,), lambda f: lambda k, x: f(k, x))
            for n, lo, hi in (("pdtr", 0.5, 4.0), ("pdtrc", 0.5, 4.0), ("pdtri", 0.2, 0.8),
                              ("expn", 0.5, 3.0), ("yn", 0.5, 5.0))
        ],
        *[
            _c(f"scipy.special.{n}", lambda lo=lo, hi=hi: (_u((3,), 1.0, 3.0, seed=1),
                                                          _u((3,), 1.5, 4.0, seed=2),
                                                          _u((3,), lo, hi)), (2,),
               lambda f: lambda a, b, x: f(a, b, x))
            for n, lo, hi in (("betainc", 0.2, 0.8), ("betaincc", 0.2, 0.8),
                              ("betaincinv", 0.2, 0.8), ("fdtr", 0.3, 3.0), ("fdtrc", 0.3, 3.0),
                              ("fdtri", 0.2, 0.8), ("gdtr", 0.5, 3.0), ("gdtrc", 0.5, 3.0),
                              ("hyp1f1", -1.5, 1.5))
        ],
        *[
            _c(f"scipy.special.{n}", lambda: (np.array([1, 2, 3]), np.array([5, 6, 7]),
                                               _u((3,))), (2,),
               lambda f: lambda k, n, p: f(k, n, p))
            for n in ("bdtr", "bdtrc")
        ],
        _c("scipy.special.lpmv", lambda: (_u((3,), -0.8, 0.8),), (0,),
           lambda f: lambda x: f(1, 2, x)),
        _c("scipy.special.multigammaln", lambda: (_u((3,), 2.0, 3.0),), (0,),
           lambda f: lambda a: f(a, 2)),
        # -- scipy.stats -------------------------------------------------------------------------
        _c("scipy.stats.trim_mean", lambda: (_u((8,)),), (0,), lambda f: lambda x: f(x, 0.1)),
        _c("scipy.stats.moment", lambda: (_u((8,)),), (0,), lambda f: lambda x: f(x, order=3)),
        _c("scipy.stats.alexandergovern", lambda: (_u((8,)), _u((8,), seed=1)), (0, 1),
           lambda f: lambda x, y: f(x, y).statistic),
        # 12 points estimate a 4 x 4 covariance badly: forward and reverse mode then differ
        # in the fifth digit (both right to the conditioning); 40 points are well posed
        _c("scipy.stats.epps_singleton_2samp", lambda: (_u((20,)), _u((20,), seed=1)), (0, 1),
           lambda f: lambda x, y: f(x, y)),
        _c("scipy.stats.cramervonmises", lambda: (_u((8,)),), (0,),
           lambda f: lambda x: f(x, lambda t: t).statistic),
        _c("scipy.stats.ks_1samp", lambda: (_u((8,)),), (0,),
           lambda f: lambda x: f(x, lambda t: t).statistic),
        _c("scipy.stats.cramervonmises_2samp", lambda: (_u((8,)), _u((7,), seed=1)), (0, 1),
           lambda f: lambda x, y: f(x, y).statistic),
        _c("scipy.stats.directional_stats", lambda: (_u((5, 3)),), (0,),
           lambda f: lambda x: f(x).mean_direction),
        _c("scipy.stats.ttest_ind_from_stats",
           lambda: (np.asarray(1.0), np.asarray(0.5), np.asarray(1.2), np.asarray(0.6)),
           (0, 1, 2, 3), lambda f: lambda m1, s1, m2, s2: f(m1, s1, 10, m2, s2, 12).statistic),
        _c("scipy.stats.boxcox_llf", lambda: (_u((8,), 0.5, 2.0),), (0,),
           lambda f: lambda x: f(0.5, x)),
        _c("scipy.stats.yeojohnson_llf", lambda: (_u((8,), 0.5, 2.0),), (0,),
           lambda f: lambda x: f(0.5, x)),
        _c("scipy.stats.bootstrap", lambda: (_u((8,)),), (0,),
           lambda f: lambda x: f((x,), ns(x).mean, n_resamples=9, rng=0).standard_error),
        _c("scipy.stats.permutation_test", lambda: (_u((8,)), _u((8,), seed=1)), (0, 1),
           lambda f: lambda x, y: f((x, y), lambda a, b, axis: ns(a).mean(a, axis=axis)
                                     - ns(b).mean(b, axis=axis), n_resamples=9,
                                     rng=0).statistic),
        _c("scipy.stats.monte_carlo_test", lambda: (_u((8,)),), (0,),
           lambda f: lambda x: f(x, lambda size: ns(x).asarray(
                                     np.random.default_rng(0).uniform(size=size)),
                                 lambda a, axis: ns(a).mean(a, axis=axis),
                                 n_resamples=9).statistic),
        _c("scipy.stats.power", lambda: (np.asarray(0.5),), (0,),
           lambda f: lambda s: f(lambda x, axis: ns(x).mean(x, axis=axis) * s,
                                 lambda size: np.random.default_rng(0).normal(size=size),
                                 (8,), n_resamples=9).power),
        # -- scipy.cluster.hierarchy: linkage matrices -> trees and labels ------------------
        *[
            _c(f"scipy.cluster.hierarchy.{n}", lambda: (_u((5, 2)),), (),
               lambda f, kw=kw: lambda x: f(__import__("scipy").cluster.hierarchy.linkage(x),
                                            **kw))
            for n, kw in (("dendrogram", {"no_plot": True}), ("to_tree", {}))
        ],
        _c("scipy.cluster.hierarchy.maxRstat", lambda: (_u((5, 2)),), (0,),
           lambda f: lambda x: f(
               (h := __import__("scipy").cluster.hierarchy).linkage(x),
               h.inconsistent(h.linkage(x)), 1)),
        _c("scipy.cluster.hierarchy.leaders", lambda: (_u((5, 2)),), (),
           lambda f: lambda x: f((h := __import__("scipy").cluster.hierarchy).linkage(x),
                                 h.fcluster(h.linkage(x), 2, "maxclust"))),
        _c("scipy.cluster.hierarchy.correspond", lambda: (_u((5, 2)),), (),
           lambda f: lambda x: f(__import__("scipy").cluster.hierarchy.linkage(x),
                                 __import__("scipy").spatial.distance.pdist(x))),
        # -- scipy.spatial.transform: rotations built from the differentiated quaternions ----
        _c(_R + "from_quat", lambda: (_quats(),), (0,), lambda m: lambda q: m(q).as_matrix()),
        *[
            _c(_R + n, lambda: (_quats(),), (0,),
               lambda m, a=a: lambda q: m(_rot().from_quat(q),
                                          *[ns(q).eye(3) if v == "eye" else v for v in a]))
            for n, a in [("as_matrix", ()), ("as_quat", ()), ("as_rotvec", ()), ("as_mrp", ()),
                         ("as_euler", ("xyz",)), ("magnitude", ()),
                         ("as_davenport", ("eye", "extrinsic"))]
        ],
        *[
            _c(_R + n, lambda: (_quats(),), (0,),
               lambda m, a=a: lambda q: m(_rot().from_quat(q), *a).as_quat())
            for n, a in [("inv", ()), ("mean", ()), ("__getitem__", (0,)), ("__pow__", (0.5,)),
                         ("reduce", ())]
        ],
        _c(_R + "__mul__", lambda: (_quats(),), (0,),
           lambda m: lambda q: m(_rot().from_quat(q), _rot().from_quat(q[::-1, ...])).as_quat()),
        _c(_R + "concatenate", lambda: (_quats(),), (0,),
           lambda m: lambda q: m([_rot().from_quat(q), _rot().from_quat(q)]).as_quat()),
        _c(_R + "apply", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, v: m(_rot().from_quat(q), v)),
        _c(_R + "approx_equal", lambda: (_quats(),), (),
           lambda m: lambda q: m(_rot().from_quat(q), _rot().from_quat(q))),
        _c(_R + "__repr__", lambda: (_quats(),), (), lambda m: lambda q: m(_rot().from_quat(q))),
        _c(_R + "__iter__", lambda: (_quats(),), (0,),
           lambda m: lambda q: [r.as_quat() for r in m(_rot().from_quat(q))]),
        _c(_R + "__setitem__", lambda: (_quats(),), (0,),
           lambda m: lambda q: (r := _rot().from_quat(q), m(r, 0, _rot().from_quat(q[1])))[0]
           .as_quat()),
        _c(_R + "from_rotvec", lambda: (_u((3, 3)),), (0,), lambda m: lambda v: m(v).as_quat()),
        _c(_R + "from_mrp", lambda: (_u((3, 3)),), (0,), lambda m: lambda v: m(v).as_quat()),
        _c(_R + "from_euler", lambda: (_u((3, 3)),), (0,),
           lambda m: lambda v: m("xyz", v).as_quat()),
        _c(_R + "from_davenport", lambda: (_u((3, 3)),), (0,),
           lambda m: lambda v: m(ns(v).eye(3), "extrinsic", v).as_quat()),
        _c(_R + "from_matrix", lambda: (_quats(),), (0,),
           lambda m: lambda q: m(_rot().from_quat(q).as_matrix()).as_quat()),
        _c(_R + "align_vectors", lambda: (_u((3, 3)), _u((3, 3), seed=1)), (0, 1),
           lambda m: lambda a, b: m(a, b)[0].as_quat()),
        _c(_T + "Slerp.__init__", lambda: (_quats(),), (0,),
           lambda m: lambda q: __import__("scipy").spatial.transform.Slerp(
               np.array([0.0, 1.0, 2.0]), _rot().from_quat(q))(np.array([0.5, 1.5])).as_quat()),
        _c(_T + "Slerp.__call__", lambda: (_quats(),), (0,),
           lambda m: lambda q: m(__import__("scipy").spatial.transform.Slerp(
               np.array([0.0, 1.0, 2.0]), _rot().from_quat(q)), np.array([0.5, 1.5])).as_quat()),
        _c(_T + "_rotation._promote", lambda: (_quats(),), (0,), lambda m: lambda q: m(q, xp=ns(q))),
        _c(_T + "_rigid_transform.normalize_dual_quaternion", lambda: (_u((3, 8)),), (0,),
           lambda m: lambda d: m(d)),
        *[
            _c(_RT + n, lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
               lambda m, a=a: lambda q, t: m(
                   _rt().from_components(t, _rot().from_quat(q)), *a))
            for n, a in [("as_matrix", ()), ("as_dual_quat", ()), ("as_exp_coords", ()),
                         ("as_components", ())]
        ],
        *[
            _c(_RT + n, lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
               lambda m, a=a: lambda q, t: m(
                   _rt().from_components(t, _rot().from_quat(q)), *a).as_matrix())
            for n, a in [("inv", ()), ("mean", ()), ("__getitem__", (0,)), ("__pow__", (0.5,))]
        ],
        _c(_RT + "__mul__", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: m(_rt().from_components(t, _rot().from_quat(q)),
                                    _rt().from_components(t[::-1, ...], _rot().from_quat(q)))
           .as_matrix()),
        _c(_RT + "concatenate", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: m([_rt().from_components(t, _rot().from_quat(q))] * 2)
           .as_matrix()),
        _c(_RT + "apply", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: m(_rt().from_components(t, _rot().from_quat(q)), t)),
        _c(_RT + "__iter__", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: [r.as_matrix() for r in m(
               _rt().from_components(t, _rot().from_quat(q)))]),
        _c(_RT + "__setitem__", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: (tf := _rt().from_components(t, _rot().from_quat(q)),
                                   m(tf, 0, _rt().from_translation(t[1])))[0].as_matrix()),
        _c(_RT + "from_components", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: m(t, _rot().from_quat(q)).as_matrix()),
        _c(_RT + "from_translation", lambda: (_u((3, 3)),), (0,),
           lambda m: lambda t: m(t).as_matrix()),
        _c(_RT + "from_rotation", lambda: (_quats(),), (0,),
           lambda m: lambda q: m(_rot().from_quat(q)).as_matrix()),
        _c(_RT + "from_exp_coords", lambda: (_u((3, 6)),), (0,),
           lambda m: lambda v: m(v).as_matrix()),
        _c(_RT + "from_matrix", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: m(_rt().from_components(t, _rot().from_quat(q)).as_matrix())
           .as_exp_coords()),
        _c(_RT + "from_dual_quat", lambda: (_quats(), _u((3, 3), seed=2)), (0, 1),
           lambda m: lambda q, t: m(_rt().from_components(t, _rot().from_quat(q)).as_dual_quat())
           .as_matrix()),
        _c(_RT + "identity", lambda: (), (), lambda m: lambda: m(3).as_matrix()),
        # -- scikit-learn --------------------------------------------------------------------
        *[
            # the curves' points (not their thresholds, which start at infinity)
            _c(f"sklearn.metrics.{n}", lambda: (np.array([0, 1, 0, 1, 1, 0, 1, 0]), _u((8,))),
               (1,), lambda f: lambda y, s: f(y, s)[:2])
            for n in ("roc_curve", "det_curve", "precision_recall_curve")
        ],
        *[
            _c(f"sklearn.metrics.{n}", lambda: (_labels(), _labels()[::-1].copy()), (),
               lambda f: lambda a, b: f(a, b, average="macro"))
            for n in ("f1_score", "precision_score", "recall_score", "jaccard_score")
        ],
        _c("sklearn.metrics.fbeta_score", lambda: (_labels(), _labels()[::-1].copy()), (),
           lambda f: lambda a, b: f(a, b, beta=0.5, average="macro")),
        _c("sklearn.preprocessing.LabelEncoder", lambda: (_labels(),), (),
           lambda cls: lambda y: cls().fit_transform(y)),
    ]
)
