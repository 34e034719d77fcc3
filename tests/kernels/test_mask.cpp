// pixel_scale (the masks' op) against its float64 reference: scaling and
// accumulating, in place, channel counts that are and are not multiples of
// the SIMD width, and a mask that is exactly 0 or 1 where masks usually are.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_floats;
using test::to_double;

// 37x29 pixels: odd, and above the parallel threshold so both threads work.
constexpr size_t kPixels = 37 * 29;

std::vector<float> mask_values(size_t pixels, uint32_t seed) {
  std::vector<float> m = random_floats(pixels, seed, 0.f, 1.f);
  for (size_t p = 0; p < pixels; p += 5) m[p] = p % 2 ? 1.f : 0.f;  // the common values
  return m;
}

void check(int C, bool accumulate) {
  SCOPED_TRACE("C = " + std::to_string(C) + (accumulate ? ", accumulate" : ""));
  const size_t n = kPixels * C;
  const auto x = random_floats(n, 1 + C), m = mask_values(kPixels, 2 + C), y0 = random_floats(n, 3 + C);
  Guarded<float> y = accumulate ? Guarded<float>(y0) : Guarded<float>(n);
  pixel_scale(y.data(), x.data(), m.data(), kPixels, C, accumulate);
  std::vector<double> ref = to_double(y0);
  pixel_scale_reference(ref.data(), to_double(x).data(), to_double(m).data(), kPixels, C, accumulate);
  // One rounding per element: within half an ulp of the double result.
  EXPECT_TRUE(matches("pixel_scale", y.values(), ref, 1e-7));
  EXPECT_TRUE(y.guard_intact());
}

TEST(CpuMask, ScaleMatchesReference) {
  for (int C : {1, 3, 64, 70}) check(C, false);
}

TEST(CpuMask, AccumulateMatchesReference) {
  for (int C : {1, 3, 64, 70}) check(C, true);
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
