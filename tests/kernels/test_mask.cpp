// pixel_scale (the masks' op): accumulating is one fma, scaling works in
// place, zero pixels write nothing. Scaling and accumulating against the
// float64 reference, on channel counts on and off the SIMD width and masks
// exactly 0 or 1 in places: the op table (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::random_floats;

// 37x29 pixels: odd, and above the parallel threshold so both threads work.
constexpr size_t kPixels = 37 * 29;

std::vector<float> mask_values(size_t pixels, uint32_t seed) {
  std::vector<float> m = random_floats(pixels, seed, 0.f, 1.f);
  for (size_t p = 0; p < pixels; p += 5) m[p] = p % 2 ? 1.f : 0.f;  // the common values
  return m;
}

TEST(CpuMask, AccumulateIsOneFma) {
  const std::vector<float> x = {0.1f, 3.f}, m = {0.3f}, y0 = {0.7f, -0.9f};
  std::vector<float> y = y0;
  pixel_scale(y.data(), x.data(), m.data(), 1, 2, true);
  for (int k = 0; k < 2; ++k) EXPECT_EQ(y[k], std::fma(m[0], x[k], y0[k]));
}

TEST(CpuMask, ScaleWorksInPlace) {
  const int C = 64;
  const auto x = random_floats(kPixels * C, 7), m = mask_values(kPixels, 8);
  std::vector<float> separate(x.size()), inplace = x;
  pixel_scale(separate.data(), x.data(), m.data(), kPixels, C, false);
  pixel_scale(inplace.data(), inplace.data(), m.data(), kPixels, C, false);
  EXPECT_EQ(inplace, separate);
}

TEST(CpuMask, ZeroPixelsWritesNothing) {
  Guarded<float> y(0);
  pixel_scale(y.data(), nullptr, nullptr, 0, 64, false);
  EXPECT_TRUE(y.guard_intact());
}

}  // namespace
}  // namespace nst::cpu
