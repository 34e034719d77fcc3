#!/usr/bin/env bash
# Installs every Debian package that building and testing nst needs.
# Idempotent: packages already present are skipped, so a second run is fast.
# The CUDA toolkit is optional and is not installed here; CMake uses it when
# nvcc, cuDNN and cuBLAS are found.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libhdf5-dev hdf5-tools        # weights: HDF5 C API (+ h5dump for debugging)
  libzip-dev                    # weights: PyTorch's zip .pth files (nst-weights import)
  libopenblas-dev libopenblas-openmp-dev  # conv / Gram GEMMs on the CPU, on OpenMP threads
  libstb-dev                    # image load, resize, write
  zlib1g-dev                    # crc32 for PNG chunk checks
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libboost-context-dev          # fibers for the CUDA-on-CPU runtime
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-dev         # libFuzzer and its sanitizer runtimes (tools/fuzz.sh)
  python3-dev python3-venv      # the Python module: headers, and venv for tools/python_test.sh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
