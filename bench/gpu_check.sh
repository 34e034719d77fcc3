#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: build for that GPU, run
# every test (the CUDA ones run on the device instead of skipping), then
# the benchmarks, writing JSON and a short table to ${OUT:-bench/out}:
#   gpu.csv                     nvidia-smi: name, driver, memory, compute capability
#   ctest.txt                   the test run
#   ops.json                    nst_bench_ops (CPU kernels)
#   cuda_kernels.json           nst_bench_cuda (custom vs cuDNN/cuBLAS kernels, 512 px shapes)
#   iteration_cuda_<conv>_<gram>.json   nst_bench_iteration --device cuda, 512 and 1024 px,
#                               for conv {cudnn,custom} x gram {cublas,custom}
#   iteration_cpu.json          nst_bench_iteration --device cpu, 256 and 512 px
#   cuda_memory.txt             bench/cuda_memory_check.sh: the --dry-run estimate
#                               against the device memory runs hold, 512 and 1024 px
#   summary.txt                 bench/summarize.py's tables (also printed)
# A failing step is reported and the others still run; the exit status is
# non-zero if any step failed.
#   bench/gpu_check.sh [extra cmake args]
# Environment: OUT, NST_BUILD_DIR (default build-gpu), NST_BENCH_MIN_TIME
# (seconds per kernel benchmark, default 0.1), NST_STEP_TIMEOUT (seconds
# per step, default 3600).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out="${OUT:-bench/out}"
mkdir -p "$out"
build="${NST_BUILD_DIR:-build-gpu}"
min_time="${NST_BENCH_MIN_TIME:-0.1}"
step_timeout="${NST_STEP_TIMEOUT:-3600}"

# No stale results from an earlier run in the tables.
rm -f "$out"/cuda_kernels.json "$out"/iteration_*.json "$out"/ops.json "$out"/summary.txt

failed=()
# step NAME LOG COMMAND...: runs COMMAND with its output shown and kept in
# LOG, and records NAME as failed when it exits non-zero (or times out).
step() {
  local name="$1" log="$2"
  shift 2
  echo "gpu_check: == $name"
  if [ ! -x "$1" ] && ! command -v "$1" >/dev/null 2>&1; then
    echo "gpu_check: $name: $1 was not built" | tee "$log"
    failed+=("$name")
    return
  fi
  timeout "$step_timeout" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "gpu_check: $name failed (exit $rc)"
    failed+=("$name")
  fi
}

have_gpu=0
arch=""
if command -v nvidia-smi >/dev/null 2>&1 &&
   nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv | tee "$out/gpu.csv"; then
  have_gpu=1
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
else
  echo "gpu_check: no usable nvidia-smi; building and running the CPU parts only" >&2
fi

echo "gpu_check: == build (tools/setup.sh, sm ${arch:-90})"
if ! NST_BUILD_DIR="$build" NST_CUDA_ARCHS="${arch:-90}" tools/setup.sh "$@" 2>&1 | tee "$out/build.txt"; then
  echo "gpu_check: build failed; running whatever was built"
  failed+=("build")
fi

step ctest "$out/ctest.txt" ctest --test-dir "$build" --output-on-failure -j4

step bench_ops "$out/ops.txt" "$build/nst_bench_ops" --benchmark_min_time=0.2 \
  --benchmark_out="$out/ops.json" --benchmark_out_format=json

if [ "$have_gpu" = 1 ]; then
  step bench_cuda "$out/cuda_kernels.txt" "$build/nst_bench_cuda" --benchmark_min_time="$min_time" \
    --benchmark_out="$out/cuda_kernels.json" --benchmark_out_format=json
  for conv in cudnn custom; do
    for gram in cublas custom; do
      step "iteration_cuda_${conv}_${gram}" "$out/iteration_cuda_${conv}_${gram}.txt" \
        "$build/nst_bench_iteration" --device cuda --conv-algo "$conv" --gram-algo "$gram" --image-size 512,1024 \
        --benchmark_out="$out/iteration_cuda_${conv}_${gram}.json" --benchmark_out_format=json
    done
  done
  step cuda_memory "$out/cuda_memory_log.txt" bench/cuda_memory_check.sh "$build" "$out/cuda_memory.txt"
fi
step iteration_cpu "$out/iteration_cpu.txt" "$build/nst_bench_iteration" --device cpu --image-size 256,512 \
  --benchmark_out="$out/iteration_cpu.json" --benchmark_out_format=json

step summary "$out/summary.txt" python3 bench/summarize.py "$out"

if [ "${#failed[@]}" -ne 0 ]; then
  echo "gpu_check: results in $out; FAILED: ${failed[*]}"
  exit 1
fi
echo "gpu_check: results in $out; every step passed"
