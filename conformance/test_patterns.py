"""Generated from the registry: every pattern rule against the dense Jacobian.

For every differentiable primitive with samples, on every installed backend:
the sparsity pattern detected for each floating argument alone (the others
held constant), and for all of them at once (one input split into the
arguments), contains every nonzero of ``xpgrad.jacobian`` at the sample's
random point. A pattern may be looser than the Jacobian (it is global), never
tighter.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad.rules import PRIMITIVES

from conftest import Maker, backend_names

#: Differentiable primitives that deliberately use the dense fallback.
DENSE_FALLBACK: dict[str, str] = {}

#: (primitive, backend) pairs checked with all arguments traced only: with one
#: argument traced, the sample's own function computes ``raw_array @ tracer``,
#: which array-api-strict refuses (xpgrad.jacobian fails the same way).
ALL_ARGUMENTS_ONLY = {
    ("checkpointed", "array_api_strict"): "sample layer() uses the @ operator on a raw array",
    ("forwarddiff", "array_api_strict"): "sample layer() uses the @ operator on a raw array",
}

NAMES = sorted(n for n, p in PRIMITIVES.items()
               if p.differentiable and p.samples is not None and not n.startswith("custom"))


def test_every_differentiable_primitive_has_a_pattern_rule() -> None:
    missing = [n for n in NAMES if PRIMITIVES[n].pattern is None and n not in DENSE_FALLBACK]
    assert not missing, f"differentiable primitives without a pattern rule: {missing}"


def _is_float(a: Any, xp: Any) -> bool:
    return hasattr(a, "dtype") and xp.isdtype(a.dtype, ("real floating", "complex floating"))


def _flat_real(out: Any, xp: Any) -> Any:
    """All outputs as one real vector (real and imaginary parts of complex ones)."""
    outs = out if isinstance(out, tuple) else (out,)
    parts = []
    for o in outs:
        o = xp.reshape(o, (-1,))
        if xp.isdtype(o.dtype, "complex floating"):
            parts += [xp.real(o), xp.imag(o)]
        elif xp.isdtype(o.dtype, "real floating"):
            parts.append(o)
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def _check(g: Callable, x: Any, what: str) -> None:
    P = xpgrad.jacobian_sparsity(g, x)
    (J,) = xpgrad.jacobian(g, x)
    J = np.asarray(B.to_host(J))
    m, n = P.shape
    J = J.reshape(m, n)
    dense = np.zeros((m, n), dtype=bool)
    dense[B.to_host(P.rows), B.to_host(P.cols)] = True
    missed = np.argwhere((J != 0) & ~dense)
    assert missed.size == 0, f"{what}: the pattern misses nonzeros at {missed[:5].tolist()}"


# Dask's dense jacobian computes many small graphs: ~2 minutes for the whole registry
_BACKENDS = [pytest.param(b, marks=pytest.mark.slow) if b == "dask" else b
             for b in backend_names()]


@pytest.mark.parametrize("bname", _BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_pattern_contains_jacobian(bname: str, name: str) -> None:
    prim = PRIMITIVES[name]
    make = Maker(B.get(bname), seed=1)
    xp = make.xp
    for k, (args, params) in enumerate(prim.samples(make)):
        try:
            prim(*args, **params)
        except NotImplementedError:  # the backend lacks the function itself (Dask: repeat
            continue                 # with an array of counts); test_rules reports it
        floats = [i for i, a in enumerate(args) if _is_float(a, xp)]
        if not floats:
            continue
        for i in floats if (name, bname) not in ALL_ARGUMENTS_ONLY else ():
            # one argument at a time, the others constant

            def g(a: Any, i: int = i) -> Any:
                full = list(args)
                full[i] = a
                return _flat_real(prim(*full, **params), a.__array_namespace__())

            _check(g, args[i], f"{name} sample {k} argument {i}")
        if len(floats) > 1:  # all at once: one vector split into the arguments
            shapes = [tuple(args[i].shape) for i in floats]
            sizes = [int(np.prod(s)) for s in shapes]
            dt = xp.result_type(*[args[i].dtype for i in floats])
            x = xp.concat([xp.reshape(xp.astype(args[i], dt), (-1,)) for i in floats])

            def h(v: Any) -> Any:
                ns = v.__array_namespace__()
                full, off = list(args), 0
                for i, s, sz in zip(floats, shapes, sizes):
                    full[i] = ns.astype(ns.reshape(v[off:off + sz], s), args[i].dtype)
                    off += sz
                return _flat_real(prim(*full, **params), ns)

            _check(h, x, f"{name} sample {k} all arguments")
