#include "engine/device.hpp"

#include "nst/error.hpp"

namespace nst {

std::unique_ptr<Backend> make_backend(Device device, int threads, const LogFn& log) {
  switch (device) {
    case Device::Cpu:
      return make_cpu_backend(threads);
    case Device::Cuda:
      throw DeviceError("device 'cuda' requested, but this build of nst has no CUDA backend (use --device cpu)");
    case Device::Auto:
      break;
  }
  if (log) log("device: cpu (this build of nst has no CUDA backend)");
  return make_cpu_backend(threads);
}

}  // namespace nst
