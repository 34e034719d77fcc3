#include "engine/device.hpp"

#include "engine/sizing_backend.hpp"

#include <string>

#include "kernels/cpu/ops.hpp"
#include "nst/error.hpp"
#if defined(NST_HAVE_CUDA)
#include "engine/cuda_backend.hpp"
#endif

namespace nst {
namespace {

// Empty when a CUDA device can be used, else why not.
std::string why_no_cuda() {
#if defined(NST_HAVE_CUDA)
  std::string why;
  return cuda::device_count(&why) > 0 ? std::string() : why;
#else
  return "this build of nst has no CUDA backend (built without the CUDA toolkit)";
#endif
}

std::unique_ptr<Backend> make_cuda(const ComputeOptions& options, const LogFn& log) {
#if defined(NST_HAVE_CUDA)
  return cuda::make_backend(options, log);
#else
  (void)options;
  (void)log;
  return nullptr;
#endif
}

}  // namespace

bool cuda_available(std::string* why) {
  const std::string reason = why_no_cuda();
  if (why) *why = reason;
  return reason.empty();
}

namespace {

// The cpu backend, and a warning when OpenBLAS misjudged the CPU.
std::unique_ptr<Backend> cpu_backend(const ComputeOptions& options, const LogFn& log) {
  const std::string advice = cpu::blas_core_advice();
  if (log && !advice.empty()) log("warning: " + advice);
  return make_cpu_backend(options, log);
}

}  // namespace

std::unique_ptr<Backend> make_backend(const ComputeOptions& options, const LogFn& log) {
  switch (options.device) {
    case Device::Cpu:
      return cpu_backend(options, log);
    case Device::Cuda: {
      const std::string why = why_no_cuda();
      if (!why.empty()) throw DeviceError("device 'cuda' requested, but " + why + " (use --device cpu)");
      return make_cuda(options, log);
    }
    case Device::Auto:
      break;
  }
  const std::string why = why_no_cuda();
  if (why.empty()) return make_cuda(options, log);
  if (log) log("device: cpu (" + why + ")");
  return cpu_backend(options, log);
}

uint64_t cuda_free_memory() {
#if defined(NST_HAVE_CUDA)
  return cuda_available() ? cuda::free_memory() : 0;
#else
  return 0;
#endif
}

std::unique_ptr<SizingBackend> make_cuda_sizing_backend(const ComputeOptions& options) {
#if defined(NST_HAVE_CUDA)
  return cuda::make_sizing_backend(options);
#else
  (void)options;
  return nullptr;
#endif
}

}  // namespace nst
