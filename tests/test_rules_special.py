"""The ``special`` extension (rules/special.py): where it appears, its errors, and its
derivatives at the points the generated conformance suite does not sample.

The rules themselves are checked at orders 1 and 2 on every backend by
``conformance/test_rules.py`` (forward vs finite differences, reverse vs forward);
here: the namespace's contract, values at ``x = 0`` known in closed form, SciPy's
own dispatch (``SCIPY_ARRAY_API=1``) reaching these rules, and torch's autograd as an
independent reference when torch is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad._core.namespace import traced_namespace
from xpgrad.rules.special import SPECIAL_NAMES
from xpgrad.testing import check_grads

pytest.importorskip("scipy")
import array_api_strict as xs  # noqa: E402


def special_of(x):
    return x.__array_namespace__().special


def test_special_is_offered_over_numpy_and_strict() -> None:
    for xp in (B.namespace_of(np.zeros(1)), xs):
        sub = traced_namespace(xp).special
        assert {n for n in SPECIAL_NAMES if hasattr(sub, n)} == set(SPECIAL_NAMES)


def test_no_special_over_a_backend_without_the_hook() -> None:
    # array-api-strict with its adapter disabled goes through the generic path,
    # which has no special functions: the traced namespace then has no `special`.
    # Enabling it again brings `special` back (the traced namespaces are rebuilt).
    B.disable("array_api_strict")
    try:
        assert not hasattr(traced_namespace(xs), "special")
    finally:
        B.enable("array_api_strict")
    assert hasattr(traced_namespace(xs), "special")


def test_a_function_the_backend_lacks_names_backend_and_function(monkeypatch) -> None:
    ad = B.get("numpy")
    real = ad.special
    monkeypatch.setattr(ad, "special", lambda name: None if name == "i1e" else real(name))
    B._clear_caches()  # an adapter changed: the traced namespaces are rebuilt
    try:
        sub = traced_namespace(B.namespace_of(np.zeros(1))).special
        assert hasattr(sub, "erf") and getattr(sub, "i1e", None) is None
        with pytest.raises(AttributeError, match=r"special\.i1e .*'numpy'"):
            sub.i1e
        # the backend lookup the primitives make says the same
        with pytest.raises(NotImplementedError, match=r"special\.i1e .*'numpy'"):
            B.special(np.zeros(1), "i1e")
    finally:
        monkeypatch.undo()
        B._clear_caches()


def test_unknown_special_function_lists_the_known_ones() -> None:
    # every function of both rule modules is listed, in alphabetical order
    with pytest.raises(AttributeError, match=r"betainc, betaincc.* erf, erfc,.* stdtr") as e:
        traced_namespace(xs).special.struve
    assert "struve" not in str(e.value).split("are ")[1]


@pytest.mark.parametrize("n", [-1, 1.5, "2"])
def test_polygamma_order_must_be_a_non_negative_int(n) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        xpgrad.gradient(lambda x: special_of(x).polygamma(n, x), np.asarray(1.5))


def test_polygamma_order_cannot_be_traced() -> None:
    with pytest.raises(TypeError, match="cannot be traced"):
        xpgrad.gradient(lambda n: special_of(n).polygamma(n, np.asarray(1.5)), np.asarray(1.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["erf", "gammaln", "digamma", "i1"])
def test_dtype_is_kept(name: str, dtype: str) -> None:
    x = xs.asarray([0.5, 1.5], dtype=getattr(xs, dtype))
    (g,) = xpgrad.gradient(lambda x: da_sum(getattr(special_of(x), name)(x)), x)
    assert g.dtype == x.dtype
    poly = traced_namespace(xs).special.polygamma
    assert poly(2, x).dtype == x.dtype  # SciPy's polygamma alone would give float64


def test_bessel_derivatives_at_zero() -> None:
    # i1(x) = x/2 + x^3/16 + ..., i1e(x) = exp(-|x|) i1(x) = x/2 - x^2/2 + ...:
    # first derivatives 1/2 at 0 (the formulas' limits), i1'' (0) = 0.
    zero = np.asarray(0.0)
    g1 = xpgrad.gradient(lambda x: special_of(x).i1(x), zero)[0]
    h1 = xpgrad.hessian(lambda x: special_of(x).i1(x), zero)
    ge = xpgrad.gradient(lambda x: special_of(x).i1e(x), zero)[0]
    assert float(g1) == pytest.approx(0.5) and float(h1) == pytest.approx(0.0, abs=1e-12)
    assert float(ge) == pytest.approx(0.5)
    # i0'(0) = i1(0) = 0, i0''(0) = i1'(0) = 1/2
    assert float(xpgrad.hessian(lambda x: special_of(x).i0(x), zero)) == pytest.approx(0.5)


@pytest.mark.parametrize("make", [np.asarray, xs.asarray], ids=["numpy", "array_api_strict"])
def test_third_order_through_polygamma(make) -> None:
    # gammaln''' = polygamma(2, .): three nested rules, against finite differences
    x = make([0.7, 1.3, 2.9])
    sub = traced_namespace(B.namespace_of(x)).special  # takes raw arrays and tracers alike
    check_grads(sub.gammaln, (x,), order=3)


def test_dask_stays_lazy() -> None:
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.array([0.3, 0.8, 1.7]), chunks=2)
    (g,) = xpgrad.gradient(lambda x: da_sum(special_of(x).gammaln(x)), x)
    assert isinstance(g, da.Array)
    want = xpgrad.gradient(lambda x: np.sum(special_of(x).gammaln(x)), np.asarray(x))[0]
    np.testing.assert_allclose(g.compute(), want, rtol=1e-12)


def da_sum(y):
    return y.__array_namespace__().sum(y)


_SCIPY_SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["SCIPY_ARRAY_API"] = "1"
    import numpy as np, array_api_strict as xs, scipy.special as sp
    from xpgrad.testing import check_grads
    calls = [
        lambda x: sp.erf(x), lambda x: sp.log_ndtr(x), lambda x: sp.entr(x + 3),
        lambda x: sp.xlogy(x, x + 3), lambda x: sp.gammaln(x + 3), lambda x: sp.psi(x + 3),
        lambda x: sp.polygamma(1, x + 3), lambda x: sp.i1e(x), lambda x: sp.rel_entr(x + 3, 2.0),
    ]
    for x in (np.asarray([-0.7, 0.3, 1.1]), xs.asarray([-0.7, 0.3, 1.1])):
        for f in calls:
            check_grads(f, (x,), order=2)
    print("ok", len(calls))
    """
)


def test_scipy_special_differentiates_through_its_own_dispatch() -> None:
    import scipy

    if tuple(int(p) for p in scipy.__version__.split(".")[:2]) < (1, 16):
        pytest.skip("SciPy < 1.16 does not look up xp.special on namespaces it does not know")
    # SciPy reads SCIPY_ARRAY_API once, at import: a fresh interpreter
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    out = subprocess.run(
        [sys.executable, "-c", _SCIPY_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok 9"


@pytest.mark.parametrize(
    "name, lo, hi",
    [("erf", -2, 2), ("erfc", -2, 2), ("ndtr", -2, 2), ("log_ndtr", -4, 2), ("expit", -2, 2),
     ("logit", 0.2, 0.8), ("entr", 0.2, 3), ("gammaln", 0.5, 3), ("digamma", 0.5, 3),
     ("i0", -2, 2), ("i1", -2, 2), ("i0e", -2, 2), ("i1e", -2, 2), ("erfinv", -0.7, 0.7),
     ("ndtri", 0.2, 0.8)],
)
def test_against_torch_autograd(name: str, lo: float, hi: float) -> None:
    torch = pytest.importorskip("torch")
    x = np.linspace(lo, hi, 7)
    fn = getattr(torch.special, name)
    t = torch.tensor(x, requires_grad=True)
    (g1,) = torch.autograd.grad(fn(t).sum(), t, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), t)
    f = lambda x: np.sum(getattr(special_of(x), name)(x))  # noqa: E731
    np.testing.assert_allclose(xpgrad.gradient(f, x)[0], g1.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(np.diag(xpgrad.hessian(f, x)), g2.numpy(), rtol=1e-7, atol=1e-12)
