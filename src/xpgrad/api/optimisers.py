"""A small optimiser library in the spirit of Optimisers.jl.

Rules (``Descent``, ``Momentum``, ``Adam``) are small objects with ``init``
and ``apply``; ``setup(rule, model)`` builds a state tree matching a pytree
model; ``update(state, model, grads)`` applies one step. Arrays are updated
in place where the backend allows (NumPy, array-api-strict) and replaced
otherwise, and ``Param`` boxes are updated keeping their identity.

>>> import numpy as np, xpgrad
>>> from xpgrad import optimisers as opt
>>> model = {"w": np.array([1.0, 2.0])}
>>> state = opt.setup(opt.Descent(0.1), model)
>>> grads = xpgrad.gradient(lambda m: np.sum(m["w"] ** 2), model)[0]
>>> state, model = opt.update(state, model, grads)
>>> model["w"]
array([0.8, 1.6])
"""

from __future__ import annotations

import dataclasses
from typing import Any

import optree

from .. import backends
from .._core.trace import Tracer
from . import _edge as E
from .params import Param, Params

__all__ = ["Descent", "Momentum", "Adam", "Leaf", "setup", "update"]


@dataclasses.dataclass
class Descent:
    """Plain gradient descent: ``x -= eta * g``.

    Parameters
    ----------
    eta : float, optional
        The learning rate. Default 0.1.

    See Also
    --------
    setup, update : Use a rule on a model.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import optimisers as opt
    >>> model = {"w": np.array([1.0, 2.0])}
    >>> state = opt.setup(opt.Descent(0.5), model)
    >>> state, model = opt.update(state, model, {"w": np.array([1.0, 1.0])})
    >>> model["w"]
    array([0.5, 1.5])
    """

    eta: float = 0.1

    def init(self, x: Any) -> Any:
        return None

    def apply(self, state: Any, x: Any, g: Any) -> tuple[Any, Any]:
        return state, self.eta * g


@dataclasses.dataclass
class Momentum:
    """Gradient descent with momentum (Optimisers.jl's): ``v = rho*v + eta*g; x -= v``.

    Parameters
    ----------
    eta : float, optional
        The learning rate. Default 0.01.
    rho : float, optional
        The momentum, the weight of the previous step. Default 0.9.

    See Also
    --------
    setup, update : Use a rule on a model.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import optimisers as opt
    >>> x = np.array([1.0])
    >>> state = opt.setup(opt.Momentum(eta=0.1, rho=0.5), x)
    >>> for _ in range(2):
    ...     state, x = opt.update(state, x, np.array([1.0]))
    >>> x   # steps of 0.1, then 0.5 * 0.1 + 0.1
    array([0.75])
    """

    eta: float = 0.01
    rho: float = 0.9

    def init(self, x: Any) -> Any:
        return _xp(x).zeros_like(x)

    def apply(self, state: Any, x: Any, g: Any) -> tuple[Any, Any]:
        v = self.rho * state + self.eta * g
        return v, v


@dataclasses.dataclass
class Adam:
    """Adam (Kingma & Ba), as in Optimisers.jl, with bias correction.

    Parameters
    ----------
    eta : float, optional
        The learning rate. Default 0.001.
    beta : tuple of float, optional
        The decay rates of the first and second moment estimates.
        Default ``(0.9, 0.999)``.
    epsilon : float, optional
        Added to the root of the second moment, against division by zero.
        Default 1e-8.

    See Also
    --------
    setup, update : Use a rule on a model.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import optimisers as opt
    >>> x = np.array([1.0, -1.0])
    >>> state = opt.setup(opt.Adam(eta=0.1), x)
    >>> state, x = opt.update(state, x, np.array([3.0, -0.5]))
    >>> x   # the first step is eta * sign(g), whatever the gradient's size
    array([ 0.9, -0.9])
    """

    eta: float = 0.001
    beta: tuple[float, float] = (0.9, 0.999)
    epsilon: float = 1e-8

    def init(self, x: Any) -> Any:
        xp = _xp(x)
        return (xp.zeros_like(x), xp.zeros_like(x), self.beta)

    def apply(self, state: Any, x: Any, g: Any) -> tuple[Any, Any]:
        m, v, (bt1, bt2) = state
        b1, b2 = self.beta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * (g * g)
        xp = _xp(m)
        step = (m / (1 - bt1)) / (xp.sqrt(v / (1 - bt2)) + self.epsilon) * self.eta
        return (m, v, (bt1 * b1, bt2 * b2)), step


def _xp(x: Any) -> Any:
    if isinstance(x, Tracer):
        return x.__array_namespace__()
    return backends.namespace_of(x)


class Leaf:
    """The optimiser state of one array: its rule and that rule's state.

    ``setup`` makes one per trainable array; ``update`` reads and replaces
    ``state``.

    Parameters
    ----------
    rule : Descent, Momentum, Adam or a rule with ``init`` and ``apply``
        The rule.
    state : any
        The rule's state for this array (``rule.init(x)``).

    See Also
    --------
    setup : Makes the leaves of a model.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import optimisers as opt
    >>> state = opt.setup(opt.Momentum(), {"w": np.zeros(2), "name": "layer 1"})
    >>> state
    {'w': Leaf(Momentum(eta=0.01, rho=0.9)), 'name': None}
    >>> state["w"].state
    array([0., 0.])
    """

    __slots__ = ("rule", "state")

    def __init__(self, rule: Any, state: Any):
        self.rule = rule
        self.state = state

    def __repr__(self) -> str:
        return f"Leaf({self.rule!r})"


def _trainable(x: Any) -> bool:
    if isinstance(x, Param):
        x = x.value
    if not E.is_array(x) or isinstance(x, Tracer):
        return False
    return _xp(x).isdtype(x.dtype, ("real floating", "complex floating"))


def _flatten(model: Any) -> tuple[list, Any]:
    if isinstance(model, Params):
        return list(model), None
    E.ensure_registered(model)
    return optree.tree_flatten(model, none_is_leaf=True, namespace=E.NS)


def setup(rule: Any, model: Any) -> Any:
    """The optimiser state for ``model``: its structure, with a ``Leaf`` per trainable array.

    Parameters
    ----------
    rule : Descent, Momentum, Adam or a rule with ``init`` and ``apply``
        The rule, used for every trainable array.
    model : pytree or Params
        A pytree (dicts, lists, tuples, dataclasses) or ``Params``; floating
        arrays and ``Param`` boxes are trainable, other leaves get ``None``.

    Returns
    -------
    pytree
        ``model``'s structure with a ``Leaf`` (or ``None``) in place of each
        leaf; for ``Params``, a list in their order.

    See Also
    --------
    update : One step.

    Examples
    --------
    >>> import numpy as np
    >>> from xpgrad import optimisers as opt
    >>> opt.setup(opt.Descent(), [np.zeros(2), np.arange(3)])   # integers are not trained
    [Leaf(Descent(eta=0.1)), None]
    """
    if not (hasattr(rule, "init") and hasattr(rule, "apply")):
        raise TypeError(
            f"xpgrad.optimisers.setup: the rule must have init(x) and apply(state, x, g) "
            f"(e.g. Adam()), got {type(rule).__name__}"
        )
    leaves, tree = _flatten(model)
    states = [Leaf(rule, rule.init(_raw(x))) if _trainable(x) else None for x in leaves]
    return states if tree is None else optree.tree_unflatten(tree, states)


def _raw(x: Any) -> Any:
    return x.value if isinstance(x, Param) else x


def _grads_for(grads: Any, model: Any, tree: Any) -> list:
    if tree is None:  # Params and Grads
        return [grads.get(p) for p in model]
    try:
        full = optree.tree_broadcast_prefix(grads, model, none_is_leaf=True, namespace=E.NS)
    except ValueError as e:
        raise ValueError(
            f"xpgrad.optimisers.update: the gradient does not have the model's structure "
            f"({e}); pass the gradient of the model itself (None where there is none)"
        ) from None
    return tree.flatten_up_to(full)


def update(state: Any, model: Any, grads: Any) -> tuple[Any, Any]:
    """One optimiser step: ``(state, model)`` after applying ``grads``.

    Arrays are changed in place where the backend allows it, ``Param`` boxes
    keep their identity; on backends without in-place writes new arrays are
    made, so always use the returned model. The state is updated in place as
    well and returned.

    Parameters
    ----------
    state : pytree
        ``setup(rule, model)``'s result (or an earlier ``update``'s).
    model : pytree or Params
        The model, with the structure ``state`` was made for.
    grads : pytree or Grads
        The gradients, with the model's structure (``None`` for leaves without
        a gradient, which are left alone), e.g. ``gradient(loss, model)[0]``.

    Returns
    -------
    tuple
        ``(state, model)``, both updated.

    See Also
    --------
    setup : The initial state.
    eager_update : Update each layer during the backward pass.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> from xpgrad import optimisers as opt
    >>> model = {"w": np.array([2.0, -1.0])}
    >>> loss = lambda m: np.sum(m["w"] ** 2)
    >>> state = opt.setup(opt.Descent(0.25), model)
    >>> for _ in range(3):
    ...     (g,) = xpgrad.gradient(loss, model)
    ...     state, model = opt.update(state, model, g)
    >>> model["w"]   # each step halves w
    array([ 0.25 , -0.125])
    """
    leaves, tree = _flatten(model)
    gs = _grads_for(grads, model, tree)
    if tree is None:
        sts = list(state)
    else:
        try:
            sts = tree.flatten_up_to(state)
        except ValueError:
            raise ValueError(
                "xpgrad.optimisers.update: the state does not match the model; make it "
                "with setup(rule, model)"
            ) from None
    new_leaves = list(leaves)
    replaced = False
    for k, (x, g, st) in enumerate(zip(leaves, gs, sts)):
        if g is None or not isinstance(st, Leaf):
            continue
        st.state, step = st.rule.apply(st.state, _raw(x), g)
        new = _step(x, step)
        if new is not x:
            new_leaves[k] = new
            replaced = True
    if not replaced or tree is None:
        return state, model
    return state, optree.tree_unflatten(tree, new_leaves)


def _step(x: Any, step: Any) -> Any:
    """``x - step``, written into ``x`` where possible (returns ``x`` then)."""
    if isinstance(x, Param):
        x[...] = x.value - step
        return x
    if not isinstance(step, Tracer) and backends.capabilities(x)["inplace"]:
        new = x - step
        if new.dtype != x.dtype:
            new = _xp(x).astype(new, x.dtype)
        try:
            x[...] = new
            return x
        except (TypeError, ValueError):  # read-only arrays, NumPy scalars
            return new
    return x - step
