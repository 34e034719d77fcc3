#!/usr/bin/env bash
# Builds nst into build-asan/ with AddressSanitizer and UndefinedBehavior-
# Sanitizer on every C/C++ file (stb compiled from source so that its
# decoders are instrumented too; CPU only, no benchmarks) and runs the whole
# test suite there. Any sanitizer report aborts the test that caused it.
#   tools/sanitize.sh [ctest args]     e.g. tools/sanitize.sh -R Image
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release \
  -DNST_SANITIZE=address,undefined -DNST_WITH_CUDA=OFF -DNST_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)"
# Leaks are findings too; a report names its allocation with a full stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
ctest --test-dir build-asan --output-on-failure -j"$(nproc)" "$@"
