#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, with clang, ASan and UBSan) into
# build-fuzz/ and runs each from the committed seed corpus:
#   tools/fuzz.sh [SECONDS] [TARGET ...]      (default: 60 s, image weights)
# New corpus units and crash artifacts go to build-fuzz/run/<target>/, never
# into the source tree. Each target first replays fuzz/regressions/<target>.
#
# A crash is triaged by its stack: one whose innermost frame outside the
# sanitizer runtime and libc is in libhdf5 is a bug of Debian's HDF5 1.10
# on a corrupt file (see fuzz/README.md), counted and kept but not failed;
# any other crash, leak, UB report, timeout or out-of-memory fails, with the
# report and the input named. An artifact that does not fail again when
# replayed alone (a leak of an earlier input, say) is kept and listed but
# not counted. Exit status: 0 when nothing of ours was found.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(image weights pth); fi

CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

export TMPDIR="${TMPDIR:-/dev/shm}"  # fuzz_weights writes each input to a file there
[ -w "$TMPDIR" ] || export TMPDIR=/tmp

# is_upstream REPORT: whether the crash's innermost frame of interest is in
# libhdf5. Frames of the sanitizer runtime, its interceptors (malloc, memcpy,
# strdup, ...) and libFuzzer sit in the fuzz binary without a source line
# (nst's own code has one: it is built with -g), or in libc.
is_upstream() {
  grep -E '^ +#[0-9]+ ' "$1" |
    grep -vE '/fuzz_[a-z]+\+0x[0-9a-f]+\)|libc\.so|sysdeps/|libstdc\+\+' |
    head -1 | grep -q 'libhdf5'
}

status=0
for t in "${targets[@]}"; do
  bin="build-fuzz/fuzz_$t"
  run="build-fuzz/run/$t"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp fuzz/corpus/"$t"/* "$run/corpus/"
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    "$bin" fuzz/regressions/"$t"/* >"$run/regressions.log" 2>&1 ||
      { echo "fuzz: $t: a committed regression input fails again:"; tail -40 "$run/regressions.log"; exit 1; }
  fi
  echo "fuzz: $t for ${seconds} s"
  # Fork mode with -ignore_*: a libhdf5 crash or hang does not end the run;
  # each leaves an artifact, triaged below.
  "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=10 -rss_limit_mb=2048 \
    -max_total_time="$seconds" -artifact_prefix="$run/artifacts/" \
    "$run/corpus" >"$run/fuzz.log" 2>&1 || true
  execs=$(grep -oE '^#[0-9]+' "$run/fuzz.log" | tail -1 | tr -d '#')
  if [ "${execs:-0}" -eq 0 ]; then
    echo "fuzz: $t did not run:"; tail -20 "$run/fuzz.log"; exit 1
  fi
  ours=0
  upstream=0
  unreproduced=0
  for a in "$run"/artifacts/*; do
    [[ -e "$a" && "$a" != *.report ]] || continue
    if "$bin" -timeout=10 -rss_limit_mb=2048 "$a" >"$a.report" 2>&1; then
      unreproduced=$((unreproduced + 1))
      echo "fuzz: $t: $a did not fail again when replayed alone (kept, not counted)"
    elif is_upstream "$a.report"; then
      upstream=$((upstream + 1))
    else
      ours=$((ours + 1))
      echo "fuzz: $t: FINDING $a"
      grep -E 'ERROR|SUMMARY|runtime error|^ +#[0-9]+ ' "$a.report" | head -20
    fi
  done
  echo "fuzz: $t: $execs executions in ${seconds} s, corpus $(ls "$run/corpus" | wc -l) units," \
       "$ours finding(s) of ours, $upstream in libhdf5 (upstream), $unreproduced unreproduced"
  if [ "$ours" -ne 0 ]; then status=1; fi
done
exit $status
