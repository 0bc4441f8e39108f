"""The distributions: ``python -m build`` gives an sdist and a wheel that install in a
fresh virtual environment and pass a smoke test; every extra resolves.

One slow test (minutes: it builds, creates a venv and installs from PyPI). It
needs the ``build`` package and network access to PyPI, and is skipped without
them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMOKE = textwrap.dedent(
    """
    import array_api_compat, numpy as np, xpgrad, xpgrad.backends as B

    def loss(w, x):
        xp = array_api_compat.array_namespace(w)
        return xp.sum(xp.tanh(x @ w) ** 2)

    w, x = np.array([0.5, -0.25, 1.0]), np.arange(6.0).reshape(2, 3)
    (g,) = xpgrad.gradient(lambda w: loss(w, x), w)
    t = np.tanh(x @ w)
    assert np.allclose(g, x.T @ (2 * t * (1 - t**2))), g      # by hand
    assert "numpy" in B.available() and "dask" in B.available(), B.available()

    import dask.array as da
    (J,) = xpgrad.jacobian(lambda v: v ** 2, da.arange(4.0, chunks=2))
    assert np.array_equal(J.compute(), np.diag(2 * np.arange(4.0)))
    print("smoke ok", xpgrad.__version__, xpgrad.__file__)
    """
)

EXTRAS = ("dask", "torch", "cupy", "strict", "progress", "bench", "docs", "lint", "test")


def run(cmd: list, cwd: Path | None = None, timeout: int = 900) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


@pytest.mark.slow
def test_sdist_and_wheel_install_and_work_in_a_fresh_venv(tmp_path: Path) -> None:
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    try:
        run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", dist, ROOT])
    except AssertionError as e:
        if "Could not fetch" in str(e) or "Network is unreachable" in str(e):
            pytest.skip("no network access to PyPI for the isolated build")
        raise
    (wheel,) = dist.glob("xpgrad-*.whl")
    (sdist,) = dist.glob("xpgrad-*.tar.gz")

    # the wheel holds the engine, its type marker and the in-tree backend plugins
    names = set(zipfile.ZipFile(wheel).namelist())
    for want in (
        "xpgrad/__init__.py",
        "xpgrad/py.typed",
        "xpgrad/_core/trace.py",
        "xpgrad_numpy/__init__.py",
        "xpgrad_dask/__init__.py",
    ):
        assert want in names, f"{want} missing from {wheel.name}"
    meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(meta).decode()
    assert "[xpgrad.backends]" in entry_points and "numpy = xpgrad_numpy" in entry_points
    # the sdist holds what a rebuild and the tests need
    members = {m.split("/", 1)[1] for m in tarfile.open(sdist).getnames() if "/" in m}
    for want in (
        "pyproject.toml",
        "README.md",
        "src/xpgrad/__init__.py",
        "backends/xpgrad_numpy/__init__.py",
    ):
        assert want in members, f"{want} missing from {sdist.name}"

    # a fresh environment, with nothing from this one
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[dask]"])
    out = run([py, "-c", SMOKE], cwd=tmp_path)
    assert "smoke ok 0.1.0" in out and str(venv) in out, out  # the installed copy, not src/
    info = run([py, "-m", "xpgrad", "info"], cwd=tmp_path)
    assert "numpy" in info and "'lazy': True" in info, info
    run([py, "-m", "xpgrad"], cwd=tmp_path)  # the demonstration checks itself

    # every extra resolves (pip's resolver, without installing the large ones)
    report = run(
        [
            py,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "-q",
            "--disable-pip-version-check",
            "--ignore-installed",
            f"{wheel}[{','.join(EXTRAS)}]",
        ],
        cwd=tmp_path,
    )
    assert "ERROR" not in report, report


def test_wheel_metadata_has_license_urls_and_classifiers_and_builds_without_warnings(
    tmp_path: Path,
) -> None:
    """The metadata a package index shows (issue 18): an SPDX license expression with its
    file, project URLs and classifiers; and setuptools has nothing to deprecate."""
    pytest.importorskip("build")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    p = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path, ROOT],
        capture_output=True, text=True, timeout=600, env=env,
    )
    log = p.stdout + p.stderr
    if p.returncode != 0 and ("Could not fetch" in log or "Network is unreachable" in log):
        pytest.skip("no network access to PyPI for the isolated build")
    assert p.returncode == 0, log
    for noise in ("Deprecat", "SetuptoolsWarning", "is deprecated"):
        assert noise not in log, f"the build warns:\n{log}"
    (wheel,) = tmp_path.glob("xpgrad-*.whl")
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")))
        licenses = [n for n in z.namelist() if ".dist-info/licenses/" in n]
    fields = [ln.split(": ", 1) for ln in meta.decode().split("\n\n", 1)[0].splitlines()]
    by_key: dict[str, list[str]] = {}
    for k, v in (f for f in fields if len(f) == 2):
        by_key.setdefault(k, []).append(v)
    assert by_key["License-Expression"] == ["MIT"]
    assert by_key["License-File"] == ["LICENSE"] and licenses, licenses
    urls = dict(u.split(", ", 1) for u in by_key["Project-URL"])
    assert {"Documentation", "Source", "Issues"} <= set(urls), urls
    classifiers = by_key["Classifier"]
    assert "Typing :: Typed" in classifiers and any("Python :: 3.10" in c for c in classifiers)
    # with a license expression, License :: classifiers are an error in newer setuptools
    assert not any(c.startswith("License ::") for c in classifiers)
