// conv2d 3x3 by Winograd F(4x4,3x3), fprop and dgrad (with the fused ReLU
// mask), beyond the op table's comparison with the float64 reference on
// irregular shapes (tests/ops/test_op_table.cpp, variant cpu.winograd):
// dy left as it was, the same bits on one thread or two, a workspace that
// does not grow with the image and stays inside its bound, and the error
// beside the GEMM path's on VGG16's channel counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::random_floats;
using test::relative_error;
using test::to_double;

// The bound stated for Winograd F(4x4,3x3) in float32: measured up to
// 1.8e-6 relative (||y - ref|| / ||ref||) on the op table's shapes, and
// 4.4e-7 to 8e-7 on VGG16's channel counts below, against 1.5e-7 to
// 1.8e-7 for the GEMM path there (ctest -V). The transforms' coefficients (8 in A^T, 5 in B^T, 1/24
// in G) amplify rounding, and the error grows with Cin.
constexpr double kWinogradTol = 1e-5;

using Conv = test::ConvShape;

std::vector<float> random_kernel(const Conv& s, uint32_t seed) { return test::random_conv_kernel(s, seed); }

std::vector<float> fprop_kernel(const Conv& s, const std::vector<float>& w) {
  std::vector<float> U(winograd_kernel_floats(s.Cin, s.Cout));
  winograd_fprop_kernel(U.data(), w.data(), s.Cin, s.Cout);
  return U;
}

std::vector<float> dgrad_kernel(const Conv& s, const std::vector<float>& w) {
  std::vector<float> U(winograd_kernel_floats(s.Cin, s.Cout));
  winograd_dgrad_kernel(U.data(), w.data(), s.Cin, s.Cout);
  return U;
}

// Winograd's fprop on `threads` workspace slices.
std::vector<float> winograd_y(const Conv& s, const std::vector<float>& x, const std::vector<float>& w,
                              const float* b, bool relu, int threads = 2) {
  const auto U = fprop_kernel(s, w);
  Guarded<float> y(s.y()), ws(winograd_workspace_floats(s.Cin, s.Cout, threads));
  winograd_fprop(y.data(), x.data(), U.data(), b, s.N, s.H, s.W, s.Cin, s.Cout, relu, ws.data(),
                 winograd_workspace_floats(s.Cin, s.Cout, threads));
  EXPECT_TRUE(y.guard_intact()) << "wrote past the end of y";
  EXPECT_TRUE(ws.guard_intact()) << "wrote past the end of the workspace";
  return y.values();
}

std::vector<float> winograd_dx(const Conv& s, const std::vector<float>& dy, const float* relu_y,
                               const std::vector<float>& w, int threads = 2) {
  const auto U = dgrad_kernel(s, w);
  Guarded<float> dx(s.x()), ws(winograd_workspace_floats(s.Cin, s.Cout, threads));
  winograd_dgrad(dx.data(), dy.data(), relu_y, U.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data(),
                 winograd_workspace_floats(s.Cin, s.Cout, threads));
  EXPECT_TRUE(dx.guard_intact()) << "wrote past the end of dx";
  EXPECT_TRUE(ws.guard_intact()) << "wrote past the end of the workspace";
  return dx.values();
}

std::vector<double> reference_y(const Conv& s, const std::vector<float>& x, const std::vector<float>& w,
                                const float* b, bool relu) {
  std::vector<double> ref(s.y());
  const auto xd = to_double(x), wd = to_double(w);
  std::vector<double> bd(b ? b : nullptr, b ? b + s.Cout : nullptr);
  conv2d_fprop_reference(ref.data(), xd.data(), wd.data(), b ? bd.data() : nullptr, s.N, s.H, s.W, s.Cin, s.Cout,
                         relu);
  return ref;
}

TEST(CpuWinograd, DgradLeavesDyAsItWas) {
  const Conv s{1, 9, 7, 5, 6};
  const auto dy = random_floats(s.y(), 7), w = random_kernel(s, 8), relu_y = random_floats(s.y(), 9);
  auto copy = dy;
  winograd_dx(s, copy, relu_y.data(), w);
  EXPECT_EQ(copy, dy);
}

// Each tile's block and its GEMMs are the same whatever the number of
// threads: the result is bit for bit the same on one thread or two, and
// whether the threads take whole blocks (these 4 blocks on one thread) or
// share them (on two).
TEST(CpuWinograd, BitsDoNotDependOnTheThreadCount) {
  const Conv s{2, 67, 61, 17, 20};
  const auto x = random_floats(s.x(), 10), w = random_kernel(s, 11), b = random_floats(s.Cout, 12);
  EXPECT_EQ(winograd_y(s, x, w, b.data(), true, 1), winograd_y(s, x, w, b.data(), true, 2));
  const auto dy = random_floats(s.y(), 13);
  EXPECT_EQ(winograd_dx(s, dy, nullptr, w, 1), winograd_dx(s, dy, nullptr, w, 2));
}

TEST(CpuWinograd, WorkspaceDoesNotGrowWithTheImage) {
  // One slice per thread, at most 36 x 128 tiles x 1024 channels (18.9 MB)
  // for 512 channels each way (a block holds at least 128 tiles).
  for (const auto& [cin, cout] : {std::pair{3, 64}, {64, 64}, {256, 256}, {512, 512}})
    EXPECT_LE(winograd_workspace_floats(cin, cout, 1), size_t(36) * 128 * 1024) << cin << "->" << cout;
  EXPECT_EQ(winograd_workspace_floats(64, 128, 2), 2 * winograd_workspace_floats(64, 128, 1));
}

// The error of each algorithm on VGG16's channel counts with non-negative
// inputs (as after a ReLU), printed (ctest -V) and bounded: Winograd by
// kWinogradTol, GEMM by the project's 1e-6.
TEST(CpuWinograd, ErrorOnVggChannelCountsIsWithinItsBound) {
  for (const auto& [cin, cout] : {std::pair{64, 64}, {128, 128}, {256, 256}, {512, 512}}) {
    const Conv s{1, 12, 12, cin, cout};
    const auto x = random_floats(s.x(), 14, 0.f, 1.f), w = random_kernel(s, 15), b = random_floats(cout, 16);
    const auto ref = reference_y(s, x, w, b.data(), false);
    const double wino = relative_error(winograd_y(s, x, w, b.data(), false), ref);
    Guarded<float> y(s.y()), ws(conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout));
    conv2d_fprop(y.data(), x.data(), w.data(), b.data(), s.N, s.H, s.W, s.Cin, s.Cout, false, ws.data());
    const double gemm = relative_error(y.values(), ref);
    std::printf("    %d->%d: winograd %.2g, gemm %.2g\n", cin, cout, wino, gemm);
    EXPECT_LT(wino, kWinogradTol) << cin << "->" << cout;
    EXPECT_LT(gemm, 1e-6) << cin << "->" << cout;
  }
}

}  // namespace
}  // namespace nst::cpu
