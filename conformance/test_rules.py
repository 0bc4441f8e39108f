"""Generated from the registry: every primitive, every installed backend.

For each registered primitive and each sample it declares: forward mode vs
finite differences, reverse vs forward (dot-product test), second order
(forward-over-reverse and reverse-over-reverse), and vmap vs the loop.
"""

from __future__ import annotations

import pytest

import xpgrad  # noqa: F401  (registers the rules)
from xpgrad.rules import PRIMITIVES
from xpgrad.testing import check_primitive

from conftest import Maker, backend_names

# Primitives whose rules are checked elsewhere (they need structured inputs).
CHECKED_ELSEWHERE = {
    "stop_gradient": "tests/test_gradient.py (ignore_derivatives)",
}

NAMES = sorted(n for n in PRIMITIVES if n not in CHECKED_ELSEWHERE
               and not n.startswith("custom"))


def test_every_differentiable_primitive_has_samples() -> None:
    missing = [n for n in NAMES if PRIMITIVES[n].differentiable and PRIMITIVES[n].samples is None]
    assert not missing, f"differentiable primitives without samples: {missing}"


def test_every_primitive_has_a_batch_rule() -> None:
    missing = [n for n in NAMES if PRIMITIVES[n].batch is None]
    assert not missing, f"primitives without a batching rule: {missing}"


@pytest.mark.parametrize("bname", backend_names())
@pytest.mark.parametrize("name", [n for n in NAMES if PRIMITIVES[n].samples is not None])
def test_rule(bname: str, name: str) -> None:
    import xpgrad.backends as B

    prim = PRIMITIVES[name]
    make = Maker(B.get(bname))
    for args, params in prim.samples(make):
        check_primitive(prim, args, params)
