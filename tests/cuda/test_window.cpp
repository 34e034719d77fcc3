// The custom window kernels (exact tiling's crops and scatter-adds) against
// the CPU ops, bit for bit, in the cases the op table does not cover:
// buffers off a 16-byte boundary and past one sweep of the grid; a window
// outside the map throws before anything is launched. The plain
// comparisons on aligned buffers (windows at the corners and in the middle,
// one row, the whole map, several images, VGG's channel counts and odd
// ones) live in the op table (tests/ops/test_op_table.cpp, shapes in
// kernels/table/pixels.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "nst/error.hpp"

namespace nst::test {
namespace {

struct Case {
  int N, H, W, C;
  Window win;
  size_t map_size() const { return static_cast<size_t>(N) * H * W * C; }
  size_t window_size() const { return static_cast<size_t>(N) * win.h * win.w * C; }
  std::string name() const {
    return std::to_string(N) + "x" + std::to_string(H) + "x" + std::to_string(W) + "x" + std::to_string(C) +
           ", window " + std::to_string(win.w) + "x" + std::to_string(win.h) + " at (" + std::to_string(win.x) + "," +
           std::to_string(win.y) + ")";
  }
};

class CudaWindow : public CudaTest {
 protected:
  void check_copy(const Case& c, size_t offset) {
    SCOPED_TRACE(c.name() + ", offset " + std::to_string(offset));
    const std::vector<float> src = random_floats(c.map_size(), 21 + c.C);
    std::vector<float> want(c.window_size());
    cpu::copy_window(want.data(), src.data(), c.N, c.H, c.W, c.C, c.win);
    OffsetFloats ddst(unwritten(c.window_size()), offset);
    const OffsetFloats dsrc(src, offset == 0 ? 0 : offset + 2);
    cuda::copy_window(ddst.get(), dsrc.get(), c.N, c.H, c.W, c.C, c.win, stream_);
    sync();
    EXPECT_TRUE(same_bits("copy", ddst.values(), want));
    EXPECT_TRUE(ddst.sentinels_intact());
  }
  void check_add(const Case& c, size_t offset) {
    SCOPED_TRACE(c.name() + ", offset " + std::to_string(offset));
    const std::vector<float> base = random_floats(c.map_size(), 31 + c.C), part = random_floats(c.window_size(), 41);
    std::vector<float> want = base;
    cpu::add_window(want.data(), part.data(), c.N, c.H, c.W, c.C, c.win);
    OffsetFloats ddst(base, offset);
    const OffsetFloats dpart(part, offset == 0 ? 0 : offset + 1);
    cuda::add_window(ddst.get(), dpart.get(), c.N, c.H, c.W, c.C, c.win, stream_);
    sync();
    EXPECT_TRUE(same_bits("add", ddst.values(), want));
    EXPECT_TRUE(ddst.sentinels_intact());
  }
};

// A corner window with VGG's 64 channels, and an inner one with 70.
TEST_F(CudaWindow, BuffersOffABoundary) {
  check_copy({2, 23, 31, 64, {0, 0, 7, 9}}, 3);
  check_add({1, 23, 31, 70, {5, 3, 11, 17}}, 1);
}

// More floats than the capped grid has threads (4096 x 256 a sweep).
TEST_F(CudaWindow, LargerThanOneGridSweep) {
  const Case big{1, 80, 160, 128, {8, 16, 72, 120}};
  check_copy(big, 0);
  check_add(big, 0);
}

TEST_F(CudaWindow, WindowOutsideTheMapThrowsAndLaunchesNothing) {
  expect_no_launches([&] {
    for (const Window& w : {Window{0, 0, 5, 5}, Window{-1, 0, 2, 2}, Window{0, 4, 2, 2}, Window{0, 0, 0, 3}}) {
      EXPECT_THROW(cuda::copy_window(nullptr, nullptr, 1, 4, 5, 2, w, stream_), InvalidArgument);
      EXPECT_THROW(cuda::add_window(nullptr, nullptr, 1, 4, 5, 2, w, stream_), InvalidArgument);
    }
  });
}

}  // namespace
}  // namespace nst::test
