"""The plugin interface: discovery through entry points, the hooks, the generic fallbacks.

The generic fallbacks are tested on array-api-strict with its adapter disabled:
a conforming library that xpgrad knows nothing about. Expected values come from
NumPy computed by hand (``np.add.at`` for scatter-add), never from xpgrad.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import types
from importlib import metadata
from typing import Any, Iterator

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad.testing import check_primitive

strict = pytest.importorskip("array_api_strict")


def host(x: Any) -> np.ndarray:
    return np.asarray(B.to_host(x))


# -- discovery -----------------------------------------------------------------------------


def test_adapters_come_from_entry_points_only() -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group=B.GROUP)}
    avail = B.available()
    assert {"numpy", "array_api_strict"} <= set(avail)
    for name, adapter in avail.items():
        assert name in eps, f"{name} is not registered as an entry point"
        assert adapter.__name__ == eps[name]  # the in-tree adapters are modules
        assert adapter.name == name


def test_every_adapter_follows_the_protocol() -> None:
    for adapter in B.available().values():
        assert isinstance(adapter, B.Backend)
        caps = getattr(adapter, "capabilities", {})
        assert set(caps) <= set(B.DEFAULT_CAPABILITIES)
        for hook in ("namespace", "random", "to_host"):
            assert callable(getattr(adapter, hook)), (adapter.name, hook)


@pytest.mark.parametrize("lib", ["dask", "torch", "cupy"])
def test_optional_adapters_are_listed_when_their_library_is_installed(lib: str) -> None:
    import importlib.util

    installed = importlib.util.find_spec(lib) is not None
    assert (lib in B.available()) == installed


def test_importing_xpgrad_imports_no_optional_library() -> None:
    code = (
        "import sys, xpgrad, xpgrad.backends as B; B.available(); "
        "import numpy as np; xpgrad.gradient(lambda x: np.sum(x * x), np.ones(2)); "
        "print(sorted(m for m in ('torch', 'dask', 'cupy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("lib", "adapter", "extra"),
    [("array_api_strict", "xpgrad_strict", "strict"), ("dask", "xpgrad_dask", "dask"),
     ("torch", "xpgrad_torch", "torch")],
)
def test_a_missing_library_names_the_extra_to_install(lib: str, adapter: str, extra: str) -> None:
    # sys.modules[lib] = None makes the library look uninstalled to import and find_spec
    code = (
        f"import sys; sys.modules[{lib!r}] = None\n"
        "import xpgrad.backends as B\n"
        f"assert {lib!r} not in B.available()\n"
        f"try: import {adapter}\n"
        "except ImportError as e: print(type(e).__name__, e)\n"
        f"try: B.get({lib!r})\n"
        "except LookupError as e: print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    want = f"pip install 'xpgrad[{extra}]'"
    imp, lookup = out.splitlines()
    assert imp.startswith("ImportError ") and want in imp, imp  # not a raw ModuleNotFoundError
    assert want in lookup and "installed: [" in lookup, lookup


def test_register_and_get() -> None:
    fake = types.SimpleNamespace(name="fake", is_array=lambda x: isinstance(x, bytes))
    B.register(fake)
    try:
        assert B.get("fake") is fake
        assert B.backend_of(b"x") is fake
    finally:
        B.unregister("fake")
    assert "fake" not in B.available()
    with pytest.raises(LookupError, match="installed:"):
        B.get("fake")


def test_register_rejects_a_non_adapter() -> None:
    with pytest.raises(TypeError, match="is_array"):
        B.register(types.SimpleNamespace(name="broken"))


def test_capabilities() -> None:
    assert B.capabilities(np.ones(1)) == {"inplace": True, "float64": True, "complex": True,
                                          "lazy": False}
    assert B.capabilities(object()) == B.DEFAULT_CAPABILITIES


# -- the generic path: array-api-strict with its adapter disabled ----------------------------


@pytest.fixture
def no_strict_adapter() -> Iterator[None]:
    B.disable("array_api_strict")
    try:
        yield
    finally:
        B.enable("array_api_strict")


def test_disabled_adapter_falls_back_to_array_api_compat(no_strict_adapter: None) -> None:
    x = strict.asarray([1.0, 2.0])
    assert B.backend_of(x) is None
    assert B.namespace_of(x) is strict
    assert "array_api_strict" not in B.available()
    assert not B.is_lazy(x) and B.rechunk_batch(x, 1) is x


def ns(v: Any) -> Any:
    return v.__array_namespace__()


def test_gradient_through_fallbacks(no_strict_adapter: None) -> None:
    x = strict.asarray([0.5, -1.0, 2.0])
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(ns(v).sin(v) * v), x)
    assert B.namespace_of(g) is strict
    xn = host(x)
    np.testing.assert_allclose(host(g), np.cos(xn) * xn + np.sin(xn))


def test_getitem_pullback_with_repeated_indices_through_fallbacks(no_strict_adapter: None) -> None:
    xn = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    rows, cols = np.array([0, 1, 0, 0]), np.array([2, 0, 2, 1])
    x = strict.asarray(xn)

    def f(v: Any) -> Any:
        picked = v[strict.asarray(rows), strict.asarray(cols)]
        return ns(v).sum(picked ** 2)

    (g,) = xpgrad.gradient(f, x)
    want = np.zeros_like(xn)
    np.add.at(want, (rows, cols), 2 * xn[rows, cols])
    np.testing.assert_allclose(host(g), want)


def test_take_pullback_through_fallbacks(no_strict_adapter: None) -> None:
    xn = np.array([1.0, 2.0, 3.0, 4.0])
    idx = np.array([3, 3, 0, 3])
    (g,) = xpgrad.gradient(lambda v: ns(v).sum(ns(v).take(v, strict.asarray(idx)) * v[0]),
                           strict.asarray(xn))
    want = np.zeros_like(xn)
    np.add.at(want, idx, xn[0])
    want[0] += xn[idx].sum()
    np.testing.assert_allclose(host(g), want)


def test_jacobian_hessian_vmap_through_fallbacks(no_strict_adapter: None) -> None:
    xn = np.array([0.3, -0.7, 1.1])
    x = strict.asarray(xn)
    (J,) = xpgrad.jacobian(lambda v: ns(v).cumulative_sum(v ** 2), x)
    np.testing.assert_allclose(host(J), np.tril(np.ones((3, 3))) * 2 * xn[None, :])
    H = xpgrad.hessian(lambda v: ns(v).sum(v ** 3), x)
    np.testing.assert_allclose(host(H), np.diag(6 * xn))
    out = xpgrad.vmap(lambda r: ns(r).sum(r * r))(strict.reshape(strict.arange(6.0), (2, 3)))
    np.testing.assert_allclose(host(out), [5.0, 50.0])


@pytest.mark.parametrize("name", ["getitem", "take", "take_along_axis", "sin", "multiply",
                                  "sum", "cumulative_sum", "matmul", "where", "flip"])
def test_conformance_samples_through_fallbacks(no_strict_adapter: None, name: str) -> None:
    """A few rules' conformance checks, with the generic random source as the Maker."""
    from xpgrad.rules import PRIMITIVES

    Maker = _conformance_maker()

    if name not in PRIMITIVES or PRIMITIVES[name].samples is None:
        pytest.skip(f"{name} has no samples")
    generic = types.SimpleNamespace(name="generic", namespace=lambda x: strict,
                                    random=lambda seed: B.generic_random(seed, strict))
    prim = PRIMITIVES[name]
    for args, params in prim.samples(Maker(generic)):
        for a in args:
            assert B.backend_of(a) is None
        check_primitive(prim, args, params)


@pytest.mark.slow
def test_every_rule_through_fallbacks(no_strict_adapter: None) -> None:
    """The float64 conformance check of every primitive, with no adapter at all (~20 s)."""
    from xpgrad.rules import PRIMITIVES

    Maker = _conformance_maker()
    generic = types.SimpleNamespace(name="generic", namespace=lambda x: strict,
                                    random=lambda seed: B.generic_random(seed, strict))
    failures = {}
    for name, prim in sorted(PRIMITIVES.items()):
        if prim.samples is None or name in ("stop_gradient", "eager_update") \
                or name.startswith("custom"):
            continue
        if name.startswith("special."):  # needs an adapter's `special` hook: no fallback
            continue
        try:
            for args, params in prim.samples(Maker(generic)):
                check_primitive(prim, args, params)
        except Exception as exc:  # collect them all, report at once
            failures[name] = f"{type(exc).__name__}: {exc}"[:300]
    assert not failures, failures


def _conformance_maker() -> type:
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "conformance" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_xpgrad_conformance_conftest", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Maker


# -- the generic hooks one by one -------------------------------------------------------------


def _scatter_cases() -> list:
    """Keys of the standard (one integer array per axis, or basic keys), with repeats."""
    return [
        ((5,), (np.array([0, 4, 0, 0]),), np.array([1.0, 2.0, 3.0, 4.0])),
        ((2, 3), (np.array([1, 1, 0]), np.array([2, 2, 0])), np.array([5.0, 7.0, 1.0])),
        ((3, 4), (np.array([[2], [0]]), np.array([[1, 1, 3]])), np.arange(6.0).reshape(2, 3)),
        ((3, 4), (slice(1, 3), slice(None, None, 2)), np.ones((2, 2))),
        ((4,), (slice(None, None, -2),), np.array([1.0, 2.0])),
    ]


@pytest.mark.parametrize("onehot_limit", [1 << 20, 0])  # the one-hot path and the sort path
@pytest.mark.parametrize("case", range(len(_scatter_cases())))
def test_generic_scatter_add(monkeypatch: Any, case: int, onehot_limit: int) -> None:
    monkeypatch.setattr(B, "_ONEHOT_LIMIT", onehot_limit)
    shape, key, vals = _scatter_cases()[case]
    want = np.zeros(shape)
    np.add.at(want, key, vals)
    skey = tuple(strict.asarray(k) if isinstance(k, np.ndarray) else k for k in key)
    got = B.generic_scatter_add(strict, strict.zeros(shape), skey, strict.asarray(vals))
    np.testing.assert_allclose(host(got), want)


def test_generic_scatter_add_keeps_integer_and_complex_dtypes() -> None:
    key = (strict.asarray([1, 1, 0]),)
    got = B.generic_scatter_add(strict, strict.zeros(3, dtype=strict.int64), key,
                                strict.asarray([2, 3, 4]))
    assert got.dtype == strict.int64 and host(got).tolist() == [4, 5, 0]
    got = B.generic_scatter_add(strict, strict.zeros(2, dtype=strict.complex128),
                                (strict.asarray([1, 1]),), strict.asarray([1j, 2.0]))
    np.testing.assert_allclose(host(got), [0, 2 + 1j])


@pytest.mark.parametrize("inplace", [True, False])
def test_generic_index_update(monkeypatch: Any, inplace: bool) -> None:
    monkeypatch.setattr(B, "capabilities", lambda x: {"inplace": inplace})
    xn = np.arange(12.0).reshape(3, 4)
    x = strict.asarray(xn)
    for key, val in [((1, slice(None)), -1.0), ((slice(None), slice(0, 4, 3)), 9.0),
                     ((strict.asarray(xn > 6),), 0.5), ((Ellipsis, 2), strict.asarray([1.0, 2, 3]))]:
        nkey = tuple(np.asarray(host(k)) if hasattr(k, "dtype") else k for k in key)
        want = xn.copy()
        want[nkey] = host(val) if hasattr(val, "dtype") else val
        got = B.generic_index_update(strict, x, key, val)
        np.testing.assert_allclose(host(got), want)
    np.testing.assert_allclose(host(x), xn)  # unchanged


def test_generic_random_is_seeded_and_bounded() -> None:
    a = B.generic_random(3, strict)((2, 5), -1.0, 0.5)
    b = B.generic_random(3, strict)((2, 5), -1.0, 0.5)
    assert a.shape == (2, 5) and a.dtype == strict.float64
    assert np.array_equal(host(a), host(b))
    assert np.all((host(a) >= -1.0) & (host(a) < 0.5))
    f32 = B.generic_random(0, strict)((3,), 0.0, 1.0, strict.float32)
    assert f32.dtype == strict.float32
    ints = B.generic_random(0, strict)((50,), -3, 3, strict.int64)
    assert ints.dtype == strict.int64 and set(host(ints)) <= set(range(-3, 3))


def test_random_dispatch(no_strict_adapter: None) -> None:
    make = B.random(0, xp=strict)
    assert make((2,)).dtype == strict.float64
    make = B.random(0, np.zeros(1))  # the numpy adapter's source
    assert isinstance(make((2,)), np.ndarray)
    with pytest.raises(TypeError, match="like"):
        B.random(0)


def test_generic_to_host(no_strict_adapter: None) -> None:
    x = strict.asarray([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(B.to_host(x), [[1.0, 2.0], [3.0, 4.0]])


def test_generic_to_host_without_dlpack(monkeypatch: Any) -> None:
    class NoDlpack:  # a library that cannot export its buffers
        def __init__(self, a: Any):
            self.a = a

        def __getattr__(self, n: str) -> Any:
            if n in ("__dlpack__", "__dlpack_device__"):
                raise AttributeError(n)
            return getattr(self.a, n)

        def __getitem__(self, k: Any) -> Any:
            return self.a[k]

    monkeypatch.setattr(B, "namespace_of", lambda x: strict)
    got = B.generic_to_host(NoDlpack(strict.asarray([[1, 2], [3, 4]])))
    np.testing.assert_array_equal(got, [[1, 2], [3, 4]])


# -- each installed adapter's hooks agree with NumPy by hand -------------------------------------


ADAPTERS = sorted(n for n in B.available() if n != "cupy")


def _from_np(name: str, a: np.ndarray) -> Any:
    make_xp = B.get(name).namespace(None)
    if name == "dask":
        import dask.array as da

        return da.from_array(a, chunks=2)
    return make_xp.asarray(a)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_scatter_add(name: str) -> None:
    ad = B.get(name)
    xp = ad.namespace(None)
    for shape, key, vals in _scatter_cases():
        want = np.zeros(shape)
        np.add.at(want, key, vals)
        akey = tuple(_from_np(name, k) if isinstance(k, np.ndarray) else k for k in key)
        target = _from_np(name, np.zeros(shape))
        got = B.scatter_add(xp, target, akey, _from_np(name, vals))
        np.testing.assert_allclose(host(got), want)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_index_update_leaves_its_input(name: str) -> None:
    xp = B.get(name).namespace(None)
    xn = np.arange(6.0).reshape(2, 3)
    x = _from_np(name, xn)
    got = B.index_update(xp, x, (Ellipsis, 1), _from_np(name, np.array([7.0, 8.0])))
    want = xn.copy()
    want[:, 1] = [7.0, 8.0]
    np.testing.assert_allclose(host(got), want)
    np.testing.assert_allclose(host(x), xn)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_random(name: str) -> None:
    ad = B.get(name)
    xp = ad.namespace(None)
    a = ad.random(1)((3, 4), 0.5, 1.0, xp.float64)
    b = ad.random(1)((3, 4), 0.5, 1.0, xp.float64)
    assert B.backend_of(a) is ad and tuple(a.shape) == (3, 4) and a.dtype == xp.float64
    assert np.array_equal(host(a), host(b))
    assert np.all((host(a) >= 0.5) & (host(a) < 1.0))
    assert ad.random(1)((2,), 0.0, 1.0, xp.float32).dtype == xp.float32


def test_torch_getitem_with_negative_steps() -> None:
    torch = pytest.importorskip("torch")
    a = np.arange(60.0).reshape(3, 4, 5)
    t = torch.from_numpy(a)
    for key in [(slice(None, None, -1),), (Ellipsis, slice(None, None, -2)),
                (None, slice(2, 0, -1), Ellipsis, slice(4, None, -3)),
                (1, slice(None, None, -1), None), (slice(0, 3, -1),)]:
        np.testing.assert_array_equal(B.getitem(t, key).numpy(), a[key])
    np.testing.assert_array_equal(
        B.getitem(t, (torch.tensor([0, 2]), slice(None, None, -1))).numpy(),
        a[np.array([0, 2]), ::-1])


def test_torch_tensor_operators_defer_to_tracers() -> None:
    """``tensor op tracer``: torch returns NotImplemented, so the tracer's reflected op runs."""
    torch = pytest.importorskip("torch")
    W = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    b = torch.full((3,), 2.0, dtype=torch.float64)
    xn = np.array([0.5, 0.75, 1.0])

    def f(x: Any) -> Any:
        xp = x.__array_namespace__()
        return xp.sum(W @ x) + xp.sum(b * x) + xp.sum(b / x) + xp.sum(b ** x) - xp.sum(b - x)

    (g,) = xpgrad.gradient(f, torch.from_numpy(xn))
    want = W.numpy().sum(0) + 2.0 - 2.0 / xn ** 2 + np.log(2.0) * 2.0 ** xn + 1.0
    np.testing.assert_allclose(g.numpy(), want)


_CHURN = """
import resource, sys
import numpy as np
import xpgrad
if sys.argv[1] == "tuned":
    assert xpgrad.backends.tune_host_allocator() is True
def churn():
    for _ in range(50):
        a = [np.ones(2**17) for _ in range(4)]  # four 1 MiB arrays live at once
        del a
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the allocator's thresholds are glibc's",
)
def test_tune_host_allocator_keeps_freed_memory_for_reuse() -> None:
    # in a fresh process each (the setting is process-wide): freeing four 1 MiB
    # arrays trims the heap and the next four fault their pages in again, unless
    # the heap keeps them
    def faults(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return int(out.stdout.strip().splitlines()[-1])

    plain, tuned = faults("plain"), faults("tuned")
    assert plain > 10_000  # 50 rounds of 4 MiB of fresh pages
    assert tuned < plain / 100


@pytest.mark.parametrize("bad", [0, -1, 2**31, 1.5, "64M", True])
def test_tune_host_allocator_refuses_bad_thresholds(bad: object) -> None:
    with pytest.raises(ValueError, match="mmap_threshold must be a positive int"):
        B.tune_host_allocator(mmap_threshold=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trim_threshold must be a positive int"):
        B.tune_host_allocator(trim_threshold=bad)  # type: ignore[arg-type]
