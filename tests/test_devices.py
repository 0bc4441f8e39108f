"""Arrays on a device other than the default one: a CPU stand-in for torch on a GPU.

array-api-strict has several devices and, like torch with a CPU and a CUDA
tensor, refuses to combine arrays of two. Every derivative of arrays on its
second device must be computed there (no array the engine makes may land on the
default device) and equal the one taken on the default device.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpgrad

xp = pytest.importorskip("array_api_strict")

DEV = xp.Device("device1")
XN = np.linspace(-0.9, 1.3, 7)


def ns(x):
    return x.__array_namespace__()


def f_vec(x):
    p = ns(x)
    return p.cumulative_sum(p.sin(x)) * p.flip(x, axis=0)


def f_scalar(x):
    p = ns(x)
    return p.sum(p.tanh(x) ** 3 + x * p.roll(x, 1))


def stencil(x):
    """A banded map (its sparse Jacobian needs the pattern machinery)."""
    p = ns(x)
    z = p.zeros((1,), dtype=x.dtype, device=x.device)
    return 2 * p.sin(x) * x - p.concat([z, x[:-1]]) + p.concat([x[1:], z]) ** 2


def total(x):
    p = ns(x)
    return p.sum(p.sin(x) * p.concat([x[1:], x[:1]]))


CASES = {
    "gradient": lambda x: xpgrad.gradient(f_scalar, x)[0],
    "jacobian reverse, chunks": lambda x: xpgrad.jacobian(f_vec, x, mode="reverse",
                                                          chunk_size=3)[0],
    "jacobian forward": lambda x: xpgrad.jacobian(f_vec, x, mode="forward")[0],
    "hessian": lambda x: xpgrad.hessian(f_scalar, x),
    "hessian_reverse": lambda x: xpgrad.hessian_reverse(f_scalar, x),
    "diaghessian": lambda x: xpgrad.diaghessian(f_scalar, x)[0],
    "hvp": lambda x: xpgrad.hvp(f_scalar, x, x),
    "vmap": lambda x: xpgrad.vmap(f_vec)(xp.stack([x, -x])),
    "checkpointed": lambda x: xpgrad.gradient(
        lambda x: ns(x).sum(xpgrad.checkpointed(f_vec, x) ** 2), x)[0],
    "sparse_jacobian": lambda x: xpgrad.sparse_jacobian(stencil, x).todense(),
    "sparse_hessian": lambda x: xpgrad.sparse_hessian(total, x).todense(),
}


@pytest.mark.parametrize("name", list(CASES))
def test_derivative_stays_on_the_device_and_agrees(name: str) -> None:
    fn = CASES[name]
    got = fn(xp.asarray(XN, device=DEV))
    want = fn(xp.asarray(XN))
    assert got.device == DEV
    np.testing.assert_allclose(np.asarray(xp.asarray(got, device=xp.asarray(0).device)),
                               np.asarray(want), rtol=1e-12, atol=1e-12)


def _conformance_maker():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "conformance" / "conftest.py"
    spec = importlib.util.spec_from_file_location("conformance_conftest_devices", path)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    import xpgrad.backends as B

    return conf.Maker(B.get("array_api_strict"))


def _rule_names() -> list:
    from xpgrad.rules import PRIMITIVES

    skip = {"stop_gradient", "eager_update"}  # checked elsewhere (conformance/test_rules.py)
    names = sorted(n for n, p in PRIMITIVES.items()
                   if p.samples is not None and n not in skip and not n.startswith("custom"))
    # array-api-strict's own limit, which torch does not share: its __setitem__ with
    # an index array on another device converts to NumPy and refuses
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="array-api-strict "
                                                    "cannot setitem with an index array on "
                                                    "a non-default device"))
            if n == "getitem" else n for n in names]


# Every rule, every sample on the second device, the conformance suite's checks
# (both orders, batching): a rule that makes an array without device= (the
# checker's comparison, the real FFTs' half-spectrum mask and take_along_axis's
# index ranges did) fails here, as it would on torch CUDA tensors.
@pytest.mark.parametrize("name", _rule_names())
def test_rule_checks_pass_with_every_sample_on_the_second_device(name: str) -> None:
    from xpgrad.rules import PRIMITIVES
    from xpgrad.testing import check_primitive

    def move(a):
        return xp.asarray(a, device=DEV) if type(a).__name__ == "Array" else a

    make = _conformance_maker()
    for args, params in PRIMITIVES[name].samples(make):
        args = tuple(move(a) for a in args)
        assert all(a.device == DEV for a in args if type(a).__name__ == "Array")
        check_primitive(PRIMITIVES[name], args, params)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # masked fill value
def test_dask_basis_has_the_chunk_type_of_its_argument() -> None:
    """A Jacobian's lazy basis is made of the argument's chunk type (CuPy chunks on a
    GPU; NumPy's masked arrays stand in for them here), never plain NumPy blocks."""
    da = pytest.importorskip("dask.array")
    import xpgrad.backends as B

    like = da.from_array(np.ma.masked_array(XN, mask=np.zeros(7, bool)), chunks=3)
    e = B.get("dask").basis(None, 2, 3, 7, np.float64, (7,), None, like)
    assert isinstance(e._meta, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.asarray(e.compute()), np.eye(7)[2:5])
