// What the runtime's source files share with each other; not for kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/emu/runtime_api.hpp"

namespace nst_emu::detail {

// Shared memory per block: 48 KB, or up to 227 KB for a kernel that opted in
// with cudaFuncSetAttribute(MaxDynamicSharedMemorySize), as on sm_90.
constexpr std::size_t kSharedMemPerBlock = 48 * 1024;
constexpr std::size_t kSharedMemPerBlockOptin = 227 * 1024;
constexpr int kMaxThreadsPerBlock = 1024;

// Guard regions (behind cudaMalloc blocks and shared variables) hold the
// 32-bit word 0x7FF4A5A5 at every 4-byte-aligned address: a float or a
// double read from a guard is NaN, an int read a large odd number, and a
// write is unlikely to put back the same bytes.
inline unsigned char guard_byte(const void* at) {
  static constexpr unsigned char kBytes[4] = {0xA5, 0xA5, 0xF4, 0x7F};  // little endian
  return kBytes[reinterpret_cast<std::uintptr_t>(at) & 3u];
}
inline void fill_guard(unsigned char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p[i] = guard_byte(p + i);
}

// runtime.cpp
bool is_valid_stream(cudaStream_t stream);
// The dynamic shared memory a launch of `kernel` may ask for.
std::size_t dynamic_shared_limit(const void* kernel);
// Records a failed call as this host thread's last error, with its detail
// for nst_emu::last_error_detail(); returns code.
cudaError_t fail(cudaError_t code, const std::string& detail);

// memory.cpp: checks the guard regions of every live allocation; returns a
// description of each one that was overwritten ("" when all are intact)
// and restores them so that each corruption is reported once.
std::string check_device_guards();
// cudaDeviceReset: frees every device allocation.
void release_all_memory();

}  // namespace nst_emu::detail
