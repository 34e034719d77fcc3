// The cuda backend: the engine's op interface on an NVIDIA GPU, custom
// kernels (kernels/cuda) with cuDNN/cuBLAS alternatives (kernels/cuda/vendor).
// Built twice: with nvcc's runtime inside libnst (nst::cuda::gpu) and
// against kernels/emu for tests (nst::cuda::emu, custom algorithms only).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/backend.hpp"
#include "engine/sizing_backend.hpp"
#include "kernels/cuda/common.cuh"
#include "nst/nst.hpp"

NST_CUDA_BEGIN

// The number of CUDA devices, or 0 with `why` set when there is none (or
// the driver cannot be used).
int device_count(std::string* why);

// A backend on device 0. Throws nst::DeviceError when no device is present
// or an algorithm the options ask for is not available in this build.
std::unique_ptr<Backend> make_backend(const ComputeOptions& options, const LogFn& log);

// The backend's sizing twin for the memory estimate (engine/sizing_backend.hpp).
std::unique_ptr<SizingBackend> make_sizing_backend(const ComputeOptions& options);

// Free memory of device 0 (cudaMemGetInfo).
uint64_t free_memory();

NST_CUDA_END
