"""The ``checkpointed`` primitive: a function's forward pass, recomputed in its pullback.

``checkpointed(f, *xs)`` is one node of the tape. Its forward pass runs ``f``
on the values one level down, so none of ``f``'s intermediates are recorded;
its pullback records ``f`` again on the saved inputs (``record``, the core of
``gradient``) and runs that small backward pass. Only the inputs are kept
between the passes. The user-facing function is ``xpgrad.checkpointed``
(``api/checkpoint.py``); the parameters are the function as a ``FlatFn``
(``fn``) and the trace that processes the call (``owner``).
"""

from __future__ import annotations

from typing import Any

from .. import backends
from .._core.calls import drop_owner, map_flat, pushforward, record
from .._core.namespace import traced_namespace
from .._core.pytree import FlatFn, backend_xp, common_xp, is_array
from .._core.trace import LeakedTracerError, Tracer
from ._registry import defrule, patterns, primitive

__all__ = ["checkpoint_p"]


def _impl(*args: Any, fn: FlatFn, owner: Any) -> tuple:
    return fn(*args)


checkpoint_p = primitive("checkpointed", _impl, multiple_results=True, export_as=False)


def _closure_error() -> LeakedTracerError:
    return LeakedTracerError(
        "xpgrad.checkpointed: the function uses a differentiated value that is not one of "
        "its arguments (a closure or a global). Its forward pass is recomputed during the "
        "backward pass, when that value no longer exists; pass it as an argument: "
        "checkpointed(f, x, w) instead of checkpointed(lambda x: f(x, w), x)."
    )


def _checked(outs: Any, owner: Any) -> tuple:
    res = []
    for o in outs:
        if drop_owner(o, owner, "checkpointed") is not o:
            raise _closure_error()
        res.append(o)
    return tuple(res)


def _jvp(primals: list, tangents: list, fn: FlatFn, owner: Any) -> tuple:
    ys, ts = pushforward(fn, primals, tangents)
    return _checked(ys, owner), tuple(ts)


def _vjp(primals: list, needs: list, fn: FlatFn, owner: Any) -> tuple:
    out = _checked(fn(*primals), owner)  # one level down: nothing is recorded here
    seen = _fingerprint(out)
    idx = [i for i, nd in enumerate(needs) if nd]
    nargs = len(primals)
    xp = common_xp(list(primals))

    def checkpointed_pullback(cts: list) -> tuple:
        if all(ct is None for ct in cts):
            return (None,) * nargs

        def again(*diff: Any) -> tuple:
            args = list(primals)
            for i, a in zip(idx, diff):
                args[i] = a
            return fn(*args)

        try:
            rec = record(again, [primals[i] for i in idx], [True] * len(idx), xp)
        except LeakedTracerError:
            raise _closure_error() from None
        _same_as_before(seen, [rec.unwrap(o) for o in rec.out])
        roots = [(o.node, ct) for o, ct in zip(rec.out, cts) if ct is not None and rec.traced(o)]
        grads = rec.backward(roots, release=True)
        rec.release()
        res: list = [None] * nargs
        for i, g in zip(idx, grads):
            res[i] = g
        return tuple(res)

    return out, checkpointed_pullback


def _fingerprint(outs: Any) -> list:
    """Shape, dtype and, where cheap, two sums of each output, to check the recomputation.

    The sums (of the values and of their magnitudes) are taken only for concrete
    floating arrays of an eager backend; they stay 0-d arrays until compared,
    so the forward pass does not wait for the device.
    """
    fp = []
    for o in outs:
        sums = None
        if not isinstance(o, Tracer) and is_array(o) and not backends.capabilities(o)["lazy"]:
            xp = backend_xp(o)
            if xp.isdtype(o.dtype, ("real floating", "complex floating")):
                sums = (xp.sum(o), xp.sum(xp.abs(o)))
        fp.append((tuple(o.shape), o.dtype, sums))
    return fp


def _num(z: complex) -> str:
    return f"{z.real:.6g}" if z.imag == 0 else f"{z:.6g}"


def _same_as_before(fp: list, outs: list) -> None:
    """Raise if the recomputed ``outs`` differ from the forward pass's (see _fingerprint)."""
    again = _fingerprint(outs)
    problem = None
    if len(again) != len(fp):
        problem = f"{len(fp)} outputs, then {len(again)}"
    for k, ((shape, dtype, sums), (shape2, dtype2, sums2)) in enumerate(zip(fp, again)):
        if problem is not None:
            break
        if shape != shape2 or dtype != dtype2:
            problem = f"output {k} had shape {shape} and dtype {dtype}, then {shape2}, {dtype2}"
        elif sums is not None and sums2 is not None:
            s1, s2, mag = complex(sums[0]), complex(sums2[0]), float(sums[1])
            # equal up to rounding (the rules may compute a value by another formula)
            if not (s1 == s2 or (s1 != s1 and s2 != s2) or abs(s1 - s2) <= 1e-5 * mag):
                problem = f"the values of output {k} sum to {_num(s1)}, then to {_num(s2)}"
    if problem is not None:
        raise ValueError(
            f"xpgrad.checkpointed: the function gave a different result when it was "
            f"recomputed in the backward pass ({problem}), so its derivative would be "
            f"wrong. checkpointed needs a deterministic function: pass random keys or "
            f"state as arguments, and do not read globals that change between the passes."
        )


def _batch(args: list, batched: list, fn: FlatFn, owner: Any) -> tuple:
    return tuple(map_flat(fn, args, batched)), True


def _samples(make: Any) -> list:
    def layer(h: Any, w: Any) -> Any:
        xp: Any = traced_namespace(backend_xp(h))  # traced functions take raw arrays too
        return xp.tanh(h @ w), xp.sum(w * w)

    h, w = make((2, 3)), make((3, 3))
    return [((h, w), {"fn": FlatFn(layer, (h, w)), "owner": None})]


defrule(checkpoint_p, jvp=_jvp, vjp=_vjp, batch=_batch, samples=_samples, pattern=patterns.inline)
