"""Adding a primitive touches one file (issue 15, item 3; docs/rules.md).

``docs/examples/adjacent_product.py`` defines a primitive with every field
(impl, jvp, vjp, batch, pattern, samples) and nothing else in xpgrad knows
about it. Importing that module alone must make it work everywhere: the
conformance checks, gradients and Jacobians in both modes (against finite
differences), vmap, sparse Jacobians and jit.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fd import fd_jacobian

import xpgrad
import xpgrad.backends as B
from xpgrad._core import tables
from xpgrad.rules import _registry as R
from xpgrad.testing import check_primitive

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
RNG = np.random.default_rng(15)


@pytest.fixture(scope="module")
def mod() -> Iterator[Any]:
    """The example module, imported alone; the registry is restored afterwards (the
    docs page registers the same primitive when its examples run)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        with tables.saved():
            yield importlib.import_module("adjacent_product")
    finally:
        sys.path.remove(str(EXAMPLES))
        sys.modules.pop("adjacent_product", None)


def test_the_docs_show_the_module_as_it_is() -> None:
    page = (ROOT / "docs" / "rules.md").read_text()
    source = (EXAMPLES / "adjacent_product.py").read_text()
    assert f"```python\n{source}```" in page


@pytest.mark.parametrize("backend_name", ["numpy", "array_api_strict"])
def test_the_conformance_checks_pass(mod: Any, backend_name: str) -> None:
    pytest.importorskip(backend_name)
    p = mod.adjacent_product
    assert p.name in R.PRIMITIVES and p.pattern is not None and p.batch is not None
    xp = B.get(backend_name).namespace(None)
    make = B.random(0, xp.asarray(0.0))
    for args, params in p.samples(make):
        check_primitive(p, args, params, order=2)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_in_both_modes_matches_finite_differences(mod: Any, mode: str) -> None:
    x = RNG.normal(size=(2, 4))
    (J,) = xpgrad.jacobian(mod.adjacent_product, x, mode=mode)
    np.testing.assert_allclose(J.reshape(6, 8), fd_jacobian(mod.adjacent_product_impl, x),
                               rtol=1e-6, atol=1e-8)


def test_gradient_and_second_derivatives(mod: Any) -> None:
    x = RNG.normal(size=5)

    def f(x: Any) -> Any:
        xp = x.__array_namespace__()  # Array API code reaches it by name, traced
        return xp.sum(xp.sin(xp.adjacent_product(x)))

    def f_np(x: np.ndarray) -> Any:
        return np.sum(np.sin(x[:-1] * x[1:]))

    (g,) = xpgrad.gradient(f, x)
    np.testing.assert_allclose(g, fd_jacobian(f_np, x)[0], rtol=1e-6, atol=1e-8)
    H = xpgrad.hessian(f, x)  # forward over reverse, against reverse over reverse
    np.testing.assert_allclose(H, xpgrad.hessian_reverse(f, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, fd_jacobian(lambda v: xpgrad.gradient(f, v)[0], x),
                               rtol=1e-5, atol=1e-6)


def test_vmap_matches_a_loop(mod: Any) -> None:
    xs = RNG.normal(size=(3, 2, 4))
    got = xpgrad.vmap(mod.adjacent_product)(xs)
    np.testing.assert_array_equal(got, np.stack([mod.adjacent_product_impl(x) for x in xs]))
    # and the Jacobian of each, mapped
    Js = xpgrad.vmap(lambda x: xpgrad.jacobian(mod.adjacent_product, x)[0])(xs[:, 0])
    for x, J in zip(xs[:, 0], Js):
        np.testing.assert_allclose(J, fd_jacobian(mod.adjacent_product_impl, x),
                                   rtol=1e-6, atol=1e-8)


def test_the_sparsity_pattern_is_exact(mod: Any) -> None:
    x = RNG.normal(size=(2, 5))
    S = xpgrad.jacobian_sparsity(mod.adjacent_product, x)
    assert not S.fallbacks  # the declared rule ran, not the dense fallback
    got = np.zeros(S.shape, dtype=bool)
    got[B.to_host(S.rows), B.to_host(S.cols)] = True
    want = fd_jacobian(mod.adjacent_product_impl, x) != 0  # nonzero at a random point
    np.testing.assert_array_equal(got, want)
    (J,) = xpgrad.jacobian(mod.adjacent_product, x)
    SJ = xpgrad.sparse_jacobian(mod.adjacent_product, x)
    np.testing.assert_allclose(np.asarray(SJ.todense()).reshape(J.shape), J, rtol=1e-12)


def test_jit_stages_it(mod: Any) -> None:
    x = RNG.normal(size=6)

    def loss(x: Any) -> Any:
        return xpgrad.gradient(lambda v: v.__array_namespace__().sum(mod.adjacent_product(v) ** 2),
                               x)[0]

    staged = xpgrad.jit(loss)
    np.testing.assert_allclose(staged(x), loss(x), rtol=1e-12)
    np.testing.assert_allclose(staged(2 * x), loss(2 * x), rtol=1e-12)  # replayed
    np.testing.assert_array_equal(xpgrad.jit(mod.adjacent_product)(x),
                                  mod.adjacent_product_impl(x))
