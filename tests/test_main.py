"""The command line, ``python -m xpgrad`` (src/xpgrad/__main__.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest

import xpgrad
from xpgrad import __main__ as cli


def run(*args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xpgrad", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )


def test_help_exits_zero_and_names_the_commands() -> None:
    p = run("--help")
    assert p.returncode == 0, p.stderr
    assert "usage: python -m xpgrad" in p.stdout
    assert "demo" in p.stdout and "info" in p.stdout


def test_version_exits_zero() -> None:
    p = run("--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"xpgrad {xpgrad.__version__}"


def test_an_unknown_command_is_a_usage_error() -> None:
    p = run("infoo")
    assert p.returncode == 2
    assert "invalid choice: 'infoo'" in p.stderr


def test_info_into_a_closed_pipe_ends_quietly() -> None:
    # what `python -m xpgrad info | head -0` does: the reader is gone before the first write
    r, w = os.pipe()
    os.close(r)
    try:
        p = run("info", stdout=w)
    finally:
        os.close(w)
    assert p.returncode == 0
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr


def test_info_lists_installed_backends(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"xpgrad {xpgrad.__version__}" in out
    assert f"numpy              {metadata.version('numpy')}" in out


def test_info_finds_cupy_under_its_wheel_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # CuPy is installed as cupy-cuda12x, cupy-cuda13x, ...: there is no distribution "cupy"
    real_version = metadata.version

    def version(dist: str) -> str:
        if dist == "cupy-cuda13x":
            return "14.0.0"
        if dist == "cupy":
            raise metadata.PackageNotFoundError(dist)
        return real_version(dist)

    dists = dict(metadata.packages_distributions(), cupy=["cupy-cuda13x"])
    monkeypatch.setattr(metadata, "version", version)
    monkeypatch.setattr(metadata, "packages_distributions", lambda: dists)
    cli.info()
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("cupy ")]
    assert line.split(None, 1)[1] == "14.0.0 (cupy-cuda13x)"


def test_info_says_not_installed(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(cli, "INFO_PACKAGES", ("no_such_module_xyz",))
    cli.info()
    assert "no-such-module-xyz (not installed)" in " ".join(capsys.readouterr().out.split())
