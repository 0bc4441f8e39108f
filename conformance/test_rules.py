"""Generated from the registry: every primitive, every installed backend.

For each registered primitive and each sample it declares: forward mode vs
finite differences, reverse vs forward (dot-product test), second order
(forward-over-reverse and reverse-over-reverse), and vmap vs the loop.

Three passes: float64 (orders 1 and 2); float32 (order 1 only: central
differences in single precision are too coarse to check a second derivative,
tolerances from ``xpgrad.testing.tolerance`` or the rule's ``tol``); complex128
(orders 1 and 2) for the primitives marked ``complex_ok``, whose samples are
then built from complex ``make`` arrays; where complex outputs have a phase
freedom (eigenvectors, singular vectors) the finite-difference checks go through
the gauge-invariant ``observe`` function declared with ``complex_ok``. A fourth,
mixed pass gives the ``complex_ok`` primitives real and complex arguments in
turn: a real argument must get a real cotangent even when the function's
values are complex (a real signal into ``fft``, a real matrix times a complex
one). Every pass checks that each tangent and cotangent has its primal's dtype
and shape (``xpgrad.testing.check_grads``).
"""

from __future__ import annotations

import pytest

import xpgrad  # noqa: F401  (registers the rules)
from xpgrad.rules import PRIMITIVES
from xpgrad.rules._registry import COMPLEX_OBSERVE, COMPLEX_OK
from xpgrad.rules.special import BACKEND_NAME
from xpgrad.testing import check_primitive

from conftest import Maker, backend_names

# Primitives whose rules are checked elsewhere (they need structured inputs).
CHECKED_ELSEWHERE = {
    "stop_gradient": "tests/test_gradient.py (ignore_derivatives)",
    "eager_update": "tests/test_optimisers.py (its pullback has a side effect by design)",
}

NAMES = sorted(n for n in PRIMITIVES if n not in CHECKED_ELSEWHERE and not n.startswith("custom"))


def test_every_differentiable_primitive_has_samples() -> None:
    missing = [n for n in NAMES if PRIMITIVES[n].differentiable and PRIMITIVES[n].samples is None]
    assert not missing, f"differentiable primitives without samples: {missing}"


def test_every_primitive_has_a_batch_rule() -> None:
    missing = [n for n in NAMES if PRIMITIVES[n].batch is None]
    assert not missing, f"primitives without a batching rule: {missing}"


def skip_unless_offered(bname: str, name: str) -> None:
    """Extension functions a backend need not have (``special.*``: its adapter's hook)."""
    import xpgrad.backends as B

    if name.startswith("special."):
        short = name.split(".", 1)[1]
        hook = getattr(B.get(bname), "special", None)
        if hook is None or hook(BACKEND_NAME.get(short, short)) is None:
            pytest.skip(f"{bname} offers no {name}")


@pytest.mark.parametrize("bname", backend_names())
@pytest.mark.parametrize("name", [n for n in NAMES if PRIMITIVES[n].samples is not None])
def test_rule(bname: str, name: str) -> None:
    import xpgrad.backends as B

    skip_unless_offered(bname, name)
    prim = PRIMITIVES[name]
    make = Maker(B.get(bname))
    for args, params in make.samples(prim):
        check_primitive(prim, args, params)


@pytest.mark.parametrize("bname", backend_names())
@pytest.mark.parametrize("name", [n for n in NAMES if PRIMITIVES[n].samples is not None])
def test_rule_float32(bname: str, name: str) -> None:
    import xpgrad.backends as B

    skip_unless_offered(bname, name)
    prim = PRIMITIVES[name]
    make = Maker(B.get(bname), "float32")
    for args, params in make.samples(prim):
        check_primitive(prim, args, params, order=1)


@pytest.mark.parametrize("bname", backend_names())
@pytest.mark.parametrize(
    "name", [n for n in NAMES if PRIMITIVES[n].samples is not None and n in COMPLEX_OK]
)
def test_rule_complex(bname: str, name: str) -> None:
    import xpgrad.backends as B

    prim = PRIMITIVES[name]
    make = Maker(B.get(bname), "complex128")
    for args, params in make.samples(prim):
        check_primitive(prim, args, params, observe=COMPLEX_OBSERVE.get(name))


@pytest.mark.parametrize("bname", backend_names())
@pytest.mark.parametrize(
    "name", [n for n in NAMES if PRIMITIVES[n].samples is not None and n in COMPLEX_OK]
)
def test_rule_mixed_real_complex(bname: str, name: str) -> None:
    import xpgrad.backends as B

    prim = PRIMITIVES[name]
    make = Maker(B.get(bname), "mixed")
    for args, params in prim.samples(make):
        check_primitive(prim, args, params, order=1, observe=COMPLEX_OBSERVE.get(name))
