// Device memory on the host. Each cudaMalloc block sits between two guard
// regions:
//
//   [ 256 B front guard | size bytes, 0xFF (NaN) | back guard to a 256 B boundary, >= 256 B ]
//
// Without ASan the guards hold a NaN pattern (internal.hpp) that is checked after every
// launch (so the report names the kernel), at synchronisation and at
// cudaFree. Under ASan they are poisoned instead and the faulting access is
// reported where it happens. Copies and memsets are checked against the
// bounds of the allocation they touch and against their stated direction.
#include <sys/sysinfo.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "kernels/emu/fiber.hpp"
#include "kernels/emu/internal.hpp"
#include "kernels/emu/launch.hpp"

#if NST_EMU_HAS_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace nst_emu::detail {

namespace {

constexpr std::size_t kAlign = 256;  // as cudaMalloc
constexpr std::size_t kFrontGuard = 256;
constexpr std::size_t kMinBackGuard = 256;
constexpr unsigned char kFreshByte = 0xFF;  // NaN as float

struct Allocation {
  unsigned char* base;
  std::size_t size;
  std::size_t total;
  std::uint64_t serial;  // the n-th cudaMalloc of the process
};

std::mutex g_mutex;
std::map<std::uintptr_t, Allocation> g_device;  // by the pointer cudaMalloc returned
std::map<std::uintptr_t, std::size_t> g_host;   // cudaMallocHost blocks
std::uint64_t g_serial = 0;
std::size_t g_bytes_in_use = 0;
std::size_t g_peak_bytes = 0;  // the most g_bytes_in_use since reset_device_peak()

unsigned char* user(const Allocation& a) { return a.base + kFrontGuard; }

std::string describe(const Allocation& a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%p", static_cast<void*>(user(a)));
  return "allocation #" + std::to_string(a.serial) + " (" + std::to_string(a.size) +
         " bytes at " + buf + ")";
}

// The allocation whose bytes contain p, or nullptr.
const Allocation* find(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto it = g_device.upper_bound(addr);
  if (it == g_device.begin()) return nullptr;
  --it;
  const Allocation& a = it->second;
  return addr - it->first < a.size ? &a : nullptr;
}

// The allocation whose back guard contains p, for messages about pointers
// just past the end of a block.
const Allocation* find_guard(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto it = g_device.upper_bound(addr);
  if (it == g_device.begin()) return nullptr;
  --it;
  const Allocation& a = it->second;
  return addr - it->first < a.total - kFrontGuard ? &a : nullptr;
}

// Describes and repairs overwritten guard bytes of one allocation.
std::string check_guards(const Allocation& a) {
#if NST_EMU_HAS_ASAN
  (void)a;
  return "";
#else
  std::string report;
  std::size_t first = kFrontGuard;
  for (std::size_t i = 0; i < kFrontGuard; ++i) {
    if (a.base[i] != guard_byte(a.base + i) && first == kFrontGuard) first = i;
  }
  if (first != kFrontGuard) {
    report += "  " + describe(a) + ": written " + std::to_string(kFrontGuard - first) +
              " bytes before its start\n";
    fill_guard(a.base, kFrontGuard);
  }
  unsigned char* back = user(a) + a.size;
  const std::size_t back_size = a.total - kFrontGuard - a.size;
  std::size_t lo = back_size;
  std::size_t hi = 0;
  for (std::size_t i = 0; i < back_size; ++i) {
    if (back[i] == guard_byte(back + i)) continue;
    lo = std::min(lo, i);
    hi = i;
  }
  if (lo != back_size) {
    report += "  " + describe(a) + ": written past its end, bytes " +
              std::to_string(a.size + lo) + ".." + std::to_string(a.size + hi) +
              " (the guard checks " + std::to_string(back_size) + " bytes past the end)\n";
    fill_guard(back, back_size);
  }
  return report;
#endif
}

void release(const Allocation& a) {
#if NST_EMU_HAS_ASAN
  __asan_unpoison_memory_region(a.base, a.total);
#endif
  g_bytes_in_use -= a.size;
  ::operator delete(a.base, std::align_val_t(kAlign));
}

// The device allocation a copy touches must hold all of [p, p+count).
cudaError_t check_range(const char* api, const char* which, const void* p, std::size_t count) {
  const Allocation* a = find(p);
  if (a == nullptr) {
    const Allocation* near = find_guard(p);
    if (near != nullptr) {
      return fail(cudaErrorInvalidValue,
                  std::string(api) + ": " + which + " points " +
                      std::to_string(static_cast<const unsigned char*>(p) - user(*near) - near->size) +
                      " bytes past the end of " + describe(*near));
    }
    return fail(cudaErrorInvalidValue,
                std::string(api) + ": " + which + " is not device memory from cudaMalloc");
  }
  const std::size_t offset = static_cast<std::size_t>(static_cast<const unsigned char*>(p) - user(*a));
  if (count > a->size - offset) {
    return fail(cudaErrorInvalidValue, std::string(api) + ": " + std::to_string(count) +
                                           " bytes at offset " + std::to_string(offset) + " of " +
                                           describe(*a) + " run past its end");
  }
  return cudaSuccess;
}

cudaError_t copy(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind,
                 cudaStream_t stream, const char* api) {
  if (!is_valid_stream(stream)) {
    return fail(cudaErrorInvalidResourceHandle, std::string(api) + ": invalid stream");
  }
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) {
    return fail(cudaErrorInvalidValue, std::string(api) + ": null pointer");
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  const bool dst_device = find(dst) != nullptr || find_guard(dst) != nullptr;
  const bool src_device = find(src) != nullptr || find_guard(src) != nullptr;
  bool want_dst = dst_device;
  bool want_src = src_device;
  switch (kind) {
    case cudaMemcpyHostToHost: want_dst = false; want_src = false; break;
    case cudaMemcpyHostToDevice: want_dst = true; want_src = false; break;
    case cudaMemcpyDeviceToHost: want_dst = false; want_src = true; break;
    case cudaMemcpyDeviceToDevice: want_dst = true; want_src = true; break;
    case cudaMemcpyDefault: break;
    default:
      return fail(cudaErrorInvalidMemcpyDirection, std::string(api) + ": unknown cudaMemcpyKind");
  }
  if (want_dst != dst_device || want_src != src_device) {
    return fail(cudaErrorInvalidValue,
                std::string(api) + ": the direction says dst is " +
                    (want_dst ? "device" : "host") + " and src is " +
                    (want_src ? "device" : "host") + " memory, but dst is " +
                    (dst_device ? "device" : "host") + " and src is " +
                    (src_device ? "device" : "host") + " memory");
  }
  if (dst_device) {
    if (cudaError_t e = check_range(api, "dst", dst, count); e != cudaSuccess) return e;
  }
  if (src_device) {
    if (cudaError_t e = check_range(api, "src", src, count); e != cudaSuccess) return e;
  }
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t set(void* ptr, int value, std::size_t count, cudaStream_t stream, const char* api) {
  if (!is_valid_stream(stream)) {
    return fail(cudaErrorInvalidResourceHandle, std::string(api) + ": invalid stream");
  }
  if (count == 0) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (cudaError_t e = check_range(api, "ptr", ptr, count); e != cudaSuccess) return e;
  std::memset(ptr, value, count);
  return cudaSuccess;
}

}  // namespace

std::string check_device_guards() {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::string report;
  for (const auto& entry : g_device) report += check_guards(entry.second);
  return report;
}

void release_all_memory() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& entry : g_device) release(entry.second);
  g_device.clear();
}

cudaError_t copy_symbol(void* symbol, std::size_t symbol_size, const void* src, std::size_t count,
                        std::size_t offset, bool to_symbol, const char* api) {
  if (offset > symbol_size || count > symbol_size - offset) {
    return fail(cudaErrorInvalidValue, std::string(api) + ": " + std::to_string(count) +
                                           " bytes at offset " + std::to_string(offset) +
                                           " do not fit the " + std::to_string(symbol_size) +
                                           "-byte symbol");
  }
  unsigned char* at = static_cast<unsigned char*>(symbol) + offset;
  if (to_symbol) {
    std::memcpy(at, src, count);
  } else {
    std::memcpy(const_cast<void*>(src), at, count);
  }
  return cudaSuccess;
}

}  // namespace nst_emu::detail

using nst_emu::detail::fail;

cudaError_t cudaMalloc(void** ptr, size_t size) {
  using namespace nst_emu::detail;
  if (ptr == nullptr) return fail(cudaErrorInvalidValue, "cudaMalloc: ptr is null");
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  if (size > (std::size_t{1} << 46)) {
    return fail(cudaErrorMemoryAllocation, "cudaMalloc: " + std::to_string(size) + " bytes");
  }
  const std::size_t total = kFrontGuard + (size + kMinBackGuard + kAlign - 1) / kAlign * kAlign;
  auto* base = static_cast<unsigned char*>(::operator new(total, std::align_val_t(kAlign), std::nothrow));
  if (base == nullptr) {
    return fail(cudaErrorMemoryAllocation, "cudaMalloc: out of host memory for " +
                                               std::to_string(size) + " bytes");
  }
  unsigned char* p = base + kFrontGuard;
  fill_guard(base, kFrontGuard);
  std::memset(p, kFreshByte, size);
  fill_guard(p + size, total - kFrontGuard - size);
#if NST_EMU_HAS_ASAN
  __asan_poison_memory_region(base, kFrontGuard);
  __asan_poison_memory_region(p + size, total - kFrontGuard - size);
#endif
  std::lock_guard<std::mutex> lock(g_mutex);
  g_device.emplace(reinterpret_cast<std::uintptr_t>(p), Allocation{base, size, total, ++g_serial});
  g_bytes_in_use += size;
  g_peak_bytes = std::max(g_peak_bytes, g_bytes_in_use);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  using namespace nst_emu::detail;
  if (ptr == nullptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_device.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == g_device.end()) {
    return fail(cudaErrorInvalidValue,
                "cudaFree: the pointer was not returned by cudaMalloc, or was freed already");
  }
  const Allocation a = it->second;
  g_device.erase(it);
  const std::string overwritten = check_guards(a);
  release(a);
  if (!overwritten.empty()) {
    return fail(cudaErrorIllegalAddress,
                "cudaFree: device memory was written out of bounds:\n" + overwritten);
  }
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t size) {
  using namespace nst_emu::detail;
  if (ptr == nullptr) return fail(cudaErrorInvalidValue, "cudaMallocHost: ptr is null");
  *ptr = ::operator new(size == 0 ? 1 : size, std::align_val_t(kAlign), std::nothrow);
  if (*ptr == nullptr) return fail(cudaErrorMemoryAllocation, "cudaMallocHost: out of memory");
  std::lock_guard<std::mutex> lock(g_mutex);
  g_host.emplace(reinterpret_cast<std::uintptr_t>(*ptr), size);
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  using namespace nst_emu::detail;
  if (ptr == nullptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_host.erase(reinterpret_cast<std::uintptr_t>(ptr)) == 0) {
    return fail(cudaErrorInvalidValue, "cudaFreeHost: the pointer was not returned by cudaMallocHost");
  }
  ::operator delete(ptr, std::align_val_t(kAlign));
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return nst_emu::detail::copy(dst, src, count, kind, nullptr, "cudaMemcpy");
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return nst_emu::detail::copy(dst, src, count, kind, stream, "cudaMemcpyAsync");
}

cudaError_t cudaMemset(void* ptr, int value, size_t count) {
  return nst_emu::detail::set(ptr, value, count, nullptr, "cudaMemset");
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
  return nst_emu::detail::set(ptr, value, count, stream, "cudaMemsetAsync");
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  using namespace nst_emu::detail;
  if (free_bytes == nullptr || total_bytes == nullptr) {
    return fail(cudaErrorInvalidValue, "cudaMemGetInfo: null pointer");
  }
  struct sysinfo info {};
  sysinfo(&info);
  const std::size_t total = static_cast<std::size_t>(info.totalram) * info.mem_unit;
  std::lock_guard<std::mutex> lock(g_mutex);
  *total_bytes = total;
  *free_bytes = total > g_bytes_in_use ? total - g_bytes_in_use : 0;
  return cudaSuccess;
}

namespace nst_emu {

std::size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> lock(detail::g_mutex);
  return detail::g_bytes_in_use;
}

std::size_t device_peak_bytes() {
  std::lock_guard<std::mutex> lock(detail::g_mutex);
  return detail::g_peak_bytes;
}

void reset_device_peak() {
  std::lock_guard<std::mutex> lock(detail::g_mutex);
  detail::g_peak_bytes = detail::g_bytes_in_use;
}

}  // namespace nst_emu
