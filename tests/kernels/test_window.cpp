// The windows of exact tiling (copy_window, add_window): overlapping adds
// accumulate, and a window that does not fit throws rather than read or
// write outside the map. Both against index arithmetic and the float64
// reference (corners, the middle, one row, the whole map, several images,
// VGG's and odd channel counts): the op table (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "nst/error.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

struct MapShape {
  int N, H, W, C;
  size_t size() const { return static_cast<size_t>(N) * H * W * C; }
};

size_t window_floats(const MapShape& s, const Window& w) { return static_cast<size_t>(s.N) * w.h * w.w * s.C; }

// A tile's gradient scattered back over overlapping windows sums, as the
// tiled objective relies on: two adds of the same part double it exactly.
TEST(CpuWindow, OverlappingAddsAccumulate) {
  const MapShape s{1, 8, 8, 4};
  const Window a{0, 0, 5, 5}, b{3, 3, 5, 5};
  std::vector<float> dst(s.size(), 0.f);
  const std::vector<float> ones(window_floats(s, a), 1.f);
  add_window(dst.data(), ones.data(), s.N, s.H, s.W, s.C, a);
  add_window(dst.data(), ones.data(), s.N, s.H, s.W, s.C, b);
  EXPECT_EQ(dst[((3 * 8) + 3) * 4], 2.f);   // in both
  EXPECT_EQ(dst[((0 * 8) + 0) * 4], 1.f);   // in a only
  EXPECT_EQ(dst[((7 * 8) + 7) * 4], 1.f);   // in b only
  EXPECT_EQ(dst[((0 * 8) + 7) * 4], 0.f);   // in neither
}

TEST(CpuWindow, WindowOutsideTheMapThrows) {
  std::vector<float> map(4 * 5 * 2), part(100);
  for (const Window& w : {Window{0, 0, 5, 5}, Window{-1, 0, 2, 2}, Window{0, 4, 2, 2}, Window{3, 0, 2, 1},
                          Window{0, 0, 0, 3}}) {
    EXPECT_THROW(copy_window(part.data(), map.data(), 1, 4, 5, 2, w), InvalidArgument);
    EXPECT_THROW(add_window(map.data(), part.data(), 1, 4, 5, 2, w), InvalidArgument);
  }
}

}  // namespace
}  // namespace nst::cpu
