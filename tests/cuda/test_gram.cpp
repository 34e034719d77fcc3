// The custom Gram kernels (kernels/cuda/gram.cu) in what the op table does
// not check: G exactly symmetric on shapes that are not multiples of the
// 64x64 tile, the split-K path taken where the shape asks for it (and no
// workspace needed without it), and an empty shape rejected. The
// comparisons with the CPU Gram and the float64 reference (split and
// unsplit kernels, run to run, every thread/block order of the emulation)
// live in the op table (tests/ops/test_op_table.cpp, shapes in
// kernels/table/losses.cpp).
#include <gtest/gtest.h>

#include <ostream>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/losses.hpp"

namespace nst::test {
namespace {

constexpr double kTol = 1e-5;

struct GramShape {
  int N, HW, C;
  size_t f() const { return static_cast<size_t>(N) * HW * C; }
  size_t g() const { return static_cast<size_t>(N) * C * C; }
};
std::ostream& operator<<(std::ostream& os, const GramShape& s) {
  return os << "N=" << s.N << " HW=" << s.HW << " C=" << s.C;
}

class CudaGram : public CudaTest {
 protected:
  // G from the device kernels; F >= 0 as after a ReLU.
  std::vector<float> device_gram(const GramShape& s, const std::vector<float>& F) {
    DeviceBuffer<float> f(F), g(s.g()), ws(cuda::gram_workspace_floats(s.N, s.HW, s.C));
    cuda::gram(g.get(), f.get(), s.N, s.HW, s.C, ws.get(), stream_);
    sync();
    return g.download();
  }
  static std::vector<float> features(const GramShape& s) { return random_floats(s.f(), 11, 0.f, 2.f); }
  static std::vector<double> cpu_gram(const GramShape& s, const std::vector<float>& F) {
    std::vector<float> G(s.g());
    cpu::gram(G.data(), F.data(), s.N, s.HW, s.C);
    return to_double(G);
  }
};

class CudaGramShapes : public CudaGram, public ::testing::WithParamInterface<GramShape> {};

TEST_P(CudaGramShapes, IsExactlySymmetric) {
  const GramShape s = GetParam();
  const auto G = device_gram(s, features(s));
  for (int n = 0; n < s.N; ++n)
    for (int i = 0; i < s.C; ++i)
      for (int j = 0; j < i; ++j) {
        const size_t base = static_cast<size_t>(n) * s.C * s.C;
        ASSERT_EQ(G[base + static_cast<size_t>(i) * s.C + j], G[base + static_cast<size_t>(j) * s.C + i])
            << s << " n=" << n << " i=" << i << " j=" << j;
      }
}

// 13x7 pixels (not a multiple of the 16-row slab) with channel counts below,
// at and above one 64-channel tile; a batch of one-channel images; and
// shapes long enough in HW to be split into several K slices.
INSTANTIATE_TEST_SUITE_P(Shapes, CudaGramShapes,
                         ::testing::Values(GramShape{1, 13 * 7, 3}, GramShape{1, 13 * 7, 64},
                                           GramShape{1, 13 * 7, 70}, GramShape{2, 13 * 7, 1},
                                           GramShape{2, 13 * 7, 70}, GramShape{1, 37 * 29, 64},
                                           GramShape{2, 23 * 29, 130}));

TEST_F(CudaGram, SplitsLongHWIntoSlices) {
  EXPECT_EQ(cuda::gram_split_k(1, 13 * 7, 70), 1);
  EXPECT_GT(cuda::gram_split_k(1, 37 * 29, 64), 1);
  EXPECT_GT(cuda::gram_split_k(2, 23 * 29, 130), 1);
  // block1 of a 512x512 image: enough slices to fill a large GPU.
  EXPECT_GE(cuda::gram_split_k(1, 512 * 512, 64), 256);
}

TEST_F(CudaGram, NeedsNoWorkspaceForOneSlice) {
  EXPECT_EQ(cuda::gram_workspace_floats(1, 13 * 7, 70), 0u);
  const GramShape s{1, 13 * 7, 70};
  const auto F = features(s);
  DeviceBuffer<float> f(F), g(s.g());
  cuda::gram(g.get(), f.get(), s.N, s.HW, s.C, nullptr, stream_);
  sync();
  EXPECT_TRUE(matches("gram with a null workspace", g.download(), cpu_gram(s, F), kTol));
}

TEST_F(CudaGram, RejectsAnEmptyShape) {
  EXPECT_THROW(cuda::gram(nullptr, nullptr, 1, 0, 3, nullptr, stream_), nst::InvalidArgument);
}

}  // namespace
}  // namespace nst::test
