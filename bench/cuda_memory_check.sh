#!/usr/bin/env bash
# The cuda memory estimate (`nst --dry-run --device cuda`) against the
# device memory a run really holds, as tests/cli/test_memory_estimate.cpp
# does on the cpu: each run's peak of nvidia-smi's memory.used (sampled
# every 50 ms) above a 32 px run's (the CUDA context and libraries' own
# memory, which the estimate leaves out), against the estimate's growth
# over the same 32 px run. Two sizes, both conv algorithms.
#   bench/cuda_memory_check.sh BUILD_DIR [OUT_FILE]
# (random weights: what a run holds does not depend on their values)
# Prints a table (and writes it to OUT_FILE); exits non-zero when a run
# fails or an estimate is more than 10 % below what was measured (the
# cuDNN estimate counts cuDNN's workspace at its limit, so it may be above).
set -uo pipefail
build="$1"
table="${2:-/dev/null}"
content="$(dirname "$0")/../tests/data/images/progressive.jpg"
nst="$build/nst"
common=(--weights random --content "$content" --style "$content" --device cuda --iterations 2)

# estimate SIZE ALGO: the dry run's peak in bytes.
estimate() {
  "$nst" "${common[@]}" --image-size "$1" --scales "$1" --conv-algo "$2" --output /tmp/cuda_memory_check.png --dry-run |
    sed -n 's/^peak .* MB (\([0-9]*\) bytes).*/\1/p'
}

# measure SIZE ALGO: the peak memory.used in bytes while the run lasts.
measure() {
  local samples
  samples=$(mktemp)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 50 >"$samples" &
  local smi=$!
  sleep 0.5
  "$nst" "${common[@]}" --image-size "$1" --scales "$1" --conv-algo "$2" --output /tmp/cuda_memory_check.png >/dev/null 2>&1
  local rc=$?
  sleep 0.3
  kill "$smi" 2>/dev/null
  wait "$smi" 2>/dev/null
  [ "$rc" -eq 0 ] || { echo "FAILED"; rm -f "$samples"; return; }
  sort -n "$samples" | tail -1 | awk '{ printf "%d\n", $1 * 1048576 }'
  rm -f "$samples"
}

status=0
rows=$(mktemp)
{
  printf "| conv | size | estimate growth | measured growth | error |\n|---|---|---|---|---|\n"
  for algo in custom cudnn; do
    base_e=$(estimate 32 "$algo")
    base_m=$(measure 32 "$algo")
    for size in 512 1024; do
      e=$(estimate "$size" "$algo")
      m=$(measure "$size" "$algo")
      if [ -z "$e" ] || [ "$m" = FAILED ] || [ "$base_m" = FAILED ]; then
        printf "| %s | %s | %s | %s | run failed |\n" "$algo" "$size" "${e:-?}" "$m"
        status=1
        continue
      fi
      awk -v a="$algo" -v s="$size" -v e="$((e - base_e))" -v m="$((m - base_m))" 'BEGIN {
        printf "| %s | %s px | %.1f MB | %.1f MB | %+.1f %% |\n", a, s, e / 1048576, m / 1048576, 100 * (e - m) / m }'
      if [ "$((10 * (e - base_e)))" -lt "$((9 * (m - base_m)))" ]; then status=1; fi
    done
  done
} >"$rows"
cat "$rows"
cp "$rows" "$table" 2>/dev/null
rm -f "$rows"
exit "$status"
