#!/usr/bin/env bash
# Checks the installed package the way an embedding program uses it:
# installs build/ (or $NST_BUILD_DIR) into a fresh prefix, builds
# examples/embed against it twice (CMake find_package(nst), and pkg-config
# nst), runs both on a small image with random full-size VGG16 weights made
# by the installed nst-weights, and checks that the package does not point
# back into the source or build tree. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
build="${NST_BUILD_DIR:-build}"
work="$root/$build/embed-check"
prefix="$work/prefix"
rm -rf "$work"
mkdir -p "$work"

echo "embed_check: installing $build/ into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in "$prefix/bin/nst" "$prefix/bin/nst-weights" "$prefix/bin/nst-score" "$prefix/include/nst/nst.hpp" \
         "$prefix/lib/cmake/nst/nstConfig.cmake" "$prefix/lib/cmake/nst/nstConfigVersion.cmake" \
         "$prefix/lib/pkgconfig/nst.pc" "$prefix/lib/libnst.a"; do
  [ -e "$f" ] || { echo "embed_check: the install lacks $f" >&2; exit 1; }
done
# Internal headers stay internal: only the public API is installed.
if ls "$prefix/include" | grep -qv '^nst$'; then
  echo "embed_check: internal headers were installed: $(ls -R "$prefix/include")" >&2
  exit 1
fi
if grep -rl -e "$root/engine" -e "$root/kernels" -e "$root/$build" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then
  echo "embed_check: the package above points into the source or build tree" >&2
  exit 1
fi

echo "embed_check: building examples/embed with find_package(nst)"
cmake -S examples/embed -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log"
cmake --build "$work/cmake" -j"$(nproc)" >"$work/build.log"

echo "embed_check: building examples/embed with pkg-config nst"
# shellcheck disable=SC2046  # pkg-config's flags are meant to split
c++ -std=c++17 -O2 examples/embed/main.cpp -o "$work/embed-pkgconfig" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs nst)

"$prefix/bin/nst-weights" make-random --out "$work/vgg16-random.h5" --seed 1 >/dev/null
for exe in "$work/cmake/embed" "$work/embed-pkgconfig"; do
  out="$work/out-$(basename "$exe").png"
  "$exe" "$work/vgg16-random.h5" tests/data/images/progressive.jpg tests/data/images/grey.jpg "$out" 64 4 \
    | tee "$work/run.log"
  grep -q "^wrote $out (" "$work/run.log" || { echo "embed_check: $exe did not write $out" >&2; exit 1; }
  "$prefix/bin/nst-score" --output "$out" --content tests/data/images/progressive.jpg \
    --style tests/data/images/grey.jpg --weights "$work/vgg16-random.h5" >/dev/null
done
echo "embed_check: ok (CMake and pkg-config consumers built and ran against $prefix)"
