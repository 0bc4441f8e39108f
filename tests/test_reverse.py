"""The backward pass holds every rule to its contract (issue 16, defect 9).

A pullback must return one cotangent (or ``None``) per argument, each shaped
like its argument. The check is in the backward pass itself, so it covers
built-in rules, rules registered through ``xpgrad.extend`` and ``custom_rule``
alike; before it, ``zip`` truncated a short tuple silently and a wrongly shaped
cotangent was broadcast into a wrong sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xpgrad
from xpgrad import extend


def _custom(name: str, pullback: Any) -> Any:
    @xpgrad.custom_rule(name=name)
    def fn(x: Any, y: Any) -> Any:
        return x * y

    @fn.defvjp
    def fn_vjp(primals: tuple, needs: tuple) -> Any:
        x, y = primals
        return fn(x, y), lambda ct: pullback(ct, x, y)

    return fn


def test_too_few_cotangents_name_the_primitive() -> None:
    fn = _custom("contract_short", lambda ct, x, y: (ct * y,))
    with pytest.raises(ValueError, match=r"'contract_short' returned 1 cotangents for 2 arg"):
        xpgrad.gradient(lambda x, y: np.sum(fn(x, y)), np.ones(3), np.ones(3))


def test_too_many_cotangents_are_refused() -> None:
    fn = _custom("contract_long", lambda ct, x, y: (ct * y, ct * x, ct))
    with pytest.raises(ValueError, match=r"'contract_long' returned 3 cotangents for 2"):
        xpgrad.gradient(lambda x, y: np.sum(fn(x, y)), np.ones(3), np.ones(3))


def test_a_wrongly_shaped_cotangent_names_the_primitive_and_the_shapes() -> None:
    # y is broadcast against x; the pullback forgets to sum y's cotangent back down
    fn = _custom("contract_shape", lambda ct, x, y: (ct * y, ct * x))
    with pytest.raises(ValueError, match=r"'contract_shape'.*shape \(2, 3\).*argument 1.*\(3,\)"):
        xpgrad.gradient(lambda x, y: np.sum(fn(x, y)), np.ones((2, 3)), np.ones(3))


def test_a_registered_rule_is_checked_too() -> None:
    """Not only custom_rule: any rule of the registry (here one made with extend)."""
    p = extend.primitive("contract_registered", lambda x, y: x + y, export_as=False)
    extend.defrule(p, vjp=lambda primals, needs: (p(*primals), lambda ct: (ct,)))
    with pytest.raises(ValueError, match=r"'contract_registered' returned 1 cotangents for 2"):
        xpgrad.gradient(lambda x, y: np.sum(p(x, y)), np.ones(3), np.ones(3))


def test_a_correct_rule_passes_and_a_constant_argument_may_get_none() -> None:
    fn = _custom("contract_ok", lambda ct, x, y: (ct * y, None))
    g = xpgrad.gradient(lambda x: np.sum(fn(x, np.full(3, 2.0))), np.ones(3))[0]
    np.testing.assert_allclose(g, np.full(3, 2.0))


def _unary(name: str, pullback: Any) -> Any:
    p = extend.primitive(name, lambda x: x * 2.0, export_as=False)
    extend.defrule(p, vjp=lambda primals, needs: (p(*primals), pullback))
    return p


@pytest.mark.parametrize(
    "k, pullback, match",
    [
        (0, lambda ct: (ct, ct), r"'contract_unary_0' returned 2 cotangents for 1 arg"),
        (1, lambda ct: (), r"'contract_unary_1' returned 0 cotangents for 1 arg"),
        (2, lambda ct: 2.0, r"'contract_unary_2' returned float cotangents for 1 arg"),
        (3, lambda ct: (ct[:2],), r"'contract_unary_3'.*shape \(2,\).*argument 0.*\(3,\)"),
    ],
)
def test_one_argument_rules_are_checked_alike(k: int, pullback: Any, match: str) -> None:
    # one- and two-argument entries take their own (unrolled) path in the backward pass
    p = _unary(f"contract_unary_{k}", pullback)
    with pytest.raises(ValueError, match=match):
        xpgrad.gradient(lambda x: np.sum(p(x)), np.ones(3))


def test_three_argument_rules_are_checked_too() -> None:
    p = extend.primitive("contract_three", lambda x, y, z: x + y + z, export_as=False)
    extend.defrule(p, vjp=lambda primals, needs: (p(*primals), lambda ct: (ct, ct)))
    with pytest.raises(ValueError, match=r"'contract_three' returned 2 cotangents for 3"):
        xpgrad.gradient(lambda x: np.sum(p(x, x, x)), np.ones(3))
