// Shared by the vendor-library tests (suites Vendor*): a fixture that skips
// when no CUDA device is present (cuDNN and cuBLAS cannot be emulated), a
// stream, and device outputs with a guard region after their end.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "emu/device_buffer.hpp"
#include "kernels/cuda/common.cuh"
#include "kernels/test_util.hpp"

namespace nst::test {

using emu_test::DeviceBuffer;

// Why there is no device, or "" when there is one.
inline std::string why_no_cuda_device() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // do not leave the error for the next call
    return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status);
  }
  if (count == 0) return "cudaGetDeviceCount found 0 devices";
  return "";
}

class VendorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = why_no_cuda_device();
    if (!why.empty())
      GTEST_SKIP() << "no CUDA device present (" << why
                   << "): the cuDNN/cuBLAS paths only run on a GPU (bench/gpu_check.sh runs them)";
    NST_CUDA_CHECK(cudaStreamCreate(&stream_));
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  void sync() { NST_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  cudaStream_t stream_ = nullptr;
};

// A device output of n floats, NaN before the op runs (an element it
// forgets to write fails the comparison), then kGuard floats of a fixed bit
// pattern that must survive (an out-of-bounds write changes them).
class DeviceOutput {
 public:
  static constexpr size_t kGuard = 256;
  explicit DeviceOutput(size_t n) : n_(n), buf_(n + kGuard) {
    std::vector<float> init(n + kGuard, std::numeric_limits<float>::quiet_NaN());
    for (size_t i = n; i < n + kGuard; ++i) init[i] = sentinel();
    buf_.upload(init);
  }
  // Starts the body from given values instead of NaN (for "+=" ops).
  DeviceOutput(const std::vector<float>& body) : DeviceOutput(body.size()) {
    NST_CUDA_CHECK(cudaMemcpy(buf_.get(), body.data(), body.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  float* get() const { return buf_.get(); }
  std::vector<float> values() const {
    auto all = buf_.download();
    all.resize(n_);
    return all;
  }
  bool guard_intact() const {
    const auto all = buf_.download();
    for (size_t i = n_; i < all.size(); ++i) {
      const float expect = sentinel();
      if (std::memcmp(&all[i], &expect, sizeof(float)) != 0) return false;
    }
    return true;
  }

 private:
  static float sentinel() {
    const uint32_t bits = 0xA5A5A5A5u;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  size_t n_;
  DeviceBuffer<float> buf_;
};

}  // namespace nst::test
