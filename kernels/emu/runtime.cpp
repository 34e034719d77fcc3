// The runtime API besides memory: errors, the device, streams, events and
// kernel attributes. Streams run their work synchronously on the calling
// thread, so every stream is always idle and an event records the moment
// all work issued before it finished.
#include <sys/sysinfo.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "kernels/emu/internal.hpp"
#include "kernels/emu/launch.hpp"

struct nst_emu_stream {
  unsigned int flags;
};

struct nst_emu_event {
  unsigned int flags;
  bool recorded;
  std::chrono::steady_clock::time_point time;
};

namespace nst_emu::detail {

namespace {

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local std::string t_last_detail;

std::mutex g_mutex;
std::set<cudaStream_t> g_streams;
std::set<cudaEvent_t> g_events;
std::map<const void*, std::size_t> g_dynamic_shared_limits;

bool valid_event(cudaEvent_t e) { return e != nullptr && g_events.count(e) != 0; }

// Synchronisation points look for device memory written out of bounds by
// host code (kernels are checked when they finish).
cudaError_t check_memory(const char* api) {
  const std::string overwritten = check_device_guards();
  if (overwritten.empty()) return cudaSuccess;
  return fail(cudaErrorIllegalAddress,
              std::string(api) + ": device memory was written out of bounds:\n" + overwritten);
}

}  // namespace

cudaError_t fail(cudaError_t code, const std::string& detail) {
  t_last_error = code;
  t_last_detail = detail;
  return code;
}

bool is_valid_stream(cudaStream_t stream) {
  if (stream == nullptr) return true;
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_streams.count(stream) != 0;
}

std::size_t dynamic_shared_limit(const void* kernel) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_dynamic_shared_limits.find(kernel);
  return it == g_dynamic_shared_limits.end() ? kSharedMemPerBlock : it->second;
}

cudaError_t set_func_attribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (kernel == nullptr) return fail(cudaErrorInvalidDeviceFunction, "cudaFuncSetAttribute: null kernel");
  switch (attr) {
    case cudaFuncAttributeMaxDynamicSharedMemorySize: {
      if (value < 0 || static_cast<std::size_t>(value) > kSharedMemPerBlockOptin) {
        return fail(cudaErrorInvalidValue,
                    "cudaFuncSetAttribute: MaxDynamicSharedMemorySize " + std::to_string(value) +
                        " is outside [0, " + std::to_string(kSharedMemPerBlockOptin) + "]");
      }
      std::lock_guard<std::mutex> lock(g_mutex);
      g_dynamic_shared_limits[kernel] = static_cast<std::size_t>(value);
      return cudaSuccess;
    }
    case cudaFuncAttributePreferredSharedMemoryCarveout:
      if (value < -1 || value > 100) {
        return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: carveout " + std::to_string(value) +
                                               " is outside [-1, 100]");
      }
      return cudaSuccess;
  }
  return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute: unsupported attribute");
}

}  // namespace nst_emu::detail

namespace nst_emu {
std::string last_error_detail() { return detail::t_last_detail; }
}  // namespace nst_emu

using nst_emu::detail::fail;

// ---- errors --------------------------------------------------------------

cudaError_t cudaGetLastError() {
  const cudaError_t e = nst_emu::detail::t_last_error;
  nst_emu::detail::t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return nst_emu::detail::t_last_error; }

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorIllegalInstruction: return "an illegal instruction was encountered";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unrecognized error code";
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorIllegalInstruction: return "cudaErrorIllegalInstruction";
    case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorUnknown: return "cudaErrorUnknown";
  }
  return "cudaErrorUnrecognized";
}

// ---- the device: one, with sm_90's limits ---------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue, "cudaGetDeviceCount: null pointer");
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue, "cudaGetDevice: null pointer");
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) {
    return fail(cudaErrorInvalidDevice,
                "cudaSetDevice: device " + std::to_string(device) + " (the emulation has device 0 only)");
  }
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  using namespace nst_emu::detail;
  if (prop == nullptr) return fail(cudaErrorInvalidValue, "cudaGetDeviceProperties: null pointer");
  if (device != 0) return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties: no such device");
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "nst emu (CUDA on the CPU, sm_90 limits)");
  struct sysinfo info {};
  sysinfo(&info);
  prop->totalGlobalMem = static_cast<std::size_t>(info.totalram) * info.mem_unit;
  prop->sharedMemPerBlock = kSharedMemPerBlock;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->memPitch = 2147483647;
  prop->maxThreadsPerBlock = kMaxThreadsPerBlock;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 65536;
  prop->major = 9;
  prop->minor = 0;
  prop->textureAlignment = 512;
  prop->multiProcessorCount = 132;
  prop->canMapHostMemory = 1;
  prop->concurrentKernels = 1;
  prop->asyncEngineCount = 1;
  prop->unifiedAddressing = 1;
  prop->memoryBusWidth = 5120;
  prop->l2CacheSize = 50 * 1024 * 1024;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->sharedMemPerMultiprocessor = 228 * 1024;
  prop->regsPerMultiprocessor = 65536;
  prop->sharedMemPerBlockOptin = kSharedMemPerBlockOptin;
  prop->maxBlocksPerMultiProcessor = 32;
  prop->reservedSharedMemPerBlock = 1024;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (value == nullptr) return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute: null pointer");
  cudaDeviceProp p;
  if (cudaError_t e = cudaGetDeviceProperties(&p, device); e != cudaSuccess) return e;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = p.maxThreadsDim[0]; break;
    case cudaDevAttrMaxBlockDimY: *value = p.maxThreadsDim[1]; break;
    case cudaDevAttrMaxBlockDimZ: *value = p.maxThreadsDim[2]; break;
    case cudaDevAttrMaxGridDimX: *value = p.maxGridSize[0]; break;
    case cudaDevAttrMaxGridDimY: *value = p.maxGridSize[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = p.maxGridSize[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.sharedMemPerBlock); break;
    case cudaDevAttrWarpSize: *value = p.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(p.sharedMemPerBlockOptin); break;
    default: return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute: unsupported attribute");
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return nst_emu::detail::check_memory("cudaDeviceSynchronize"); }

cudaError_t cudaDeviceReset() {
  using namespace nst_emu::detail;
  release_all_memory();
  std::lock_guard<std::mutex> lock(g_mutex);
  for (cudaStream_t s : g_streams) delete s;
  for (cudaEvent_t e : g_events) delete e;
  g_streams.clear();
  g_events.clear();
  g_dynamic_shared_limits.clear();
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return fail(cudaErrorInvalidValue, "cudaRuntimeGetVersion: null pointer");
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return fail(cudaErrorInvalidValue, "cudaDriverGetVersion: null pointer");
  *version = 13000;
  return cudaSuccess;
}

// ---- streams -------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  using namespace nst_emu::detail;
  if (stream == nullptr) return fail(cudaErrorInvalidValue, "cudaStreamCreate: null pointer");
  if (flags > cudaStreamNonBlocking) return fail(cudaErrorInvalidValue, "cudaStreamCreate: bad flags");
  std::lock_guard<std::mutex> lock(g_mutex);
  *stream = new nst_emu_stream{flags};
  g_streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  using namespace nst_emu::detail;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (stream == nullptr || g_streams.erase(stream) == 0) {
    return fail(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: not a live stream");
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!nst_emu::detail::is_valid_stream(stream)) {
    return fail(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: not a live stream");
  }
  return nst_emu::detail::check_memory("cudaStreamSynchronize");
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (!nst_emu::detail::is_valid_stream(stream)) {
    return fail(cudaErrorInvalidResourceHandle, "cudaStreamQuery: not a live stream");
  }
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  using namespace nst_emu::detail;
  if (!is_valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: not a live stream");
  if (flags != 0) return fail(cudaErrorInvalidValue, "cudaStreamWaitEvent: flags must be 0");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!valid_event(event)) return fail(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: not a live event");
  return cudaSuccess;
}

// ---- events --------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  using namespace nst_emu::detail;
  if (event == nullptr) return fail(cudaErrorInvalidValue, "cudaEventCreate: null pointer");
  if (flags > (cudaEventBlockingSync | cudaEventDisableTiming)) {
    return fail(cudaErrorInvalidValue, "cudaEventCreate: bad flags");
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  *event = new nst_emu_event{flags, false, {}};
  g_events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  using namespace nst_emu::detail;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!valid_event(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventDestroy: not a live event");
  g_events.erase(event);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  using namespace nst_emu::detail;
  if (!is_valid_stream(stream)) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord: not a live stream");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!valid_event(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord: not a live event");
  event->recorded = true;
  event->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  using namespace nst_emu::detail;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!valid_event(event)) return fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: not a live event");
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  using namespace nst_emu::detail;
  if (ms == nullptr) return fail(cudaErrorInvalidValue, "cudaEventElapsedTime: null pointer");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!valid_event(start) || !valid_event(end)) {
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: not a live event");
  }
  if ((start->flags | end->flags) & cudaEventDisableTiming) {
    return fail(cudaErrorInvalidResourceHandle,
                "cudaEventElapsedTime: an event was created with cudaEventDisableTiming");
  }
  if (!start->recorded || !end->recorded) {
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event was never recorded");
  }
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
