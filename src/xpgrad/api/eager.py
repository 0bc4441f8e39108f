"""``eager_update``: apply an optimiser step to a layer during the backward pass.

The wrapper's arrays are the outputs of one identity node on the tape, placed
before every use of the layer. The backward pass reaches that node only after
all uses, that is, once the layer's gradient is complete: its pullback hands
the gradient to ``update`` and passes nothing on, so the gradient can be freed
at once instead of living until the end of the backward pass.

The update writes into the layer's arrays, so it must not run while a pullback
still to come holds them: when the layer's arrays were already used directly
(not through the wrapper) before ``eager_update`` was called, those uses are
differentiated after the node, and the update is deferred to the end of the
backward pass (the trace's finalizers) instead. Uses after the call are
differentiated before the node and need no care. The primitive and its rules are
in ``rules/eager_update.py``.
"""

from __future__ import annotations

from typing import Any, Callable

from .._core.reverse import ReverseTracer
from .._core.trace import Tracer
from ..rules.eager_update import eager_update_p
from . import _edge as E
from .params import Param, unbox

__all__ = ["eager_update"]


class _Eager:
    """What the node needs to update its layer: the state, the update, the layer's leaves."""

    __slots__ = ("state", "update", "tree", "leaves", "slots", "defer_to")

    def __init__(self, state: Any, update: Callable, tree: Any, leaves: list, slots: list):
        self.state = state
        self.update = update
        self.tree = tree
        self.leaves = [
            v if i not in slots or isinstance(v, Param) else None for i, v in enumerate(leaves)
        ]  # tracers are not kept
        self.slots = slots
        # the reverse trace to defer the update to (None: update at once)
        self.defer_to: Any = None

    def fire(self, primals: list, cts: list) -> None:
        layer = list(self.leaves)
        grads: list = [None] * len(layer)
        for i, p, ct in zip(self.slots, primals, cts):
            if layer[i] is None:
                layer[i] = p  # the array under the tracer: the caller's own array
            grads[i] = ct
        model = E.unflatten(self.tree, layer)
        res = self.update(self.state, model, E.unflatten(self.tree, grads))
        _check_in_place(res, layer, self.tree)


def _check_in_place(res: Any, layer: list, tree: Any) -> None:
    if not (isinstance(res, tuple) and len(res) == 2):
        return
    try:
        new, new_tree = E.flatten(res[1])
    except (TypeError, ValueError):  # not a pytree like the layer: nothing to compare
        return
    if new_tree != tree:
        return
    for old, n in zip(layer, new):
        if n is not old and not isinstance(old, Param) and E.is_array(old):
            raise RuntimeError(
                "xpgrad.eager_update: the update returned new arrays instead of changing the "
                "layer's arrays in place (this backend cannot write in place), so the step "
                "would be lost. Box the layer's arrays with xpgrad.param, whose values can "
                "be replaced, or use the ordinary update after the gradient."
            )


def eager_update(state: Any, model: Any, update: Callable) -> Any:
    """A wrapper of ``model`` (one layer) that is updated as soon as its gradient is known.

    Use the result in place of the layer inside the differentiated function.
    In the backward pass, once every use of the wrapper has been
    differentiated, ``update(state, layer, grad)`` is called (e.g.
    ``xpgrad.optimisers.update``, which changes the arrays in place) and the
    gradient is dropped: the outer gradient has ``None`` for those arrays and
    the memory is freed early. Combine with ``checkpointed`` by passing the
    wrapper as an argument: ``checkpointed(f, eager_update(st, layer, update), h)``.
    Layers must not share arrays with each other. If the function used the
    layer's arrays directly before calling ``eager_update``, the update waits
    until the whole backward pass is over (those uses still need the old
    values), and the gradient is kept until then.

    Parameters
    ----------
    state : pytree
        The optimiser state of the layer (``xpgrad.optimisers.setup``).
    model : pytree
        The layer: a pytree of arrays (or ``Param`` boxes).
    update : callable
        ``update(state, layer, grad)``, called once in the backward pass.

    Returns
    -------
    pytree
        The layer's value, to use in place of ``model``.

    See Also
    --------
    xpgrad.optimisers.update : The usual ``update``.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import optimisers as opt
    >>> layer = {"w": np.array([1.0, 2.0])}
    >>> st = opt.setup(opt.Descent(0.5), layer)
    >>> f = lambda m: np.sum(xpgrad.eager_update(st, m, opt.update)["w"] ** 2)
    >>> xpgrad.gradient(f, layer)
    ({'w': None},)
    >>> layer["w"]
    array([0., 0.])
    """
    if not callable(update):
        raise TypeError(
            f"xpgrad.eager_update: the third argument is the update function, e.g. "
            f"xpgrad.optimisers.update; got {type(update).__name__}"
        )
    leaves, tree = E.flatten(model)
    slots = [i for i, v in enumerate(leaves) if isinstance(unbox(v), Tracer)]
    if not slots:  # not being differentiated: nothing to update
        return model
    hook = _Eager(state, update, tree, leaves, slots)
    hook.defer_to = _used_before([unbox(leaves[i]) for i in slots])
    outs = eager_update_p(*(unbox(leaves[i]) for i in slots), hook=hook)
    new = list(leaves)
    for i, o in zip(slots, outs):
        new[i] = o
    return E.unflatten(tree, new)


def _used_before(tracers: list) -> Any:
    """The reverse trace whose tape already used one of ``tracers``, else ``None``.

    Such an entry's pullback may hold the layer's arrays (or views of them) and
    runs after the update would; one scan of the tape since the layer's first
    entry, once per call of ``eager_update``.
    """
    rev = [t for t in tracers if type(t) is ReverseTracer and t.node is not None]
    if not rev:
        return None
    trace = rev[0]._trace
    nodes: set[int] = {t.node for t in rev if t._trace is trace and t.node is not None}
    for entry in trace.tape[min(nodes) + 1 :]:
        if entry is not None and type(entry[0]) is not int:
            for p in entry[1]:
                if p in nodes:
                    return trace
    return None
