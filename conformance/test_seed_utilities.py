"""The seed's utility examples (zygote-utilities.txt), transcribed to Python, in C order.

Sections: withgradient's implicit mode, jacobian(loss, ::Params), @showgrad,
hook, Buffer, forwarddiff, checkpointed, eager_update!, "Working with Grads".
Each runs on NumPy and on array-api-strict (functions get their namespace from
their arguments, as Array API code does).
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import array_api_strict as strict
import numpy as np
import pytest

import xpgrad
from xpgrad import (
    Buffer,
    Params,
    checkpointed,
    eager_update,
    forwarddiff,
    gradient,
    hook,
    jacobian,
    param,
    showgrad,
    withgradient,
)
from xpgrad import optimisers as opt

BACKENDS = [np, strict]
IDS = ["numpy", "strict"]


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


def host(x: Any) -> np.ndarray:
    return np.asarray(x) if isinstance(x, np.ndarray) or np.isscalar(x) else np.from_dlpack(x)


def py(x: Any) -> Any:
    """A 0-d array as a Python number, as Julia's @show prints it."""
    a = host(x)
    return a.item() if a.shape == () else a


# -- withgradient: implicit mode -----------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_withgradient_implicit_mode(xp: Any) -> None:
    # w = [3.0]; res = withgradient(() -> sum(abs2, w), Params([w]))  -> (val = 9.0, grad = Grads(...))
    w = param(xp.asarray([3.0]))
    res = withgradient(lambda: ns(w).sum(w * w), Params([w]))
    assert float(res.val) == 9.0
    assert isinstance(res.grad, xpgrad.Grads)
    # res.grad[w] == [6.0]
    assert np.array_equal(host(res.grad[w]), [6.0])


# -- jacobian(loss, ::Params) ------------------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_jacobian_of_params(xp: Any) -> None:
    # xs = [1 2; 3 4]; ys = [5,7,9]
    xs = param(xp.asarray([[1, 2], [3, 4]]))
    ys = param(xp.asarray([5, 7, 9]))
    # Jxy = jacobian(() -> ys[1:2] .+ sum(xs.^2), Params([xs, ys]))  -> Grads(...)
    Jxy = jacobian(lambda: ys[0:2] + ns(xs).sum(xs**2), Params([xs, ys]))
    assert isinstance(Jxy, xpgrad.Grads)
    # Jxy[ys] == [1 0 0; 0 1 0]
    assert np.array_equal(host(Jxy[ys]), [[1, 0, 0], [0, 1, 0]])
    # Jxy[xs] == [2 6 4 8; 2 6 4 8] column-major, i.e. 2*xs flattened: C order [2 4 6 8]
    assert np.array_equal(host(Jxy[xs]), [[2, 4, 6, 8], [2, 4, 6, 8]])
    assert host(Jxy[xs]).dtype.kind == "i"  # integer inputs, integer Jacobian


# -- @showgrad -----------------------------------------------------------------------------


def test_showgrad_shows_the_cotangent(capsys: Any) -> None:
    # gradient(2, 3) do a, b; @showgrad(a)*b end  prints ∂(a) = 3, gives (3, 2)
    g = gradient(lambda a, b: showgrad(a) * b, 2, 3)
    assert capsys.readouterr().out == "∂(a) = 3\n"
    assert g == (3, 2)


def test_showgrad_shows_this_use_only(capsys: Any) -> None:
    # gradient(2) do a; @showgrad(a)*a end  prints ∂(a) = 2, gives (4,)
    g = gradient(lambda a: showgrad(a) * a, 2)
    assert capsys.readouterr().out == "∂(a) = 2\n"
    assert g == (4,)


def test_showgrad_unused_prints_none(capsys: Any) -> None:
    # gradient(2, 3) do a, b; @showgrad(a); a*b end  prints ∂(a) = nothing, gives (3, 2)
    def f(a: Any, b: Any) -> Any:
        showgrad(a)  # not used, so no gradient
        return a * b

    g = gradient(f, 2, 3)
    assert capsys.readouterr().out == "∂(a) = None\n"
    assert g == (3, 2)


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_showgrad_on_arrays(xp: Any, capsys: Any) -> None:
    g = gradient(lambda a, b: ns(a).sum(showgrad(a, "a") * b), xp.asarray(2.0), xp.asarray(3.0))
    assert capsys.readouterr().out == "∂(a) = 3.0\n"
    assert float(g[0]) == 3.0 and float(g[1]) == 2.0


# -- hook --------------------------------------------------------------------------------------


def test_hook_sees_the_cotangent(capsys: Any) -> None:
    # gradient(2, 3) do a, b; hook(ā -> @show(ā), a)*b end  prints ā = 3, gives (3, 2)
    def show(g: Any) -> Any:
        print(f"ā = {py(g)}")
        return g

    g = gradient(lambda a, b: hook(show, a) * b, 2, 3)
    assert capsys.readouterr().out == "ā = 3\n"
    assert g == (3, 2)


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_hook_negates(xp: Any) -> None:
    # gradient(2, 3) do a, b; hook(-, a)*b end  -> (-3, 2)
    assert gradient(lambda a, b: hook(lambda g: -g, a) * b, 2, 3) == (-3, 2)
    ga, gb = gradient(lambda a, b: hook(lambda g: -g, a) * b, xp.asarray(2.0), xp.asarray(3.0))
    assert float(ga) == -3.0 and float(gb) == 2.0


# -- Buffer ------------------------------------------------------------------------------------


def vstack(xs: Any) -> Any:
    buf = Buffer(xs, xs.shape[0], 5)
    for i in range(5):
        buf[:, i] = xs
    return buf.copy()


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_buffer_vstack(xp: Any) -> None:
    # vstack([1, 2, 3]) == [1 1 1 1 1; 2 2 2 2 2; 3 3 3 3 3]
    out = vstack(xp.asarray([1, 2, 3]))
    assert np.array_equal(host(out), [[1] * 5, [2] * 5, [3] * 5])
    assert type(out) is type(xp.asarray([1]))  # a normal array of the backend


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_buffer_gradient(xp: Any) -> None:
    # gradient(x -> sum(vstack(x)), [1, 2, 3]) == ([5.0, 5.0, 5.0],)
    (g,) = gradient(lambda x: ns(x).sum(vstack(x)), xp.asarray([1.0, 2.0, 3.0]))
    assert np.array_equal(host(g), [5.0, 5.0, 5.0])
    (g,) = gradient(lambda x: ns(x).sum(vstack(x)), xp.asarray([1, 2, 3]))
    assert np.array_equal(host(g), [5, 5, 5])


def test_buffer_is_not_an_array_and_copy_freezes() -> None:
    buf = Buffer(np.zeros(3), 3)
    with pytest.raises(TypeError):
        buf @ np.ones(3)  # "can't be used for linear algebra"
    buf.copy()
    with pytest.raises(RuntimeError, match="frozen"):
        buf[0] = 1.0


# -- forwarddiff ------------------------------------------------------------------------------


def pow_(x: Any, n: int) -> Any:
    r = 1
    for _ in range(n):
        r = r * x
    return r


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_forwarddiff_pow(xp: Any) -> None:
    # gradient(5) do x; forwarddiff(x) do x; pow(x, 2) end end  -> (10,)
    assert gradient(lambda x: forwarddiff(lambda x: pow_(x, 2), x), 5) == (10,)
    (g,) = gradient(lambda x: forwarddiff(lambda x: pow_(x, 2), x), xp.asarray(5.0))
    assert float(g) == 10.0


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_forwarddiff_drops_closed_over_values(xp: Any) -> None:
    # gradient(2, 3) do a, b; forwarddiff(a) do a; a*b end end  -> (3, nothing)
    assert gradient(lambda a, b: forwarddiff(lambda a: a * b, a), 2, 3) == (3, None)
    ga, gb = gradient(lambda a, b: forwarddiff(lambda a: a * b, a), xp.asarray(2.0),
                      xp.asarray(3.0))
    assert float(ga) == 3.0 and gb is None


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_forwarddiff_through_the_argument(xp: Any) -> None:
    # gradient(2, 3) do a, b; forwarddiff([a, b]) do (a, b); a*b end end  -> (3, 2)
    def f(a: Any, b: Any) -> Any:
        return forwarddiff(lambda ab: ab[0] * ab[1], [a, b])

    assert gradient(f, 2, 3) == (3, 2)
    ga, gb = gradient(f, xp.asarray(2.0), xp.asarray(3.0))
    assert float(ga) == 3.0 and float(gb) == 2.0


# -- checkpointed -----------------------------------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_checkpointed_equals_the_call(xp: Any) -> None:
    # checkpointed(f, xs...) === f(xs...), and so are the derivatives
    def f(h: Any, w: Any) -> Any:
        return ns(h).tanh(h @ w)

    h = xp.asarray([[0.5, -1.0], [2.0, 0.25]])
    w = xp.asarray([[1.0, 0.5], [-0.5, 1.5]])
    assert np.array_equal(host(checkpointed(f, h, w)), host(f(h, w)))
    g1 = gradient(lambda h, w: ns(h).sum(checkpointed(f, h, w) ** 2), h, w)
    g2 = gradient(lambda h, w: ns(h).sum(f(h, w) ** 2), h, w)
    for a, b in zip(g1, g2):
        assert np.allclose(host(a), host(b), rtol=1e-14, atol=0)


# -- eager_update! ----------------------------------------------------------------------------


def _model(xp: Any) -> dict:
    rng = np.random.default_rng(1)
    return {"layers": [{"w": xp.asarray(rng.standard_normal((3, 3)) / 2)} for _ in range(3)]}


def _f(layer: Any, h: Any, scale: float) -> Any:
    # h = f(model.layers[i], h, other_args...); the namespace of the traced weights
    # (array-api-strict refuses `raw @ traced`)
    xp = ns(layer["w"])
    return xp.tanh(xp.matmul(h, layer["w"])) * scale


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
@pytest.mark.parametrize("style", ["plain", "checkpointed", "callable"])
def test_eager_update_matches_update(xp: Any, style: str) -> None:
    x = xp.asarray(np.linspace(-1, 1, 6).reshape(2, 3))
    eager, ref = _model(xp), _model(xp)
    rule = opt.Adam(0.05)
    st_e, st_r = opt.setup(rule, eager), opt.setup(rule, ref)

    class Layer:  # a callable layer, wrapped as the seed says: f(model, xs...) = model(xs...)
        def __init__(self, d: dict) -> None:
            self.d = d

        def __call__(self, h: Any, scale: float) -> Any:
            return _f(self.d, h, scale)

    def call(model: Any, *xs: Any) -> Any:
        return model(*xs)

    def loss_eager(m: dict) -> Any:
        h = x
        for i, layer in enumerate(m["layers"]):
            wrapped = eager_update(st_e["layers"][i], layer, opt.update)
            if style == "plain":
                h = _f(wrapped, h, 1.5)
            elif style == "checkpointed":
                h = checkpointed(_f, wrapped, h, 1.5)
            else:
                h = call(Layer(wrapped), h, 1.5)
        return ns(h).sum(h**2)

    def loss(m: dict) -> Any:
        h = x
        for layer in m["layers"]:
            h = _f(layer, h, 1.5)
        return ns(h).sum(h**2)

    for _ in range(3):
        (g_e,) = gradient(loss_eager, eager)
        assert all(gl["w"] is None for gl in g_e["layers"])  # the gradients were used up
        (g_r,) = gradient(loss, ref)
        st_r, ref = opt.update(st_r, ref, g_r)
    for le, lr in zip(eager["layers"], ref["layers"]):
        assert np.allclose(host(le["w"]), host(lr["w"]), rtol=1e-12, atol=1e-14)


# -- Working with Grads -------------------------------------------------------------------------


@pytest.mark.parametrize("xp", BACKENDS, ids=IDS)
def test_working_with_grads(xp: Any) -> None:
    rng = np.random.default_rng(0)
    # w, x1, x2, b = rand(2), rand(2), rand(2), rand(2)
    w, b = param(xp.asarray(rng.random(2))), param(xp.asarray(rng.random(2)))
    x1, x2 = xp.asarray(rng.random(2)), xp.asarray(rng.random(2))
    # gs1 = gradient(() -> sum(tanh.(w .* x1 .+ b)), Params([w, b]))
    gs1 = gradient(lambda: ns(w).sum(ns(w).tanh(w * x1 + b)), Params([w, b]))
    gs2 = gradient(lambda: ns(w).sum(ns(w).tanh(w * x2 + b)), Params([w, b]))
    # check against the derivative by hand: d/dw = x (1 - tanh^2), d/db = 1 - tanh^2
    t1 = 1 - np.tanh(host(w.value) * host(x1) + host(b.value)) ** 2
    assert np.allclose(host(gs1[w]), host(x1) * t1) and np.allclose(host(gs1[b]), t1)

    # accumulate gradients: gs = gs1 .+ gs2
    gs = gs1 + gs2
    assert np.allclose(host(gs[w]), host(gs1[w]) + host(gs2[w]))
    assert np.allclose(host(gs[b]), host(gs1[b]) + host(gs2[b]))

    # gradients and IdDict interact nicely: gs .+= IdDict(p => randn(size(p)) for p in keys(gs))
    before = {p: host(g).copy() for p, g in gs.items()}
    noise = {p: xp.asarray(rng.standard_normal(tuple(p.shape))) for p in gs.keys()}  # noqa: SIM118 (the seed's keys(gs))
    gs += noise
    for p in gs:
        assert np.allclose(host(gs[p]), before[p] + host(noise[p]))

    # clip gradients: map(x -> clamp.(x, -0.1, 0.1), gs)
    clipped = gs.map(lambda g: ns(g).clip(g, -0.1, 0.1))
    assert isinstance(clipped, xpgrad.Grads) and set(clipped) == set(gs)
    assert all(np.all(np.abs(host(g)) <= 0.1) for g in clipped.values())

    # clip gradients in-place: foreach(x -> clamp!(x, -0.1, 0.1), gs)
    def clamp_(g: Any) -> None:
        g[...] = ns(g).clip(g, -0.1, 0.1)

    arrays = [gs[w], gs[b]]
    gs.foreach(clamp_)
    assert gs[w] is arrays[0] and gs[b] is arrays[1]  # changed in place
    assert all(np.all(np.abs(host(g)) <= 0.1) for g in gs.values())

    # for (p, g) in pairs(gs) ... end
    seen = [(p, g) for p, g in gs.items()]
    assert [p for p, _ in seen] == [w, b]

    # gradients must be w.r.t. the same parameter key set
    gs3 = gradient(lambda: ns(w).sum(ns(w).tanh(w * x2)), Params([w]))
    # gs3 does not have the key b: @test_throws ArgumentError gs1 .+ gs3
    with pytest.raises(ValueError, match="same parameters"):
        gs1 + gs3
