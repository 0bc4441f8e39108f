"""The machinery of the ecosystem suite: which functions each library documents as
Array-API-supported, the sample calls we try them with, and the checks.

A *template* is a sample call: it builds the arguments on a backend and says which
of them are differentiated (the others are data, passed with ``wrt=``). The loss
``sum(w * f(...))`` (over every float output, real and imaginary parts, with a
fixed random ``w``) is differentiated by xpgrad and compared with a central
difference in a random direction: ``grad . v`` against
``(L(x + h v) - L(x - h v)) / 2h``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import xpgrad

if os.environ.get("SCIPY_ARRAY_API") != "1":
    raise ImportError("set SCIPY_ARRAY_API=1 before SciPy is imported (the root conftest does)")

# -- the libraries' own lists ------------------------------------------------------------


def _public_name(f: Any) -> str:
    """``scipy.special.expit``, ``scipy.spatial.transform.Rotation.from_quat``: the name
    under the first public package that exports the object."""
    mod = getattr(f, "__module__", None) or ""
    qual = getattr(f, "__qualname__", None) or getattr(f, "__name__", repr(f))
    parts = mod.split(".")
    for i in range(1, len(parts) + 1):
        pkg = ".".join(parts[:i])
        if any(p.startswith("_") for p in parts[1:i]):
            break
        try:
            m = importlib.import_module(pkg)
        except ImportError:
            break
        head = qual.split(".")[0]
        if getattr(m, head, None) is not None and i >= 2:
            return f"{pkg}.{qual}"
    return f"{mod}.{qual}"


@functools.cache
def scipy_functions() -> dict[str, Callable]:
    """SciPy's ``xp_capabilities_table`` (every function it declares Array API support
    for), less the ``np_only`` and ``out_of_scope`` entries."""
    import scipy

    for sub in (
        "cluster",
        "constants",
        "differentiate",
        "fft",
        "integrate",
        "interpolate",
        "linalg",
        "ndimage",
        "optimize",
        "optimize.elementwise",
        "signal",
        "signal.windows",
        "spatial",
        "spatial.transform",
        "special",
        "stats",
    ):
        importlib.import_module(f"scipy.{sub}")
    from scipy._lib._array_api import xp_capabilities_table

    out = {}
    for f, caps in xp_capabilities_table.items():
        if caps.get("np_only") or caps.get("out_of_scope"):
            continue
        out[_public_name(f)] = f
    del scipy
    return dict(sorted(out.items()))


@functools.cache
def xpx_functions() -> dict[str, Callable]:
    """array-api-extra's public functions (``__all__``)."""
    import array_api_extra as xpx

    return {
        f"array_api_extra.{n}": getattr(xpx, n)
        for n in xpx.__all__
        if callable(getattr(xpx, n)) and not n.startswith("_")
    }


@functools.cache
def einops_functions() -> dict[str, Callable]:
    """einops' Array API module: its public functions."""
    import inspect

    import einops.array_api as ea

    return {
        f"einops.array_api.{n}": f
        for n, f in vars(ea).items()
        if inspect.isfunction(f) and not n.startswith("_") and f.__module__.startswith("einops")
    }


@functools.cache
def sklearn_functions() -> dict[str, Any]:
    """scikit-learn's Array API support: the estimators tagged ``array_api_support``
    and the metrics its own test suite runs on Array API inputs
    (``sklearn/metrics/tests/test_common.py: array_api_metric_checkers``, the list the
    documentation page is written from)."""
    from sklearn.utils import all_estimators
    from sklearn.utils._tags import get_tags

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cls in all_estimators():
            try:
                tags = get_tags(cls())
            except Exception:
                continue
            if tags.array_api_support:
                out[f"sklearn.{cls.__module__.split('.')[1]}.{name}"] = cls
    for f in _sklearn_metric_checkers():
        out[_public_name(f)] = f
    return dict(sorted(out.items()))


def _sklearn_metric_checkers() -> list[Callable]:
    """The keys of ``array_api_metric_checkers``, read from the test module's source (it
    cannot be imported under our pytest: it uses markers of scikit-learn's own config)."""
    import ast
    import pathlib

    import sklearn.metrics
    import sklearn.metrics.pairwise

    src = pathlib.Path(sklearn.metrics.__file__).parent / "tests" / "test_common.py"
    tree = ast.parse(src.read_text())
    names: list[str] = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", None) == "array_api_metric_checkers"
            and isinstance(node.value, ast.Dict)
        ):
            for key in node.value.keys:
                if isinstance(key, ast.Call):  # partial(metric, ...)
                    key = key.args[0]
                if isinstance(key, ast.Name) and key.id not in names:
                    names.append(key.id)
    if not names:
        raise LookupError(f"array_api_metric_checkers not found in {src}")
    mods = (sklearn.metrics, sklearn.metrics.pairwise)
    return [next(getattr(m, n) for m in mods if hasattr(m, n)) for n in names]


LIBRARIES: dict[str, Callable[[], dict[str, Any]]] = {
    "scipy": scipy_functions,
    "sklearn": sklearn_functions,
    "array_api_extra": xpx_functions,
    "einops": einops_functions,
}


def resolve(name: str) -> Any:
    """The object of a listed name."""
    return LIBRARIES[name.split(".")[0]]()[name]


def target(name: str, template: str) -> tuple[Callable, Template]:
    """The function called and its sample call, for a classified name."""
    obj = resolve(name)
    if template == "custom":
        from custom_calls import CUSTOM

        tpl = CUSTOM[name]
        assert tpl.via is not None
        return tpl.via(obj), tpl
    return as_callable(obj), TEMPLATES[template]


def as_callable(obj: Any) -> Callable:
    """Estimator classes become a function of (X, y): fit, then the continuous output
    (transform, decision_function, predict_proba or predict)."""
    if not isinstance(obj, type):
        return obj

    def fit_apply(X: Any, y: Any = None) -> Any:
        est = obj()
        if "random_state" in est.get_params():
            est.set_params(random_state=0)  # the same function at every evaluation
        if hasattr(est, "transform") and not hasattr(est, "predict"):
            return est.fit(X, y).transform(X)
        est.fit(X, y)
        for m in ("decision_function", "predict_proba", "predict"):
            if hasattr(est, m):
                return getattr(est, m)(X)
        raise TypeError(f"{obj.__name__} has no continuous output")

    return fit_apply


# -- backends ---------------------------------------------------------------------------


def backend(name: str) -> Any:
    if name == "numpy":
        return np
    import array_api_strict

    return array_api_strict


BACKENDS = ("numpy", "strict")

# -- sample calls -------------------------------------------------------------------------


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _u(shape: tuple[int, ...], lo: float = 0.2, hi: float = 0.8, seed: int = 0) -> np.ndarray:
    return _rng(seed).uniform(lo, hi, size=shape)


def _labels() -> np.ndarray:
    return np.array([0, 1, 2, 1, 0, 2, 1, 0])


def _probs() -> np.ndarray:
    p = _u((8, 3), 0.1, 1.0, seed=3)
    return p / p.sum(axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True)
class Template:
    """A sample call: ``args(xp)`` builds the arguments; ``wrt`` are the differentiated
    positions; ``kwargs`` are fixed keyword arguments; ``via`` adapts the call (methods,
    estimators)."""

    name: str
    make: Callable[[], tuple]
    wrt: tuple[int, ...]
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    via: Callable[[Any], Callable] | None = None  # listed object -> the function called

    def args(self, xp: Any) -> tuple:
        return tuple(xp.asarray(a) if isinstance(a, np.ndarray) else a for a in self.make())


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in [
        Template("x", lambda: (_u((6,)),), (0,)),
        Template("x24", lambda: (_u((24,), 0.2, 3.0),), (0,)),
        Template("X", lambda: (_u((4, 4)),), (0,)),
        Template("x,y", lambda: (_u((6,)), _u((6,), seed=1)), (0, 1)),
        Template("X,Y", lambda: (_u((4, 4)), _u((4, 4), seed=1)), (0, 1)),
        Template("X,Y35", lambda: (_u((5, 3)), _u((4, 3), seed=1)), (0, 1)),
        Template("X35", lambda: (_u((5, 3)),), (0,)),
        Template("d,x", lambda: (_u((6,), seed=2), _u((6,))), (1,)),
        Template("lab,P", lambda: (_labels(), _probs()), (1,)),
        Template("X,lab", lambda: (_u((8, 3)), _labels()), (0,)),
        Template("n,s", lambda: (8, np.asarray(0.5)), (1,)),
        Template("s", lambda: (np.asarray(0.5),), (0,)),
        Template("x,s", lambda: (_u((6,)), np.asarray(0.5)), (0, 1)),
        Template("X,s", lambda: (_u((4, 4)), np.asarray(0.5)), (0, 1)),
        Template("x,y,z", lambda: (_u((6,)), _u((6,), seed=1), _u((6,), seed=2)), (0, 1, 2)),
        Template("x,n", lambda: (_u((6,)), 3), (0,)),
        Template("n,s,s", lambda: (8, np.asarray(0.5), np.asarray(1.5)), (1, 2)),
        # no float input: the result cannot depend on a differentiable argument
        Template("lab,lab", lambda: (_labels(), _labels()[::-1].copy()), ()),
        Template("lab", lambda: (_labels(),), ()),
        Template("n", lambda: (8,), ()),
    ]
}

# -- calling, the loss and the check -------------------------------------------------------


def leaves(res: Any) -> list:
    """The array (or number) outputs of a call, in order: tuples, lists, named results
    and dict-like results are searched."""
    if isinstance(res, (tuple, list)):
        return [l for r in res for l in leaves(r)]
    if isinstance(res, Mapping):
        return [l for r in res.values() for l in leaves(r)]
    if hasattr(res, "__array_namespace__") or isinstance(res, (int, float, complex, np.generic)):
        return [res]
    return []


def _float_kind(a: Any) -> str | None:
    """'real', 'complex' or None (integer, boolean, not numeric)."""
    dt = getattr(a, "dtype", None)
    if dt is None:
        if isinstance(a, bool):
            return None
        return "complex" if isinstance(a, complex) else "real" if isinstance(a, float) else None
    s = str(dt)
    return "complex" if "complex" in s else "real" if "float" in s else None


def call(f: Callable, tpl: Template, args: tuple) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **tpl.kwargs)


def _weights(shape: tuple, seed: int) -> np.ndarray:
    return _rng(100 + seed).standard_normal(shape)


def make_loss(f: Callable, tpl: Template, shapes: list[tuple], xp: Any) -> Callable:
    """``sum_i sum(w_i * leaf_i)`` over the float outputs (real and imaginary parts)."""
    ws = [xp.asarray(_weights(s, i)) for i, s in enumerate(shapes)]

    def loss(*args: Any) -> Any:
        total = 0.0
        outs = [l for l in leaves(call(f, tpl, args)) if _float_kind(l)]
        for i, (o, w) in enumerate(zip(outs, ws)):
            if not hasattr(o, "__array_namespace__"):  # a Python number
                total = total + float(w) * o
                continue
            # the weights enter through the output's namespace: a constant of the trace
            # (array-api-strict refuses `strict_array * tracer`)
            ns = o.__array_namespace__()
            w = ns.asarray(w)
            if _float_kind(o) == "complex":
                w2 = ns.asarray(xp.asarray(_weights(tuple(w.shape), 50 + i)))
                total = total + ns.sum(ns.real(o) * w) + ns.sum(ns.imag(o) * w2)
            else:
                total = total + ns.sum(o * w)
        return total

    return loss


def output_shapes(f: Callable, tpl: Template, args: tuple) -> list[tuple] | None:
    """The float outputs' shapes, or None when there are none (integer/boolean results)."""
    outs = leaves(call(f, tpl, args))
    fl = [o for o in outs if _float_kind(o)]
    if not fl:
        return None
    return [tuple(getattr(o, "shape", ())) for o in fl]


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy copy of a NumPy or array-api-strict array (or number)."""
    if isinstance(a, (np.ndarray, np.generic, int, float, complex)):
        return np.asarray(a)
    return np.from_dlpack(a)


@dataclasses.dataclass
class Outcome:
    status: str  # "ok", "zero" (zero derivative both ways), "nondiff", "mismatch", "error"
    detail: str = ""


def check(f: Callable, tpl: Template, backend_name: str, *, rtol: float = 1e-4) -> Outcome:
    """Differentiate ``sum(w * f(...))`` with xpgrad and compare with central differences
    in a random direction. Raises what xpgrad raises."""
    xp = backend(backend_name)
    args = tpl.args(xp)
    shapes = output_shapes(f, tpl, args)
    if shapes is None:
        return Outcome("nondiff", "integer or boolean output")
    if not tpl.wrt:
        return Outcome("nondiff", "no float argument (integers or labels only)")
    loss = make_loss(f, tpl, shapes, xp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grads = xpgrad.gradient(loss, *args, wrt=tpl.wrt)
    rng = _rng(7)
    dirs = {i: rng.standard_normal(np.shape(to_numpy(args[i]))) for i in tpl.wrt}
    h = 1e-6

    def shifted(s: float) -> float:
        a = list(args)
        for i, v in dirs.items():
            a[i] = xp.asarray(to_numpy(args[i]) + s * h * v)
        return float(to_numpy(loss(*a)))

    fd = (shifted(1.0) - shifted(-1.0)) / (2 * h)
    ad = 0.0
    for i, v in dirs.items():
        g = grads[i]
        if g is None:
            continue
        ad += float(np.sum(to_numpy(g) * v))
    scale = max(abs(fd), abs(ad), 1.0)
    if not (math.isfinite(fd) and math.isfinite(ad)):
        return Outcome("mismatch", f"not finite: fd={fd}, ad={ad}")
    if abs(fd - ad) > rtol * scale:
        return Outcome("mismatch", f"fd={fd!r} ad={ad!r}")
    if fd == 0.0 and ad == 0.0:
        return Outcome("zero", "zero derivative (piecewise constant)")
    return Outcome("ok", f"fd={fd:.6g} ad={ad:.6g}")
