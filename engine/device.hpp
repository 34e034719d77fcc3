// Picks the backend for ComputeOptions::device.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/backend.hpp"
#include "nst/nst.hpp"

namespace nst {

// Auto: cuda when this build has it and a device is present, else cpu, with
// one log line saying which and why. Cuda: throws nst::DeviceError when
// this build has no CUDA backend or no device is present.
std::unique_ptr<Backend> make_backend(const ComputeOptions& options, const LogFn& log);

// Free memory of cuda device 0 (cudaMemGetInfo); 0 without a usable device.
uint64_t cuda_free_memory();

}  // namespace nst
