// Shared by the custom-kernel tests (tests/cuda): a fixture that skips on a
// build for real GPUs when no device is present, with a stream and a check
// that nothing was launched; device buffers (plain, and offset between
// sentinels) and NaN-filled outputs. Compiled against kernels/emu (NST_EMU)
// the device is always there. That results do not depend on the
// emulation's thread order is the op table's check
// (tests/ops/test_op_table.cpp).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
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
  // Runs f (which queues work on stream_) and expects it to have launched
  // no kernel: the emulation counts launches; on a GPU f only runs.
  template <typename F>
  void expect_no_launches(F f) {
#if defined(NST_EMU)
    const auto launches = nst_emu::stats().launches;
#endif
    f();
    sync();
#if defined(NST_EMU)
    EXPECT_EQ(nst_emu::stats().launches, launches);
#endif
  }
  cudaStream_t stream_ = nullptr;
};

// n values of T on the device, `offset` elements into an allocation that
// has kSlack sentinel elements after them; the elements before them are
// sentinels too, so a write on either side shows up.
template <typename T>
class OffsetArray {
 public:
  static constexpr size_t kSlack = 7;
  OffsetArray(const std::vector<T>& body, size_t offset)
      : buf_(offset + body.size() + kSlack), offset_(offset), n_(body.size()) {
    std::vector<T> all(buf_.size());
    std::memset(all.data(), kSentinel, all.size() * sizeof(T));
    std::copy(body.begin(), body.end(), all.begin() + offset);
    buf_.upload(all);
  }
  T* get() const { return buf_.get() + offset_; }
  std::vector<T> values() const {
    const std::vector<T> all = buf_.download();
    return {all.begin() + offset_, all.begin() + offset_ + n_};
  }
  bool sentinels_intact() const {
    const std::vector<T> all = buf_.download();
    const auto* bytes = reinterpret_cast<const unsigned char*>(all.data());
    const size_t body_begin = offset_ * sizeof(T), body_end = (offset_ + n_) * sizeof(T);
    for (size_t b = 0; b < all.size() * sizeof(T); ++b)
      if ((b < body_begin || b >= body_end) && bytes[b] != kSentinel) return false;
    return true;
  }

 private:
  static constexpr unsigned char kSentinel = 0xA5;
  DeviceBuffer<T> buf_;
  size_t offset_, n_;
};

using OffsetFloats = OffsetArray<float>;

// NaN-filled, so that an element the kernel forgets to write fails the
// comparison.
inline std::vector<float> unwritten(size_t n) {
  return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace nst::test
