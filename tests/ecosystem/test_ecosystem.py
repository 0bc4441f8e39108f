"""Real library calls, differentiated unchanged (issue 20's real-library suite).

Every function SciPy, scikit-learn, array-api-extra and einops list as
Array-API-supported is classified in ``cases.py``; this module checks each entry:
derivatives against central differences (and forward against reverse mode) on NumPy
and array-api-strict, library-side failures by the library's own conversion or by the
same call failing on plain array-api-strict, and our known bugs as strict expected
failures. A library version that adds a function fails the coverage test until the
function is classified. Counts: ``python tests/ecosystem/probe.py --counts``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("sklearn")
pytest.importorskip("array_api_extra")
pytest.importorskip("einops")
pytest.importorskip("array_api_strict")

if os.environ.get("SCIPY_ARRAY_API") != "1":  # set by the root conftest.py
    pytest.skip("SCIPY_ARRAY_API=1 must be set before SciPy is imported", allow_module_level=True)

import sklearn  # noqa: E402
from scipy._lib import _array_api as scipy_array_api  # noqa: E402

import eco_harness as H  # noqa: E402
import xpgrad  # noqa: E402
from cases import CASES  # noqa: E402

if not scipy_array_api.SCIPY_ARRAY_API:
    pytest.skip("SciPy was imported before SCIPY_ARRAY_API=1 was set", allow_module_level=True)


@pytest.fixture(autouse=True)
def _dispatch():
    """scikit-learn's Array API dispatch, for this module's tests only."""
    with sklearn.config_context(array_api_dispatch=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _of(*kinds: str) -> list[str]:
    return [n for n, (k, _, _) in CASES.items() if k in kinds]


def _target(name: str) -> tuple:
    _, tpl, why = CASES[name]
    return (*H.target(name, tpl), why)


# -- coverage ---------------------------------------------------------------------------


@pytest.mark.parametrize("library", list(H.LIBRARIES))
def test_every_listed_function_is_classified(library: str) -> None:
    listed = set(H.LIBRARIES[library]())
    classified = {n for n in CASES if n.split(".")[0] == library}
    assert not listed - classified, (
        f"{library} lists functions cases.py does not classify (run probe.py): "
        f"{sorted(listed - classified)}"
    )
    assert not classified - listed, f"cases.py names functions {library} no longer lists: " + str(
        sorted(classified - listed)
    )


def test_docs_counts_are_current() -> None:
    """docs/ecosystem.md shows the table ``probe.py --counts`` prints from cases.py."""
    import pathlib

    import probe

    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "ecosystem.md"
    assert probe.counts() in page.read_text(), (
        "update the table: python tests/ecosystem/probe.py --counts"
    )


def test_kinds_are_known() -> None:
    kinds = {
        "ok",
        "ok_numpy",
        "nondiff",
        "zero",
        "library",
        "special",
        "xpgrad",
        "xpgrad_strict",
        "untried",
    }
    assert {k for k, _, _ in CASES.values()} <= kinds
    from custom_calls import CUSTOM

    assert all(t is None or t in H.TEMPLATES or t == "custom" for _, t, _ in CASES.values())
    assert all(CASES[n][1] == "custom" for n in CUSTOM if CASES[n][0] != "untried")


# -- differentiated correctly ----------------------------------------------------------------

_DIFF = [(n, "numpy") for n in _of("ok", "ok_numpy", "xpgrad_strict")] + [
    (n, "strict") for n in _of("ok")
]


@pytest.mark.parametrize(("name", "backend"), _DIFF)
def test_gradient_matches_central_differences(name: str, backend: str) -> None:
    f, tpl, _ = _target(name)
    out = H.check(f, tpl, backend)
    assert out.status == "ok", f"{name} on {backend}: {out.detail}"


#: Forward mode gives NaN where reverse mode and central differences agree: sklearn
#: writes 0 into the diagonal of the squared distances (x[idx] = 0) and then takes
#: sqrt; the overwritten entries have a zero tangent, and sqrt's jvp multiplies it by
#: 0.5 / sqrt(0) = inf. The reverse pass never forms that product (the write's
#: pullback drops the cotangent first).
FORWARD_NAN = "forward mode: zero tangent times sqrt's infinite partial at 0 gives NaN"
_FWD_XFAIL = {"sklearn.metrics.euclidean_distances", "sklearn.metrics.pairwise_distances"}


def _fwd_params() -> list:
    out = []
    for n in _of("ok"):
        if not H.target(n, CASES[n][1])[1].wrt:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=FORWARD_NAN)] if n in _FWD_XFAIL else []
        out.append(pytest.param(n, marks=marks, id=n))
    return out


@pytest.mark.parametrize("name", _fwd_params())
def test_forward_matches_reverse(name: str) -> None:
    """jvp along a random direction equals the gradient's dot product with it."""
    f, tpl, _ = _target(name)
    args = tpl.args(np)
    shapes = H.output_shapes(f, tpl, args)
    loss = H.make_loss(f, tpl, shapes, np)
    rng = np.random.default_rng(11)
    dirs = {i: rng.standard_normal(np.shape(args[i])) for i in tpl.wrt}

    def along(*diff: object) -> object:
        full = list(args)
        for i, a in zip(tpl.wrt, diff):
            full[i] = a
        return loss(*full)

    primals = tuple(args[i] for i in tpl.wrt)
    if any(i not in tpl.wrt and isinstance(a, np.ndarray) for i, a in enumerate(args)):
        pytest.skip("data arguments would be closed over (see docs/ecosystem.md)")
    _, fwd = xpgrad.jvp(along, primals, tuple(dirs[i] for i in tpl.wrt))
    grads = xpgrad.gradient(along, *primals)
    rev = sum(float(np.sum(g * dirs[i])) for i, g in zip(tpl.wrt, grads) if g is not None)
    assert np.isclose(float(fwd), rev, rtol=1e-8, atol=1e-10), (float(fwd), rev)


@pytest.mark.parametrize("name", _of("ok_numpy"))
def test_strict_failure_is_library_side(name: str) -> None:
    """The same call fails on plain array-api-strict, without xpgrad."""
    f, tpl, _ = _target(name)
    with pytest.raises(Exception):  # noqa: B017 - any error of the library's own
        H.call(f, tpl, tpl.args(H.backend("strict")))


# -- not differentiable ------------------------------------------------------------------


@pytest.mark.parametrize("name", _of("nondiff"))
def test_not_differentiable(name: str) -> None:
    """Integer or boolean results, or no float argument: nothing to differentiate."""
    f, tpl, _ = _target(name)
    args = tpl.args(np)
    assert not tpl.wrt or H.output_shapes(f, tpl, args) is None


@pytest.mark.parametrize("name", _of("zero"))
def test_piecewise_constant(name: str) -> None:
    """Central differences and xpgrad agree that the derivative is zero."""
    f, tpl, _ = _target(name)
    assert H.check(f, tpl, "numpy").status == "zero"


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", _of("library"))
def test_library_side_failure(name: str) -> None:
    """The library leaves the Array API (its conversion is named in the error), or the
    same call fails on plain array-api-strict without xpgrad."""
    f, tpl, why = _target(name)
    if why.startswith("fails without xpgrad too"):
        with pytest.raises(Exception):  # noqa: B017
            H.call(f, tpl, tpl.args(H.backend("strict")))
        return
    with pytest.raises((TypeError, AttributeError)) as info:
        H.check(f, tpl, "numpy")
    needle = {
        "converts its input to NumPy": "numpy.asarray() of a traced value",
        "converts a result to a Python float": "float() of a traced value",
        "exports the array to NumPy": "DLPack",
        "calls a NumPy function": "is not in the Array API standard",
        "calls a NumPy-only method": "is a NumPy method",
    }
    assert any(why.startswith(k) and v in str(info.value) for k, v in needle.items()), why


@pytest.mark.parametrize("name", _of("special"))
@pytest.mark.xfail(reason="needs xp.special (pending branch); reclassify once it lands")
def test_needs_special(name: str) -> None:
    f, tpl, _ = _target(name)
    assert H.check(f, tpl, "numpy").status == "ok"


_OURS = [(n, "numpy") for n in _of("xpgrad")] + [(n, "strict") for n in _of("xpgrad_strict")]


@pytest.mark.parametrize(("name", "backend"), _OURS)
def test_xpgrad_side_failure(name: str, backend: str) -> None:
    """Our bugs: expected to fail (strictly, so a fix shows up and gets reclassified)."""
    f, tpl, why = _target(name)
    try:
        out = H.check(f, tpl, backend)
    except Exception as e:
        pytest.xfail(f"{why} ({type(e).__name__})")
    if out.status != "ok":
        pytest.xfail(f"{why} ({out.detail})")
    pytest.fail(f"{name} now differentiates on {backend}: reclassify it in cases.py")
