"""The engine imports no array library: everything goes through the Array API."""

from __future__ import annotations

import pathlib
import re

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "xpgrad"
BANNED = ("numpy", "cupy", "dask", "torch", "jax", "array_api_strict", "autograd")
PATTERN = re.compile(r"^\s*(import|from)\s+(" + "|".join(BANNED) + r")\b", re.M)


def test_engine_imports_no_backend_library() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert files, "no engine sources found"
    offenders = []
    for path in files:
        text = path.read_text()
        for m in PATTERN.finditer(text):
            line = text[: m.start()].count("\n") + 1
            offenders.append(f"{path.relative_to(SRC)}:{line}: {m.group(0).strip()}")
    assert not offenders, "backend imports in the engine:\n" + "\n".join(offenders)


def test_the_check_itself_catches_an_import(tmp_path: pathlib.Path) -> None:
    # guard against a pattern that can never match
    assert PATTERN.search("import numpy as np\n")
    assert PATTERN.search("    from dask import array\n")
    assert not PATTERN.search("import numpydoc\n")
