"""Run the gallery at full size and record what each example prints.

    python docs/gallery/_run.py [name ...]

Each example writes its figure to ``docs/gallery/figures/<name>.png``; this
script also writes its output to ``figures/<name>.txt``, which the example's
page includes. Rerun it after changing an example, and commit both files.
(The tests run the same examples on small sizes, XPGRAD_GALLERY_SMALL=1.)
"""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Examples that need a library beyond the test extra: skipped without it.
REQUIRES = {"gpu_cupy": "cupy"}


def examples() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))


def main(names: list[str]) -> int:
    (HERE / "figures").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "XPGRAD_GALLERY_SMALL"}
    for script in examples():
        if names and script.stem not in names:
            continue
        need = REQUIRES.get(script.stem)
        if need and importlib.util.find_spec(need) is None:
            print(f"{script.name}: skipped, needs {need}")
            continue
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
        took = time.perf_counter() - t0
        print(f"{script.name}: exit {p.returncode} in {took:.0f} s", flush=True)
        if p.returncode != 0:
            print(p.stdout + p.stderr)
            return 1
        (HERE / "figures" / f"{script.stem}.txt").write_text(p.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
