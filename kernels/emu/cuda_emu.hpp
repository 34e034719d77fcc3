// CUDA on the CPU: what a .cu file sees in place of <cuda_runtime.h> when it
// is compiled as C++ with NST_EMU=1 (kernels/cuda/common.cuh includes it).
//
// Each block's threads run as fibers on one OS thread, one block after
// another; barriers and warp intrinsics are where fibers switch. Supported
// and unsupported features, and what a kernel author must write, are
// listed in kernels/emu/README.md. Anything not declared here does not
// compile, so a kernel cannot silently use a feature the emulation lacks.
#pragma once

// Standard headers first: the qualifier macros below must not reach them.
#include <math.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/emu/vector_types.hpp"
#include "kernels/emu/runtime_api.hpp"
#include "kernels/emu/launch.hpp"
#include "kernels/emu/device_functions.hpp"
