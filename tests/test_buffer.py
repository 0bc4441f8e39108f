"""Buffer and the index_update primitive (rules/indexing_update.py, api/buffer.py)."""

from __future__ import annotations

import copy
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import Buffer, gradient, jacobian, vmap
from xpgrad.rules import indexing_update as B
from xpgrad.testing import check_grads

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.from_dlpack(x)


def scatter_rows(x: Any) -> Any:
    """A program with overlapping writes, reads of the buffer and a Buffer(array) start."""
    s = ns(x)
    buf = Buffer(s.zeros((4, 3), dtype=x.dtype))
    buf[0, :] = s.sin(x)
    buf[1, :] = x * x
    buf[1, 0] = 7.0 * x[2]  # overwrites an entry: only the last write counts
    buf[2:4, :] = buf[0:2, :] * 2.0
    buf[..., 2] = buf[..., 1] + x[0]
    return buf.copy()


def scatter_rows_by_hand(x: np.ndarray) -> np.ndarray:
    out = np.zeros((4, 3))
    out[0] = np.sin(x)
    out[1] = x * x
    out[1, 0] = 7.0 * x[2]
    out[2:4] = out[0:2] * 2.0
    out[:, 2] = out[:, 1] + x[0]
    return out


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_values_and_derivatives_through_writes(xp: Any) -> None:
    x0 = np.array([0.3, -1.2, 0.7])
    x = xp.asarray(x0)
    assert np.allclose(host(scatter_rows(x)), scatter_rows_by_hand(x0))
    check_grads(scatter_rows, (x,), order=2)  # fd, fwd vs rev, and second order
    (g,) = gradient(lambda x: ns(x).sum(scatter_rows(x)), x)
    eps = 1e-6
    fd = [(scatter_rows_by_hand(x0 + eps * e).sum() - scatter_rows_by_hand(x0 - eps * e).sum())
          / (2 * eps) for e in np.eye(3)]
    assert np.allclose(host(g), fd, atol=1e-6)


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_constructors(xp: Any) -> None:
    x = xp.asarray([1, 2, 3])
    b = Buffer(x, 3, 5)
    assert b.shape == (3, 5) and b.dtype == x.dtype and b.ndim == 2 and len(b) == 3
    assert np.array_equal(host(b.copy()), np.zeros((3, 5)))  # zero-filled
    assert Buffer(x, (2, 2)).shape == (2, 2)
    c = Buffer(x)  # a copy of x: writing never touches x
    c[0] = 10
    assert np.array_equal(host(c.copy()), [10, 2, 3]) and np.array_equal(host(x), [1, 2, 3])
    assert "Buffer(shape=(3,)" in repr(c) and "frozen" in repr(c)


def test_errors() -> None:
    with pytest.raises(TypeError, match="must be an array"):
        Buffer([1, 2, 3], 3)
    with pytest.raises(TypeError, match="non-negative ints"):
        Buffer(np.ones(2), 2.5)
    buf = Buffer(np.ones(3))
    with pytest.raises(TypeError, match="not an array"):
        np.asarray(buf)
    with pytest.raises(TypeError):
        buf @ np.ones(3)  # no linear algebra on a Buffer
    with pytest.raises(TypeError):
        buf + 1
    out = copy.copy(buf)  # Julia's copy(buf): the array, and the buffer is frozen
    assert isinstance(out, np.ndarray)
    with pytest.raises(RuntimeError, match="frozen by copy"):
        buf[0] = 2.0
    assert float(buf[1]) == 1.0  # reading stays allowed


def test_untraced_writes_are_in_place_until_a_view_escapes() -> None:
    buf = Buffer(np.zeros(3))
    data = buf._data
    buf[0] = 1.0
    assert buf._data is data  # written in place: nobody else can see the array
    view = buf[0:2]
    buf[1] = 2.0  # a view escaped: this write copies, the view keeps its values
    assert buf._data is not data and np.array_equal(view, [1.0, 0.0])
    assert np.array_equal(buf.copy(), [1.0, 2.0, 0.0])


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_written_params_and_traced_writes(xp: Any) -> None:
    w = xpgrad.param(xp.asarray([1.0, 2.0]))

    def f() -> Any:
        buf = Buffer(w, 2, 2)
        buf[0, :] = w
        buf[1, :] = w * w
        return ns(w).sum(buf.copy())

    gs = gradient(f, xpgrad.Params([w]))
    assert np.array_equal(host(gs[w]), [3.0, 5.0])


def test_generic_update_without_in_place_writes(monkeypatch: Any) -> None:
    x = np.arange(12.0).reshape(4, 3)
    for key, v in [((1, Ellipsis), np.array([7.0, 8.0, 9.0])), ((slice(None), 0), 5.0),
                   ((slice(1, 3), slice(0, 2)), np.array([[1.0, 2.0], [3.0, 4.0]])),
                   ((np.array([0, 3]), Ellipsis), np.array([-1.0, -2.0, -3.0]))]:
        want = x.copy()
        want[key] = v
        # the engine passes the Array API namespace (NumPy < 2 has no `device=`)
        got = B._update_generic(array_api_compat.numpy, x, key, v)
        assert np.array_equal(got, want) and np.array_equal(x, np.arange(12.0).reshape(4, 3))
    # the whole Buffer on a backend that cannot write in place and has no hook
    monkeypatch.setattr(B.backends, "capabilities", lambda x: {"inplace": False})
    monkeypatch.setattr(B.backends, "hook", lambda x, name: None)
    x0 = np.array([0.3, -1.2, 0.7])
    assert np.allclose(scatter_rows(x0), scatter_rows_by_hand(x0))
    check_grads(scatter_rows, (x0,), order=1)


def test_under_vmap_and_jacobian() -> None:
    def vstack(xs: Any) -> Any:
        buf = Buffer(xs, xs.shape[0], 4)
        for i in range(4):
            buf[:, i] = xs * (i + 1)
        return buf.copy()

    x = np.array([1.0, 2.0, 3.0])
    want = np.kron(np.eye(3), np.arange(1.0, 5.0)[:, None])  # d out[i, j] / d x[k]
    for mode in ("reverse", "forward"):
        (J,) = jacobian(vstack, x, mode=mode)
        assert np.array_equal(J, want)
    xs = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(vmap(vstack)(xs), np.stack([vstack(r) for r in xs]))
    assert np.array_equal(vmap(scatter_rows)(xs), np.stack([scatter_rows(r) for r in xs]))


# -- issue 16, defect 2: a write with repeated indices -------------------------------------------
def _repeated_write(v: Any) -> Any:
    b = xpgrad.Buffer(v, 3)
    b[np.array([0, 0, 1])] = v  # position 0 is written twice: the last write (v[1]) wins
    return b.copy()


def test_repeated_indices_last_write_wins_in_every_mode() -> None:
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(_repeated_write(v), [2.0, 3.0, 0.0])  # NumPy's assignment
    want = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    for mode in ("forward", "reverse"):
        np.testing.assert_array_equal(xpgrad.jacobian(_repeated_write, v, mode=mode)[0], want)
    w = np.array([1.0, 10.0, 100.0])
    g = xpgrad.gradient(lambda v: np.sum(_repeated_write(v) * w), v)[0]
    np.testing.assert_array_equal(g, [0.0, 1.0, 10.0])
    # vmap over the written values agrees with the loop
    vs = np.stack([v, 2 * v])
    np.testing.assert_array_equal(
        xpgrad.vmap(_repeated_write)(vs), np.stack([_repeated_write(u) for u in vs])
    )


def test_repeated_indices_on_array_api_strict() -> None:
    import array_api_strict as strict

    v = strict.asarray([1.0, 2.0, 3.0])

    def f(v: Any) -> Any:
        b = xpgrad.Buffer(v, 3)
        b[strict.asarray([0, 0, 1])] = v
        return b.copy()

    assert [float(a) for a in f(v)] == [2.0, 3.0, 0.0]
    w = strict.asarray([1.0, 10.0, 100.0])
    g = xpgrad.gradient(lambda v: v.__array_namespace__().sum(f(v) * w), v)[0]
    assert [float(a) for a in g] == [0.0, 1.0, 10.0]
