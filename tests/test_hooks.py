"""hook and showgrad (api/hooks.py)."""

from __future__ import annotations

import io
from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

from xpgrad import gradient, hessian, hessian_reverse, hook, jacobian, jvp, pullback, showgrad, vmap

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.from_dlpack(x)


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_hook_transforms_only_that_use(xp: Any) -> None:
    x = xp.asarray([1.0, 2.0])

    def f(x: Any) -> Any:
        s = ns(x)
        return s.sum(hook(lambda g: 10 * g, x) * x) + s.sum(x)  # d/dx = 10 x + x + 1

    (g,) = gradient(f, x)
    assert np.array_equal(host(g), 11 * host(x) + 1)
    # forward mode is untouched
    _, t = jvp(f, (x,), (xp.asarray([1.0, 0.0]),))
    assert float(t) == 2 * 1.0 + 1


def test_hook_none_drops_the_cotangent_and_pytrees() -> None:
    assert gradient(lambda a, b: hook(lambda g: None, a) * b + a, 2.0, 3.0) == (1.0, 2.0)
    seen = []
    tree = gradient(lambda t: np.sum(hook(lambda g: seen.append(g.shape) or g, t)["w"]) * 2,
                    {"w": np.ones(3), "name": "layer"})
    assert seen == [(3,)] and np.array_equal(tree[0]["w"], [2.0, 2.0, 2.0])
    assert hook(lambda g: g, 3.0) == 3.0  # nothing to hook outside a transformation
    with pytest.raises(TypeError, match="hook\\(fn, x\\)"):
        hook(np.ones(2), lambda g: g)


def test_hook_under_higher_order_and_vmap() -> None:
    # a hook acts in every reverse pass and in no forward pass: forward-over-reverse
    # scales the second derivative 6x once, reverse-over-reverse twice
    f = lambda x: np.sum(hook(lambda g: 2 * g, x) ** 3)
    x = np.array([1.0, 2.0])
    assert np.allclose(hessian(f, x), np.diag(2 * 6 * x))
    assert np.allclose(hessian_reverse(f, x), np.diag(2 * 2 * 6 * x))
    (J,) = jacobian(lambda x: hook(lambda g: -g, x) * 3, np.ones(3), mode="reverse")
    assert np.array_equal(J, -3 * np.eye(3))
    out = vmap(lambda r: gradient(lambda r: np.sum(hook(lambda g: -g, r) ** 2), r)[0])(
        np.arange(6.0).reshape(2, 3))
    assert np.array_equal(out, -2 * np.arange(6.0).reshape(2, 3))


def test_showgrad_names_and_formats(capsys: Any) -> None:
    def f(weights: Any) -> Any:
        return np.sum(showgrad(weights) * np.array([1.0, 2.0]))

    gradient(f, np.array([3.0, 4.0]))
    assert capsys.readouterr().out == "∂(weights) = [1. 2.]\n"  # the caller's variable
    gradient(lambda a: showgrad(a * 2, "twice") * 1.5, 1.0)
    assert capsys.readouterr().out == "∂(twice) = 1.5\n"
    gradient(lambda a: showgrad(a * 2) * 1.5, 1.0)  # an expression: no name to find
    assert capsys.readouterr().out == "∂(x) = 1.5\n"
    buf = io.StringIO()
    gradient(lambda a: showgrad(a, "a", file=buf) * 2, 1)
    assert buf.getvalue() == "∂(a) = 2\n" and capsys.readouterr().out == ""
    assert showgrad(5.0) == 5.0 and capsys.readouterr().out == ""  # nothing to show


def test_showgrad_every_backward_pass(capsys: Any) -> None:
    def f(a: Any, b: Any) -> Any:
        c = showgrad(a, "a") * b
        showgrad(b, "b")  # unused
        return c

    _, back = pullback(f, 2.0, 3.0)
    capsys.readouterr()
    back(1.0)
    back(2.0)
    assert capsys.readouterr().out == (
        "∂(a) = 3.0\n∂(b) = None\n∂(a) = 6.0\n∂(b) = None\n"
    )


def test_showgrad_in_nested_gradients(capsys: Any) -> None:
    # d/dx of (d/dy (x * y)) = 1: the inner pass shows its cotangent (the outer value x)
    def outer(x: Any) -> Any:
        return gradient(lambda y: showgrad(y, "y") * x, 1.0)[0]

    assert gradient(outer, 3.0) == (1.0,)
    assert capsys.readouterr().out == "∂(y) = 3.0\n"
