"""Jacobians from a symbolic one-hot basis equal those from the dense identity.

``jacobian`` starts eager, 1-D cases from a ``OneHot`` basis (``_core.onehot``):
products with unbatched arrays scale it, matrix products gather columns or
rows, and anything else densifies it. Each test takes the same Jacobian with
the structure switched off (``config.override(onehot_basis=False)``, the plain
identity) and
checks the structured path against it and against the calculus; a spy checks
that the structure is really used where it should be.
"""

from __future__ import annotations

from typing import Any, Callable

import array_api_compat
import numpy as np
import pytest

import xpgrad
from xpgrad._core import onehot


def ns(x: Any) -> Any:
    return array_api_compat.array_namespace(x)


RNG = np.random.default_rng(7)
N = 6
A = RNG.normal(size=(4, N))  # A @ x: columns of A are gathered
Bt = RNG.normal(size=(N, 5))  # x @ Bt: rows are gathered
U = RNG.normal(size=N)
W = RNG.normal(size=(N, 1))


def _f(name: str) -> Callable:
    # written with the namespace's functions, not operators with a raw array on the
    # left: array-api-strict's arrays refuse a tracer there instead of deferring
    def c(x: Any, a: Any) -> Any:
        return ns(x).asarray(a)

    return {
        "matvec": lambda x: ns(x).tanh(ns(x).matmul(c(x, A), x)),
        "vecmat": lambda x: ns(x).sin(ns(x).matmul(x, c(x, Bt))),
        "scale_vector": lambda x: x * c(x, U) * 3.0,
        "scale_left": lambda x: ns(x).multiply(c(x, U), x),
        "divide": lambda x: -(x / c(x, U)),
        "column": lambda x: ns(x).squeeze(
            ns(x).matmul(c(x, A), ns(x).expand_dims(x * c(x, U[:1]), axis=-1)), axis=-1
        ),
        "reshape": lambda x: ns(x).reshape(ns(x).matmul(ns(x).reshape(x, (1, N)), c(x, Bt)), (5,)),
        "broadcast_column": lambda x: ns(x).reshape(ns(x).reshape(x, (N, 1)) * c(x, W), (N,)),
        "identity": lambda x: +x,
        "densify": lambda x: ns(x).exp(x[1:] - x[:-1]),
        "outer": lambda x: ns(x).reshape(ns(x).reshape(x, (N, 1)) * c(x, U), (N * N,)),
    }[name]


CASES = [
    "matvec",
    "vecmat",
    "scale_vector",
    "scale_left",
    "divide",
    "column",
    "reshape",
    "broadcast_column",
    "identity",
    "densify",
    "outer",
]
# the cases whose batch stays one-hot (or is consumed by a matrix product)
# without ever being made dense, in both modes
NEVER_DENSE = {"matvec", "vecmat", "scale_vector", "scale_left", "divide", "column", "reshape"}


def _both(f: Callable, x: Any, mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple:
    (structured,) = xpgrad.jacobian(f, x, mode=mode)
    with xpgrad.config.override(onehot_basis=False):
        (dense,) = xpgrad.jacobian(f, x, mode=mode)
    return np.asarray(structured), np.asarray(dense)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("case", CASES)
def test_same_jacobian_as_the_dense_basis(case: str, mode: str, monkeypatch: Any) -> None:
    x = RNG.normal(size=N)
    s, d = _both(_f(case), x, mode, monkeypatch)
    assert s.shape == d.shape and s.dtype == d.dtype
    np.testing.assert_allclose(s, d, rtol=1e-13, atol=1e-15)
    # and the calculus, by central differences
    f = _f(case)
    h = 1e-6
    fd = np.stack(
        [(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h) for e in np.eye(N)],
        axis=1,
    )
    np.testing.assert_allclose(s, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("case", sorted(NEVER_DENSE))
def test_the_structure_is_used(case: str, mode: str, monkeypatch: Any) -> None:
    # every function the batch meets keeps or uses its structure: none falls back
    # to the dense batch (a Jacobian that stays one-hot to the end, such as a
    # diagonal one, is made dense only as the result)
    fallbacks: list = []
    real = onehot.apply

    def spy(prim: Any, *a: Any) -> Any:
        out = real(prim, *a)
        if out is None:
            fallbacks.append(prim.name)
        return out

    monkeypatch.setattr(onehot, "apply", spy)
    xpgrad.jacobian(_f(case), RNG.normal(size=N), mode=mode)
    assert fallbacks == []
    xpgrad.jacobian(_f("densify"), RNG.normal(size=N), mode=mode)
    assert fallbacks, "the spy itself must see a fallback"


def test_chunks_and_dtypes(monkeypatch: Any) -> None:
    # several chunks (start > 0), a float32 argument with a float64 matrix, and a
    # float32 matrix with a float64 argument: the dense path's dtypes
    x = RNG.normal(size=40)
    M = RNG.normal(size=(3, 40))
    for xd, md in ((np.float32, np.float64), (np.float64, np.float32)):
        xx, MM = x.astype(xd), M.astype(md)

        def f(v: Any) -> Any:
            return ns(v).matmul(ns(v).asarray(MM), v)

        for mode in ("reverse", "forward"):
            (s,) = xpgrad.jacobian(f, xx, mode=mode, chunk_size=7)
            with xpgrad.config.override(onehot_basis=False):
                (d,) = xpgrad.jacobian(f, xx, mode=mode, chunk_size=7)
            assert s.dtype == d.dtype
            np.testing.assert_allclose(s, d, rtol=1e-6)
            np.testing.assert_allclose(s, MM, rtol=1e-6)


def test_python_scalars_of_every_kind(monkeypatch: Any) -> None:
    # bool, int, float and complex factors scale the basis as the dense path does
    x = RNG.normal(size=N)
    for k in (True, 3, 0.5, 2.0 - 1.0j):
        for mode in ("reverse", "forward"):
            s, d = _both(lambda v, k=k: v * k, x, mode, monkeypatch)
            assert s.dtype == d.dtype
            np.testing.assert_array_equal(s, d)


def test_complex_matrix() -> None:
    x = RNG.normal(size=N) + 1j * RNG.normal(size=N)
    M = RNG.normal(size=(3, N)) + 1j * RNG.normal(size=(3, N))
    for mode in ("reverse", "forward"):
        (J,) = xpgrad.jacobian(lambda v: ns(v).asarray(M) @ (2.0 * v), x, mode=mode)
        np.testing.assert_allclose(J, 2.0 * M, rtol=1e-14)


@pytest.mark.parametrize(
    "fn",
    [
        lambda v: ns(v).asarray(np.array([[1.0, np.inf], [2.0, 3.0]])) @ v,
        lambda v: v @ ns(v).asarray(np.array([[1.0, np.nan], [2.0, 3.0]])),
        lambda v: v * ns(v).asarray(np.array([np.inf, 2.0])),
        lambda v: v / ns(v).asarray(np.array([0.0, 2.0])),
        lambda v: v / ns(v).asarray(np.array([np.nan, 2.0])),
        lambda v: v * np.inf,
    ],
    ids=["matvec-inf", "vecmat-nan", "scale-inf", "divide-zero", "divide-nan", "scalar-inf"],
)
def test_non_finite_operands_give_the_dense_paths_values(fn: Any, monkeypatch: Any) -> None:
    # issue 15: the one-hot basis is an optimisation, never other numbers. The dense
    # product spreads 0 * inf = nan into off-position entries where a gather would
    # not; such operands take the dense path, so both agree bit for bit.
    x = np.array([0.5, -0.5])
    for mode in ("reverse", "forward"):
        with np.errstate(all="ignore"):
            s, d = _both(fn, x, mode, monkeypatch)
        np.testing.assert_array_equal(s, d)  # NaN positions included


@pytest.mark.parametrize("backend", ["array_api_strict", "torch"])
def test_other_backends(backend: str, monkeypatch: Any) -> None:
    mod = pytest.importorskip(backend)
    xp = (
        mod
        if backend == "array_api_strict"
        else __import__("array_api_compat").get_namespace(mod.zeros(1))
    )
    x = xp.asarray(RNG.normal(size=N))
    for case in ("matvec", "vecmat", "column", "densify"):
        for mode in ("reverse", "forward"):
            s, d = _both(_f(case), x, mode, monkeypatch)
            np.testing.assert_allclose(s, d, rtol=1e-12, atol=1e-14)


def _off(fn: Callable, monkeypatch: Any) -> Any:
    with xpgrad.config.override(onehot_basis=False):
        return fn()


def test_nested_in_other_transformations(monkeypatch: Any) -> None:
    # the basis meets tracers of outer levels (the matrix is traced, its gather is
    # differentiated): hessian (forward over reverse), a jacobian of a jacobian,
    # and a gradient through a jacobian
    x = RNG.normal(size=N)

    def inner_j(v: Any) -> Any:
        (J,) = xpgrad.jacobian(lambda y: ns(y).tanh(ns(y).matmul(c_a(y), y) * v[0]), v)
        return J

    def c_a(y: Any) -> Any:
        return ns(y).asarray(A)

    cases = {
        "hessian": lambda: xpgrad.hessian(
            lambda v: ns(v).sum(ns(v).tanh(ns(v).matmul(c_a(v), v))), x
        ),
        "jacobian of jacobian": lambda: xpgrad.jacobian(
            lambda v: ns(v).reshape(inner_j(v), (-1,)), x
        )[0],
        "gradient through jacobian": lambda: xpgrad.gradient(
            lambda v: ns(v).sum(inner_j(v) ** 2), x
        )[0],
    }
    for name, fn in cases.items():
        s = np.asarray(fn())
        d = np.asarray(_off(fn, monkeypatch))
        np.testing.assert_allclose(s, d, rtol=1e-12, atol=1e-14, err_msg=name)


def test_inside_vmap(monkeypatch: Any) -> None:
    # a jacobian per example: the basis meets values batched by the outer vmap, so
    # its scale d becomes an outer batched value
    X = RNG.normal(size=(3, N))

    def per_example(x: Any) -> Any:
        return xpgrad.jacobian(lambda v: ns(v).tanh(ns(v).matmul(ns(v).asarray(A), v) * x[0]), x)[0]

    def scaled(x: Any) -> Any:
        return xpgrad.jacobian(lambda v: v * x, x, mode="forward")[0]

    for fn in (per_example, scaled):
        s = np.asarray(xpgrad.vmap(fn)(X))
        d = np.asarray(_off(lambda fn=fn: xpgrad.vmap(fn)(X), monkeypatch))
        np.testing.assert_allclose(s, d, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(
        np.asarray(xpgrad.vmap(scaled)(X)), np.stack([np.diag(x) for x in X])
    )


@pytest.mark.parametrize("where", ["inf", "nan", "-inf", "finite"])
def test_large_and_complex_operands_are_checked(where: str, monkeypatch: Any) -> None:
    # matrices are checked by matrix-vector products with (cached) ones, vectors
    # by vecdot: a non-finite entry anywhere still sends the product down the
    # dense path, so both paths agree bit for bit
    n = 200
    M = RNG.normal(size=(n, n))
    u = RNG.normal(size=n) + 1j * RNG.normal(size=n)
    if where != "finite":
        M[17, 123] = float(where)
        u[150] = complex(float(where), 0.0)
    x = RNG.normal(size=n)
    for fn in (
        lambda v: ns(v).asarray(M) @ v,
        lambda v: v @ ns(v).asarray(M),
        lambda v: ns(v).asarray(u) * v,
    ):
        for mode in ("reverse", "forward"):
            with np.errstate(all="ignore"):
                s, d = _both(fn, x, mode, monkeypatch)
            np.testing.assert_array_equal(s, d)
            assert np.isnan(s).any() == (where != "finite")


def test_integer_operands_need_no_check() -> None:
    # integers cannot be infinite or NaN: the structure is used without a reduction
    xp = array_api_compat.numpy
    assert not onehot._inexact(xp, np.dtype(np.int64)) and not onehot._inexact(xp, np.dtype(bool))
    assert onehot._inexact(xp, np.dtype(np.float32)) and onehot._inexact(xp, np.dtype(complex))
    x = RNG.normal(size=N)
    k = np.arange(1, N + 1)
    for mode in ("reverse", "forward"):
        (J,) = xpgrad.jacobian(lambda v: v * ns(v).asarray(k), x, mode=mode)
        np.testing.assert_array_equal(J, np.diag(k.astype(float)))


def test_each_operand_is_checked_once_per_jacobian(monkeypatch: Any) -> None:
    # a reverse Jacobian calls the pullback of B @ x once per chunk: the transpose
    # of B is the same array each time, 1 - y**2 is computed afresh each time with
    # the same values; the one-hot basis checks each for infinities once (by the
    # check's position in the chunk), not once per chunk
    B = RNG.normal(size=(12, N))
    seen: list = []
    real = onehot._spreads_now
    monkeypatch.setattr(onehot, "_spreads_now", lambda u, *a: seen.append(u.shape) or real(u, *a))
    x = RNG.normal(size=N)
    f = lambda v: ns(v).tanh(ns(v).asarray(B) @ v)  # noqa: E731
    (J,) = xpgrad.jacobian(f, x, mode="reverse", chunk_size=4)
    assert sorted(seen) == sorted([(12,), (N, 12)])  # three chunks, one check of each
    seen.clear()
    g = lambda v: ns(v).tanh(ns(v).asarray(B) @ ns(v).sin(v))  # noqa: E731
    (Jf,) = xpgrad.jacobian(g, x, mode="forward", chunk_size=2)
    assert sorted(seen) == sorted([(N,), (12, N)])  # cos(x) is computed in each of three
    (df,) = _off(lambda: xpgrad.jacobian(g, x, mode="forward", chunk_size=2), monkeypatch)
    np.testing.assert_allclose(Jf, df, rtol=1e-13, atol=1e-15)
    (d,) = _off(lambda: xpgrad.jacobian(f, x, mode="reverse", chunk_size=4), monkeypatch)
    np.testing.assert_allclose(J, d, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_jacobian_does_not_share_memory_with_a_closed_over_matrix(
    backend: str, mode: str
) -> None:
    # the one-hot product with A gathers rows or columns of A: the Jacobian of
    # A @ x (of x @ A) is A (its transpose), and must be a copy of it
    xp = array_api_compat.numpy if backend == "numpy" else pytest.importorskip(backend)
    A = xp.asarray(RNG.normal(size=(N, N)))
    before = xp.asarray(A, copy=True)
    x = xp.asarray(RNG.normal(size=N))
    for f in (lambda v: ns(v).asarray(A) @ v, lambda v: v @ ns(v).asarray(A)):
        (J,) = xpgrad.jacobian(f, x, mode=mode)
        J[0, 0] = 99.0
        J[N - 1, 1] = -7.0
        assert bool(xp.all(A == before))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_non_finite_value_outside_the_first_chunk_is_found(mode: str, monkeypatch: Any) -> None:
    # the first chunk's check reads the whole operand, so an infinity that only a
    # later chunk's rows would gather still gives every chunk the dense numbers
    x = RNG.normal(size=N)
    M = RNG.normal(size=(N, N))
    M[N - 1, N - 2] = np.inf
    u = RNG.normal(size=N)
    u[N - 1] = np.nan
    for fn in (
        lambda v: ns(v).asarray(M) @ ns(v).sin(v),
        lambda v: ns(v).asarray(u) * ns(v).sin(v),
    ):
        with np.errstate(all="ignore"):
            (s,) = xpgrad.jacobian(fn, x, mode=mode, chunk_size=2)
            (d,) = _off(lambda: xpgrad.jacobian(fn, x, mode=mode, chunk_size=2), monkeypatch)
        np.testing.assert_array_equal(s, d)
        first = s[:2, :] if mode == "reverse" else s[:, :2]  # the first chunk's rows / columns
        assert np.isnan(first).any()  # got NaN too, as the dense basis gives


def _reads(monkeypatch: Any) -> list:
    """The shapes of the matrices the one-hot check reads (by matrix-vector products)."""
    read: list = []
    real = onehot._ones

    def spy(xp: Any, n: int, dtype: Any, oh: Any) -> Any:
        read.append(n)
        return real(xp, n, dtype, oh)

    monkeypatch.setattr(onehot, "_ones", spy)
    return read


_M = 160  # 160 x 160: large enough that the product's proof is tried


@pytest.mark.parametrize("backend", ["numpy", "array_api_strict"])
@pytest.mark.parametrize(
    "form", ["matvec", "vecmat", "column"], ids=["A @ x", "x @ A", "A @ x[:, None]"]
)
def test_a_large_matrix_is_proved_finite_by_its_product(
    backend: str, form: str, monkeypatch: Any
) -> None:
    # the reverse pass records A @ v: a finite product of A with a finite vector that
    # has no zero proves A finite, so the matrix is not read; the Jacobian is the
    # dense basis's, bit for bit
    xp = array_api_compat.numpy if backend == "numpy" else pytest.importorskip(backend)
    M = RNG.normal(size=(_M, _M))
    fns = {
        "matvec": lambda v: ns(v).tanh(ns(v).matmul(ns(v).asarray(M), ns(v).sin(v))),
        "vecmat": lambda v: ns(v).tanh(ns(v).matmul(ns(v).sin(v), ns(v).asarray(M))),
        "column": lambda v: ns(v).squeeze(
            ns(v).matmul(ns(v).asarray(M), ns(v).expand_dims(ns(v).sin(v), axis=-1)), axis=-1
        ),
    }
    f = fns[form]
    x = xp.asarray(RNG.uniform(0.1, 1.0, size=_M))  # sin(x) finite and nowhere zero
    read = _reads(monkeypatch)
    (J,) = xpgrad.jacobian(f, x, mode="reverse")
    assert read == []  # proved, not read
    (d,) = _off(lambda: xpgrad.jacobian(f, x, mode="reverse"), monkeypatch)
    np.testing.assert_array_equal(np.asarray(J), np.asarray(d))
    assert onehot.WITNESSES.get() is None  # the table lives as long as the Jacobian


@pytest.mark.parametrize(
    "case", ["inf in A", "nan in A", "zero in x", "tiny in x", "nan in x", "small matrix"]
)
def test_the_proof_falls_back_to_reading_the_matrix(case: str, monkeypatch: Any) -> None:
    # any doubt about the proof (a non-finite product, a zero or a denormal that
    # could let a backend skip or hide a term, a NaN) reads the matrix: the
    # Jacobian is still the dense basis's, NaN positions included
    n = 8 if case == "small matrix" else _M
    M = RNG.normal(size=(n, n))
    x = RNG.uniform(0.5, 1.5, size=n)
    if case == "inf in A":
        M[3, 7] = np.inf
    elif case == "nan in A":
        M[n - 1, 0] = np.nan
    elif case == "zero in x":
        x[5] = 0.0
    elif case == "tiny in x":
        x[5] = 1e-310
    elif case == "nan in x":
        x[2] = np.nan
    f = lambda v: ns(v).asarray(M) @ v  # noqa: E731
    read = _reads(monkeypatch)
    with np.errstate(all="ignore"):
        (J,) = xpgrad.jacobian(f, x, mode="reverse")
        assert read  # the matrix was read
        (d,) = _off(lambda: xpgrad.jacobian(f, x, mode="reverse"), monkeypatch)
    np.testing.assert_array_equal(J, d)
    assert np.isnan(J).any() == (case in ("inf in A", "nan in A"))


def test_the_proof_is_kept_only_inside_jacobian(monkeypatch: Any) -> None:
    # the product is kept for the proof only while a reverse Jacobian records: a
    # gradient's tape (or a forward Jacobian) keeps no extra array per product
    seen: list = []

    def f(v: Any) -> Any:
        seen.append(onehot.WITNESSES.get())
        return ns(v).sum(ns(v).tanh(ns(v).asarray(A) @ v))

    x = RNG.normal(size=N)
    xpgrad.gradient(f, x)
    xpgrad.jacobian(lambda v: ns(v).reshape(f(v), (1,)), x, mode="forward")
    assert seen == [None, None]
    xpgrad.jacobian(lambda v: ns(v).reshape(f(v), (1,)), x, mode="reverse")
    assert isinstance(seen[-1], dict)  # recording: the table exists (filled by the pullbacks)
    with pytest.raises(ZeroDivisionError):
        xpgrad.jacobian(lambda v: 1 / 0, x, mode="reverse")
    assert onehot.WITNESSES.get() is None  # reset after an error too
