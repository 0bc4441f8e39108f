"""SciPy's distribution and other special functions (rules/special_dist.py).

The rules are checked at orders 1 and 2 on every backend by ``conformance/test_rules.py``
on their samples (Python-number parameters). Here: the namespace offers them; the
derivatives in the data argument match central differences on NumPy and
array-api-strict with *array* parameters (constants of the trace, broadcast, integer
counts); a traced parameter raises a clear error in both modes; the limits and series
near the points where a formula divides by zero; large parameters; batching over a
parameter; and SciPy's own ``scipy.stats`` calls reaching the rules.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad._core.namespace import traced_namespace
from xpgrad._core.trace import NoRuleError
from xpgrad.rules import PRIMITIVES
from xpgrad.rules.special_dist import DIST_NAMES

sp = pytest.importorskip("scipy.special")
xs = pytest.importorskip("array_api_strict")

COMPOSED = {"multigammaln", "radian"}  # traced compositions of primitives, not primitives


def special_of(*vals):
    """``xp.special`` of the first traced value among ``vals``."""
    for v in vals:
        if hasattr(v, "__array_namespace__") and not isinstance(v, np.ndarray):
            return v.__array_namespace__().special
    return traced_namespace(B.namespace_of(np.zeros(1))).special


def backend(name):
    return np if name == "numpy" else xs


def to_np(a):
    return np.asarray(a) if isinstance(a, (np.ndarray, float, int)) else np.from_dlpack(a)


@pytest.mark.parametrize("xp", [np, xs], ids=["numpy", "strict"])
def test_every_function_is_offered(xp) -> None:
    sub = traced_namespace(B.namespace_of(xp.zeros(1)) if xp is np else xs).special
    assert [n for n in DIST_NAMES if not hasattr(sub, n)] == []


#: functions that dispatch to primitives of other names: zeta(x) is Riemann's, zeta(x, q)
#: Hurwitz's (SciPy's one function with an optional argument)
DISPATCH = {"zeta": ("riemann_zeta", "hurwitz_zeta")}


@pytest.mark.parametrize("name", sorted(set(DIST_NAMES) - COMPOSED - {"gammasgn"}))
def test_every_function_is_a_checked_primitive(name: str) -> None:
    for prim_name in DISPATCH.get(name, (name,)):
        prim = PRIMITIVES[f"special.{prim_name}"]
        assert prim.differentiable and prim.samples is not None and prim.batch is not None


def test_gammasgn_is_not_differentiable() -> None:
    assert not PRIMITIVES["special.gammasgn"].differentiable


# -- the data argument, with array parameters as constants of the trace ----------------------

R = np.random.default_rng(3)
# name: (parameters, data); parameters broadcast against the data, counts are integers
DIST = {
    "gammainc": ((R.uniform(0.5, 4.0, (2, 1)),), R.uniform(0.3, 3.0, 3)),
    "gammaincc": ((R.uniform(0.5, 4.0, (2, 1)),), R.uniform(0.3, 3.0, 3)),
    "gammaincinv": ((R.uniform(0.5, 4.0, (2, 1)),), R.uniform(0.2, 0.8, 3)),
    "gammainccinv": ((R.uniform(0.5, 4.0, (2, 1)),), R.uniform(0.2, 0.8, 3)),
    "gdtr": ((np.array([[1.5], [0.7]]), np.array([2.0, 3.0, 0.8])), R.uniform(0.3, 3.0, 3)),
    "gdtrc": ((np.array([[1.5], [0.7]]), np.array([2.0, 3.0, 0.8])), R.uniform(0.3, 3.0, 3)),
    "betainc": ((R.uniform(0.5, 4, (2, 1)), R.uniform(0.5, 4, 3)), R.uniform(0.1, 0.9, 3)),
    "betaincc": ((R.uniform(0.5, 4, (2, 1)), R.uniform(0.5, 4, 3)), R.uniform(0.1, 0.9, 3)),
    "betaincinv": ((R.uniform(0.5, 4, (2, 1)), R.uniform(0.5, 4, 3)), R.uniform(0.1, 0.9, 3)),
    "stdtr": ((np.array([[1.0], [7.5]]),), R.uniform(-3.0, 3.0, 3)),
    "stdtrit": ((np.array([[1.0], [7.5]]),), R.uniform(0.1, 0.9, 3)),
    "chdtr": ((np.array([[1.0], [6.0]]),), R.uniform(0.3, 5.0, 3)),
    "chdtrc": ((np.array([[1.0], [6.0]]),), R.uniform(0.3, 5.0, 3)),
    "chdtri": ((np.array([[1.0], [6.0]]),), R.uniform(0.1, 0.9, 3)),
    "fdtr": ((np.array([[1.0], [4.0]]), np.array([2.0, 9.0, 30.0])), R.uniform(0.3, 3.0, 3)),
    "fdtrc": ((np.array([[1.0], [4.0]]), np.array([2.0, 9.0, 30.0])), R.uniform(0.3, 3.0, 3)),
    "fdtri": ((np.array([[1.0], [4.0]]), np.array([2.0, 9.0, 30.0])), R.uniform(0.1, 0.9, 3)),
    "pdtr": ((np.array([[0], [4]]),), R.uniform(0.3, 5.0, 3)),
    "pdtrc": ((np.array([[0], [4]]),), R.uniform(0.3, 5.0, 3)),
    "pdtri": ((np.array([[1], [4]]),), R.uniform(0.1, 0.9, 3)),
    "bdtr": ((np.array([[0], [2]]), np.array([3, 5, 9])), R.uniform(0.1, 0.9, 3)),
    "bdtrc": ((np.array([[0], [2]]), np.array([3, 5, 9])), R.uniform(0.1, 0.9, 3)),
    "bdtri": ((np.array([[0], [2]]), np.array([3, 5, 9])), R.uniform(0.1, 0.9, 3)),
    "nbdtr": ((np.array([[0], [2]]), np.array([3, 5, 9])), R.uniform(0.1, 0.9, 3)),
    "nbdtrc": ((np.array([[0], [2]]), np.array([3, 5, 9])), R.uniform(0.1, 0.9, 3)),
    "nbdtri": ((np.array([[0], [2]]), np.array([3, 5, 9])), R.uniform(0.1, 0.9, 3)),
    "expn": ((np.array([[0], [1], [4]]),), R.uniform(0.3, 3.0, 3)),
    "yn": ((np.array([[0], [1], [3]]),), R.uniform(0.5, 5.0, 3)),
    "hyp1f1": ((np.array([[0.5], [2.0]]), np.array([1.5, 3.0, 0.7])), R.uniform(-2, 2, 3)),
    "lpmv": ((np.array([[0], [1]]), np.array([1.0, 2.0, 3.5])), R.uniform(-0.8, 0.8, 3)),
}


@pytest.mark.parametrize("bname", ["numpy", "strict"])
@pytest.mark.parametrize("name", sorted(DIST))
def test_data_derivative_matches_central_differences(name: str, bname: str) -> None:
    xp = backend(bname)
    params, x = DIST[name]
    k = len(params)
    args = [xp.asarray(p) for p in params] + [xp.asarray(x)]
    w = R.standard_normal((3, 3))

    def loss(*a):
        out = getattr(special_of(a[-1]), name)(*a)
        ns = out.__array_namespace__()
        return ns.sum(out * ns.asarray(xp.asarray(w[: out.shape[0], : out.shape[1]])))

    g = xpgrad.gradient(loss, *args, wrt=(k,))[k]
    v = R.standard_normal(x.shape)
    h = 1e-6
    plain = getattr(sp, name)

    def value(xx):
        out = plain(*params, xx)
        return float(np.sum(out * w[: out.shape[0], : out.shape[1]]))

    fd = (value(x + h * v) - value(x - h * v)) / (2 * h)
    ad = float(np.sum(to_np(g) * v))
    assert math.isfinite(ad)
    assert ad == pytest.approx(fd, rel=1e-5, abs=1e-7)
    # forward mode along the same direction agrees with reverse mode
    _, t = xpgrad.jvp(lambda xx: loss(*args[:k], xx), (args[k],), (xp.asarray(v),))
    assert float(to_np(t)) == pytest.approx(ad, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", sorted(DIST))
def test_a_traced_parameter_raises_naming_function_and_parameter(name: str) -> None:
    params, x = DIST[name]
    fparams = [np.asarray(p, dtype=np.float64) for p in params]

    def f(p0, xx):
        return np.sum(getattr(special_of(xx, p0), name)(p0, *fparams[1:], xx))

    with pytest.raises(NoRuleError, match=rf"special\.{name} .*parameter '\w+'.*constant"):
        xpgrad.gradient(f, fparams[0], x)
    with pytest.raises(NoRuleError, match=rf"special\.{name} .*parameter"):
        xpgrad.jvp(lambda p0: f(p0, x), (fparams[0],), (np.ones_like(fparams[0]),))
    # the same parameter as a constant (wrt=) works
    assert xpgrad.gradient(f, fparams[0], x, wrt=1)[1].shape == x.shape


def test_batching_over_a_parameter() -> None:
    a = np.array([0.5, 1.5, 4.0])
    x = np.array([0.3, 1.0])
    got = xpgrad.vmap(lambda ai: _gi(ai, x))(a)
    assert np.allclose(got, sp.gammainc(a[:, None], x))
    # and the derivative in x, batched over a
    jac = xpgrad.vmap(lambda ai: xpgrad.gradient(lambda xx: _sum(_gi(ai, xx)), x, wrt=0)[0])(a)
    pdf = np.exp((a[:, None] - 1) * np.log(x) - x - sp.gammaln(a[:, None]))
    assert np.allclose(jac, pdf)


def _gi(a, x):
    return special_of(a, x).gammainc(a, x)


def _sum(y):
    return y.__array_namespace__().sum(y)


# -- large parameters: the densities are formed in log space -------------------------------


@pytest.mark.parametrize(
    ("name", "params", "x"),
    [
        ("stdtr", (1e7,), 0.7),  # the normal density in the limit
        ("chdtrc", (2000.0,), 2050.0),
        ("betainc", (400.0, 600.0), 0.41),
        ("fdtr", (3.0, 1e6), 1.2),
        ("gammainc", (500.0,), 510.0),
    ],
)
def test_large_parameters(name: str, params: tuple, x: float) -> None:
    g = xpgrad.gradient(lambda xx: getattr(special_of(xx), name)(*params, xx), np.asarray(x))[0]
    h = 1e-4 * max(1.0, abs(x)) * 1e-2
    fd = (getattr(sp, name)(*params, x + h) - getattr(sp, name)(*params, x - h)) / (2 * h)
    assert float(g) == pytest.approx(fd, rel=1e-5)


# -- limits and series where a formula divides by zero ------------------------------------------


def _d(name, x, order=1, *pre):
    f = lambda xx: getattr(special_of(xx), name)(*pre, xx)  # noqa: E731
    g = f
    for _ in range(order):
        g = (lambda gg: lambda xx: xpgrad.gradient(gg, xx)[0])(g)
    return float(g(np.asarray(x)))


@pytest.mark.parametrize(
    ("name", "x", "order", "want"),
    [
        ("j1", 0.0, 1, 0.5),
        ("j1", 0.0, 2, 0.0),
        ("ellipk", 0.0, 1, math.pi / 8),
        ("ellipe", 0.0, 1, -math.pi / 8),
        ("ellipkm1", 1.0, 1, -math.pi / 8),
        ("exprel", 0.0, 1, 0.5),
        ("exprel", 0.0, 2, 1 / 3),
        ("exprel", 1e-4, 2, 1 / 3 + 1e-4 / 4),
        ("sinc", 0.0, 1, 0.0),
        ("sinc", 0.0, 2, -(math.pi**2) / 3),
        ("spence", 1.0, 1, -1.0),
    ],
)
def test_values_at_removable_singularities(name: str, x: float, order: int, want: float) -> None:
    assert _d(name, x, order) == pytest.approx(want, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("x", [1e-5, 3e-3, 0.02, 0.5])
def test_exprel_and_sinc_are_smooth_across_the_series_switch(x: float) -> None:
    # against the series-free formulas in extended precision (mpmath-free: Python floats
    # are exact enough here at these x for the closed forms below)
    exprel_d = sum(k * x ** (k - 1) / math.factorial(k + 1) for k in range(1, 30))
    assert _d("exprel", x) == pytest.approx(exprel_d, rel=1e-9)
    px = math.pi * x
    sinc_d = sum(
        (-1) ** j * (2 * j) * math.pi ** (2 * j) * x ** (2 * j - 1) / math.factorial(2 * j + 1)
        for j in range(1, 30)
    )
    assert _d("sinc", x) == pytest.approx(sinc_d, rel=1e-8, abs=1e-12), px


@pytest.mark.parametrize("lmbda", [0.0, 1e-7, 1e-3, 0.3])
@pytest.mark.parametrize("name", ["boxcox", "boxcox1p", "inv_boxcox", "inv_boxcox1p"])
def test_box_cox_lambda_derivative_near_zero(name: str, lmbda: float) -> None:
    x = 0.7 if name.startswith("inv") else 1.8

    def f(lm):
        return getattr(special_of(lm), name)(np.asarray(x), lm)

    g = float(xpgrad.gradient(f, np.asarray(lmbda))[0])
    h = 1e-5
    fd = (getattr(sp, name)(x, lmbda + h) - getattr(sp, name)(x, lmbda - h)) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-6)
    # and the second derivative, forward over reverse against differences of the first
    g2 = float(xpgrad.gradient(lambda lm: xpgrad.gradient(f, lm)[0], np.asarray(lmbda))[0])
    gp = float(xpgrad.gradient(f, np.asarray(lmbda + h))[0])
    gm = float(xpgrad.gradient(f, np.asarray(lmbda - h))[0])
    assert g2 == pytest.approx((gp - gm) / (2 * h), rel=1e-5)


# -- dtypes, compositions -------------------------------------------------------------------------


def test_float32_keeps_its_dtype() -> None:
    x = np.array([0.5, 1.5], dtype=np.float32)
    f = lambda xx: special_of(xx).gammainc(2.5, xx)  # noqa: E731  (SciPy: float64 loop)
    y, t = xpgrad.jvp(f, (x,), (np.ones_like(x),))
    assert y.dtype == np.float32 and t.dtype == np.float32


def test_multigammaln_and_radian() -> None:
    a = np.array([2.5, 3.0])
    g = xpgrad.gradient(lambda a: np.sum(special_of(a).multigammaln(a, 3)), a)[0]
    assert np.allclose(g, sum(sp.digamma(a - j / 2) for j in range(3)))
    y = xpgrad.jvp(lambda a: special_of(a).multigammaln(a, 3), (a,), (np.ones(2),))[0]
    assert np.allclose(y, [sp.multigammaln(v, 3) for v in a])
    with pytest.raises(ValueError, match="positive integer"):
        xpgrad.gradient(lambda a: np.sum(special_of(a).multigammaln(a, 1.5)), a)
    # SciPy's domain, a > (d - 1) / 2: below it gammaln of a negative argument would
    # give a number where SciPy raises
    with pytest.raises(ValueError, match="not met"):
        sp.multigammaln(np.array([0.9, 2.0]), 3)  # (what SciPy itself refuses)
    with pytest.raises(ValueError, match=r"a > \(d - 1\) / 2 = 1.0"):
        xpgrad.gradient(lambda a: np.sum(special_of(a).multigammaln(a, 3)), np.array([0.9, 2.0]))
    with pytest.raises(ValueError, match=r"a > \(d - 1\) / 2 = 0.5"):
        xpgrad.jvp(lambda a: special_of(a).multigammaln(a, 2), (np.asarray(0.5),), (1.0,))
    gd = xpgrad.gradient(lambda d, m, s: special_of(d).radian(d, m, s), 1.0, 2.0, 3.0)
    assert np.allclose(gd, [math.pi / 180, math.pi / 180 / 60, math.pi / 180 / 3600])


# -- SciPy's own calls ----------------------------------------------------------------------------


@pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1", reason="needs SCIPY_ARRAY_API=1")
def test_welch_t_test_has_traced_degrees_of_freedom() -> None:
    """``ttest_ind(equal_var=False)`` computes its degrees of freedom from the data:
    the p-value's gradient would need d stdtr / d df, which has no rule: a clear error."""
    import scipy.stats as st

    x = np.array([0.3, 0.5, 0.9, 1.2])
    y = np.array([0.1, 0.7, 0.2, 0.4, 0.8])
    g = xpgrad.gradient(lambda x, y: st.ttest_ind(x, y).pvalue, x, y, wrt=0)[0]
    h = 1e-6
    v = R.standard_normal(4)
    fd = (st.ttest_ind(x + h * v, y).pvalue - st.ttest_ind(x - h * v, y).pvalue) / (2 * h)
    assert float(np.sum(g * v)) == pytest.approx(fd, rel=1e-5)
    with pytest.raises(NoRuleError, match=r"special\.stdtr .*'df'"):
        xpgrad.gradient(lambda x, y: st.ttest_ind(x, y, equal_var=False).pvalue, x, y, wrt=0)


# -- zeta: no closed form in x (Euler-Maclaurin; the functional equation below x = -1) ------


def _fd(f, x, h=1e-5):
    """Central differences of order 4 (error ~ h^4), elementwise."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@pytest.mark.parametrize("bname", ["numpy", "strict"])
def test_zeta_in_x_matches_known_values_and_differences(bname: str) -> None:
    xp = backend(bname)
    # published values: zeta'(2) (OEIS A073002), zeta'(0) = -log(2 pi) / 2,
    # zeta'(-2) = -zeta(3) / (4 pi^2)
    known = {
        2.0: -0.93754825431584375370,
        0.0: -0.5 * math.log(2 * math.pi),
        -2.0: -sp.zeta(3.0) / (4 * math.pi**2),
    }
    for x0, want in known.items():
        for name in ("zeta", "zetac"):
            (g,) = xpgrad.gradient(lambda x: getattr(special_of(x), name)(x), xp.asarray(x0))
            assert float(to_np(g)) == pytest.approx(want, rel=1e-13), (name, x0)
    # across both methods and the pole, against differences of SciPy's values
    x = np.array([-9.5, -5.3, -2.5, -1.01, -0.99, -0.5, 0.5, 0.999, 1.01, 1.5, 3.7, 10.0, 40.0])
    out = xpgrad.jvp(lambda v: special_of(v).zeta(v), (xp.asarray(x),), (xp.asarray(np.ones(13)),))
    np.testing.assert_allclose(to_np(out[0]), sp.zeta(x), rtol=1e-15)
    h = 1e-4 * np.minimum(1.0, 10 * abs(x - 1))  # small steps near the pole at x = 1
    # (differences of zetac, zeta - 1, which keeps its digits at large x)
    np.testing.assert_allclose(to_np(out[1]), _fd(sp.zetac, x, h=h), rtol=2e-8)


@pytest.mark.parametrize("bname", ["numpy", "strict"])
def test_hurwitz_zeta_in_both_arguments(bname: str) -> None:
    xp = backend(bname)
    x = np.array([1.2, 2.0, 3.7, 10.0, 2.5, 1.5])
    q = np.array([0.3, 1.0, 2.5, 17.0, 0.7, 40.0])

    def loss(x, q):
        out = special_of(x, q).zeta(x, q)
        return out.__array_namespace__().sum(out)

    gx, gq = xpgrad.gradient(loss, xp.asarray(x), xp.asarray(q))
    np.testing.assert_allclose(to_np(gx), _fd(lambda v: sp.zeta(v, q), x, h=1e-4), rtol=1e-8)
    np.testing.assert_allclose(to_np(gq), -x * sp.zeta(x + 1, q), rtol=1e-14)
    np.testing.assert_allclose(to_np(gq), _fd(lambda v: sp.zeta(x, v), q, h=1e-4), rtol=1e-8)
    # below x = 1 SciPy's Hurwitz zeta is NaN, and so is its derivative
    (g,) = xpgrad.gradient(lambda x: special_of(x).zeta(x, 0.5), xp.asarray(0.5))
    assert math.isnan(float(to_np(g)))


def test_zeta_second_derivatives() -> None:
    # the derivative is written with traced calls: it differentiates again, in x on
    # both sides of x = -1, and across x and q
    x = np.array([-3.3, -0.5, 2.5, 6.0])
    H = xpgrad.hessian(lambda v: np.sum(special_of(v).zeta(v)), x)
    d1 = lambda v: xpgrad.gradient(lambda u: np.sum(special_of(u).zeta(u)), v)[0]  # noqa: E731
    np.testing.assert_allclose(np.diag(H), _fd(d1, x, h=1e-3), rtol=1e-8)
    assert not (H - np.diag(np.diag(H))).any()
    for x0, q0 in ((2.5, 0.7), (4.0, 3.0)):
        Hq = xpgrad.hessian(lambda v: special_of(v).zeta(v[0], v[1]), np.array([x0, q0]))
        # d/dq of d/dx zeta(x, q): differences of SciPy's values in both arguments
        cross = _fd(lambda t: _fd(lambda s: sp.zeta(s, t), x0, h=1e-3), q0, h=1e-3)
        assert Hq[0, 1] == pytest.approx(Hq[1, 0], rel=1e-12)
        assert Hq[0, 1] == pytest.approx(cross, rel=1e-6)


def test_zeta_refuses_out() -> None:
    with pytest.raises(TypeError, match="out="):
        xpgrad.gradient(lambda x: special_of(x).zeta(x, out=np.empty(())), np.asarray(2.0))


def test_riemann_zeta_over_torch_takes_its_hurwitz_zeta() -> None:
    # torch.special.zeta always takes q: Riemann's zeta is zeta(x, 1) there (equal
    # for x > 1, the domain torch offers)
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.5, 2.0, 3.7], dtype=torch.float64)

    def f(v):
        ns = v.__array_namespace__()
        return ns.sum(ns.special.zeta(v))

    (g,) = xpgrad.gradient(f, x)
    xn = x.numpy()
    h = 1e-4
    np.testing.assert_allclose(g.numpy(), _fd(sp.zetac, xn, h=h), rtol=1e-8)
