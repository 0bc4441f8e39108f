"""MkDocs hooks: put the latest benchmark results into the Performance page.

``python -m benchmarks`` writes ``benchmarks/results/latest.md`` (the tables),
``latest.json`` (the machine, versions and raw numbers) and the plots
(``*.png``). When they exist, the ``<!-- benchmark-results -->`` marker of
``performance.md`` is replaced by them, and the plots are copied into the site;
when they do not, by a note that says how to produce them. Either way the
build is warning-free (``mkdocs build --strict``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
MARKER = "<!-- benchmark-results -->"

PLACEHOLDER = """\
!!! note "No benchmark results in this build"
    `benchmarks/results/` holds no results yet. Generate them (about ten minutes
    on two cores) and rebuild the docs:

    ```bash
    pip install ".[bench]"
    python -m benchmarks                 # writes benchmarks/results/latest.{md,json} and the plots
    mkdocs build --strict
    ```

    `python -m benchmarks --quick` is a smoke test of the same pipeline.
"""


def _pngs() -> list[Path]:
    return sorted(RESULTS.glob("*.png")) if RESULTS.is_dir() else []


def on_files(files: Files, config: Any) -> Files:
    for png in _pngs():
        files.append(File.generated(config, f"performance/{png.name}", abs_src_path=str(png)))
    return files


def _machine(record: dict) -> str:
    m = record.get("machine", {})
    rows = [
        ("created", record.get("created", "?")),
        ("command", f"`{record.get('command', '?').strip()}`"),
        ("processor", f"{m.get('processor', '?')} ({m.get('cpus_usable', '?')} usable CPUs)"),
        ("platform", m.get("platform", "?")),
        ("Python", m.get("python", "?")),
    ]
    rows += [(name, version) for name, version in sorted(m.get("versions", {}).items())]
    body = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"### Machine and versions\n\n| | |\n|---|---|\n{body}\n"


def results_markdown() -> str:
    """The tables, the machine and versions, and the plots; or the placeholder."""
    md = RESULTS / "latest.md"
    if not md.is_file():
        return PLACEHOLDER
    parts = [md.read_text()]
    js = RESULTS / "latest.json"
    if js.is_file():
        parts.append(_machine(json.loads(js.read_text())))
    parts += [f"![{png.stem}](performance/{png.name})" for png in _pngs()]
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, results_markdown())
