"""The fast callers of elementwise primitives dispatch exactly as the primitive does.

``primitive(..., nargs=1 or 2)`` exports a plain function instead of the
``Primitive`` object (a third of the dispatch cost). These tests pin what it
must keep: the standard's signature, the primitive behind it, and the choice
of the innermost (highest-level) trace whichever argument holds it.
"""

from __future__ import annotations

import inspect
from typing import Any

import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad.rules import NAMESPACE, PRIMITIVES

FAST = sorted(name for name, p in PRIMITIVES.items() if p.fast is not p)


def test_the_elementwise_families_are_fast() -> None:
    # every unary and binary elementwise function of the standard, not a few
    assert {"sin", "exp", "tanh", "add", "subtract", "multiply", "divide", "pow"} <= set(FAST)
    assert len(FAST) > 40


@pytest.mark.parametrize("name", [n for n in FAST if n in NAMESPACE])
def test_exported_function_is_the_primitive_fast_caller(name: str) -> None:
    fn = NAMESPACE[name]
    assert fn is PRIMITIVES[name].fast
    assert fn.primitive is PRIMITIVES[name]
    assert fn.__name__ == name.rsplit(".", 1)[-1]


@pytest.mark.parametrize("name", [n for n in FAST if hasattr(strict, n)])
def test_signature_is_the_standards(name: str) -> None:
    ours = inspect.signature(NAMESPACE[name])
    theirs = inspect.signature(getattr(strict, name))
    positional = [
        (p.name, p.kind)
        for p in theirs.parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_ONLY
    ]
    assert [(p.name, p.kind) for p in ours.parameters.values()] == positional


def test_wrong_arity_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="multiply"):
        NAMESPACE["multiply"](np.ones(2))
    with pytest.raises(TypeError, match="sin"):
        NAMESPACE["sin"](np.ones(2), np.ones(2))


# d/dy of sum(f(x, y)) taken inside a gradient over x: the call sees x at the outer
# level and y at the inner one, in either argument order. Expected values are the
# calculus: (f, d/dy f, d/dx of sum(d/dy f)), None where the inner derivative does
# not depend on x (gradient's None for an unused argument).
CASES = {
    "multiply": (lambda op, x, y: op(x, y), lambda x, y: x, lambda x, y: np.ones_like(x)),
    "multiply_rev": (lambda op, x, y: op(y, x), lambda x, y: x, lambda x, y: np.ones_like(x)),
    "add": (lambda op, x, y: op(x, y) * x, lambda x, y: x, lambda x, y: np.ones_like(x)),
    "add_rev": (
        lambda op, x, y: op(y, x) * y,
        lambda x, y: 2 * y + x,
        lambda x, y: np.ones_like(x),
    ),
    "subtract": (lambda op, x, y: op(x, y) * x, lambda x, y: -x, lambda x, y: -np.ones_like(x)),
    "subtract_rev": (
        lambda op, x, y: op(y, x) * y,
        lambda x, y: 2 * y - x,
        lambda x, y: -np.ones_like(x),
    ),
    "divide": (lambda op, x, y: op(x, y), lambda x, y: -x / y**2, lambda x, y: -1 / y**2),
    "divide_rev": (lambda op, x, y: op(y, x), lambda x, y: 1 / x, lambda x, y: -1 / x**2),
    "pow": (
        lambda op, x, y: op(x, y),
        lambda x, y: x**y * np.log(x),
        lambda x, y: y * x ** (y - 1) * np.log(x) + x ** (y - 1),
    ),
    "pow_rev": (
        lambda op, x, y: op(y, x),
        lambda x, y: x * y ** (x - 1),
        lambda x, y: y ** (x - 1) + x * y ** (x - 1) * np.log(y),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mixed_levels_go_to_the_inner_trace(case: str) -> None:
    op = NAMESPACE[case.removesuffix("_rev")]
    f, d_inner, d_outer = CASES[case]
    x0 = np.array([1.3, 0.7, 2.1])
    y0 = np.array([0.9, 1.6, 0.4])

    def inner(x: Any) -> Any:
        (g,) = xpgrad.gradient(lambda y: x.__array_namespace__().sum(f(op, x, y)), y0)
        return g

    def outer(x: Any) -> Any:
        g = inner(x)
        return g.__array_namespace__().sum(g)

    np.testing.assert_allclose(inner(x0), d_inner(x0, y0), rtol=1e-12)
    (gx,) = xpgrad.gradient(outer, x0)
    np.testing.assert_allclose(gx, d_outer(x0, y0), rtol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_mixed_levels_in_forward_mode(case: str) -> None:
    # the same calculus by nested jvps along ones: the forward trace's fast path
    # (process1/process2) meets duals of its own level, of the outer level, and
    # raw arrays, in either argument order
    op = NAMESPACE[case.removesuffix("_rev")]
    f, d_inner, d_outer = CASES[case]
    x0 = np.array([1.3, 0.7, 2.1])
    y0 = np.array([0.9, 1.6, 0.4])
    ones = np.ones(3)

    def inner(x: Any) -> Any:
        return xpgrad.jvp(lambda y: x.__array_namespace__().sum(f(op, x, y)), (y0,), (ones,))[1]

    np.testing.assert_allclose(inner(x0), np.sum(d_inner(x0, y0)), rtol=1e-12)
    _, t = xpgrad.jvp(inner, (x0,), (ones,))
    np.testing.assert_allclose(t, np.sum(d_outer(x0, y0)), rtol=1e-12)


def test_mixed_levels_unary_with_an_outer_constant() -> None:
    # sin(x * y): x outer, y inner; d/dy = x cos(xy), d/dx sum = cos(xy) - xy sin(xy)
    x0 = np.array([0.3, -1.2])
    y0 = np.array([0.8, 0.5])

    def inner(x: Any) -> Any:
        (g,) = xpgrad.gradient(lambda y: NAMESPACE["sum"](NAMESPACE["sin"](x * y)), y0)
        return g

    np.testing.assert_allclose(inner(x0), x0 * np.cos(x0 * y0), rtol=1e-12)
    (gx,) = xpgrad.gradient(lambda x: NAMESPACE["sum"](inner(x)), x0)
    xy = x0 * y0
    np.testing.assert_allclose(gx, np.cos(xy) - xy * np.sin(xy), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_numpy_operand_of_a_numpy_function_joins_the_tracers_backend(backend: str) -> None:
    # np.arange(3.0) * x, as SciPy writes for a namespace it does not know: the NumPy
    # array becomes an array of x's backend (once per NumPy type, the namespace is
    # remembered), and stays a NumPy array when x's backend is NumPy
    mod = np if backend == "numpy" else strict
    seen = []

    def f(v: Any) -> Any:
        y = np.arange(3.0) * v
        seen.append(type(y._value).__module__.split(".")[0])
        return v.__array_namespace__().sum(y * v)

    for _ in range(2):
        (g,) = xpgrad.gradient(f, mod.asarray([1.0, 2.0, 3.0]))
        np.testing.assert_allclose(np.asarray(g), 2 * np.arange(3.0) * [1.0, 2.0, 3.0])
    assert seen == [backend] * 2


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
def test_an_integer_numpy_operand_is_promoted_as_numpy_would(backend: str) -> None:
    # np.fft.fftfreq multiplies an integer arange by the traced spacing: NumPy
    # promotes int64 * float64, array-api-strict refuses mixed kinds, so the adopted
    # integer array takes the floating tracer's dtype
    mod = np if backend == "numpy" else strict
    k = np.arange(4)
    for f in (lambda d: np.sum(k * (1.0 / d)), lambda d: np.sum(np.fft.fftfreq(4, d))):
        (g,) = xpgrad.gradient(f, mod.asarray(0.5))
        h = 1e-6
        fd = (f(np.asarray(0.5 + h)) - f(np.asarray(0.5 - h))) / (2 * h)
        np.testing.assert_allclose(float(np.asarray(g)), fd, rtol=1e-7)
    (g,) = xpgrad.gradient(lambda d: np.sum(k * (1.0 / d)), mod.asarray(0.5))
    assert float(np.asarray(g)) == pytest.approx(-6.0 / 0.25)  # -sum(k) / d**2
    # a boolean mask meeting a floating tracer in a ufunc, as NumPy's own arrays would
    m = np.array([True, False, True])
    (g,) = xpgrad.gradient(lambda v: np.sum(m * v * v), mod.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(np.asarray(g), [2.0, 0.0, 6.0])
