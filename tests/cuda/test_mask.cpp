// The custom pixel_scale kernels (masks) against the CPU op, bit for bit,
// in the cases the op table does not cover: a pointer off a 16-byte
// boundary (the scalar kernel although C % 4 == 0), in place, past one
// sweep of the grid, and empty launches. The plain comparisons on aligned
// buffers (the float4 kernel for C % 4 == 0, the scalar one for odd C,
// scaling and accumulating) live in the op table
// (tests/ops/test_op_table.cpp, shapes in kernels/table/pixels.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"

namespace nst::test {
namespace {

std::vector<float> cpu_scale(const std::vector<float>& y0, const std::vector<float>& x, const std::vector<float>& m,
                             int C, bool accumulate) {
  std::vector<float> y = accumulate ? y0 : std::vector<float>(x.size());
  cpu::pixel_scale(y.data(), x.data(), m.data(), m.size(), C, accumulate);
  return y;
}

class CudaMask : public CudaTest {
 protected:
  void check(size_t pixels, int C, bool accumulate, size_t y_offset, size_t x_offset) {
    SCOPED_TRACE(std::to_string(pixels) + " pixels, C = " + std::to_string(C) + (accumulate ? ", accumulate" : "") +
                 ", offsets y " + std::to_string(y_offset) + " x " + std::to_string(x_offset));
    const size_t n = pixels * C;
    const std::vector<float> x = random_floats(n, 11 + C), m = random_floats(pixels, 12 + C, 0.f, 1.f);
    const std::vector<float> y0 = accumulate ? random_floats(n, 13 + C) : unwritten(n);
    OffsetFloats dy(y0, y_offset);
    const OffsetFloats dx(x, x_offset), dm(m, 0);
    cuda::pixel_scale(dy.get(), dx.get(), dm.get(), pixels, C, accumulate, stream_);
    sync();
    EXPECT_TRUE(same_bits("y", dy.values(), cpu_scale(y0, x, m, C, accumulate)));
    EXPECT_TRUE(dy.sentinels_intact());
  }
};

// A pointer off a 16-byte boundary takes the scalar kernel.
TEST_F(CudaMask, MisalignedPointersTakeTheScalarPath) {
  for (bool acc : {false, true}) {
    check(13 * 7, 64, acc, 1, 0);
    check(13 * 7, 64, acc, 0, 3);
  }
}

TEST_F(CudaMask, ScaleInPlace) {
  const size_t pixels = 13 * 7;
  const int C = 64;
  const std::vector<float> x = random_floats(pixels * C, 5), m = random_floats(pixels, 6, 0.f, 1.f);
  OffsetFloats buf(x, 0);
  const OffsetFloats dm(m, 0);
  cuda::pixel_scale(buf.get(), buf.get(), dm.get(), pixels, C, false, stream_);
  sync();
  EXPECT_TRUE(same_bits("y", buf.values(), cpu_scale({}, x, m, C, false)));
}

// More groups than the capped grid has threads (4096 x 256 a sweep).
TEST_F(CudaMask, LargerThanOneGridSweep) {
  check(2 * 4096 * 256 / 16 + 3, 64, true, 0, 0);
  check(4096 * 256 + 5, 3, false, 0, 0);
}

TEST_F(CudaMask, EmptyLaunchesNothing) {
  expect_no_launches([&] {
    cuda::pixel_scale(nullptr, nullptr, nullptr, 0, 64, false, stream_);
    cuda::pixel_scale(nullptr, nullptr, nullptr, 5, 0, true, stream_);
  });
}

}  // namespace
}  // namespace nst::test
