// Caffe pre/deprocessing for the Keras VGG weights: RGB bytes <-> BGR
// floats minus the ImageNet mean; the round trip is exact on bytes.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_bytes;

TEST(CpuPreprocess, SwapsToBgrAndSubtractsCaffeMean) {
  const uint8_t rgb[3] = {10, 20, 30};
  float x[3];
  preprocess(x, rgb, 1);
  EXPECT_FLOAT_EQ(x[0], 30 - 103.939f);  // B
  EXPECT_FLOAT_EQ(x[1], 20 - 116.779f);  // G
  EXPECT_FLOAT_EQ(x[2], 10 - 123.68f);   // R
}

TEST(CpuPreprocess, RoundTripIsExactOnEveryByteValue) {
  // Every value in every channel, then random pixels.
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 256; ++i)
    for (int c = 0; c < 3; ++c) rgb.push_back(static_cast<uint8_t>((i + 85 * c) % 256));
  const auto more = random_bytes(3 * 10007, 2);
  rgb.insert(rgb.end(), more.begin(), more.end());
  const size_t pixels = rgb.size() / 3;
  std::vector<float> x(rgb.size());
  Guarded<uint8_t> back(rgb.size(), 0);
  preprocess(x.data(), rgb.data(), pixels);
  deprocess(back.data(), x.data(), pixels);
  EXPECT_EQ(back.values(), rgb);
  EXPECT_TRUE(back.guard_intact());
}

TEST(CpuDeprocess, RoundsToNearestAndClamps) {
  // Values given in 0..255 units; subtract the mean to get BGR inputs.
  const float mean[3] = {103.939f, 116.779f, 123.68f};
  const float want_bgr[5][3] = {{12.4f, 12.6f, 254.7f}, {-0.4f, -7.f, 255.4f}, {300.f, 1e6f, -1e6f},
                                {0.5001f, 99.49f, 128.f}, {NAN, 3.f, 4.f}};
  std::vector<float> x;
  for (const auto& p : want_bgr)
    for (int c = 0; c < 3; ++c) x.push_back(p[c] - mean[c]);
  std::vector<uint8_t> rgb(15);
  deprocess(rgb.data(), x.data(), 5);
  const std::vector<uint8_t> want = {255, 13, 12,   255, 0, 0,   0, 255, 255,   128, 99, 1,   4, 3, 0};
  EXPECT_EQ(rgb, want);
}

}  // namespace
}  // namespace nst::cpu
