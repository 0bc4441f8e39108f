#!/usr/bin/env bash
# The GPU run's first stage (stages.py calls it): installs the carried wheels and
# xpgrad offline into the folder $1, which the later stages put on PYTHONPATH.
# The device's own packages (numpy, torch, cupy, jax, pytest ...) stay as they are.
set -euo pipefail
cd "$(dirname "$0")/../.."
site=$1
py=${PYTHON:-python3}
pipi=("$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade
      --target "$site")
"${pipi[@]}" benchmarks/gpu/wheels/deps/*.whl
# xpgrad from the carried source tree (the code as it is now); the wheel built by
# fetch_wheels.sh only if the device's setuptools cannot build it
if ! "${pipi[@]}" --no-build-isolation . ; then
  echo "install.sh: building xpgrad from the tree failed; installing the carried wheel"
  "${pipi[@]}" benchmarks/gpu/wheels/self/xpgrad-*.whl
fi
PYTHONPATH="$site" "$py" - <<'PY'
import importlib.metadata as md
import xpgrad, xpgrad.backends as B
print("xpgrad", xpgrad.__version__, "from", xpgrad.__file__)
print("backends:", sorted(B.available()))
for name in ("array-api-compat", "optree", "array-api-strict", "dask", "distributed", "sybil"):
    print(f"  {name} {md.version(name)}")
PY
