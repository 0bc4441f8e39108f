"""What the 2025.12 standard changed, on the traced namespace (namespace.py):
its version, tuples from broadcast_arrays/meshgrid/devices(), Python-number
finfo/iinfo fields, and the new functions (isin, broadcast_shapes, linalg.eig and
eigvals, searchsorted with a scalar, expand_dims with several axes, permute_dims
with negative axes) under differentiation."""

from __future__ import annotations

import array_api_strict as xs
import numpy as np
import pytest

import xpgrad
from xpgrad._core.namespace import STANDARD_VERSION, traced_namespace
from xpgrad.backends import namespace_of

NAMESPACES = [pytest.param(namespace_of(np.zeros(1)), id="numpy"), pytest.param(xs, id="strict")]


def test_declared_version() -> None:
    assert STANDARD_VERSION == "2025.12"
    assert traced_namespace(xs).__array_api_version__ == "2025.12"


@pytest.mark.parametrize("xp", NAMESPACES)
def test_tuples_where_2025_12_made_them_tuples(xp) -> None:
    t = traced_namespace(xp)
    a, b = xp.ones(2), xp.ones((3, 1))
    assert type(t.broadcast_arrays(a, b)) is tuple
    assert type(t.meshgrid(a, xp.ones(3))) is tuple
    assert type(t.meshgrid(a, xp.ones(3), indexing="ij")) is tuple
    assert type(t.__array_namespace_info__().devices()) is tuple


@pytest.mark.parametrize("xp", NAMESPACES)
@pytest.mark.parametrize("name", ["float32", "float64", "complex64"])
def test_finfo_fields_are_python_numbers(xp, name: str) -> None:
    t = traced_namespace(xp)
    fi = t.finfo(getattr(xp, name))
    assert type(fi.bits) is int
    for field in ("eps", "max", "min", "smallest_normal"):
        assert type(getattr(fi, field)) is float, field
    native = xp.finfo(getattr(xp, name))
    assert fi.eps == float(native.eps) and fi.max == float(native.max)
    assert fi.dtype == native.dtype


@pytest.mark.parametrize("xp", NAMESPACES)
def test_iinfo_fields_are_python_ints(xp) -> None:
    ii = traced_namespace(xp).iinfo(xp.int16)
    assert (type(ii.bits), type(ii.min), type(ii.max)) == (int, int, int)
    assert (ii.bits, ii.min, ii.max) == (16, -32768, 32767)


def test_finfo_of_a_tracer() -> None:
    def f(x):
        t = x.__array_namespace__()
        return x * t.finfo(x).eps

    (g,) = xpgrad.gradient(f, xs.asarray(1.0, dtype=xs.float32))
    assert float(g) == float(np.finfo(np.float32).eps)


@pytest.mark.parametrize("make", [np.asarray, xs.asarray], ids=["numpy", "strict"])
def test_new_and_extended_functions_differentiate(make) -> None:
    v = make([0.5, 1.5, 2.5])

    def f(x):
        t = x.__array_namespace__()
        e = t.expand_dims(x, axis=(0, 2))  # several axes: 2025.12
        p = t.permute_dims(t.reshape(x, (1, 3)), (-1, -2))  # negative axes: 2025.12
        k = t.searchsorted(x, 1.0)  # a scalar x2: 2025.12 (a constant index)
        inside = t.isin(t.astype(x * 2, t.int64), make([3]))  # new in 2025.12 (constant)
        shape = t.broadcast_shapes((3,), (2, 1))  # new in 2025.12
        return (t.sum(e ** 2) + t.sum(p * 3.0) + x[k] * 5.0
                + t.sum(t.where(inside, x, 0.0)) + shape[0])

    (g,) = xpgrad.gradient(f, v)
    # 2x + 3, plus 5 at index searchsorted(x, 1.0) = 1, plus 1 where x == 1.5
    np.testing.assert_allclose(np.asarray(g), [4.0, 6.0 + 5.0 + 1.0, 8.0])
