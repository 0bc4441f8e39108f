"""Coverage of the standard, generated from its names (array-api-strict's ``__all__``).

Every public name of the standard (top level, ``linalg.*``, ``fft.*``) must be
an attribute of xpgrad's traced namespace and be classified: a differentiable
primitive, a non-differentiable primitive, a pass-through taken from the backend
(dtypes, constants, creation from shapes, inspection), a composite written with
other primitives, or an entry of ``xpgrad.rules._registry.NOT_YET`` with the
reason. A new name in a later revision of the standard fails here until it is
placed.
"""

from __future__ import annotations

import inspect

import array_api_compat.numpy as cnp
import array_api_strict
import pytest

import xpgrad  # noqa: F401  (registers the rules)
from xpgrad._core.namespace import _CREATION, _FFT_CREATION, _PASSTHROUGH, traced_namespace
from xpgrad.rules import NAMESPACE, PRIMITIVES
from xpgrad.rules._registry import NOT_YET

# array-api-strict's own extras, not names of the standard
STRICT_ONLY = {
    "ArrayAPIStrictFlags", "Device", "set_array_api_strict_flags",
    "get_array_api_strict_flags", "reset_array_api_strict_flags", "__version__",
}

SUBMODULES = {"linalg", "fft"}

# Taken as they are from the backend, or answered from dtypes alone.
PASS_THROUGH = (
    set(_PASSTHROUGH) | set(_CREATION) | {f"fft.{n}" for n in _FFT_CREATION}
    | {"__array_api_version__", "result_type"}
)

# Functions of the traced namespace written with other primitives: their
# derivatives (and batching) come from those, so they need no rules of their own.
COMPOSITE = {
    "asarray": "the identity on a tracer; stack for nested sequences of tracers",
    "broadcast_arrays": "broadcast_to on each argument",
    "meshgrid": "reshape and broadcast_to",
    "clip": "the clip_scalar primitive (Python-number bounds), else maximum/minimum",
    "diff": "getitem (slicing) and subtract; concat for prepend/append",
    "linalg.matmul": "the top-level matmul primitive",
    "linalg.matrix_transpose": "the top-level matrix_transpose primitive",
    "linalg.tensordot": "the top-level tensordot primitive",
    "linalg.vecdot": "the top-level vecdot primitive",
}


# New in 2025.12 but missing from array-api-strict 2.6's (static) linalg.__all__,
# although it implements them at that version.
NEW_IN_2025_12 = ["linalg.eig", "linalg.eigvals"]


def standard_names() -> list[str]:
    top = [n for n in array_api_strict.__all__ if n not in STRICT_ONLY]
    names = (top + [f"linalg.{n}" for n in array_api_strict.linalg.__all__]
             + [f"fft.{n}" for n in array_api_strict.fft.__all__])
    return names + [n for n in NEW_IN_2025_12 if n not in names]


NAMES = standard_names()
TRACED = traced_namespace(cnp)

_MISSING = object()


def _lookup(root: object, name: str) -> object:
    obj = root
    for part in name.split("."):
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return _MISSING
    return obj


def classify(name: str) -> str | None:
    """The class of a standard name in xpgrad, or None if it is unplaced."""
    if name in NOT_YET:
        return "not yet"
    prim = PRIMITIVES.get(name)
    if prim is not None:
        return "differentiable" if prim.differentiable else "non-differentiable"
    if name in PASS_THROUGH:
        return "pass-through"
    if name in COMPOSITE:
        return "composite"
    if name in SUBMODULES:
        return "namespace"
    return None


def test_the_standard_names_are_found() -> None:
    assert len(NAMES) > 180, "array-api-strict's __all__ lists fewer names than expected"
    assert {"take", "linalg.svd", "fft.rfft", "unique_all"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_name_is_in_the_traced_namespace(name: str) -> None:
    if name in NOT_YET:
        pytest.skip(f"not yet: {NOT_YET[name]}")
    assert _lookup(TRACED, name) is not _MISSING, (
        f"{name!r} of the standard is missing from xpgrad's traced namespace; register a "
        f"primitive for it, or add it to xpgrad.rules._registry.NOT_YET with the reason"
    )


@pytest.mark.parametrize("name", NAMES)
def test_name_is_classified(name: str) -> None:
    assert classify(name) is not None, (
        f"{name!r} is in the traced namespace but unclassified: make it a primitive, list "
        f"it in this file's PASS_THROUGH or COMPOSITE, or add it to NOT_YET with the reason"
    )


def test_not_yet_entries_are_standard_names_with_reasons() -> None:
    for name, reason in NOT_YET.items():
        assert name in NAMES, f"NOT_YET lists {name!r}, which is not a name of the standard"
        assert isinstance(reason, str) and reason.strip(), f"NOT_YET[{name!r}] has no reason"


def test_composites_are_exported_functions_not_primitives() -> None:
    for name in COMPOSITE:
        assert name not in PRIMITIVES, f"{name!r} is a primitive now: drop it from COMPOSITE"
        assert name in NAMESPACE or name in ("asarray", "broadcast_arrays", "meshgrid"), name


# The chapters whose functions are exported wrappers with the standard's exact
# signatures (the remaining names are checked by the official array-api-tests run).
SIGNATURE_CHECKED = [
    "take", "take_along_axis", "argmax", "argmin", "nonzero", "count_nonzero",
    "searchsorted", "sort", "argsort", "unique_all", "unique_counts", "unique_inverse",
    "unique_values", "all", "any", "diff", "isin",
]


def _params(fn: object) -> list:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", SIGNATURE_CHECKED)
def test_signature_is_the_standards(name: str) -> None:
    assert _params(_lookup(TRACED, name)) == _params(_lookup(array_api_strict, name))


# -- the special-function extension (not in the standard; SciPy looks it up) -----------
from xpgrad.rules.special import SPECIAL_NAMES  # noqa: E402

SPECIAL_ALIASES = {"psi": "digamma"}


@pytest.mark.parametrize("name", SPECIAL_NAMES)
def test_special_function_is_a_checked_primitive(name: str) -> None:
    """Each special function is a differentiable primitive with samples, so that
    conformance/test_rules.py checks it at orders 1 and 2 on every backend offering it."""
    prim = PRIMITIVES.get(f"special.{SPECIAL_ALIASES.get(name, name)}")
    assert prim is not None and prim.differentiable and prim.samples is not None, name
    assert f"special.{name}" in NAMESPACE
