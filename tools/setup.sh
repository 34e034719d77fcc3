#!/usr/bin/env bash
# Installs the dependencies (tools/install_deps.sh), configures and builds
# nst into ./build (or $NST_BUILD_DIR). Extra arguments go to CMake, e.g.
#   tools/setup.sh -DNST_CUDA_ARCHS=90
# Re-running it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh
build="${NST_BUILD_DIR:-build}"
cmake_args=(-S . -B "$build" -DCMAKE_BUILD_TYPE="${NST_BUILD_TYPE:-Release}")
if [ -n "${NST_CUDA_ARCHS:-}" ]; then cmake_args+=("-DNST_CUDA_ARCHS=${NST_CUDA_ARCHS}"); fi
cmake "${cmake_args[@]}" "$@"
cmake --build "$build" -j"$(nproc)"
echo "setup: built into $build/ (nst, nst-weights, tests, benchmarks)"
