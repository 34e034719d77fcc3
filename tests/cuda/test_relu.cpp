// Custom ReLU kernels against the CPU backend's ops: bit-for-bit on random
// data with special values mixed in, for sizes that are not multiples of 4,
// pointers that sit off a 16-byte boundary (together: scalar head then
// float4; apart: all scalar), in place, and past one sweep of the grid.
// Plain random data on aligned buffers is the op table's
// (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"

namespace nst::test {
namespace {

// Random values in [-1, 1) with the cases a select must get right spread
// through them (signed zeros, NaN, infinities, a denormal).
std::vector<float> relu_input(size_t n, uint32_t seed) {
  std::vector<float> v = random_floats(n, seed);
  const float special[] = {0.f, -0.f, std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::denorm_min(), -1e-30f};
  for (size_t k = 0; k < std::size(special) && 7 * k < n; ++k) v[7 * k] = special[k];
  return v;
}

std::vector<float> cpu_forward(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  cpu::relu_forward(y.data(), x.data(), x.size());
  return y;
}

std::vector<float> cpu_backward(const std::vector<float>& dy, const std::vector<float>& y) {
  std::vector<float> dx(dy.size());
  cpu::relu_backward(dx.data(), dy.data(), y.data(), dy.size());
  return dx;
}

// Sizes: tiny, below one float4, a 13x7 image with 3, 64 and 70 channels,
// and a batch of two.
const size_t kSizes[] = {1, 3, 5, 13 * 7 * 3, 13 * 7 * 64, 13 * 7 * 70, 2 * 13 * 7 * 70 + 1};

class CudaRelu : public CudaTest {
 protected:
  void check_forward(size_t n, size_t x_offset, size_t y_offset) {
    SCOPED_TRACE("n = " + std::to_string(n) + ", offsets x " + std::to_string(x_offset) + " y " +
                 std::to_string(y_offset));
    const std::vector<float> x = relu_input(n, 11 + static_cast<uint32_t>(n));
    const OffsetFloats dx(x, x_offset);
    OffsetFloats dy(unwritten(n), y_offset);
    cuda::relu_forward(dy.get(), dx.get(), n, stream_);
    sync();
    EXPECT_TRUE(same_bits("y", dy.values(), cpu_forward(x)));
    EXPECT_TRUE(dy.sentinels_intact());
    EXPECT_TRUE(dx.sentinels_intact());
  }

  void check_backward(size_t n, size_t dx_offset, size_t dy_offset, size_t y_offset) {
    SCOPED_TRACE("n = " + std::to_string(n) + ", offsets dx " + std::to_string(dx_offset) +
                 " dy " + std::to_string(dy_offset) + " y " + std::to_string(y_offset));
    const std::vector<float> grad = random_floats(n, 21 + static_cast<uint32_t>(n));
    const std::vector<float> y = cpu_forward(relu_input(n, 31 + static_cast<uint32_t>(n)));
    OffsetFloats d_dx(unwritten(n), dx_offset);
    const OffsetFloats d_dy(grad, dy_offset), d_y(y, y_offset);
    cuda::relu_backward(d_dx.get(), d_dy.get(), d_y.get(), n, stream_);
    sync();
    EXPECT_TRUE(same_bits("dx", d_dx.values(), cpu_backward(grad, y)));
    EXPECT_TRUE(d_dx.sentinels_intact());
  }
};

TEST_F(CudaRelu, ForwardMatchesCpuBitForBit) {
  for (size_t n : kSizes) check_forward(n, 0, 0);
}

// Offset together: a scalar head of 3, 2 or 1 elements, then float4s.
TEST_F(CudaRelu, ForwardWithEquallyMisalignedPointers) {
  for (size_t offset : {1, 2, 3})
    for (size_t n : {size_t{2}, size_t{13 * 7 * 3}, size_t{13 * 7 * 64}}) check_forward(n, offset, offset);
}

// Offset apart: no common 16-byte boundary, every element scalar.
TEST_F(CudaRelu, ForwardWithDifferentlyAlignedPointers) {
  for (size_t n : {size_t{5}, size_t{13 * 7 * 64 + 3}}) {
    check_forward(n, 1, 0);
    check_forward(n, 0, 3);
  }
}

TEST_F(CudaRelu, ForwardInPlace) {
  const size_t n = 13 * 7 * 70 + 3;
  const std::vector<float> x = relu_input(n, 5);
  OffsetFloats buf(x, 1);
  cuda::relu_forward(buf.get(), buf.get(), n, stream_);
  sync();
  EXPECT_TRUE(same_bits("y", buf.values(), cpu_forward(x)));
  EXPECT_TRUE(buf.sentinels_intact());
}

TEST_F(CudaRelu, BackwardMatchesCpuBitForBit) {
  for (size_t n : kSizes) check_backward(n, 0, 0, 0);
}

TEST_F(CudaRelu, BackwardWithMisalignedPointers) {
  for (size_t n : {size_t{3}, size_t{13 * 7 * 3}, size_t{13 * 7 * 70 + 1}}) {
    check_backward(n, 1, 1, 1);  // scalar head, then float4
    check_backward(n, 2, 2, 2);
    check_backward(n, 0, 1, 0);  // all scalar
    check_backward(n, 3, 3, 0);
  }
}

// dx = dy, as the backend masks a gradient where it lies.
TEST_F(CudaRelu, BackwardInPlace) {
  for (size_t offset : {0, 1}) {
    const size_t n = 2 * 13 * 7 * 64 + 3;
    const std::vector<float> grad = random_floats(n, 41);
    const std::vector<float> y = cpu_forward(relu_input(n, 43));
    OffsetFloats g(grad, offset);
    const OffsetFloats d_y(y, offset);
    cuda::relu_backward(g.get(), g.get(), d_y.get(), n, stream_);
    sync();
    EXPECT_TRUE(same_bits("dx", g.values(), cpu_backward(grad, y)));
    EXPECT_TRUE(g.sentinels_intact());
  }
}

// More float4s than the capped grid has threads: the grid-stride loop must
// cover the rest (4096 blocks of 256 threads handle 4 Mi floats a sweep).
TEST_F(CudaRelu, ArraysLargerThanOneGridSweep) {
  const size_t n = 2 * 4096 * 256 * 4 + 7;
  check_forward(n, 0, 0);
  check_backward(n, 1, 1, 1);
}

TEST_F(CudaRelu, ZeroElementsLaunchNothing) {
  expect_no_launches([&] {
    cuda::relu_forward(nullptr, nullptr, 0, stream_);
    cuda::relu_backward(nullptr, nullptr, nullptr, 0, stream_);
  });
}

}  // namespace
}  // namespace nst::test
