"""Install the lowest versions pyproject.toml declares, for `tox -e minimums`.

Reads every ``name>=version`` of ``[project] dependencies`` and of the extras
named on the command line (default: ``test``), and installs exactly
``name==version`` for each, so that the suite then runs on the versions we
promise to support rather than on the newest ones. Packages whose minimum
cannot be installed on this Python are reported and left at pip's choice.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
# test and docs tools whose minimum is not a promise about xpgrad (any version runs
# the suite; matplotlib's oldest declared release predates NumPy 2)
TOOLS = {"pytest", "pytest-xdist", "hypothesis", "sybil", "build", "tqdm", "matplotlib",
         "numpydoc"}


def _section(text: str, header: str) -> str:
    m = re.search(rf"^\[{re.escape(header)}\]\s*$(.*?)(?=^\[)", text, re.S | re.M)
    return m.group(1) if m else ""


def _minimums(block: str) -> dict[str, str]:
    out = {}
    for name, extras, version in re.findall(r'"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([^",;]+)"', block):
        if name not in TOOLS:
            out[name + extras] = version.strip()
    return out


def minimums(extras: list[str]) -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    project = _section(text, "project")
    deps = re.search(r"^dependencies\s*=\s*\[(.*?)\]", project, re.S | re.M)
    found = _minimums(deps.group(1) if deps else "")
    optional = _section(text, "project.optional-dependencies")
    for extra in extras:
        m = re.search(rf"^{re.escape(extra)}\s*=\s*\[(.*?)^\]|^{re.escape(extra)}\s*=\s*\[(.*?)\]",
                      optional, re.S | re.M)
        if m:
            found.update(_minimums(m.group(1) or m.group(2)))
    return found


def main() -> int:
    pins = [f"{name}=={version}" for name, version in minimums(sys.argv[1:] or ["test"]).items()]
    print("installing the declared minimums:", " ".join(pins), flush=True)
    return subprocess.call([sys.executable, "-m", "pip", "install", *pins])


if __name__ == "__main__":
    sys.exit(main())
