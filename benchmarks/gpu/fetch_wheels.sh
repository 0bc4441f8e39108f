#!/usr/bin/env bash
# Run here (a machine with PyPI), before the GPU run: downloads the wheels the GPU
# machine lacks (wheels.txt) for CPython 3.12 on x86-64 Linux into
# benchmarks/gpu/wheels/deps, and builds xpgrad itself into benchmarks/gpu/wheels/self.
# The folder is ignored by git and travels with the `run` tool's `carry` list:
#
#   bash benchmarks/gpu/fetch_wheels.sh
#   run(command="bash benchmarks/gpu/run.sh", carry=["benchmarks/gpu/wheels"], timeout_s=600)
#
# PYTHON names the interpreter whose pip downloads (default: python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=benchmarks/gpu/wheels
py=${PYTHON:-python3}
rm -rf "$dest"
mkdir -p "$dest/deps" "$dest/self"
# pip matches manylinux tags exactly: name the common ones; --no-deps because the
# list is closed by hand (the device has the rest, see device_packages.txt)
reqs=$(sed 's/#.*//' benchmarks/gpu/wheels.txt | tr -s ' \n' ' ')
# shellcheck disable=SC2086
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d "$dest/deps" $reqs
# xpgrad as a pure-Python wheel: run.sh installs from the carried source tree first
# (the code as it is then) and falls back to this wheel if the device cannot build
# (pip builds in the tree: a stale build/ would put deleted modules into the wheel)
rm -rf build
"$py" -m pip wheel -q --no-deps -w "$dest/self" .
rm -rf build
ls -l "$dest/deps" "$dest/self"
du -sh "$dest"
