#!/usr/bin/env bash
# Pictures and their scores on real weights: runs build/nst on every
# pairing of the shared content and style images, then build/nst-score on
# each result, and prints one line per pairing (and a JSON line per run to
# OUT/scores.jsonl). Extra arguments go to nst, e.g.
#   bench/quality.sh OUT --image-size 256 --iterations 300
# NST_EXT=jpg writes JPEGs (the gallery in docs/ is made that way).
# Needs ../shared/weights/hed_vgg16_notop.h5 and ../shared/images.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: bench/quality.sh OUTDIR [nst options...]}"
shift
shared="${NST_SHARED:-../shared}"
weights="$shared/weights/hed_vgg16_notop.h5"
[ -f "$weights" ] || { echo "quality: no $weights" >&2; exit 1; }
mkdir -p "$out"
contents=(${NST_CONTENTS:-tubingen golden_gate})
styles=(${NST_STYLES:-starry_night the_scream})
for c in "${contents[@]}"; do
  for s in "${styles[@]}"; do
    png="$out/${c}_${s}.${NST_EXT:-png}"
    start=$SECONDS
    build/nst --weights "$weights" --content "$shared/images/$c.jpg" --style "$shared/images/$s.jpg" \
      --output "$png" --print-every 0 "$@" 2> "$out/${c}_${s}.log"
    secs=$((SECONDS - start))
    score=$(build/nst-score --weights "$weights" --output "$png" --content "$shared/images/$c.jpg" \
      --style "$shared/images/$s.jpg" --json)
    echo "{\"content\":\"$c\",\"style\":\"$s\",\"seconds\":$secs,\"args\":\"$*\",\"score\":$score}" >> "$out/scores.jsonl"
    printf '%-12s %-13s %s  (%d s)\n' "$c" "$s" "$(echo "$score" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("style ratio %.4f  edge correlation %.3f" % (d["style_ratio"], d["edge_correlation"]))')" "$secs"
  done
done
