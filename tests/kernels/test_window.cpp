// The windows of exact tiling (copy_window, add_window) against index
// arithmetic and the float64 reference: windows at the corners, in the
// middle, the whole map, several images, channel counts of VGG and odd
// ones, and a window that does not fit, which must throw rather than read
// or write outside the map.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cpu/ops.hpp"
#include "nst/error.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_floats;
using test::to_double;

struct MapShape {
  int N, H, W, C;
  size_t size() const { return static_cast<size_t>(N) * H * W * C; }
};

size_t window_floats(const MapShape& s, const Window& w) { return static_cast<size_t>(s.N) * w.h * w.w * s.C; }

std::string describe(const MapShape& s, const Window& w) {
  return std::to_string(s.N) + "x" + std::to_string(s.H) + "x" + std::to_string(s.W) + "x" + std::to_string(s.C) +
         ", window " + std::to_string(w.w) + "x" + std::to_string(w.h) + " at (" + std::to_string(w.x) + "," +
         std::to_string(w.y) + ")";
}

// Windows of a 2x23x31 map: corners, an interior one, one row, the whole map.
const MapShape kMap{2, 23, 31, 0};
const Window kWindows[] = {{0, 0, 7, 9}, {16, 22, 7, 9}, {5, 3, 11, 17}, {9, 0, 1, 31}, {0, 0, 23, 31}};

TEST(CpuWindow, CopyTakesExactlyTheWindow) {
  for (int C : {1, 3, 64, 70}) {
    const MapShape s{kMap.N, kMap.H, kMap.W, C};
    const std::vector<float> src = random_floats(s.size(), 1 + C);
    for (const Window& w : kWindows) {
      SCOPED_TRACE(describe(s, w));
      Guarded<float> dst(window_floats(s, w));
      copy_window(dst.data(), src.data(), s.N, s.H, s.W, s.C, w);
      const std::vector<float> got = dst.values();
      size_t i = 0, wrong = 0;
      for (int n = 0; n < s.N; ++n)
        for (int r = 0; r < w.h; ++r)
          for (int q = 0; q < w.w; ++q)
            for (int c = 0; c < C; ++c, ++i) {
              const size_t from = ((static_cast<size_t>(n) * s.H + w.y + r) * s.W + w.x + q) * C + c;
              wrong += got[i] != src[from];
            }
      EXPECT_EQ(wrong, 0u);
      EXPECT_TRUE(dst.guard_intact());
    }
  }
}

TEST(CpuWindow, AddMatchesReferenceAndLeavesTheRest) {
  for (int C : {1, 3, 64, 70}) {
    const MapShape s{kMap.N, kMap.H, kMap.W, C};
    for (const Window& w : kWindows) {
      SCOPED_TRACE(describe(s, w));
      const std::vector<float> base = random_floats(s.size(), 2 + C), part = random_floats(window_floats(s, w), 3 + C);
      Guarded<float> dst(base);
      add_window(dst.data(), part.data(), s.N, s.H, s.W, s.C, w);
      std::vector<double> ref = to_double(base);
      add_window_reference(ref.data(), to_double(part).data(), s.N, s.H, s.W, s.C, w);
      // One float add per element inside, the old value outside: within
      // half an ulp of the double sum everywhere.
      EXPECT_TRUE(matches("add_window", dst.values(), ref, 1e-7));
      EXPECT_TRUE(dst.guard_intact());
    }
  }
}

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
