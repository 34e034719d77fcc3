#!/usr/bin/env bash
# nst against PyTorch on the same iteration, side by side in one run: for
# each of two rounds, nst_bench_iteration, then bench/torch_reference.py in
# NCHW and in channels_last, one after another (interleaved, so a noisy
# machine slows all of them alike). Prints each one's median ms/iteration
# over the rounds and nst's ratio to the faster PyTorch layout.
#
#   bench/compare_torch.sh SIZE [--optimizer adam|lbfgs] [--threads N]
#
# PyTorch comes from $NST_TORCH_PYTHON (default: the first python3 that
# imports torch among python3 and /usr/bin/python3; Debian's python3-torch
# or a venv with `pip install torch numpy`). nst from $NST_BUILD_DIR (build).
# Both use all cores unless --threads is given, and random weights of
# VGG16's shapes (the cost does not depend on the values).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: bench/compare_torch.sh SIZE [--optimizer adam|lbfgs] [--threads N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
size="$1"; shift
[[ "$size" =~ ^[0-9]+$ ]] || usage
optimizer=adam
threads=0
while [ $# -gt 0 ]; do
  case "$1" in
    --optimizer) optimizer="${2:-}"; shift 2 ;;
    --threads) threads="${2:-}"; shift 2 ;;
    *) usage ;;
  esac
done
[[ "$optimizer" =~ ^(adam|lbfgs)$ ]] || usage
[[ "$threads" =~ ^[0-9]+$ ]] || usage

bench="${NST_BUILD_DIR:-build}/nst_bench_iteration"
[ -x "$bench" ] || { echo "compare_torch: $bench not found; build first (tools/setup.sh)" >&2; exit 1; }
py="${NST_TORCH_PYTHON:-}"
if [ -z "$py" ]; then
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import torch' 2>/dev/null; then py="$candidate"; break; fi
  done
fi
[ -n "$py" ] || { echo "compare_torch: no python3 imports torch; set NST_TORCH_PYTHON (apt-get install python3-torch, or pip install torch numpy in a venv)" >&2; exit 1; }
nthreads="$threads"
[ "$threads" -gt 0 ] || nthreads="$(nproc)"

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for round in 1 2; do
  echo "compare_torch: round $round/2 at ${size}px, $optimizer, $nthreads thread(s)" >&2
  "$bench" --image-size "$size" --optimizer "$optimizer" --threads "$nthreads" --benchmark_format=json 2>/dev/null |
    "$py" -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]
if b.get("error_occurred"): sys.exit("compare_torch: nst: " + b.get("error_message", "failed"))
print(json.dumps({"who": "nst", "ms": b["real_time"]}))' >>"$results"
  for layout in nchw channels_last; do
    OMP_NUM_THREADS="$nthreads" "$py" bench/torch_reference.py --image-size "$size" --optimizer "$optimizer" \
      --threads "$nthreads" --layout "$layout" |
      "$py" -c 'import json,sys; r=json.load(sys.stdin)
print(json.dumps({"who": "torch " + r["version"] + " " + r["layout"], "ms": r["median_ms"]}))' >>"$results"
  done
done

"$py" - "$results" "$size" "$optimizer" "$nthreads" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ms = {}
for r in rows:
    ms.setdefault(r["who"], []).append(r["ms"])
median = {who: statistics.median(v) for who, v in ms.items()}
torch_best = min((who for who in median if who.startswith("torch")), key=median.get)
print(f"{sys.argv[2]} px, {sys.argv[3]}, {sys.argv[4]} thread(s), median ms/iteration of 2 rounds:")
for who, m in median.items():
    print(f"  {who:32s} {m:9.1f}   rounds: {', '.join(f'{v:.1f}' for v in ms[who])}")
print(f"  nst / {torch_best}: {median['nst'] / median[torch_best]:.2f}")
EOF
