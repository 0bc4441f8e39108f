"""Thread safety: concurrent transformations get exactly the sequential results (issue 7).

8 threads each run 200 different calls (``gradient``, ``jvp``, ``hessian``, and
``jacobian`` / implicit-``Params`` gradients, which use the same per-context
state) on their own inputs, all started together and with a tiny switch
interval so that they interleave inside the engine. Every result must be
bitwise equal to the same call made sequentially beforehand: the trace stack
and the watched ``Params`` live in context variables, so no thread ever sees
another's tapes.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad.backends import to_host

THREADS, CALLS = 8, 200


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def loss(x: Any, k: int) -> Any:
    n = ns(x)
    return n.sum(n.sin(x * (k % 7 + 1)) * x) + n.sum(x**3) / (k + 1)


def make_call(xp: Any, t: int, j: int) -> Callable[[], Any]:
    """Call ``j`` of thread ``t``: a different function and point for every pair."""
    k = t * CALLS + j
    rng = np.random.default_rng(k)
    x = xp.asarray(rng.uniform(-1, 1, size=3))
    v = xp.asarray(rng.uniform(-1, 1, size=3))
    kind = k % 5
    if kind == 0:
        return lambda: xpgrad.gradient(lambda x: loss(x, k), x)[0]
    if kind == 1:
        return lambda: xpgrad.jvp(lambda x: ns(x).tanh(x) * k, (x,), (v,))[1]
    if kind == 2:
        return lambda: xpgrad.hessian(lambda x: loss(x, k), x)
    if kind == 3:
        return lambda: xpgrad.jacobian(lambda x: ns(x).exp(x / (k + 1)) * x, x)[0]

    def implicit() -> Any:
        w = xpgrad.param(x)
        return xpgrad.gradient(lambda: loss(w, k), xpgrad.Params([w]))[w]

    return implicit


@pytest.mark.parametrize("xp", [np, strict], ids=["numpy", "strict"])
def test_concurrent_calls_match_sequential(xp: Any) -> None:
    calls = [[make_call(xp, t, j) for j in range(CALLS)] for t in range(THREADS)]
    want = [[to_host(c()) for c in row] for row in calls]
    got: list[list[Any]] = [[None] * CALLS for _ in range(THREADS)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(t: int) -> None:
        try:
            start.wait()
            for j, c in enumerate(calls[t]):
                got[t][j] = to_host(c())
        except BaseException as e:  # reported below, with the thread's traceback
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    for t in range(THREADS):
        for j in range(CALLS):
            a, b = got[t][j], want[t][j]
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b), f"thread {t}, call {j}: {a} != {b}"


def test_a_pullback_may_be_called_from_several_threads() -> None:
    # one recorded tape, many concurrent backward passes with different cotangents
    x = np.array([0.3, -0.7, 1.1])
    _, back = xpgrad.pullback(lambda x: np.sin(x) * x, x)
    cts = [np.random.default_rng(i).uniform(-1, 1, 3) for i in range(64)]
    want = [back(ct)[0] for ct in cts]
    got: list[Any] = [None] * len(cts)

    def work(i: int) -> None:
        for k in range(i, len(cts), 8):
            got[k] = back(cts[k])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, b in zip(got, want):
        assert np.array_equal(a, b)
