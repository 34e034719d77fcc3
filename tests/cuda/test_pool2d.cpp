// Custom 2x2 pooling kernels against the CPU backend's ops, bit for bit:
// max and average, forward and backward, on shapes with odd H and/or W
// (the uncovered row/column gets zero gradient), 3 and 70 channels (scalar
// path), 64 (float4 path), batches of two; data quantised to a few levels
// so that max-pool windows are full of ties (the first maximum in
// row-major order takes the gradient); and misaligned pointers, which must
// fall back to the scalar path. Plain random data on aligned buffers is the
// op table's (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"

namespace nst::test {
namespace {

struct Shape {
  int N, H, W, C;
  size_t in() const { return static_cast<size_t>(N) * H * W * C; }
  size_t out() const { return static_cast<size_t>(N) * (H / 2) * (W / 2) * C; }
};

std::string name(const Shape& s) {
  return std::to_string(s.N) + "x" + std::to_string(s.H) + "x" + std::to_string(s.W) + "x" +
         std::to_string(s.C);
}

// Values on a grid of 1/4 in [-1, 1]: 9 levels, so a window of four often
// holds its maximum twice or more.
std::vector<float> quantised(size_t n, uint32_t seed) {
  std::vector<float> v = random_floats(n, seed);
  for (float& x : v) x = std::round(x * 4.f) / 4.f;
  return v;
}

struct Pooled {
  std::vector<float> y, dx;
};

Pooled cpu_max(const Shape& s, const std::vector<float>& x, const std::vector<float>& dy) {
  Pooled r{std::vector<float>(s.out()), std::vector<float>(s.in())};
  cpu::maxpool2x2_forward(r.y.data(), x.data(), s.N, s.H, s.W, s.C);
  cpu::maxpool2x2_backward(r.dx.data(), dy.data(), x.data(), s.N, s.H, s.W, s.C);
  return r;
}

Pooled cpu_avg(const Shape& s, const std::vector<float>& x, const std::vector<float>& dy) {
  Pooled r{std::vector<float>(s.out()), std::vector<float>(s.in())};
  cpu::avgpool2x2_forward(r.y.data(), x.data(), s.N, s.H, s.W, s.C);
  cpu::avgpool2x2_backward(r.dx.data(), dy.data(), s.N, s.H, s.W, s.C);
  return r;
}

// Odd and even H and W, scalar (3, 70) and float4 (64) channel counts.
const Shape kShapes[] = {{2, 13, 7, 3},  {2, 13, 7, 64}, {2, 13, 7, 70}, {1, 8, 6, 64},
                         {2, 12, 9, 64}, {1, 5, 10, 4},  {2, 9, 3, 1}};

class CudaPool2d : public CudaTest {
 protected:
  // Runs all four kernels on shape s with every tensor `offset` floats
  // into its allocation, and compares with the CPU.
  void check_all(const Shape& s, size_t offset) {
    SCOPED_TRACE(name(s) + ", offset " + std::to_string(offset));
    const uint32_t seed = static_cast<uint32_t>(s.in());
    const std::vector<float> x = quantised(s.in(), seed), dy = random_floats(s.out(), seed + 1);
    const OffsetFloats d_x(x, offset), d_dy(dy, offset);

    const Pooled max = cpu_max(s, x, dy);
    OffsetFloats y(unwritten(s.out()), offset), dx(unwritten(s.in()), offset);
    cuda::maxpool2x2_forward(y.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
    cuda::maxpool2x2_backward(dx.get(), d_dy.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
    sync();
    EXPECT_TRUE(same_bits("max y", y.values(), max.y));
    EXPECT_TRUE(same_bits("max dx", dx.values(), max.dx));
    EXPECT_TRUE(y.sentinels_intact() && dx.sentinels_intact());

    const Pooled avg = cpu_avg(s, x, dy);
    OffsetFloats ya(unwritten(s.out()), offset), dxa(unwritten(s.in()), offset);
    cuda::avgpool2x2_forward(ya.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
    cuda::avgpool2x2_backward(dxa.get(), d_dy.get(), s.N, s.H, s.W, s.C, stream_);
    sync();
    EXPECT_TRUE(same_bits("avg y", ya.values(), avg.y));
    EXPECT_TRUE(same_bits("avg dx", dxa.values(), avg.dx));
    EXPECT_TRUE(ya.sentinels_intact() && dxa.sentinels_intact());
  }
};

TEST_F(CudaPool2d, MatchesCpuBitForBit) {
  for (const Shape& s : kShapes) check_all(s, 0);
}

// One float off a 16-byte boundary: the float4 path must not be taken.
TEST_F(CudaPool2d, MisalignedPointersMatchCpu) {
  for (const Shape& s : {Shape{2, 13, 7, 64}, Shape{1, 6, 5, 8}}) check_all(s, 1);
}

// More windows than the capped grid has threads (4096 blocks of 256): the
// grid-stride loop must cover the rest. One channel, so the scalar path.
TEST_F(CudaPool2d, TensorsLargerThanOneGridSweep) {
  const Shape s{1, 2101, 2051, 1};  // 1050 x 1025 windows, odd H and W
  ASSERT_GT(s.out(), size_t{4096} * 256);
  check_all(s, 0);
}

// The test data really exercises the tie rule.
TEST_F(CudaPool2d, QuantisedDataHasTiedWindows) {
  const Shape s{2, 13, 7, 64};
  const std::vector<float> x = quantised(s.in(), static_cast<uint32_t>(s.in()));
  size_t tied = 0;
  for (int n = 0; n < s.N; ++n)
    for (int i = 0; i < s.H / 2; ++i)
      for (int j = 0; j < s.W / 2; ++j)
        for (int c = 0; c < s.C; ++c) {
          auto at = [&](int h, int w) { return x[((static_cast<size_t>(n) * s.H + h) * s.W + w) * s.C + c]; };
          const float v[4] = {at(2 * i, 2 * j), at(2 * i, 2 * j + 1), at(2 * i + 1, 2 * j), at(2 * i + 1, 2 * j + 1)};
          const float m = *std::max_element(v, v + 4);
          tied += std::count(v, v + 4, m) > 1;
        }
  EXPECT_GT(tied, s.out() / 20) << "too few tied windows to test the tie rule";
}

// A hand-made window per channel: the gradient goes to the first maximum in
// row-major order, whatever the other corners hold.
TEST_F(CudaPool2d, MaxBackwardRoutesToFirstMaximum) {
  const Shape s{1, 2, 2, 4};
  // Corners (0,0) (0,1) (1,0) (1,1) of channels 0..3 (NHWC: corner-major).
  // Channel 0: all four equal -> (0,0); 1: (0,1) and (1,0) tie -> (0,1);
  // 2: (1,0) and (1,1) tie -> (1,0); 3: a single maximum at (1,1).
  const float corner[4][4] = {{1, 0, 0, 0}, {1, 3, 1, 1}, {1, 3, 2, 2}, {1, 1, 2, 5}};
  std::vector<float> x(s.in());
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 4; ++c) x[k * 4 + c] = corner[k][c];
  const std::vector<float> dy = {10, 20, 30, 40};
  const OffsetFloats d_x(x, 0), d_dy(dy, 0);
  OffsetFloats dx(unwritten(s.in()), 0);
  cuda::maxpool2x2_backward(dx.get(), d_dy.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
  sync();
  const std::vector<float> want = {10, 0, 0, 0,   // (0,0)
                                   0, 20, 0, 0,   // (0,1)
                                   0, 0, 30, 0,   // (1,0)
                                   0, 0, 0, 40};  // (1,1)
  EXPECT_TRUE(same_bits("dx", dx.values(), want));
  EXPECT_TRUE(same_bits("cpu dx", cpu_max(s, x, dy).dx, want));
}

// H = 1 or W = 1: no window at all, so forward writes nothing and backward
// zeroes the whole gradient.
TEST_F(CudaPool2d, NoWindowsZeroesTheGradient) {
  for (const Shape& s : {Shape{2, 1, 7, 64}, Shape{2, 5, 1, 3}}) {
    SCOPED_TRACE(name(s));
    const std::vector<float> x = quantised(s.in(), 3);
    const OffsetFloats d_x(x, 0), d_dy(std::vector<float>(1, 1.f), 0);
    OffsetFloats y(std::vector<float>(1, 7.f), 0), dx(unwritten(s.in()), 0), dxa(unwritten(s.in()), 0);
    cuda::maxpool2x2_forward(y.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
    cuda::avgpool2x2_forward(y.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
    cuda::maxpool2x2_backward(dx.get(), d_dy.get(), d_x.get(), s.N, s.H, s.W, s.C, stream_);
    cuda::avgpool2x2_backward(dxa.get(), d_dy.get(), s.N, s.H, s.W, s.C, stream_);
    sync();
    EXPECT_EQ(y.values(), std::vector<float>(1, 7.f));
    EXPECT_EQ(dx.values(), std::vector<float>(s.in(), 0.f));
    EXPECT_EQ(dxa.values(), std::vector<float>(s.in(), 0.f));
  }
}

TEST_F(CudaPool2d, EmptyTensorsLaunchNothing) {
  expect_no_launches([&] {
    for (const Shape& s : {Shape{0, 4, 4, 8}, Shape{2, 0, 4, 8}, Shape{2, 4, 0, 8}, Shape{2, 4, 4, 0}}) {
      cuda::maxpool2x2_forward(nullptr, nullptr, s.N, s.H, s.W, s.C, stream_);
      cuda::maxpool2x2_backward(nullptr, nullptr, nullptr, s.N, s.H, s.W, s.C, stream_);
      cuda::avgpool2x2_forward(nullptr, nullptr, s.N, s.H, s.W, s.C, stream_);
      cuda::avgpool2x2_backward(nullptr, nullptr, s.N, s.H, s.W, s.C, stream_);
    }
  });
}

TEST_F(CudaPool2d, NegativeShapeIsRejected) {
  EXPECT_THROW(cuda::maxpool2x2_forward(nullptr, nullptr, 1, -2, 4, 8, stream_), nst::InvalidArgument);
  EXPECT_THROW(cuda::avgpool2x2_backward(nullptr, nullptr, 1, 4, 4, -8, stream_), nst::InvalidArgument);
}

}  // namespace
}  // namespace nst::test
