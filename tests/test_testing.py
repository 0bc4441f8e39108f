"""``xpgrad.testing`` on arrays that live on a device other than the default one.

array-api-strict has several devices and refuses to combine arrays of two, as
torch refuses a CPU tensor beside a CUDA one: the checker's own arrays (its probe
directions) must be made where the arguments are.
"""

from __future__ import annotations

import pytest

from xpgrad.testing import check_grads, direction

strict = pytest.importorskip("array_api_strict")


def _other_device():
    dev = strict.Device("device1")
    assert dev != strict.asarray(0.0).device
    return dev


def test_direction_is_made_on_the_argument_device() -> None:
    x = strict.ones((2, 3), device=_other_device())
    v = direction(strict, x, 0)
    assert v.device == x.device and v.shape == x.shape and v.dtype == x.dtype


def test_check_grads_runs_on_a_non_default_device() -> None:
    x = strict.asarray([0.3, -0.2, 0.5], device=_other_device())

    def f(x):
        xp = x.__array_namespace__()
        return xp.sin(x) * x

    check_grads(f, (x,), order=2)
