#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: build for that GPU, run
# every test (the CUDA ones run on the device instead of skipping), then
# the benchmarks, writing JSON and a short table to ${OUT:-bench/out}.
#   bench/gpu_check.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-bench/out}"
mkdir -p "$out"
build="${NST_BUILD_DIR:-build-gpu}"

arch=""
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv | tee "$out/gpu.csv"
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
else
  echo "gpu_check: nvidia-smi not found; building and running the CPU parts only" >&2
fi

NST_BUILD_DIR="$build" NST_CUDA_ARCHS="${arch:-90}" tools/setup.sh "$@"

status=0
ctest --test-dir "$build" --output-on-failure -j4 2>&1 | tee "$out/ctest.txt" || status=1

"$build/nst_bench_ops" --benchmark_min_time=0.2 --benchmark_format=json --benchmark_out="$out/ops.json" \
  --benchmark_out_format=json | tee "$out/ops.txt" || status=1
for device in cpu cuda; do
  "$build/nst_bench_iteration" --device "$device" --image-size 256,512 --benchmark_out="$out/iteration_$device.json" \
    --benchmark_out_format=json | tee "$out/iteration_$device.txt" || status=1
done
echo "gpu_check: results in $out (status $status)"
exit $status
