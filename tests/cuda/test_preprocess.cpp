// Custom caffe pre/deprocessing kernels against nst::cpu::preprocess and
// deprocess, bit for bit, in the cases the op table does not cover:
// deprocess of NaN, infinities, signed zero and far out-of-range floats for
// the clamp (on pixel counts that are not multiples of the four-pixel
// groups), pointers off their boundaries (together, so a scalar head
// realigns them; apart, so every pixel is scalar), more than one sweep of
// the grid, the round trip back to the bytes, and empty launches. The
// plain preprocess of random bytes on aligned buffers lives in the op table
// (tests/ops/test_op_table.cpp, shapes in kernels/table/pixels.cpp).
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

std::vector<float> cpu_preprocess(const std::vector<uint8_t>& rgb) {
  std::vector<float> x(rgb.size());
  cpu::preprocess(x.data(), rgb.data(), rgb.size() / 3);
  return x;
}

std::vector<uint8_t> cpu_deprocess(const std::vector<float>& x) {
  std::vector<uint8_t> rgb(x.size());
  cpu::deprocess(rgb.data(), x.data(), x.size() / 3);
  return rgb;
}

// Preprocessed-looking floats that also leave 0..255 on both sides, with
// the values a clamp must handle spread through them.
std::vector<float> deprocess_input(size_t pixels, uint32_t seed) {
  std::vector<float> x = random_floats(3 * pixels, seed, -180.f, 190.f);
  const float special[] = {std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(),
                           1e30f,
                           -1e30f,
                           -0.f,
                           -103.939f,
                           151.32f};
  for (size_t k = 0; k < std::size(special) && 5 * k < x.size(); ++k) x[5 * k] = special[k];
  return x;
}

// Pixel counts for the special values: one, below a group, a group, a group
// and one, a 13x7 image, a batch of two, a 64x61 image and a tail.
const size_t kPixels[] = {1, 3, 4, 5, 13 * 7, 2 * 13 * 7, 64 * 61 + 3};

class CudaPreprocess : public CudaTest {
 protected:
  // Offsets: x in floats, rgb in bytes.
  void check_preprocess(size_t pixels, size_t x_offset, size_t rgb_offset) {
    SCOPED_TRACE(std::to_string(pixels) + " pixels, offsets x " + std::to_string(x_offset) + " rgb " +
                 std::to_string(rgb_offset));
    const std::vector<uint8_t> rgb = random_bytes(3 * pixels, 7 + static_cast<uint32_t>(pixels));
    const OffsetArray<uint8_t> d_rgb(rgb, rgb_offset);
    OffsetArray<float> x(unwritten(3 * pixels), x_offset);
    cuda::preprocess(x.get(), d_rgb.get(), pixels, stream_);
    sync();
    EXPECT_TRUE(same_bits("x", x.values(), cpu_preprocess(rgb)));
    EXPECT_TRUE(x.sentinels_intact());
  }

  void check_deprocess(size_t pixels, size_t x_offset, size_t rgb_offset) {
    SCOPED_TRACE(std::to_string(pixels) + " pixels, offsets x " + std::to_string(x_offset) + " rgb " +
                 std::to_string(rgb_offset));
    const std::vector<float> x = deprocess_input(pixels, 9 + static_cast<uint32_t>(pixels));
    const OffsetArray<float> d_x(x, x_offset);
    // 0x5A is no sentinel and rarely the answer; a byte left unwritten
    // shows up in most images.
    OffsetArray<uint8_t> rgb(std::vector<uint8_t>(3 * pixels, 0x5A), rgb_offset);
    cuda::deprocess(rgb.get(), d_x.get(), pixels, stream_);
    sync();
    EXPECT_TRUE(same_bits("rgb", rgb.values(), cpu_deprocess(x)));
    EXPECT_TRUE(rgb.sentinels_intact());
  }
};

TEST_F(CudaPreprocess, DeprocessMatchesCpuBitForBit) {
  for (size_t p : kPixels) check_deprocess(p, 0, 0);
}

// x k floats and rgb k bytes off their boundaries realign after a head of
// k pixels (a pixel is 12 bytes of x and 3 of rgb).
TEST_F(CudaPreprocess, EquallyMisalignedPointersTakeAScalarHead) {
  for (size_t k : {1, 2, 3})
    for (size_t p : {size_t{2}, size_t{13 * 7}, size_t{64 * 61 + 3}}) {
      check_preprocess(p, k, k);
      check_deprocess(p, k, k);
    }
}

// x off its boundary, rgb on its own: no head aligns both, all scalar.
TEST_F(CudaPreprocess, DifferentlyAlignedPointersAreAllScalar) {
  for (size_t p : {size_t{5}, size_t{13 * 7}}) {
    check_preprocess(p, 1, 0);
    check_deprocess(p, 1, 0);
    check_preprocess(p, 0, 2);
    check_deprocess(p, 0, 2);
  }
}

// More four-pixel groups than the capped grid has threads (4096 blocks of
// 256): the grid-stride loop must cover the rest.
TEST_F(CudaPreprocess, ImagesLargerThanOneGridSweep) {
  const size_t pixels = 4096 * 256 * 4 + 4 * 1000 + 3;
  check_preprocess(pixels, 0, 0);
  check_deprocess(pixels, 0, 0);
}

TEST_F(CudaPreprocess, RoundTripGivesBackTheBytes) {
  const size_t pixels = 2 * 13 * 7;
  const std::vector<uint8_t> rgb = random_bytes(3 * pixels, 99);
  const OffsetArray<uint8_t> in(rgb, 0);
  OffsetArray<float> x(std::vector<float>(3 * pixels), 0);
  OffsetArray<uint8_t> out(std::vector<uint8_t>(3 * pixels), 0);
  cuda::preprocess(x.get(), in.get(), pixels, stream_);
  cuda::deprocess(out.get(), x.get(), pixels, stream_);
  sync();
  EXPECT_TRUE(same_bits("rgb", out.values(), rgb));
}

TEST_F(CudaPreprocess, ZeroPixelsLaunchNothing) {
  expect_no_launches([&] {
    cuda::preprocess(nullptr, nullptr, 0, stream_);
    cuda::deprocess(nullptr, nullptr, 0, stream_);
  });
}

}  // namespace
}  // namespace nst::test
