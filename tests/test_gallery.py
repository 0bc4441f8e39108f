"""The example gallery (docs/gallery/): every example runs, on small sizes, in under a minute.

Each example is a script that checks its own results (derivatives against finite
differences, formulas or the sibling mode) and fails if they disagree; here it
runs alone in a fresh interpreter with ``XPGRAD_GALLERY_SMALL=1``, and must write
its figure. The pages embed the figures and outputs of the full-size run
(``python docs/gallery/_run.py``), which must therefore exist and belong to an
example that still exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "docs" / "gallery"
SCRIPTS = sorted(p for p in GALLERY.glob("*.py") if not p.name.startswith("_"))

#: Libraries an example needs beyond the test extra: it is skipped without them.
REQUIRES = {
    "bratu": ("matplotlib", "scipy"),
    "dask_cluster": ("matplotlib", "dask", "distributed"),
    "ode_sensitivity": ("matplotlib",),
    "laplace": ("matplotlib",),
    "backends": ("matplotlib",),
    "scipy_fit": ("matplotlib", "scipy", "sklearn"),
    "gpu_cupy": ("matplotlib", "cupy"),
}
#: Examples whose page says they are pending: their full-size output is not recorded yet.
PENDING = {"gpu_cupy": "not yet run on a GPU"}
#: The time an example may take on small sizes (issue 18: under a minute on 2 cores).
BUDGET_S = 60.0


def test_every_example_declares_what_it_needs() -> None:
    assert {p.stem for p in SCRIPTS} == set(REQUIRES)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs_alone_on_small_sizes(script: Path, tmp_path: Path) -> None:
    for mod in REQUIRES[script.stem]:
        pytest.importorskip(mod, reason=f"the {script.stem} example needs {mod}")
    if script.stem == "gpu_cupy":
        cupy = pytest.importorskip("cupy")
        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("no CUDA device")
    env = dict(os.environ, XPGRAD_GALLERY_SMALL="1", XPGRAD_GALLERY_FIGURES=str(tmp_path))
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # an example must not depend on (or write to) the current folder
        env=env,
        capture_output=True,
        text=True,
        timeout=4 * BUDGET_S,
    )
    took = time.perf_counter() - t0
    assert p.returncode == 0, f"{script.name} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}"
    assert (tmp_path / f"{script.stem}.png").is_file(), f"{script.name} wrote no figure"
    assert sorted(f.name for f in tmp_path.iterdir()) == [f"{script.stem}.png"]
    assert took < BUDGET_S, f"{script.name} took {took:.0f} s on small sizes"


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_each_example_has_a_page_with_its_recorded_run(script: Path) -> None:
    page = GALLERY / f"{script.stem}.md"
    if script.stem == "gpu_cupy":
        page = GALLERY / "gpu.md"
    text = page.read_text()
    assert f'--8<-- "docs/gallery/{script.name}"' in text, f"{page.name} does not show the script"
    if script.stem in PENDING:
        assert "Pending" in text
        return
    assert f"](figures/{script.stem}.png)" in text
    assert f'--8<-- "docs/gallery/figures/{script.stem}.txt"' in text
    for recorded in (f"{script.stem}.png", f"{script.stem}.txt"):
        f = GALLERY / "figures" / recorded
        assert f.is_file() and f.stat().st_size > 0, (
            f"run python docs/gallery/_run.py {script.stem}"
        )


def test_the_figures_folder_holds_only_recorded_runs() -> None:
    stems = {p.stem for p in SCRIPTS}
    strays = [f.name for f in (GALLERY / "figures").iterdir() if f.stem not in stems]
    assert not strays, f"figures of examples that no longer exist: {strays}"


def test_gallery_pages_are_in_the_site_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in GALLERY.glob("*.md"))
    missing = [p for p in pages if not re.search(rf"\bgallery/{re.escape(p)}\b", nav)]
    assert not missing, f"gallery pages missing from mkdocs.yml's nav: {missing}"
