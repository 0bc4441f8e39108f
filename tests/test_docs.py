"""The documentation cannot drift: every example in it runs here.

- Every fenced ``python`` block of every Markdown page under ``docs/`` (and of
  README.md) is executed with Sybil, page by page, in order, in one namespace
  per page; blocks that start with ``>>>`` are doctests and their output is
  compared. Pages that need an optional library are skipped without it.
- Every docstring example (``>>>``) of every module of ``src/xpgrad`` runs
  with doctest, module by module.
- Every public name has an API-reference entry and a runnable example.

Rules registered by an example (``xpgrad.extend``, ``custom_rule``) are
removed again after its page or module, so the registry the other tests see
is the built-in one.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import subprocess
import sys
import types
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xpgrad
import xpgrad.backends as B
from xpgrad._core import tables

sybil = pytest.importorskip("sybil")
from sybil.evaluators.doctest import OutputChecker  # noqa: E402
from sybil.parsers.markdown import (  # noqa: E402
    ClearNamespaceParser,
    PythonCodeBlockParser,
    SkipParser,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: Pages that need optional libraries: skipped (with the reason) where missing.
REQUIRES: dict[str, tuple[str, ...]] = {
    "docs/getting-started.md": ("dask", "distributed", "array_api_strict"),
    "docs/dask.md": ("dask", "distributed"),
    "docs/rules.md": ("array_api_strict",),
    "docs/backends.md": ("array_api_strict",),
    "docs/pitfalls.md": ("array_api_strict",),
    "docs/api/sparse.md": ("scipy",),
    "docs/jit.md": ("scipy",),
    "docs/ecosystem.md": ("scipy", "sklearn", "array_api_extra", "einops", "array_api_strict"),
}
#: Pages that start worker processes (a LocalCluster): tens of seconds on a busy machine.
SLOW = {"docs/dask.md"}

PAGES = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]


def _page_id(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Undo rules, exports and adapters that an example registers."""
    adapters = dict(B.available())
    budget = xpgrad.config.memory_budget
    errstate = np.geterr()  # a page may np.seterr() for its NaN examples
    try:
        with tables.saved():  # rules and exports an example registers
            yield
    finally:
        for name in set(B.available()) - set(adapters):
            B.unregister(name)
        xpgrad.config.memory_budget = budget
        np.seterr(**errstate)


class _Checker(OutputChecker):
    """Compares what a reader sees, not what changes between versions of a library.

    - A Dask array's repr names the last operation of its graph
      (``dask.array<transpose, shape=...``), which depends on how xpgrad and Dask
      build the graph: the pages show the real name, and any name matches it.
    - A line redrawn with carriage returns (a progress bar) is compared as a
      terminal shows it: the text after its last ``\\r``.
    """

    _DASK_NAME = re.compile(r"dask\.array<[\w-]+,")
    _REDRAWN = re.compile(r"^[^\n]*\r", re.MULTILINE)

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        want = self._DASK_NAME.sub("dask.array<...,", want)
        got = self._REDRAWN.sub("", self._DASK_NAME.sub("dask.array<...,", got))
        return super().check_output(want, got, optionflags)


def _parsers() -> list:
    python = PythonCodeBlockParser(doctest_optionflags=FLAGS)
    python.doctest_parser.evaluator.runner._checker = _Checker()
    return [python, SkipParser(), ClearNamespaceParser()]


_SYBIL = sybil.Sybil(parsers=_parsers())


def _marks(p: Path) -> list:
    return [pytest.mark.slow] if _page_id(p) in SLOW else []


@pytest.mark.parametrize("page", [pytest.param(p, id=_page_id(p), marks=_marks(p)) for p in PAGES])
def test_page_examples_run(
    page: Path, clean_registry: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for mod in REQUIRES.get(_page_id(page), ()):
        pytest.importorskip(mod, reason=f"{_page_id(page)} needs {mod}")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    document = _SYBIL.parse(page)
    # scripts on the pages guard their entry point, as scripts must for Dask's
    # worker processes: run it
    document.namespace["__name__"] = "__main__"
    skipped: dict[str, list[int]] = {}
    ran = 0
    for example in document:
        try:
            example.evaluate()
            ran += 1
        except unittest.SkipTest as e:  # inside <!-- skip: start if(...) -->
            skipped.setdefault(str(e), []).append(example.line)
    if skipped:  # the examples that ran passed; say which did not run, and why
        why = "; ".join(
            f"{reason} (lines {lines[0]}-{lines[-1]})" for reason, lines in skipped.items()
        )
        pytest.skip(
            f"{_page_id(page)}: {ran} examples passed, {sum(map(len, skipped.values()))} "
            f"skipped: {why}"
        )


_SCRIPT = re.compile(r"^```python\n(?!>>>)(.*?)^```", re.MULTILINE | re.DOTALL)


def _scripts() -> list:
    """The Python blocks of the pages that are whole scripts (they guard an entry point)."""
    out = []
    for page in PAGES:
        for m in _SCRIPT.finditer(page.read_text()):
            if 'if __name__ == "__main__":' in m.group(1):
                line = page.read_text().count("\n", 0, m.start()) + 2
                out.append(pytest.param(page, m.group(1), id=f"{_page_id(page)}:{line}"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("page", "source"), _scripts())
def test_scripts_on_the_pages_run_alone(page: Path, source: str, tmp_path: Path) -> None:
    """A block that claims to be a script runs when pasted into a file of its own: in a
    fresh interpreter, with its own imports only (and worker processes that re-import it)."""
    for mod in REQUIRES.get(_page_id(page), ()):
        pytest.importorskip(mod, reason=f"{_page_id(page)} needs {mod}")
    script = tmp_path / "script.py"
    script.write_text(source)
    p = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, f"{_page_id(page)}: the script fails alone:\n{p.stderr[-3000:]}"


# -- docstrings ---------------------------------------------------------------------------


def _modules() -> list[str]:
    """The modules of src/xpgrad that have docstring examples."""
    names = ["xpgrad"] + [
        m.name
        for m in pkgutil.walk_packages(xpgrad.__path__, "xpgrad.")
        if not m.name.endswith("__main__")
    ]
    finder = doctest.DocTestFinder(exclude_empty=True)
    return sorted(
        n for n in names if any(t.examples for t in finder.find(importlib.import_module(n), n))
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str, clean_registry: None) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in finder.find(module, name) if t.examples]
    report: list[str] = []
    for t in tests:
        runner.run(t, out=report.append)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, "".join(report)


# -- every public name is documented, with an example ----------------------------------------


def _public_names() -> list[str]:
    """``module.name`` for every public name of the user-facing modules."""
    import xpgrad.extend
    import xpgrad.optimisers
    import xpgrad.testing

    out = [f"xpgrad.{n}" for n in xpgrad.__all__]
    for mod in (xpgrad.optimisers, xpgrad.testing, B):
        out += [f"{mod.__name__}.{n}" for n in mod.__all__]
    out += [
        f"xpgrad.extend.{n}"
        for n in dir(xpgrad.extend)
        if not n.startswith("_") and not isinstance(getattr(xpgrad.extend, n), types.ModuleType)
    ]
    return sorted(set(out))


_DIRECTIVE = re.compile(r"^::: *([\w.]+)", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _reference() -> dict[str, str]:
    """Each ``::: name`` entry of the API pages, with the Python examples that follow it
    under the same heading (so one example may serve a group of entries)."""
    out: dict[str, str] = {}
    for page in sorted((DOCS / "api").glob("*.md")):
        for segment in _HEADING.split(page.read_text()):
            for m in _DIRECTIVE.finditer(segment):
                blocks = _PYTHON_BLOCK.finditer(segment, m.end())
                out[m.group(1)] = "\n".join(b.group(1) for b in blocks)
    return out


def _resolve(dotted: str) -> Any:
    mod, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(mod), attr)


# Names the reference documents under their defining module (instances, constants).
_ALIASES = {
    "xpgrad.config": "xpgrad._core.config.Config",
    "xpgrad.optimisers": "xpgrad.api.optimisers",
}


def test_every_public_name_is_in_the_reference_with_an_example() -> None:
    sections = _reference()
    documented = {id(_resolve(n)): n for n in sections if not n.startswith("xpgrad.backends.")}
    missing, no_example = [], []
    for name in _public_names():
        key = _ALIASES.get(name, name)
        obj = _resolve(name)
        section = sections.get(key)
        if section is None and not isinstance(obj, (str, int, dict, types.SimpleNamespace)):
            section = sections.get(documented.get(id(obj), ""))
        if section is None:
            missing.append(name)
            continue
        short = name.rsplit(".", 1)[1]
        doc = getattr(_resolve(key), "__doc__", None) or ""
        own_doc = not isinstance(obj, (str, int, dict, types.SimpleNamespace))
        has_example = (own_doc and ">>>" in doc) or bool(re.search(rf"\b{short}\b", section))
        if not has_example:
            no_example.append(name)
    assert not missing, f"public names missing from docs/api/*.md: {missing}"
    assert not no_example, (
        f"public names without a runnable example (in the docstring, or in a Python block after "
        f"the ::: entry under the same heading): "
        f"{no_example}"
    )


# -- numpydoc sections of every public name ---------------------------------------------------

#: The numpydoc validation checks that matter for a reference: a docstring, every parameter
#: documented (and none that does not exist) with a description, a Returns section for
#: functions, and an Examples section.
NUMPYDOC_CHECKS = {
    "GL08": "no docstring",
    "PR01": "parameters not documented",
    "PR02": "unknown parameters documented",
    "PR07": "a parameter has no description",
    "RT01": "no Returns section",
    "EX01": "no Examples section",
}

#: Names whose sections are written elsewhere, each with the reason; remove a name when done.
NUMPYDOC_PENDING: dict[str, str] = {}


def _validated_names() -> list:
    out = []
    for name in _public_names():
        if name.startswith("xpgrad.backends."):
            continue  # the plugin interface: documented on its page (api/backends.md)
        obj = _resolve(_ALIASES.get(name, name))
        if isinstance(obj, types.ModuleType) or not callable(obj):
            continue  # a module, a registry dict, a namespace: documented on its page
        marks = []
        if name in NUMPYDOC_PENDING:
            marks = [pytest.mark.xfail(reason=NUMPYDOC_PENDING[name], strict=False)]
        out.append(pytest.param(name, id=name, marks=marks))
    return out


@pytest.mark.parametrize("name", _validated_names())
def test_public_docstring_has_numpydoc_sections(name: str) -> None:
    validate = pytest.importorskip("numpydoc.validate").validate
    obj = _resolve(_ALIASES.get(name, name))  # a function or a class, where it is defined
    result = validate(f"{obj.__module__}.{obj.__qualname__}")
    errors = [
        f"{code} ({NUMPYDOC_CHECKS[code]}): {msg}"
        for code, msg in result["errors"]
        if code in NUMPYDOC_CHECKS
    ]
    assert not errors, f"{name}:\n  " + "\n  ".join(errors)
