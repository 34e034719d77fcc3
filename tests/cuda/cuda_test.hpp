// Shared by the custom-kernel tests (tests/cuda): a fixture that skips on a
// build for real GPUs when no device is present, device buffers, and a
// stream. Compiled against kernels/emu (NST_EMU) the device is always there.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "emu/device_buffer.hpp"
#include "kernels/cuda/common.cuh"
#include "kernels/test_util.hpp"

namespace nst::test {

using emu_test::DeviceBuffer;

// "emu" or "gpu": which build of the kernels this binary runs.
inline const char* cuda_build_name() {
#if defined(NST_EMU)
  return "emu";
#else
  return "gpu";
#endif
}

inline bool cuda_device_present() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_present()) GTEST_SKIP() << "no CUDA device present: the " << cuda_build_name()
                                             << " kernels are not run (the emulated build runs them in CI)";
    NST_CUDA_CHECK(cudaStreamCreate(&stream_));
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  void sync() { NST_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  cudaStream_t stream_ = nullptr;
};

}  // namespace nst::test
