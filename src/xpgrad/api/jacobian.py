"""jacobian and withjacobian: every derivative of an array-valued function.

The reverse-mode Jacobian records ``f`` once (one ``pullback``) and then maps
the pullback over chunks of basis cotangents with ``vmap``: one batched
backward pass per chunk, never one pass per output element. The forward-mode
Jacobian maps ``jvp`` over chunks of basis tangents. Chunks are sized to a
memory budget (``xpgrad.config.memory_budget``) so the batched work stays
bounded however large the Jacobian is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .._core import onehot
from .._core.calls import map_basis
from .._core.chunks import forward_jacobian
from .._core.config import config
from .._core.forward import ForwardTrace, ForwardTracer
from .._core.trace import new_level
from .._core.zeros import Zero
from ..rules import F
from . import _chunks as C
from . import _edge as E
from ._owned import owned
from .gradient import _python_val, basis_pullback
from .grads import implicit_mode

if TYPE_CHECKING:
    from .grads import Grads

__all__ = ["WithJacobian", "jacobian", "withjacobian"]

_MODES = ("auto", "reverse", "forward")


class WithJacobian(NamedTuple):
    """``(val, grad)``: the function's value and its Jacobians (one per argument).

    The result of ``withjacobian``; a named tuple, so ``val, grad = result``
    works too.

    Parameters
    ----------
    val : array, number or pytree
        ``f(*args)``.
    grad : tuple
        One Jacobian per argument, as ``jacobian`` returns them.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> res = xpgrad.withjacobian(lambda x: x ** 2, np.array([1.0, 2.0]))
    >>> res.val
    array([1., 4.])
    >>> res.grad[0]
    array([[2., 0.],
           [0., 4.]])
    """

    val: Any
    grad: tuple


def _kind(x: Any, xp: Any) -> str | None:
    """``"array"``, ``"scalar"`` (number or 0-d array), or None (not differentiated)."""
    if E.is_number(x):
        return "scalar" if type(x) is not complex else None
    if E.is_array(x) and E.differentiable_leaf(x, xp):
        return "scalar" if tuple(x.shape) == () else "array"
    return None


def _output(y: Any, xp: Any, name: str) -> Any:
    if E.is_number(y):
        return xp.asarray(y)
    if E.is_array(y):
        if E.is_bool_dtype(xp, y.dtype):
            raise ValueError(
                f"xpgrad.{name}: the function returned a boolean array, which has no "
                f"derivative; return a numeric array"
            )
        return y
    raise ValueError(
        f"xpgrad.{name}: the function must return an array or a number, got "
        f"{type(y).__name__}. For several outputs, take the jacobian of each one, or "
        f"concatenate them into one array."
    )


def _reverse(
    back: Callable,
    y: Any,
    dargs: list,
    xp: Any,
    chunk_size: Any,
    budget: Any,
    name: str,
    bar: Any = C.NO_PROGRESS,
) -> list:
    """``[J_i]`` for each differentiated argument, by batched pullbacks over rows.

    ``bar`` (see ``_chunks.progress``) advances by the rows of each chunk.
    """
    m = C.size_of(tuple(y.shape))
    sizes = [C.size_of(tuple(E.as_array(a, xp).shape)) for a in dargs]
    n = sum(sizes)
    k = C.choose_chunk(m, n + m, C.itemsize(xp, y.dtype), chunk_size, budget, name, like=y)
    lazy = C.one_pass(y)  # Dask: one pass, the basis chunks become Dask chunks
    step = m if lazy else k
    nblocks = -(-m // step)
    blocks: list[Any] = [C.Blocks(xp, (m, s), 0, nblocks) for s in sizes]
    missing = [False] * len(dargs)
    dev = C.device_of(y)
    batched_back = map_basis(back, xp)
    memo: dict = {}  # the one-hot basis's checks of operands, for every chunk
    for start in range(0, m, step):
        kk = min(step, m - start)
        cts = batched_back(
            C.basis(
                xp,
                start,
                kk,
                m,
                y.dtype,
                tuple(y.shape),
                dev,
                chunk=chunk_size,
                like=y,
                onehot=True,
                memo=memo,
            )
        )
        for i, ct in enumerate(cts):
            if ct is None:
                missing[i] = True
            else:
                blocks[i].add(C.flat_rows(ct, kk))
        bar.update(kk)
    out = []
    for i, a in enumerate(dargs):
        if missing[i] or (not blocks[i].parts and blocks[i].out is None):
            out.append(_zero_jacobian(xp, y, a, m, sizes[i]))
        else:
            out.append(blocks[i].result())
    return out


def _value(g: Callable, dargs: list, xp: Any) -> Any:
    """``g(*dargs)`` with its arguments as constants of a forward trace.

    The function sees traced values, as in every other evaluation (one
    namespace; a write ``x[k] = v`` rebinds a tracer and never changes the
    caller's array), while nothing is recorded and no tangent is computed.
    """
    with new_level(ForwardTrace, E.namespace(xp)) as trace:
        out = g(*[trace.const(E.as_array(a, xp)) for a in dargs])
    if type(out) is ForwardTracer:  # (the usual single array)
        return out.primal if out._trace is trace else out
    return E.map_leaves(
        lambda o: o.primal if type(o) is ForwardTracer and o._trace is trace else o, out
    )


def _zero_jacobian(xp: Any, y: Any, a: Any, m: int, n: int) -> Any:
    """The ``(m, n)`` Jacobian of an output ``y`` (an array or its ``Zero``) that ignores ``a``.

    The one place a zero Jacobian is made: it is part of the result, in the
    dtype both modes agree on, on the device of ``y`` (of ``a`` for a ``Zero``).
    """
    aa = E.as_array(a, xp)
    dt = xp.result_type(y.dtype, aa.dtype)
    return C.zeros(xp, (m, n), dt, aa if isinstance(y, Zero) else y)


def _pushforward(
    g: Callable, dargs: list, i: int, xp: Any, seen: dict | None = None, name: str = "jacobian"
) -> Callable:
    """``t -> d/ds g(..., dargs[i] + s t, ...)`` at ``s = 0``.

    Every argument is traced, the others as constants of the trace (a symbolic
    zero tangent), so that the function sees traced values only, as in reverse
    mode where all are recorded: array-api-strict refuses ``raw_array *
    tracer``. Where ``y`` does not depend on this argument, the result is a
    ``Zero`` of ``y``'s shape and dtype (``map_basis`` passes it through
    unbatched), and the zero Jacobian is made once. ``seen["y"]``, when a dict
    is given, receives ``y`` itself (it does not depend on the tangent), checked
    as ``jacobian`` checks a function's output.
    """
    ns = E.namespace(xp)
    primals = [E.as_array(a, xp) for a in dargs]

    def push(t: Any) -> Any:
        with new_level(ForwardTrace, ns) as trace:
            out = g(
                *[ForwardTracer(trace, p, t if j == i else None) for j, p in enumerate(primals)]
            )
        mine = type(out) is ForwardTracer and out._trace is trace
        if seen is not None:
            seen["y"] = _output(out.primal if mine else out, xp, name)
        if mine:
            if out.tangent is not None:
                return out.tangent
            out = out.primal
        return Zero.like(E.as_array(out, xp))  # y does not depend on this argument

    return push


def _forward_one(
    g: Callable,
    dargs: list,
    i: int,
    m: int,
    xp: Any,
    chunk_size: Any,
    budget: Any,
    name: str,
    bar: Any = C.NO_PROGRESS,
) -> Any:
    """``J`` of ``g`` in argument ``i`` (shape ``(m, size)``), by batched jvps over columns.

    The chunk loop is ``forward_jacobian`` (shared with ``forwarddiff``); here
    the chunk size is chosen. ``bar`` (see ``_chunks.progress``) advances by
    the columns of each chunk.
    """
    xa = E.as_array(dargs[i], xp)
    n = C.size_of(tuple(xa.shape))
    if n == 0 or m == 0:
        return C.zeros(xp, (m, n), xa.dtype, xa)
    k = C.choose_chunk(n, n + m, C.itemsize(xp, xa.dtype), chunk_size, budget, name, like=xa)
    (J,) = forward_jacobian(_pushforward(g, dargs, i, xp), xa, xp, k, chunk_size, bar)
    if isinstance(J, Zero):  # y does not depend on this argument
        return _zero_jacobian(xp, J, xa, m, n)
    return J


def _forward_small(
    g: Callable, dargs: list, xp: Any, chunk_size: Any, budget: Any, name: str
) -> Any:
    """``(y, J)`` from one pass, for one small input on the CPU; else None.

    With at most ``config.cpu_chunk_min`` input elements, ``choose_chunk`` takes them
    all in one chunk on a CPU for any but an enormous output, so the pass that
    gives ``J`` gives ``y`` too, where a first evaluation of ``g`` only to learn
    the size of ``y`` would cost as much again. Not for an explicit chunk size
    or budget (honoured as given), a lazy backend, or a value not on a CPU.
    """
    if len(dargs) != 1 or budget is not None:
        return None
    if chunk_size is not None and (
        type(chunk_size) is not int or chunk_size < config.cpu_chunk_min
    ):
        return None
    xa = E.as_array(dargs[0], xp)
    n = C.size_of(tuple(xa.shape))
    if not 0 < n <= config.cpu_chunk_min or C.one_pass(xa) or not C.on_cpu(xa):
        return None
    seen: dict = {}
    (J,) = forward_jacobian(_pushforward(g, dargs, 0, xp, seen, name), xa, xp, n, chunk_size)
    return seen["y"], J


def _shape_result(J: Any, kind: str | None) -> Any:
    # a scalar argument gets the vector J[k] = dy[k]/dx
    return F.reshape(J, (J.shape[0],)) if kind == "scalar" else J


def _jacobian(
    f: Callable,
    args: tuple,
    mode: str,
    chunk_size: Any,
    budget: Any,
    name: str,
    progress: bool = False,
    wrt: Any = None,
) -> tuple[Any, tuple]:
    E.check_callable(f, name)
    if mode not in _MODES:
        raise ValueError(f"xpgrad.{name}: mode must be one of {_MODES}, got {mode!r}")
    # pytree arguments: one Jacobian per leaf, in the argument's structure (as JAX)
    leaves, tree = E.flatten(args)
    xp = E.common_xp(leaves)
    kinds = []
    chosen = E.chosen_leaves(f, args, wrt, name)
    for a, c in zip(leaves, chosen):
        E.check_leaf(a, name)
        kinds.append(_kind(a, xp) if c else None)
    idx = [i for i, kd in enumerate(kinds) if kd is not None]
    dargs = [leaves[i] for i in idx]

    # g runs once per chunk in forward mode: what it needs is worked out here
    data = [i for i, kd in enumerate(kinds) if kd is None and E.is_array(leaves[i])]
    flat = len(leaves) == len(args) and all(a is b for a, b in zip(leaves, args))

    def g(*ds: Any) -> Any:  # f of the differentiated leaves only; the rest are data
        full = list(leaves)
        for i in data:
            full[i] = E.lift(full[i])
        for i, d in zip(idx, ds):
            full[i] = d
        return f(*full) if flat else f(*E.unflatten(tree, full))

    if not idx:
        return _output(f(*args), xp, name), (None,) * len(args)
    n = sum(C.size_of(tuple(E.as_array(a, xp).shape)) for a in dargs)
    # the matrix products a reverse pass records prove their operands finite for
    # the one-hot basis's check, from their outputs (onehot.witness): the table
    # lives as long as this Jacobian
    seen = onehot.WITNESSES.set({}) if mode != "forward" else None
    try:
        back = None
        small = None  # (y, J) of one small input, from one pass
        if mode == "forward":
            if not progress:
                small = _forward_small(g, dargs, xp, chunk_size, budget, name)
            y = _output(_value(g, dargs, xp) if small is None else small[0], xp, name)
        else:
            y, back = basis_pullback(g, *dargs)
            y = _output(y, xp, name)
        m = C.size_of(tuple(y.shape))
        if mode == "auto" and m >= n:
            back = None  # forward mode: n pushforwards instead of m pullbacks
        bar = C.progress(progress, m if back is not None else n, name, C.one_pass(y))
        try:
            if back is not None:
                Js = _reverse(back, y, dargs, xp, chunk_size, budget, name, bar)
            elif small is not None:
                J = small[1]
                Js = [_zero_jacobian(xp, J, dargs[0], m, n) if isinstance(J, Zero) or m == 0 else J]
            else:
                Js = [
                    _forward_one(g, dargs, j, m, xp, chunk_size, budget, name, bar)
                    for j in range(len(dargs))
                ]
        finally:
            bar.close()
    finally:
        if seen is not None:
            onehot.WITNESSES.reset(seen)
    res: list[Any] = [None] * len(leaves)
    for i, J in zip(idx, Js):
        res[i] = _shape_result(J, kinds[i])
    return y, E.per_argument(tree, owned(res, leaves, xp), chosen, args)


@implicit_mode
def jacobian(
    f: Callable,
    *args: Any,
    mode: str = "auto",
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool = False,
    wrt: Any = None,
) -> tuple | Grads:
    """The Jacobian of ``y = f(*args)`` with respect to each argument.

    For each array argument ``a`` the result holds the matrix
    ``J[k, i] = dy[k] / da[i]`` of shape ``(y.size, a.size)``, where ``y`` and
    ``a`` are flattened in C order (``reshape(a, (-1,))``, the standard's
    order; Zygote.jl flattens column-major, so its matrices of
    multi-dimensional arrays have their columns in a different order). A scalar
    argument (Python number or 0-d array) gives the vector ``J[k] = dy[k]/dx``;
    a scalar ``y`` gives results with one row. Any other argument (strings,
    tuples, booleans, ``None``) gives ``None``, even where ``gradient`` would
    descend into it. An integer argument that the function uses as an axis is
    still differentiated, and gets zeros. Integer inputs to polynomial code give
    integer Jacobians.

    Parameters
    ----------
    f : callable
        Returns an array or a number.
    *args : array, number or pytree
        The point at which to differentiate; or one ``Params`` (implicit
        mode: ``f()`` takes no arguments).
    mode : {"auto", "reverse", "forward"}
        ``"reverse"`` records ``f`` once and maps its pullback over chunks of
        basis cotangents (rows of the identity): ``ceil(y.size / chunk)``
        batched backward passes. ``"forward"`` maps ``jvp`` over chunks of basis
        tangents of each argument: ``ceil(a.size / chunk)`` batched forward
        passes. ``"auto"`` (default) uses reverse mode when ``y`` has fewer
        elements than all the arguments together, forward mode otherwise.
    chunk_size : int, optional
        Basis directions per batched pass. Results are the same for every
        chunk size.
    memory_budget : int, optional
        Bytes one batched pass may use; defaults to
        ``xpgrad.config.memory_budget`` (256 MiB). Without ``chunk_size``, one
        direction is estimated to need ``8 * itemsize * (n_in + n_out)`` bytes
        (``n_in``: elements of the arguments it differentiates, ``n_out``: of
        ``y``; room for about eight tangent or cotangent copies of them), and
        the chunk holds as many directions as fit; on a CPU it is also kept
        to about 4 MiB of basis (at least 32 directions, at most 8 passes),
        so the batched elementwise work runs in cache. A program whose
        intermediates are much larger than its inputs and outputs needs a
        smaller budget or an explicit ``chunk_size``. The result itself comes
        on top of the budget.
    progress : bool, default False
        Show a progress bar (tqdm, which must be installed) counting the basis
        directions done, chunk by chunk. On Dask the loop only builds the
        graph; show the progress of the computation with Dask's diagnostics
        (``dask.diagnostics.ProgressBar``, ``distributed.progress``).
    wrt : int, str or tuple of them, optional
        The arguments to differentiate (positions or parameter names, like
        JAX's ``argnums``); the others are data, lifted to constants of the
        trace, and get ``None``. Default: every argument. Not allowed with
        ``Params``.

    Returns
    -------
    tuple or Grads
        One entry per argument. As in Zygote, an argument that is neither a
        number nor an array (a string, or a container such as a tuple or dict)
        gets ``None``, unless ``wrt`` names it: a container named by ``wrt``
        gets its structure back with one Jacobian per leaf, as JAX gives.
        An array argument ``a`` gets an array of shape ``(y.size, a.size)``
        (``(1, a.size)`` for a scalar ``y``); a scalar argument (a Python
        number or a 0-d array) gets a 1-D array of shape ``(y.size,)``, never
        a Python number. Boolean arguments, and arguments not named by
        ``wrt``, get ``None``. The dtype is the one the rules produce. In
        implicit mode, a ``Grads`` mapping each ``Param`` to its Jacobian.

    Raises
    ------
    ValueError
        If ``f`` returns something other than a numeric array or a number (a
        tuple, a boolean array), ``mode`` is unknown, ``chunk_size`` or
        ``memory_budget`` is not a positive int, or ``wrt`` is empty, out of
        range, names a parameter ``f`` does not have, or one argument twice.
    TypeError
        If ``f`` is not callable, ``wrt`` holds something other than ints and
        strings (or is given with ``Params``), ``progress`` is not a bool, or
        the arrays come from two backends.
    ImportError
        If ``progress=True`` and tqdm is not installed.

    See Also
    --------
    withjacobian : The value and the Jacobians.
    sparse_jacobian : Sparse Jacobians in a few compressed passes.
    hessian : The Jacobian of the gradient.
    vmap : What maps the pullback or pushforward over the basis chunks.
    pullback : One row (a vector-Jacobian product).
    jvp : One column (a Jacobian-vector product).

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> xpgrad.jacobian(lambda a: 100 * a[0:3] ** 2, np.arange(1, 8))[0]
    array([[200,   0,   0,   0,   0,   0,   0],
           [  0, 400,   0,   0,   0,   0,   0],
           [  0,   0, 600,   0,   0,   0,   0]])
    >>> xpgrad.jacobian(lambda a, x: a ** 2 * x, np.array([1, 2, 3]), 1)
    (array([[2, 0, 0],
           [0, 4, 0],
           [0, 0, 6]]), array([1, 4, 9]))
    >>> xpgrad.jacobian(lambda a, s: a ** len(s), np.array([1.0, 2.0]), "str")
    (array([[ 3.,  0.],
           [ 0., 12.]]), None)

    ``wrt`` names the arguments to differentiate; a container it names gets one
    Jacobian per leaf:

    >>> def f(p, x):
    ...     w, b = p
    ...     return w * x + b
    >>> xpgrad.jacobian(f, (np.array([1.0, 2.0]), 3.0), np.array([4.0, 5.0]), wrt="p")
    ((array([[4., 0.],
           [0., 5.]]), array([1., 1.])), None)
    """
    return _jacobian(f, args, mode, chunk_size, memory_budget, "jacobian", progress, wrt)[1]


@implicit_mode
def withjacobian(
    f: Callable,
    *args: Any,
    mode: str = "auto",
    chunk_size: int | None = None,
    memory_budget: int | None = None,
    progress: bool = False,
    wrt: Any = None,
) -> WithJacobian:
    """The value and the Jacobians, as the named tuple ``(val, grad)``.

    ``grad`` is exactly ``jacobian(f, *args)``; the keyword arguments are
    jacobian's. The function is evaluated once more than the Jacobian needs
    only in forward mode (its value comes from the recorded pass otherwise).

    Parameters
    ----------
    f : callable
        Returns an array or a number.
    *args : array, number or pytree
        The point at which to differentiate; or one ``Params`` (implicit
        mode: ``f()`` takes no arguments).
    mode : {"auto", "reverse", "forward"}
        As in ``jacobian``: reverse mode (batched pullbacks over chunks of
        output rows), forward mode (batched pushforwards over chunks of
        argument columns), or ``"auto"`` (default): reverse when ``y`` has
        fewer elements than the differentiated arguments together.
    chunk_size : int, optional
        Basis directions per batched pass, as in ``jacobian``.
    memory_budget : int, optional
        Bytes one batched pass may use, as in ``jacobian``; default
        ``xpgrad.config.memory_budget``.
    progress : bool, default False
        Show a tqdm progress bar over the basis directions, as in ``jacobian``.
    wrt : int, str or tuple of them, optional
        The arguments to differentiate, as in ``jacobian``; the others are data
        and get ``None``. Default: every argument.

    Returns
    -------
    WithJacobian
        The named tuple ``(val, grad)``. ``val`` is ``f(*args)`` (a 0-d result
        comes back as a Python number when every argument leaf is a Python
        number); ``grad`` is the tuple ``jacobian(f, *args)`` returns (shapes
        ``(y.size, a.size)`` for arrays, ``(y.size,)`` for scalars, ``None``
        where nothing is differentiated), or a ``Grads`` in implicit mode.

    Raises
    ------
    ValueError
        As in ``jacobian``: a result that is not a numeric array or a number,
        an unknown ``mode``, a non-positive ``chunk_size`` or ``memory_budget``,
        a bad ``wrt``.
    TypeError
        As in ``jacobian``: ``f`` not callable, ``wrt`` of the wrong type,
        ``progress`` not a bool, two backends.
    ImportError
        If ``progress=True`` and tqdm is not installed.

    See Also
    --------
    jacobian : The Jacobians alone.
    withgradient : The value and the gradient of a scalar.
    WithJacobian : The result type.

    Examples
    --------
    >>> import numpy as np, xpgrad
    >>> val, (J,) = xpgrad.withjacobian(lambda x: x[0] * x, np.array([1, 2, 3]))
    >>> val
    array([1, 2, 3])
    >>> J
    array([[2, 0, 0],
           [2, 1, 0],
           [3, 0, 1]])

    Only the first argument differentiated; the second is data:

    >>> val, grad = xpgrad.withjacobian(lambda x, a: a * x, np.array([1.0, 2.0]), 3.0, wrt=0)
    >>> val
    array([3., 6.])
    >>> grad
    (array([[3., 0.],
           [0., 3.]]), None)
    """
    y, Js = _jacobian(f, args, mode, chunk_size, memory_budget, "withjacobian", progress, wrt)
    xp = E.common_xp(E.flatten(args)[0])
    return WithJacobian(_python_val(y, args, xp), Js)
