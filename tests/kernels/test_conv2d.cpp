// conv2d 3x3 by im2col + SGEMM, what the op table's comparison with the
// float64 reference (tests/ops/test_op_table.cpp) does not cover: the
// im2col bands inside their workspace, dgrad overwriting, the prepared
// dgrad kernel, the workspace bound at VGG scale; and the reference dgrad
// against finite differences of the reference fprop.
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::matches;
using test::Guarded;
using test::random_floats;
using test::to_double;

using Shape = test::ConvShape;

// Floats one im2col of the whole image would take (no banding).
size_t full_im2col(const Shape& s, int C) { return static_cast<size_t>(s.H) * s.W * 9 * C; }

std::vector<float> random_kernel(const Shape& s, uint32_t seed) { return test::random_conv_kernel(s, seed); }

// The op table (tests/ops/test_op_table.cpp) checks every output and its
// end; the band loop also writes into the workspace, which only this test
// sees: shapes of more im2col than one band holds (67 rows are not a
// multiple of the band height, so a short last band too) write nothing
// past conv2d_workspace_floats.
TEST(CpuConv2d, BandsStayInsideTheWorkspace) {
  for (const bool dgrad : {false, true}) {
    // dgrad is a convolution over dy, so its im2col has Cout channels.
    const Shape s = dgrad ? Shape{1, 67, 61, 6, 128} : Shape{2, 67, 61, 128, 6};
    SCOPED_TRACE(dgrad ? "dgrad" : "fprop");
    ASSERT_LT(conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout), full_im2col(s, dgrad ? s.Cout : s.Cin))
        << "shape fits in one band: make it larger";
    const auto in = random_floats(dgrad ? s.y() : s.x(), 1), w = random_kernel(s, 2);
    Guarded<float> out(dgrad ? s.x() : s.y()), ws(conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout));
    if (dgrad)
      conv2d_dgrad(out.data(), in.data(), w.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data());
    else
      conv2d_fprop(out.data(), in.data(), w.data(), nullptr, s.N, s.H, s.W, s.Cin, s.Cout, true, ws.data());
    EXPECT_TRUE(out.guard_intact()) << "wrote past the end of the output";
    EXPECT_TRUE(ws.guard_intact()) << "wrote past the end of the workspace";
  }
}

TEST(CpuConv2d, DgradOverwritesRatherThanAccumulates) {
  const Shape s{1, 5, 4, 3, 2};
  const auto dy = random_floats(s.y(), 6), w = random_kernel(s, 7);
  std::vector<float> dx(s.x()), ws(conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout));
  conv2d_dgrad(dx.data(), dy.data(), w.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data());
  const auto first = dx;
  conv2d_dgrad(dx.data(), dy.data(), w.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data());
  EXPECT_EQ(dx, first);
}

// The engine rearranges each frozen kernel once and runs only the GEMM per
// call: the same numbers as the one-call form, bit for bit.
TEST(CpuConv2d, DgradWithAPreparedKernelEqualsTheOneCallForm) {
  const Shape s{2, 9, 7, 5, 11};
  const auto dy = random_floats(s.y(), 8), w = random_kernel(s, 9);
  std::vector<float> one(s.x()), prepared(s.x()), ws(conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout));
  conv2d_dgrad(one.data(), dy.data(), w.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data());
  std::vector<float> wt(9 * s.Cin * s.Cout);
  conv2d_dgrad_weights(wt.data(), w.data(), s.Cin, s.Cout);
  conv2d_dgrad_prepared(prepared.data(), dy.data(), wt.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data());
  EXPECT_EQ(prepared, one);
  // wt[kh,kw,co,ci] = w[2-kh,2-kw,ci,co]
  EXPECT_EQ(wt[((0 * 3 + 1) * s.Cout + 3) * s.Cin + 2], w[((2 * 3 + 1) * s.Cin + 2) * s.Cout + 3]);
}

TEST(CpuConv2d, WorkspaceIsBoundedAtVggScale) {
  // One 512x512 image through block1 (64 channels) and a 32x32 one through
  // block5 (512): the im2col band stays at most ~8M floats (32 MB) plus the
  // rearranged dgrad kernel, instead of 151M floats for a whole 512x512 im2col.
  const size_t bound = size_t(8) << 20;
  EXPECT_LE(conv2d_workspace_floats(1, 512, 512, 64, 64), bound + 9 * 64 * 64);
  EXPECT_LE(conv2d_workspace_floats(1, 32, 32, 512, 512), bound + 9 * 512 * 512);
  EXPECT_LE(conv2d_workspace_floats(1, 512, 512, 3, 64), bound + 9 * 3 * 64);
}

TEST(CpuConv2d, ReferenceDgradIsGradientOfFprop) {
  // d/dx sum(dy * conv(x)) = dgrad(dy), by central differences (conv is
  // linear in x, so they agree to rounding).
  const Shape s{2, 4, 3, 2, 3};
  const auto w = to_double(random_kernel(s, 8)), dy = to_double(random_floats(s.y(), 9));
  const auto x = to_double(random_floats(s.x(), 10));
  auto f = [&](const std::vector<double>& xv) {
    std::vector<double> y(s.y());
    conv2d_fprop_reference(y.data(), xv.data(), w.data(), nullptr, s.N, s.H, s.W, s.Cin, s.Cout, false);
    return test::dot(dy, y);
  };
  std::vector<double> dx(s.x());
  conv2d_dgrad_reference(dx.data(), dy.data(), w.data(), s.N, s.H, s.W, s.Cin, s.Cout);
  EXPECT_TRUE(matches("conv2d_dgrad_reference vs finite differences", dx, test::numeric_gradient(f, x, 1e-3), 1e-8));
}

}  // namespace
}  // namespace nst::cpu
