// cuBLAS paths beyond the op table's comparison of Gram (SYRK, GEMM; FP32
// and TF32) and the style loss with the float64 references
// (tests/ops/test_op_table.cpp, run on a GPU as gpu.OpTable*): SYRK's
// mirror exactly symmetric, the style-gradient product with a
// non-symmetric D (the column-major bookkeeping) per image and shared by
// all images, and the rejection of empty sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/vendor/cublas_ops.hpp"
#include "vendor/vendor_test.hpp"

namespace nst::cuda {
namespace {

using test::DeviceBuffer;
using test::DeviceOutput;
using test::matches;
using test::random_floats;
using test::to_double;

struct Shape {
  int N, HW, C;
  size_t f() const { return static_cast<size_t>(N) * HW * C; }
  size_t g() const { return static_cast<size_t>(N) * C * C; }
};

// Odd sizes: 13x7 images, channel counts off any tile size.
const Shape kShapes[] = {{1, 13 * 7, 3}, {2, 13 * 7, 64}, {2, 7 * 13, 70}, {1, 99, 1}};

constexpr double kTol = 1e-5;  // fp32 sums against float64

using VendorCublas = test::VendorTest;

TEST_F(VendorCublas, GramBySyrkIsExactlySymmetric) {
  const Shape s{2, 50, 33};
  CublasOps ops(stream_);
  DeviceBuffer<float> F(random_floats(s.f(), 12));
  DeviceOutput G(s.g());
  ops.gram(G.get(), F.get(), s.N, s.HW, s.C, GramMethod::Syrk);
  sync();
  const auto g = G.values();
  for (int n = 0; n < s.N; ++n)
    for (int i = 0; i < s.C; ++i)
      for (int j = 0; j < i; ++j) {
        const size_t base = static_cast<size_t>(n) * s.C * s.C;
        ASSERT_EQ(g[base + i * s.C + j], g[base + j * s.C + i]) << n << ": " << i << "," << j;
      }
}

// dF (N,HW,C) += scale * F D[n] in float64, D row-major (C,C).
std::vector<double> product_reference(const std::vector<float>& dF0, const std::vector<float>& F,
                                      const std::vector<float>& D, const Shape& s, double scale, bool d_per_image) {
  std::vector<double> out = to_double(dF0);
  for (int n = 0; n < s.N; ++n) {
    const size_t d_base = d_per_image ? static_cast<size_t>(n) * s.C * s.C : 0;
    for (int p = 0; p < s.HW; ++p)
      for (int j = 0; j < s.C; ++j) {
        double acc = 0;
        for (int k = 0; k < s.C; ++k)
          acc += static_cast<double>(F[(static_cast<size_t>(n) * s.HW + p) * s.C + k]) * D[d_base + k * s.C + j];
        out[(static_cast<size_t>(n) * s.HW + p) * s.C + j] += scale * acc;
      }
  }
  return out;
}

// D need not be symmetric: the column-major bookkeeping is exact.
TEST_F(VendorCublas, StyleGradientProductAccumulatesScaledProduct) {
  CublasOps ops(stream_);
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(testing::Message() << "N=" << s.N << " HW=" << s.HW << " C=" << s.C);
    const auto F = random_floats(s.f(), 21, 0.f, 1.f);
    const auto D = random_floats(s.g(), 22);
    const auto dF0 = random_floats(s.f(), 23);
    const float scale = 0.37f;
    DeviceBuffer<float> dFdev(F), dDdev(D);
    DeviceOutput dF(dF0);
    ops.style_gradient_product(dF.get(), dFdev.get(), dDdev.get(), s.N, s.HW, s.C, scale);
    sync();
    EXPECT_TRUE(matches("dF", dF.values(), product_reference(dF0, F, D, s, scale, true), kTol));
    EXPECT_TRUE(dF.guard_intact());
  }
}

TEST_F(VendorCublas, StyleGradientProductWithOneMatrixForAllImages) {
  CublasOps ops(stream_);
  const Shape s{3, 13 * 7, 70};
  const auto F = random_floats(s.f(), 31, 0.f, 1.f);
  const auto D = random_floats(static_cast<size_t>(s.C) * s.C, 32);
  const auto dF0 = random_floats(s.f(), 33);
  DeviceBuffer<float> dFdev(F), dDdev(D);
  DeviceOutput dF(dF0);
  ops.style_gradient_product(dF.get(), dFdev.get(), dDdev.get(), s.N, s.HW, s.C, -2.f, /*d_per_image=*/false);
  sync();
  EXPECT_TRUE(matches("dF", dF.values(), product_reference(dF0, F, D, s, -2.0, false), kTol));
  EXPECT_TRUE(dF.guard_intact());
}

TEST_F(VendorCublas, RejectsEmptySizes) {
  CublasOps ops(stream_);
  EXPECT_THROW(ops.gram(nullptr, nullptr, 1, 0, 3), nst::InvalidArgument);
  EXPECT_THROW(ops.style_gradient_product(nullptr, nullptr, nullptr, 0, 5, 3, 1.f), nst::InvalidArgument);
}

}  // namespace
}  // namespace nst::cuda
