"""Test-suite settings: hypothesis profiles (a fast one for CI), and SciPy's Array API
mode for the real-library suite (tests/ecosystem)."""

from __future__ import annotations

import os

# SciPy and scikit-learn read SCIPY_ARRAY_API when SciPy is first imported, so it is set
# here, before any test module (or xdist worker, which loads this file too) imports
# them. For NumPy inputs, which is all the rest of the suite gives SciPy, the mode
# changes nothing; an explicit SCIPY_ARRAY_API=0 is respected (the ecosystem suite then
# skips itself).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
