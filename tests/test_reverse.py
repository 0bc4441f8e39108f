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
