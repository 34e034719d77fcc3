// What every CUDA source of nst includes: the launch helper, the CUDA check
// macro and the shared-memory macros. The same source compiles two ways:
//   - with nvcc for a GPU: launch() is `kernel<<<grid, block, shared, stream>>>`
//     followed by a check of cudaGetLastError();
//   - with g++ and NST_EMU=1 against kernels/emu, which runs the kernel's
//     threads as fibers on the CPU (see kernels/emu/README.md).
// Host-only .cpp files compiled by g++ for the GPU build may include it
// too: they get NST_CUDA_CHECK and ceil_div, not launch().
//
// A kernel declares shared memory with the macros, not with __shared__
// (a plain __shared__ does not compile under the emulation):
//   NST_SHARED(float[kTile][kTile + 1], tile);  // static: float tile[kTile][kTile + 1]
//   NST_DYNAMIC_SHARED(float, buffer);          // float* buffer, shared_bytes long
// and is launched with
//   NST_LAUNCH(kernel, grid, block, shared_bytes, stream, args...);
#pragma once
#include <string>
#include <utility>

#include "kernels/cuda/launch_site.hpp"
#include "nst/error.hpp"

#if defined(NST_EMU)
#include "kernels/emu/cuda_emu.hpp"
#else
#include <cuda_runtime.h>
#endif

// Code under kernels/cuda is compiled twice into some binaries (tests link
// the nvcc build inside libnst and the emulated build beside it), so each
// build gets its own inline namespace: callers write nst::cuda::gram(...)
// and the two builds' symbols never collide.
#if defined(NST_EMU)
#define NST_CUDA_BEGIN namespace nst { namespace cuda { inline namespace emu {
#else
#define NST_CUDA_BEGIN namespace nst { namespace cuda { inline namespace gpu {
#endif
#define NST_CUDA_END }}}

NST_CUDA_BEGIN

// Throws nst::DeviceError naming the call, where it was made and why.
inline void check(cudaError_t status, const char* expr, const char* file, int line) {
  if (status == cudaSuccess) return;
  std::string msg = std::string(file) + ":" + std::to_string(line) + ": " + expr + " failed: " +
                    cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
#if defined(NST_EMU)
  const std::string detail = nst_emu::last_error_detail();
  if (!detail.empty()) msg += ": " + detail;
#endif
  throw nst::DeviceError(msg);
}

template <typename T>
constexpr T ceil_div(T a, T b) {
  return (a + b - 1) / b;
}

namespace detail {
template <typename T>
using type_t = T;
}  // namespace detail

#if defined(NST_EMU)

// Runs every block on the CPU before returning; a launch error, a divergent
// barrier or an out-of-bounds write throws nst_emu::Error (an
// nst::DeviceError) naming the kernel and the launch site.
template <typename... Params, typename... Args>
void launch(const LaunchSite& site, void (*kernel)(Params...), dim3 grid, dim3 block,
            std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  nst_emu::launch(site, kernel, grid, block, shared_bytes, stream, std::forward<Args>(args)...);
}

#elif defined(__CUDACC__)

// Launches asynchronously; a launch error throws nst::DeviceError naming
// the kernel and the launch site. Faults inside the kernel surface at the
// next synchronising call.
template <typename... Params, typename... Args>
void launch(const LaunchSite& site, void (*kernel)(Params...), dim3 grid, dim3 block,
            std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args),
                "launch: the kernel takes a different number of arguments");
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    throw nst::DeviceError("cannot launch " + describe(site) + " with grid (" +
                           std::to_string(grid.x) + "," + std::to_string(grid.y) + "," +
                           std::to_string(grid.z) + ") and block (" + std::to_string(block.x) +
                           "," + std::to_string(block.y) + "," + std::to_string(block.z) + "): " +
                           cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
  }
}

#endif

#if defined(NST_EMU) || defined(__CUDACC__)
// launch() without a recorded site (prefer NST_LAUNCH, whose errors name
// the kernel).
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  launch(LaunchSite{nullptr, nullptr, 0}, kernel, grid, block, shared_bytes, stream,
         std::forward<Args>(args)...);
}
#endif

NST_CUDA_END

// NST_LAUNCH(kernel, grid, block, shared_bytes, stream, args...)
#define NST_LAUNCH(...) \
  ::nst::cuda::launch(::nst::cuda::LaunchSite{#__VA_ARGS__, __FILE__, __LINE__}, __VA_ARGS__)

// Throws nst::DeviceError if the runtime call fails.
#define NST_CUDA_CHECK(expr) ::nst::cuda::check((expr), #expr, __FILE__, __LINE__)

#if defined(NST_EMU)
#define NST_SHARED(type, name) NST_EMU_SHARED(type, name)
#define NST_DYNAMIC_SHARED(type, name) NST_EMU_DYNAMIC_SHARED(type, name)
#else
#define NST_SHARED(type, name) __shared__ ::nst::cuda::detail::type_t<type> name
#define NST_DYNAMIC_SHARED(type, name)                                     \
  extern __shared__ __align__(16) unsigned char nst_dynamic_shared_bytes[]; \
  type* name = reinterpret_cast<type*>(nst_dynamic_shared_bytes)
#endif
