#!/usr/bin/env bash
# The GPU check in one command (at most 8 minutes): installs the carried wheels,
# prints the device and library versions, runs tests/test_cupy.py, docs/gpu.md's
# examples, the rule conformance on CuPy and on torch CUDA tensors, the GPU
# benchmarks and Dask with CuPy chunks; everything lands in $OUT (./gpu-out here).
#
#   bash benchmarks/gpu/fetch_wheels.sh          # first, here, with PyPI
#   bash benchmarks/gpu/run.sh                   # on the GPU machine (carry benchmarks/gpu/wheels)
#   bash benchmarks/gpu/run.sh --dry-run         # the same flow on the CPU, tiny sizes
#   bash benchmarks/gpu/run.sh --only bench      # some stages (see --help)
#
# PYTHON names the interpreter (default: python3, the one that has torch there).
cd "$(dirname "$0")/../.." || exit 2
export PYTHON=${PYTHON:-python3}
exec "$PYTHON" -m benchmarks.gpu.stages "$@"
