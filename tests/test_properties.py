"""Property tests (hypothesis): random programs from the registry, and a fuzz of the API.

Random programs: a program is a short list of steps drawn from the primitive
registry: every unary and binary *elementwise* primitive that the registry
declares with ``shapes_samples`` (their sample domains are read from the
registry itself, by calling the samples with a recording ``make``), reductions
(sum, mean, prod, var), shape changes (reshape, permute_dims, flip,
expand_dims, cumulative_sum) and matmul. Arguments are random pytrees (dicts,
tuples, lists, with a string leaf now and then) of float32 and float64 arrays,
on NumPy or array-api-strict. On every drawn program:

* forward equals reverse: ``<c, jvp(f, x; t)> == <pullback(f, x)(c), t>`` for
  random ``t``, ``c``, and ``jacobian`` in forward mode equals reverse mode;
* the Hessian is symmetric;
* the gradient matches central finite differences (taken in float64).

Domains are respected by squashing each operand into the primitive's sample
domain with a smooth ``c + r * tanh(v)`` first. Kinks (maximum, minimum,
copysign, max, min, std at zero spread) are left out: finite differences are
meaningless there.

The fuzz calls the public API with malformed arguments and accepts only the
documented exceptions: ``TypeError``, ``ValueError``, ``IndexError``,
``xpgrad.NoRuleError`` and ``xpgrad.LeakedTracerError``.

The number of examples comes from the hypothesis profile in the root
``conftest.py`` (``ci`` when ``CI`` is set).
"""

from __future__ import annotations

from typing import Any, Callable

import array_api_compat
import array_api_strict as strict
import numpy as np
import optree
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xpgrad
from xpgrad.backends import to_host
from xpgrad.rules._registry import PRIMITIVES

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# -- the registry's elementwise primitives and their domains ------------------------------

KINKS = {"maximum", "minimum", "copysign"}
# complex-only or not meaningful on reals as a smooth function
SKIP = {"conj", "real"}


class _Recorder:
    """A ``make`` for the registry's samples that records the domain it is asked for."""

    def __init__(self) -> None:
        self.domains: list[tuple[float, float]] = []

    def __call__(self, shape: tuple, low: float = -2.0, high: float = 2.0) -> Any:
        self.domains.append((float(low), float(high)))
        return np.full(tuple(shape), (low + high) / 2.0)

    def dtype(self, name: str) -> Any:
        return getattr(np, name)

    def int(self, shape: tuple, low: int, high: int) -> Any:
        return np.full(tuple(shape), low, dtype=np.int64)


def _elementwise(nargs: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name, p in sorted(PRIMITIVES.items()):
        s = p.samples
        if (s is None or p.vjp is None or p.jvp is None or not p.differentiable
                or name in KINKS or name in SKIP
                or "." in name  # extensions (special.*): not on every namespace
                or not getattr(s, "__qualname__", "").startswith("shapes_samples")):
            continue
        rec = _Recorder()
        samples = s(rec)
        if not samples or any(len(args) != nargs or params for args, params in samples):
            continue
        lo = max(d[0] for d in rec.domains)
        hi = min(d[1] for d in rec.domains)
        out[name] = (lo, hi)
    return out


UNARY = _elementwise(1)
BINARY = _elementwise(2)
REDUCTIONS = ["sum", "mean", "prod", "var"]
SHAPES = ["flatten", "permute_dims", "flip", "expand_dims", "cumulative_sum"]
STEP_KINDS = ["unary", "unary", "binary", "reduce", "shape", "matmul"]


def test_the_registry_supplies_the_programs() -> None:
    for name in ("exp", "log", "sqrt", "tanh", "asin", "acosh"):
        assert name in UNARY
    for name in ("add", "multiply", "divide", "atan2", "logaddexp"):
        assert name in BINARY
    assert UNARY["log"][0] > 0 and UNARY["acosh"][0] >= 1
    for name in REDUCTIONS + ["reshape", "permute_dims", "flip", "expand_dims",
                              "cumulative_sum", "matmul", "astype"]:
        assert name in PRIMITIVES and PRIMITIVES[name].vjp is not None, name


# -- programs ------------------------------------------------------------------------------


def squash(v: Any, lo: float, hi: float) -> Any:
    c, r = (lo + hi) / 2.0, 0.45 * (hi - lo)
    return c + r * array_api_compat.array_namespace(v).tanh(v)


def _broadcastable(a: tuple, b: tuple) -> bool:
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and x != 1 and y != 1:
            return False
    return True


_CONST = np.array([[0.7, -0.4, 0.2], [0.1, 0.9, -0.6], [-0.3, 0.5, 0.8], [0.4, -0.2, 0.3],
                   [0.6, 0.3, -0.5], [-0.8, 0.2, 0.1]])


def run(plan: list, leaves: list) -> Any:
    """Apply the steps of ``plan`` to the array ``leaves`` (any backend, traced or not)."""
    xp = array_api_compat.array_namespace(*leaves)
    v = leaves[0]
    for kind, a, b in plan:
        nd = v.ndim
        if kind == "unary":
            name = sorted(UNARY)[a % len(UNARY)]
            v = getattr(xp, name)(squash(v, *UNARY[name]))
        elif kind == "binary":
            name = sorted(BINARY)[a % len(BINARY)]
            u = leaves[b % len(leaves)]
            if not _broadcastable(tuple(u.shape), tuple(v.shape)):
                u = xp.sum(u)
            x, y = squash(v, *BINARY[name]), squash(u, *BINARY[name])
            v = getattr(xp, name)(*((y, x) if b % 2 else (x, y)))
        elif kind == "reduce":
            name = REDUCTIONS[a % len(REDUCTIONS)]
            axis = None if nd == 0 or b % (nd + 1) == nd else b % (nd + 1)
            w = squash(v, 0.5, 1.5) if name == "prod" else v
            v = getattr(xp, name)(w, axis=axis, keepdims=bool(a % 2))
        elif kind == "shape":
            name = SHAPES[a % len(SHAPES)]
            if name == "flatten":
                v = xp.reshape(v, (-1,))
            elif name == "permute_dims" and nd >= 2:
                v = xp.permute_dims(v, tuple(reversed(range(nd))))
            elif name == "flip" and nd >= 1:
                v = xp.flip(v, axis=b % nd)
            elif name == "expand_dims" and nd < 3:
                v = xp.expand_dims(v, axis=b % (nd + 1))
            elif name == "cumulative_sum" and nd >= 1:
                v = xp.cumulative_sum(v, axis=b % nd)
        elif kind == "matmul" and nd >= 1 and v.shape[-1] <= _CONST.shape[0]:
            n, k = v.shape[-1], 1 + a % 3
            s = xp.sum(xp.tanh(leaves[b % len(leaves)]))  # M depends on an argument too
            # xp.multiply, not `*`: array-api-strict's operators refuse a traced right operand
            M = xp.multiply(xp.asarray(_CONST[:n, :k], dtype=v.dtype), 1.0 + 0.1 * s)
            v = v @ M
    return v


DTYPES = {"float32": np.float32, "float64": np.float64}


@st.composite
def programs(draw: Any) -> dict:
    """A plan, a pytree of arrays (host NumPy, with their dtypes) and a structure kind."""
    n = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from([(), (3,), (2, 3), (1, 3), (3, 1)])) for _ in range(n)]
    if all(s == () for s in shapes):
        shapes[0] = (3,)
    dtypes = [draw(st.sampled_from(sorted(DTYPES))) for _ in range(n)]
    values = [
        draw(hnp.arrays(np.float64, s, elements=st.floats(-2, 2, allow_nan=False, width=32)))
        .astype(DTYPES[d]) for s, d in zip(shapes, dtypes)
    ]
    plan = draw(st.lists(st.tuples(st.sampled_from(STEP_KINDS), st.integers(0, 50),
                                   st.integers(0, 50)), min_size=1, max_size=5))
    structure = draw(st.sampled_from(["tuple", "list", "dict", "nested"]))
    backend = draw(st.sampled_from(["numpy", "strict"]))
    return {"plan": plan, "values": values, "structure": structure, "backend": backend}


def to_backend(values: list, backend: str) -> list:
    if backend == "numpy":
        return [np.array(v) for v in values]
    return [strict.asarray(v) for v in values]


def build(leaves: list, structure: str) -> Any:
    """The pytree argument holding ``leaves`` (in order) and a string leaf in dicts."""
    if structure == "tuple":
        return tuple(leaves)
    if structure == "list":
        return list(leaves)
    if structure == "dict":
        return {"name": "layer", **{f"w{i}": v for i, v in enumerate(leaves)}}
    return {"a": leaves[0], "rest": (list(leaves[1:]), "tag")}


def arrays_of(tree: Any) -> list:
    return [v for v in optree.tree_leaves(tree, none_is_leaf=True) if not isinstance(v, str)]


def grads_of(tree: Any, values: list) -> list:
    """The gradient leaves, zeros for ``None`` (an argument the result does not read)."""
    gs = [v for v in optree.tree_leaves(tree, none_is_leaf=True) if not isinstance(v, str)]
    if isinstance(tree, dict) and "name" in tree:  # the string leaf's gradient
        assert tree["name"] is None
        gs = [v for k, v in tree.items() if k != "name"]
    elif isinstance(tree, dict) and "rest" in tree:
        assert tree["rest"][1] is None  # "tag"
        gs = [tree["a"], *tree["rest"][0]]
    assert len(gs) == len(values)
    return [np.zeros(v.shape, v.dtype) if g is None else to_host(g) for g, v in zip(gs, values)]


def make_f(plan: list) -> Callable[[Any], Any]:
    return lambda tree: run(plan, arrays_of(tree))


def make_loss(plan: list) -> Callable[[Any], Any]:
    def loss(tree: Any) -> Any:
        y = run(plan, arrays_of(tree))
        return array_api_compat.array_namespace(y).sum(y)

    return loss


def tolerance(values: list) -> float:
    return 2e-3 if any(v.dtype == np.float32 for v in values) else 1e-8


def prepared(p: dict) -> tuple:
    leaves = to_backend(p["values"], p["backend"])
    tree = build(leaves, p["structure"])
    y = run(p["plan"], leaves)
    hy = to_host(y)
    assume(np.all(np.isfinite(hy)) and np.max(np.abs(hy), initial=0) < 1e6)
    return leaves, tree, y


PROP = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROP
@given(programs(), st.integers(0, 2**31 - 1))
def test_forward_equals_reverse(p: dict, seed: int) -> None:
    _, tree, y = prepared(p)
    rng = np.random.default_rng(seed)
    f = make_f(p["plan"])
    xp = array_api_compat.array_namespace(y)
    tangents = [xp.asarray(rng.uniform(-1, 1, v.shape).astype(v.dtype)) for v in p["values"]]
    t_tree = build(tangents, p["structure"])
    ct = xp.asarray(np.asarray(rng.uniform(-1, 1, tuple(y.shape))).astype(to_host(y).dtype))
    y1, dy = xpgrad.jvp(f, (tree,), (t_tree,))
    y2, back = xpgrad.pullback(f, tree)
    (g_tree,) = back(ct)
    assert np.array_equal(to_host(y1), to_host(y)) and np.array_equal(to_host(y2), to_host(y))
    lhs = float(np.sum(to_host(ct) * to_host(dy)))
    grads = grads_of(g_tree, p["values"])
    rhs = sum(float(np.sum(g.astype(np.float64) * to_host(t))) for g, t in zip(grads, tangents))
    scale = 1.0 + sum(float(np.sum(np.abs(g))) for g in grads)
    assert abs(lhs - rhs) <= tolerance(p["values"]) * scale
    for g, v in zip(grads, p["values"]):
        assert g.shape == v.shape and g.dtype == v.dtype


def split(p: dict) -> Callable[[Any], list]:
    """``x_flat`` (float64) -> the leaves, in their shapes and dtypes (differentiable)."""
    shapes = [v.shape for v in p["values"]]
    dtypes = [v.dtype.name for v in p["values"]]

    def unflat(xf: Any) -> list:
        xp = array_api_compat.array_namespace(xf)
        out, o = [], 0
        for s, d in zip(shapes, dtypes):
            k = int(np.prod(s))
            out.append(xp.astype(xp.reshape(xf[o:o + k], s), getattr(xp, d)))
            o += k
        return out

    return unflat


def flat(p: dict) -> Any:
    xf = np.concatenate([v.astype(np.float64).reshape(-1) for v in p["values"]])
    return xf if p["backend"] == "numpy" else strict.asarray(xf)


@PROP
@given(programs())
def test_jacobian_forward_equals_reverse(p: dict) -> None:
    prepared(p)
    unflat = split(p)

    def g(xf: Any) -> Any:
        y = run(p["plan"], unflat(xf))
        return array_api_compat.array_namespace(y).reshape(y, (-1,))

    (Jf,) = xpgrad.jacobian(g, flat(p), mode="forward")
    (Jr,) = xpgrad.jacobian(g, flat(p), mode="reverse")
    Jf, Jr = to_host(Jf), to_host(Jr)
    scale = 1.0 + np.max(np.abs(Jr), initial=0.0)
    assert Jf.shape == Jr.shape
    assert np.allclose(Jf, Jr, rtol=tolerance(p["values"]), atol=tolerance(p["values"]) * scale)


@PROP
@given(programs())
def test_hessian_is_symmetric(p: dict) -> None:
    prepared(p)
    unflat = split(p)

    def g(xf: Any) -> Any:
        y = run(p["plan"], unflat(xf))
        return array_api_compat.array_namespace(y).sum(y)

    H = to_host(xpgrad.hessian(g, flat(p)))
    n = flat(p).shape[0]
    assert H.shape == (n, n)
    scale = 1.0 + np.max(np.abs(H), initial=0.0)
    tol = 5e-3 if any(v.dtype == np.float32 for v in p["values"]) else 1e-9
    assert np.allclose(H, H.T, rtol=tol, atol=tol * scale)


@PROP
@given(programs())
def test_gradient_matches_finite_differences(p: dict) -> None:
    _, tree, _ = prepared(p)
    loss = make_loss(p["plan"])
    (g_tree,) = xpgrad.gradient(loss, tree)
    grads = grads_of(g_tree, p["values"])
    # central differences of the same program in float64 (numpy), element by element
    base = [v.astype(np.float64) for v in p["values"]]
    f64 = make_loss(p["plan"])
    fd = []
    for i, v in enumerate(base):
        d = np.zeros(v.shape)
        for idx in np.ndindex(v.shape):
            h = 1e-6 * max(1.0, abs(float(v[idx])))
            up = [b.copy() for b in base]
            dn = [b.copy() for b in base]
            up[i][idx] += h
            dn[i][idx] -= h
            d[idx] = (float(f64(build(up, p["structure"]))) -
                      float(f64(build(dn, p["structure"])))) / (2 * h)
        fd.append(d)
    f32 = any(v.dtype == np.float32 for v in p["values"])
    for g, d in zip(grads, fd):
        scale = 1.0 + np.max(np.abs(d), initial=0.0)
        if f32:  # a float32 program against float64 differences: float32 rounding
            assert np.allclose(g, d, rtol=2e-2, atol=2e-3 * scale)
        else:
            assert np.allclose(g, d, rtol=1e-5, atol=1e-6 * scale)


# -- a fuzz of the public API with malformed arguments -----------------------------------

DOCUMENTED = (TypeError, ValueError, IndexError, xpgrad.NoRuleError, xpgrad.LeakedTracerError)


def _ns(x: Any) -> Any:
    try:
        return array_api_compat.array_namespace(x)
    except TypeError:
        return np


FUNCTIONS: dict[str, Callable] = {
    "sum_of_squares": lambda *a: sum(_ns(x).sum(x * x) for x in a),
    "identity": lambda *a: a[0],
    "returns_none": lambda *a: None,
    "returns_str": lambda *a: "s",
    "returns_tuple": lambda *a: (a[0], a[0]),
    "returns_list": lambda *a: [a[0]],
    "returns_bool": lambda *a: a[0] > 0,
    "returns_complex": lambda *a: a[0] * 1j,
    "no_arguments": lambda: 1.0,
    "not_callable": 5,  # type: ignore[dict-item]
}

_ok = np.array([1.0, 2.0])

API: dict[str, Callable[[Any, Any], Any]] = {
    "gradient": lambda f, x: xpgrad.gradient(f, x),
    "gradient_two": lambda f, x: xpgrad.gradient(f, _ok, x),
    "withgradient": lambda f, x: xpgrad.withgradient(f, x),
    "pullback_back": lambda f, x: xpgrad.pullback(f, x)[1](x),
    "pullback_ct": lambda f, x: xpgrad.pullback(f, _ok)[1](x),
    "jvp": lambda f, x: xpgrad.jvp(f, (x,), (x,)),
    "jvp_tangent": lambda f, x: xpgrad.jvp(f, (_ok,), (x,)),
    "jvp_not_tuples": lambda f, x: xpgrad.jvp(f, x, x),
    "vmap": lambda f, x: xpgrad.vmap(f)(x),
    "vmap_in_axes": lambda f, x: xpgrad.vmap(f, in_axes=x)(np.ones((2, 2))),
    "vmap_out_axes": lambda f, x: xpgrad.vmap(f, out_axes=x)(np.ones((2, 2))),
    "jacobian": lambda f, x: xpgrad.jacobian(f, x),
    "jacobian_forward": lambda f, x: xpgrad.jacobian(f, x, mode="forward"),
    "jacobian_reverse": lambda f, x: xpgrad.jacobian(f, x, mode="reverse"),
    "jacobian_mode": lambda f, x: xpgrad.jacobian(f, _ok, mode=x),
    "jacobian_chunk": lambda f, x: xpgrad.jacobian(f, _ok, chunk_size=x),
    "jacobian_budget": lambda f, x: xpgrad.jacobian(f, _ok, memory_budget=x),
    "withjacobian": lambda f, x: xpgrad.withjacobian(f, x),
    "hessian": lambda f, x: xpgrad.hessian(f, x),
    "hessian_chunk": lambda f, x: xpgrad.hessian(f, _ok, chunk_size=x),
    "hessian_reverse": lambda f, x: xpgrad.hessian_reverse(f, x),
    "diaghessian": lambda f, x: xpgrad.diaghessian(f, x),
    "hvp": lambda f, x: xpgrad.hvp(f, x, x),
    "hvp_vector": lambda f, x: xpgrad.hvp(f, _ok, x),
    "checkpointed": lambda f, x: xpgrad.gradient(lambda y: xpgrad.checkpointed(f, y), x),
    "forwarddiff": lambda f, x: xpgrad.forwarddiff(f, x),
    "forwarddiff_in_gradient": lambda f, x: xpgrad.gradient(
        lambda y: xpgrad.forwarddiff(f, y), x),
    "forwarddiff_chunk": lambda f, x: xpgrad.forwarddiff(f, _ok, chunk_threshold=x),
    "hook": lambda f, x: xpgrad.gradient(lambda y: xpgrad.hook(f, y), x),
    "hook_sum": lambda f, x: xpgrad.gradient(lambda y: _ns(y).sum(xpgrad.hook(f, y)), x),
    "showgrad": lambda f, x: xpgrad.showgrad(x),
    "stop_gradient": lambda f, x: xpgrad.stop_gradient(x),
    "ignore_derivatives": lambda f, x: xpgrad.ignore_derivatives(x),
    "param": lambda f, x: xpgrad.param(x),
    "Params": lambda f, x: xpgrad.Params(x),
    "Params_item": lambda f, x: xpgrad.Params([x]),
    "Grads": lambda f, x: xpgrad.Grads(x),
    "gradient_Params": lambda f, x: xpgrad.gradient(f, xpgrad.Params([xpgrad.param(x)])),
    "Buffer": lambda f, x: xpgrad.Buffer(x),
    "Buffer_shape": lambda f, x: xpgrad.Buffer(_ok, x),
    "Buffer_set": lambda f, x: xpgrad.Buffer(_ok).__setitem__(0, x),
    "Buffer_key": lambda f, x: xpgrad.Buffer(_ok).__setitem__(x, 1.0),
    "Buffer_get": lambda f, x: xpgrad.Buffer(_ok)[x],
    "copy_to": lambda f, x: xpgrad.copy_to(x, xpgrad.Params([xpgrad.param(np.ones(2))])),
    "copy_from": lambda f, x: xpgrad.copy_from(xpgrad.Params([xpgrad.param(np.ones(2))]), x),
    "copy_to_source": lambda f, x: xpgrad.copy_to(np.ones(2), x),
    "setup_rule": lambda f, x: xpgrad.optimisers.setup(x, {"w": np.ones(2)}),
    "setup_model": lambda f, x: xpgrad.optimisers.setup(xpgrad.optimisers.Adam(), x),
    "update_grads": lambda f, x: xpgrad.optimisers.update(
        xpgrad.optimisers.setup(xpgrad.optimisers.Adam(), {"w": np.ones(2)}), {"w": np.ones(2)},
        x),
    "update_state": lambda f, x: xpgrad.optimisers.update(x, {"w": np.ones(2)}, {"w": np.ones(2)}),
    "eager_update": lambda f, x: xpgrad.eager_update(x, x, f),
    "custom_rule": lambda f, x: xpgrad.custom_rule(x),
    "config_budget": lambda f, x: setattr(xpgrad.config, "memory_budget", x),
}


def _grads() -> Any:
    w = xpgrad.param(np.ones(2))
    return xpgrad.gradient(lambda: np.sum(w * w), xpgrad.Params([w]))


API["Grads_add"] = lambda f, x: _grads() + x
API["Grads_mul"] = lambda f, x: _grads() * x
API["Grads_map"] = lambda f, x: _grads().map(x)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(max_magnitude=10),
    st.just(object()), st.just(np.float64(2.0)), st.just(lambda x: x),
)
_np_arrays = st.builds(
    lambda dt, shape: np.ones(shape, dtype=dt),
    st.sampled_from([np.bool_, np.int64, np.float32, np.float64, np.complex128]),
    st.sampled_from([(), (0,), (2,), (1,), (3,), (2, 1, 2)]),
)
_strict_arrays = st.builds(
    lambda dt, shape: strict.ones(shape, dtype=getattr(strict, dt)),
    st.sampled_from(["bool", "int64", "float32", "float64"]),
    st.sampled_from([(), (2,), (3, 2)]),
)
MALFORMED = st.one_of(
    _scalars, _np_arrays, _strict_arrays,
    st.lists(_scalars | _np_arrays, max_size=3),
    st.tuples(_scalars | _np_arrays),
    st.dictionaries(st.sampled_from(["a", 1, None]), _scalars | _np_arrays, max_size=2),
)


@settings(max_examples=10 * settings().max_examples,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(API)), st.sampled_from(sorted(FUNCTIONS)), MALFORMED)
def test_fuzz_only_documented_exceptions(api: str, fname: str, value: Any) -> None:
    budget = xpgrad.config.memory_budget
    try:
        API[api](FUNCTIONS[fname], value)
    except DOCUMENTED:
        pass
    finally:
        xpgrad.config.memory_budget = budget


@pytest.mark.parametrize("api", sorted(API))
def test_fuzz_every_entry_point_once(api: str) -> None:
    # each entry point with each function and a fixed set of bad values, deterministically
    bad = [None, "abc", True, 1 + 2j, [1.0, "a"], {1: 2.0}, np.ones(2, dtype=bool),
           np.ones((0,)), np.array(1.5), strict.ones(2, dtype=strict.float64), object()]
    budget = xpgrad.config.memory_budget
    try:
        for f in FUNCTIONS.values():
            for v in bad:
                try:
                    API[api](f, v)
                except DOCUMENTED:
                    pass
    finally:
        xpgrad.config.memory_budget = budget
