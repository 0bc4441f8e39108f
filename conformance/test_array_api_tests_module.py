"""The module the official suite runs on (array_api_tests_module/xpgrad_traced.py).

The official suite itself lives outside the repository (conformance/
run_array_api_tests.sh); these checks make sure the module keeps testing xpgrad:
its creation functions give tracers and every result stays traced.
"""

from __future__ import annotations

import inspect
import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).parent


def _run(code: str) -> str:
    # a subprocess: the module opens a trace for the whole session it is imported in
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=HERE / "array_api_tests_module", timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_creation_functions_give_tracers_and_results_stay_traced() -> None:
    got = _run(
        "import xpgrad_traced as m\n"
        "xp = m.xp\n"
        "a = xp.arange(4, dtype=xp.float64)\n"
        "vals = [a, xp.zeros(3), xp.asarray([1, 2]), xp.fft.fftfreq(4), xp.sin(a) + 1,\n"
        "        xp.fft.rfft(a), xp.linalg.vector_norm(a), a[1:], xp.sum(a > 1),\n"
        "        xp.meshgrid(a, a)[0], xp.sort(a)]\n"
        "print(all(type(v) is m.BoxTracer for v in vals), a.__array_namespace__() is xp,\n"
        "      float(xp.sum(a)))\n"
    )
    assert got == "True True 6.0"


def test_the_namespace_has_the_standards_signatures() -> None:
    import xpgrad  # noqa: F401
    from xpgrad.rules import NAMESPACE

    sig = inspect.signature(NAMESPACE["fft.rfftn"])
    assert list(sig.parameters) == ["x", "s", "axes", "norm"]
    sig = inspect.signature(NAMESPACE["full_like"])
    assert list(sig.parameters) == ["x", "fill_value", "dtype", "device"]
    assert np.isclose(NAMESPACE["where"](np.array([True]), np.array([1.0]), 2.0)[0], 1.0)
