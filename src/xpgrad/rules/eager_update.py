"""The primitive behind ``eager_update``: an identity node whose pullback updates a layer.

The wrapper's arrays (``xpgrad.eager_update``, ``api/eager.py``) are the outputs
of one such node, placed before every use of the layer. The backward pass
reaches it only once the layer's gradient is complete: its pullback hands the
gradient to the update (``hook.fire``) and passes nothing on, so the gradient
is freed at once. ``hook.defer_to``, when set, is the reverse trace whose end
the update must wait for (earlier tape entries still hold the layer's arrays).
"""

from __future__ import annotations

from typing import Any

from ._registry import defrule, patterns, primitive

__all__ = ["eager_update_p"]


def _impl(*xs: Any, hook: Any) -> tuple:
    return xs


eager_update_p = primitive("eager_update", _impl, multiple_results=True, export_as=False)


def _jvp(primals: list, tangents: list, hook: Any) -> tuple:
    return tuple(primals), tuple(tangents)


def _vjp(primals: list, needs: list, hook: Any) -> tuple:
    n = len(primals)

    def eager_update_pullback(cts: list) -> tuple:
        trace = hook.defer_to
        if trace is None:
            hook.fire(primals, cts)
        else:  # earlier entries still hold the layer: update once the pass is over
            done: list = []

            def deferred_update() -> None:
                if not done:  # once, even if the tape is walked again (pullback)
                    done.append(True)
                    hook.fire(primals, cts)

            trace.finalizers.append(deferred_update)
        return (None,) * n  # the gradient was used up by the update

    return tuple(primals), eager_update_pullback


def _batch(args: list, batched: list, hook: Any) -> tuple:
    return tuple(args), list(batched)


# no samples: the update changes the caller's arrays (tests/test_optimisers.py checks it)
defrule(eager_update_p, jvp=_jvp, vjp=_vjp, batch=_batch, pattern=patterns.identity)
