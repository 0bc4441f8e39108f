"""Code quality gates run by the test command: lint, format, types, the docs build.

Each runs the project's own configuration (pyproject.toml, mkdocs.yml) and is
skipped only when the tool is not installed (the `lint` and `docs` extras).
"""

from __future__ import annotations

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _tool(module: str) -> None:
    pytest.importorskip(module)


def test_ruff_lint() -> None:
    _tool("ruff")
    r = _run(sys.executable, "-m", "ruff", "check", "src", "backends")
    assert r.returncode == 0, r.stdout + r.stderr


def test_layers_hold() -> None:
    # _core < rules < api (issue 15): the contract is in pyproject.toml
    pytest.importorskip("importlinter")
    r = _run(sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
             "lint_imports_command()")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 kept, 0 broken" in r.stdout


def test_ruff_format() -> None:
    _tool("ruff")
    r = _run(sys.executable, "-m", "ruff", "format", "--check", "src", "backends")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_is_clean() -> None:
    _tool("mypy")
    r = _run(sys.executable, "-m", "mypy")
    assert r.returncode == 0, r.stdout + r.stderr


def test_docs_build_strict(tmp_path: pathlib.Path) -> None:
    _tool("mkdocs")
    _tool("mkdocstrings")
    if shutil.which("git") is None:  # pragma: no cover - mkdocs plugins may call git
        pytest.skip("git is not installed")
    r = _run(sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (tmp_path / "index.html").exists()


def test_extend_exports_everything_the_builtin_rules_use() -> None:
    # issue 15: "built-in rules use nothing users cannot" -- every name a rules
    # module imports from the registry is importable from xpgrad.extend
    import ast

    import xpgrad.extend as X

    used = set()
    for f in (ROOT / "src" / "xpgrad" / "rules").glob("*.py"):
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and (n.module or "").endswith("_registry"):
                used.update(a.name for a in n.names)
    assert used and not used - set(dir(X)), sorted(used - set(dir(X)))


def test_no_engine_import_inside_a_function() -> None:
    # an import of an xpgrad module inside a function body only hides a cycle
    # between modules (the layers test cannot see it); optional third-party
    # libraries (scipy.sparse, inspect) may still be imported where used
    src = pathlib.Path(__file__).resolve().parents[1] / "src" / "xpgrad"
    found = []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (
                    node.level > 0 or (node.module or "").split(".")[0] == "xpgrad"
                ):
                    found.append(f"{path.relative_to(src)}:{node.lineno} in {fn.name}")
                elif isinstance(node, ast.Import) and any(
                    a.name.split(".")[0] == "xpgrad" for a in node.names
                ):
                    found.append(f"{path.relative_to(src)}:{node.lineno} in {fn.name}")
    assert not found, "imports of xpgrad modules inside functions:\n" + "\n".join(found)
