"""No leaks: repeated calls keep memory flat, and the tape is freed when done (issue 7).

Leak checks: 10,000 calls each of ``gradient``, ``jacobian`` and ``hessian``.
The first 1,000 warm up every cache; from call 1,000 to call 10,000 the number
of live Python memory blocks (``sys.getallocatedblocks``: every object,
including array headers, tape nodes and closures) must stay flat, and the
last calls run under ``tracemalloc``, which also sees raw buffers such as
array data, and must leave nothing behind. A leak of one small object per
call shows up as thousands of blocks. (Tracing all 9,000 calls with
``tracemalloc`` gave the same verdict at twice the cost, over a minute.)

Tape checks (with the garbage collector off, so that only reference counting
frees, and a reference cycle would show): once ``gradient`` (and every
transformation built on it) returns, the trace, the pullback closures and the
intermediates they captured are gone; a ``pullback``'s tape lives exactly as
long as its ``back`` function.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import tracemalloc
import weakref
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import xpgrad
from xpgrad._core.trace import Tracer

X = np.array([0.5, -1.0])


def loss(x: Any) -> Any:
    return np.sum(np.exp(x) * x)


def vector(x: Any) -> Any:
    return np.exp(x) * x


CALLS: dict[str, Callable[[], Any]] = {
    "gradient": lambda: xpgrad.gradient(loss, X),
    "jacobian": lambda: xpgrad.jacobian(vector, X),
    "hessian": lambda: xpgrad.hessian(loss, X),
}

N, WARM, WINDOW = 10_000, 1_000, 300


def _run(call: Callable[[], Any], n: int) -> None:
    for _ in range(n):
        call()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_ten_thousand_calls_keep_memory_flat(name: str) -> None:
    call = CALLS[name]
    _run(call, WARM)
    gc.collect()
    blocks = sys.getallocatedblocks()
    _run(call, N - WARM - WINDOW)
    gc.collect()
    tracemalloc.start()
    try:
        _run(call, WINDOW)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    gc.collect()
    grown = sys.getallocatedblocks() - blocks
    # one leaked object per call would be 9,000 blocks and WINDOW * ~50 bytes
    assert grown < 300, f"{name}: {grown} more live memory blocks after {N} calls"
    assert traced < 8 * 1024, f"{name}: {traced} bytes kept by the last {WINDOW} calls"


# -- the tape is freed -------------------------------------------------------------------


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bottom(v: Any) -> Any:
    while isinstance(v, Tracer):
        v = v._value
    return v


class Spy:
    """A loss that keeps weak references to its trace, pullbacks and intermediates."""

    def __init__(self) -> None:
        self.refs: dict[str, weakref.ref] = {}

    def __call__(self, x: Any) -> Any:
        y = x * x
        z = np.sin(y)
        node = getattr(z, "node", None)  # the reverse-mode tape entry's index, when outermost
        if node is not None:
            tape = z._trace.tape
            self.refs["trace"] = weakref.ref(z._trace)
            self.refs["sin_pullback"] = weakref.ref(tape[node][0])
            self.refs["multiply_pullback"] = weakref.ref(tape[y.node][0])
        self.refs["intermediate"] = weakref.ref(_bottom(z))
        big = np.zeros(1000) + y[0]  # captured by sin's pullback (cos reads it)
        self.refs["big"] = weakref.ref(_bottom(big))
        return np.sum(z) * np.sum(np.sin(big))

    def alive(self) -> list:
        return sorted(k for k, r in self.refs.items() if r() is not None)


APIS: dict[str, Callable[[Callable, Any], Any]] = {
    "gradient": lambda f, x: xpgrad.gradient(f, x),
    "withgradient": lambda f, x: xpgrad.withgradient(f, x),
    "jacobian_reverse": lambda f, x: xpgrad.jacobian(f, x, mode="reverse"),
    "jacobian_forward": lambda f, x: xpgrad.jacobian(f, x, mode="forward"),
    "hessian": lambda f, x: xpgrad.hessian(f, x),
    "hessian_reverse": lambda f, x: xpgrad.hessian_reverse(f, x),
    "diaghessian": lambda f, x: xpgrad.diaghessian(f, x),
    "hvp": lambda f, x: xpgrad.hvp(f, x, x),
    "jvp": lambda f, x: xpgrad.jvp(f, (x,), (x,)),
    "vmap_gradient": lambda f, x: xpgrad.vmap(lambda r: xpgrad.gradient(f, r)[0])(
        np.stack([x, x])),
    "checkpointed": lambda f, x: xpgrad.gradient(lambda x: xpgrad.checkpointed(f, x), x),
}


@pytest.mark.parametrize("api", sorted(APIS))
def test_tape_is_freed_when_the_transformation_returns(api: str) -> None:
    spy = Spy()
    with no_gc():
        res = APIS[api](spy, np.array([0.5, 1.0]))
        assert spy.refs, "the spy saw nothing"
        assert spy.alive() == [], f"{api} keeps {spy.alive()} alive after returning"
    assert res is not None


def test_pullback_tape_lives_exactly_as_long_as_back() -> None:
    spy = Spy()
    with no_gc():
        y, back = xpgrad.pullback(spy, np.array([0.5, 1.0]))
        assert spy.alive() == ["big", "intermediate", "multiply_pullback", "sin_pullback",
                               "trace"]
        g1 = back(1.0)
        g2 = back(1.0)  # may be called again: the tape is still there
        assert np.array_equal(g1[0], g2[0]) and "sin_pullback" in spy.alive()
        del back
        assert spy.alive() == [], f"dropping back left {spy.alive()} alive"
    assert y is not None


def test_a_recorded_layer_keeps_only_what_its_pullbacks_read() -> None:
    """In tanh(x @ W + b) the tape keeps x, W (matmul) and the output (tanh), not x @ W."""
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)
    refs: dict[str, weakref.ref] = {}

    def layer(x: Any) -> Any:
        z = x @ W
        refs["x @ W"] = weakref.ref(_bottom(z))
        s = z - b
        refs["x @ W - b"] = weakref.ref(_bottom(s))
        h = np.tanh(s + b)
        refs["h"] = weakref.ref(_bottom(h))
        return np.sum(h)

    with no_gc():
        _, back = xpgrad.pullback(layer, x)
        alive = sorted(k for k, r in refs.items() if r() is not None)
        assert alive == ["h"], f"the tape keeps {alive}"
        (g,) = back(1.0)
    want = (1.0 - np.tanh(x @ W) ** 2) @ W.T
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_tape_is_freed_after_an_error() -> None:
    spy = Spy()

    def fails(x: Any) -> Any:
        spy(x)
        raise ValueError("user error in the middle of the forward pass")

    def backward_fails(x: Any) -> Any:
        return np.sum(xpgrad.hook(lambda g: 1 / 0, spy(x) * x))

    for f, err in ((fails, ValueError), (backward_fails, ZeroDivisionError)):
        spy.refs.clear()
        with pytest.raises(err):
            xpgrad.gradient(f, np.array([0.5, 1.0]))
        gc.collect()  # the traceback held frames until the except clause ended
        assert spy.refs and spy.alive() == [], f"{f.__name__}: {spy.alive()} alive"


def test_failing_calls_do_not_accumulate() -> None:
    def bad(x: Any) -> Any:
        return x * 2  # not a scalar: gradient raises after recording

    def call() -> None:
        with contextlib.suppress(ValueError):
            xpgrad.gradient(bad, X)

    _run(call, 200)
    gc.collect()
    blocks = sys.getallocatedblocks()
    _run(call, 2_000)
    gc.collect()
    assert sys.getallocatedblocks() - blocks < 200


def test_backward_frees_each_layer_once_its_pullbacks_have_run() -> None:
    # gradient() consumes its tape: by the time the backward pass reaches layer 1,
    # the activations saved for layers 2.. must be gone, not kept until it ends
    # (earlier, each tape node held its parents, so the output tracer kept the
    # whole graph alive and the peak held the tape and the gradient together)
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((8, 8)) / 3 for _ in range(6)]
    refs: list = []
    alive_at_hook: list = []

    def f(ws: list) -> Any:
        h = np.ones((4, 8))
        for i, w in enumerate(ws):
            if i == 1:
                h = xpgrad.hook(lambda g: alive_at_hook.extend(r() is not None for r in refs) or g, h)
            h = np.tanh(h @ w)
            refs.append(weakref.ref(_bottom(h)))
        return np.sum(h)

    xpgrad.gradient(f, ws)
    # refs[0] is layer 0's output (layer 1 has yet to run its pullback when the hook
    # fires); refs[-1] is the returned value, which the recording holds
    assert len(alive_at_hook) == 6
    assert alive_at_hook[1:-1] == [False] * 4, alive_at_hook
