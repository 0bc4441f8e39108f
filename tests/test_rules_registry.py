"""The registry's declarations are complete and honest (issue 15, item 3).

Every field of a primitive is declared where the primitive is defined: no
name-keyed table fills in sparsity patterns or one-hot rules later, so these
tests check what the definitions declare.
"""

from __future__ import annotations

import dis
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pytest

import xpgrad
from xpgrad import extend
from xpgrad._core import tables
from xpgrad.rules import PRIMITIVES


@pytest.fixture
def scratch_registry() -> Iterator[None]:
    """Primitives a test registers are removed again (the conformance suite checks
    every registered one)."""
    with tables.saved():
        yield


def test_every_builtin_differentiable_primitive_declares_a_pattern() -> None:
    # in a fresh process, so that primitives other tests register do not count;
    # a missing pattern would make sparse_jacobian silently dense for that function
    code = (
        "import json, xpgrad\n"
        "from xpgrad.rules import PRIMITIVES\n"
        "print(json.dumps(sorted(n for n, p in PRIMITIVES.items()\n"
        "                        if p.differentiable and p.pattern is None)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    missing = json.loads(out.stdout.strip().splitlines()[-1])
    assert missing == [], (
        f"differentiable primitives without a sparsity pattern: {missing}; declare one beside "
        f"the primitive (defrule(p, pattern=...)), patterns.dense with a reason if none fits"
    )


def test_a_primitive_without_a_pattern_is_reported(scratch_registry: None) -> None:
    # the fallback is visible to the user: sparse_jacobian names the primitive
    p = extend.primitive("no_pattern_declared", lambda x: x * 2.0)
    extend.defrule(
        p, jvp=lambda primals, tangents: (p(primals[0]), 2.0 * tangents[0])
    )
    S = xpgrad.jacobian_sparsity(lambda x: p(x), np.ones(3))
    assert "no_pattern_declared" in S.fallbacks
    assert S.nnz == 9  # dense: every output on every input


def _reads_arg(fn: Callable, index: int) -> bool:
    """Whether ``fn``'s body reads its positional argument ``index`` (bytecode)."""
    code = fn.__code__
    name = code.co_varnames[index]
    for ins in dis.get_instructions(fn):
        if ins.opname.startswith("LOAD_") and (
            ins.argval == name or (isinstance(ins.argval, tuple) and name in ins.argval)
        ):
            return True
        if ins.opname in ("LOAD_CLOSURE", "MAKE_CELL") and ins.argval == name:
            return True
    return False


UNARY = sorted(
    n
    for n, p in PRIMITIVES.items()
    if hasattr(p.vjp, "unary_deriv")
    and getattr(p.vjp.unary_deriv[0], "__module__", "").startswith("xpgrad.")
)


def test_unary_primitives_are_found() -> None:
    assert {"tanh", "exp", "sin", "special.expit"} <= set(UNARY)


@pytest.mark.parametrize("name", UNARY)
def test_uses_x_agrees_with_what_the_derivative_reads(name: str) -> None:
    # uses_x=False drops x from the pullback: a derivative that reads x would get
    # None; uses_x=True where x is never read keeps an array alive for nothing
    deriv, uses_x = PRIMITIVES[name].vjp.unary_deriv
    reads = _reads_arg(deriv, 0)
    assert reads == uses_x, (
        f"{name}: declared uses_x={uses_x}, but its derivative "
        f"{'reads' if reads else 'does not read'} x"
    )


def _peak(f: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_chain_of_tanh_layers_stores_one_array_per_layer(scratch_registry: None) -> None:
    # W1's memory: in h = tanh(h + 0.5) (W1: tanh(h @ W)) tanh's pullback keeps its
    # output only and add's keeps no array, so 40 layers of 1 MiB arrays hold about
    # 40 MiB at the end of the forward pass; with x kept too (the safe default of
    # uses_x) each layer's h + 0.5 stays alive as well: about twice that
    _keep_x = extend.unary("tanh_keeping_x", lambda x, y: 1 - y * y, impl=np.tanh)  # uses_x=True
    h = np.random.default_rng(0).standard_normal(2**17)
    layers = 40

    def chain(fn: Callable) -> Callable:
        def loss(h: Any) -> Any:
            for _ in range(layers):
                h = fn(h + 0.5)
            return h[0]

        return loss

    tanh = xpgrad.gradient(chain(lambda h: h.__array_namespace__().tanh(h)), h)
    keep = xpgrad.gradient(chain(_keep_x), h)
    np.testing.assert_allclose(tanh[0], keep[0])
    one = _peak(lambda: xpgrad.gradient(chain(lambda h: h.__array_namespace__().tanh(h)), h))
    two = _peak(lambda: xpgrad.gradient(chain(_keep_x), h))
    mib = h.nbytes
    assert one < (layers + 6) * mib, one / mib
    assert two > 1.6 * one, (one / mib, two / mib)
