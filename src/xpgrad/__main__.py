"""``python -m xpgrad``: a live demonstration; ``python -m xpgrad info``: what is installed.

The demonstration differentiates a few functions written against the Array API
standard (no NumPy calls inside them) on every installed backend, and checks
each derivative against central finite differences as it goes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any, Callable

import array_api_compat

import xpgrad
from xpgrad import backends


def _host(x: Any) -> Any:
    ad = backends.backend_of(x)
    fn = getattr(ad, "to_host", None)
    return fn(x) if fn is not None else x


def cumsum_sin(v: Any) -> Any:
    xp = array_api_compat.array_namespace(v)
    return xp.cumulative_sum(xp.sin(v))


def rosenbrock(v: Any) -> Any:
    xp = array_api_compat.array_namespace(v)  # Dask and torch arrays have no __array_namespace__
    return xp.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)


def _fd_grad(f: Callable, x: Any, xp: Any, eps: float = 1e-6) -> Any:
    n = x.shape[0]
    out = []
    for i in range(n):
        e = xp.astype(xp.arange(n) == i, x.dtype) * eps
        out.append((f(x + e) - f(x - e)) / (2 * eps))
    return xp.stack(out)


def _fmt(a: Any) -> str:
    # the adapter's host copy prints like a NumPy array; the engine imports no backend
    return " ".join(str(_host(a)).split())


def demo() -> int:
    print(f"xpgrad {xpgrad.__version__}: automatic differentiation of Array API code\n")
    names = sorted(backends.available())
    print(f"backends found: {', '.join(names)}\n")
    ok = True
    for name in names:
        ad = backends.get(name)
        if name in ("cupy",) or getattr(ad, "namespace", None) is None:
            continue
        try:
            xp = ad.namespace(None)
        except Exception:  # a backend that cannot make arrays here (e.g. no GPU)
            continue
        print(f"== {name} ==")
        v = xp.asarray([-1.2, 1.0, 0.5, 2.0], dtype=xp.float64)
        (g,) = xpgrad.gradient(rosenbrock, v)
        fd = _fd_grad(rosenbrock, v, xp)
        close = bool(xp.all(xp.abs(g - fd) <= 1e-4 * (1 + xp.abs(fd))))
        ok &= close
        print(f"  rosenbrock(v) with v = {_fmt(v)}")
        print(f"  gradient            = {_fmt(g)}")
        print(f"  finite differences  = {_fmt(fd)}   agree: {close}")
        _, dy = xpgrad.jvp(rosenbrock, (v,), (xp.ones_like(v),))
        print(
            f"  jvp along ones      = {float(_host(dy)):.4f}  (= sum of gradient: "
            f"{float(_host(xp.sum(g))):.4f})"
        )
        (H,) = (xpgrad.hessian(rosenbrock, v),)
        Hr = xpgrad.hessian_reverse(rosenbrock, v)
        same = bool(xp.all(xp.abs(H - Hr) <= 1e-8 * (1 + xp.abs(H))))
        ok &= same
        print(
            f"  hessian (fwd-over-rev) diagonal = {_fmt(xp.linalg.diagonal(H))}; "
            f"equals reverse-over-reverse: {same}"
        )
        (J,) = xpgrad.jacobian(cumsum_sin, v)
        print(f"  jacobian of cumulative_sum(sin(v)), row 2 = {_fmt(J[2, :])}")
        (d2,) = xpgrad.gradient(lambda t: xpgrad.gradient(lambda s: s**3, t)[0], 2.0)
        print(f"  d2/dx2 x^3 at 2     = {d2}  (exact 12)")
        sq = xpgrad.vmap(lambda r: array_api_compat.array_namespace(r).sum(r * r))
        m = xp.reshape(xp.arange(6, dtype=xp.float64), (2, 3))
        print(f"  vmap(sum of squares) over rows of {_fmt(m).replace(chr(10), '')} = {_fmt(sq(m))}")
        print()
    print("all derivatives agree with finite differences" if ok else "MISMATCH found")
    return 0 if ok else 1


#: The libraries ``info`` reports, by import name. The version comes from whichever
#: distribution provides the import (CuPy ships as ``cupy-cuda12x``, ``cupy-cuda13x``,
#: ``cupy-rocm-...``, never as plain ``cupy``).
INFO_PACKAGES = (
    "array_api_compat",
    "numpy",
    "optree",
    "array_api_strict",
    "dask",
    "distributed",
    "torch",
    "cupy",
    "jax",
)


def _version(module: str, dists: Mapping[str, list[str]]) -> str:
    """The version of the distribution that provides ``module``, named if it is not the module."""
    plain = module.replace("_", "-")
    for dist in dists.get(module, [plain]):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        return version if dist.lower().replace("_", "-") == plain else f"{version} ({dist})"
    return "(not installed)"


def info() -> int:
    print(f"xpgrad {xpgrad.__version__}")
    print(f"python {sys.version.split()[0]} on {platform.platform()}")
    dists = metadata.packages_distributions()
    for module in INFO_PACKAGES:
        print(f"  {module.replace('_', '-'):18s} {_version(module, dists)}")
    print("backends (entry point group xpgrad.backends):")
    for name, ad in sorted(backends.available().items()):
        caps = dict(getattr(ad, "capabilities", {}))
        print(f"  {name:18s} {caps}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xpgrad",
        description="xpgrad: automatic differentiation of Python Array API code.",
    )
    parser.add_argument("--version", action="version", version=f"xpgrad {xpgrad.__version__}")
    parser.add_argument(
        "command",
        nargs="?",
        default="demo",
        choices=("demo", "info"),
        help="demo (the default): differentiate a few functions on every installed backend, "
        "checked against finite differences; info: versions and the backends found",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        rc = info() if args.command == "info" else demo()
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at exit
        return rc
    except BrokenPipeError:
        # the reader went away (`python -m xpgrad info | head`): stop quietly, and point
        # stdout at devnull so that the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
