// Content, style and total-variation losses: the reference gradients
// against finite differences, and run-to-run / thread-count determinism of
// the loss sums. The kernels' values and their "+=" into a prior gradient
// against the float64 references: the op table (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::matches;
using test::random_floats;
using test::to_double;

// ---- content -----------------------------------------------------------------

TEST(CpuContentLoss, ReferenceGradientMatchesFiniteDifferences) {
  const size_t n = 30;
  const auto F = to_double(random_floats(n, 6)), P = to_double(random_floats(n, 7));
  auto f = [&](const std::vector<double>& Fv) {
    double loss;
    std::vector<double> unused(n);
    content_loss_reference(&loss, unused.data(), Fv.data(), P.data(), n, 5.0);
    return loss;
  };
  double loss;
  std::vector<double> dF(n, 0.0);
  content_loss_reference(&loss, dF.data(), F.data(), P.data(), n, 5.0);
  EXPECT_TRUE(matches("content_loss_reference vs finite differences", dF, test::numeric_gradient(f, F, 1e-4),
                      1e-8));
}

// ---- style -------------------------------------------------------------------

struct StyleShape {
  int N, HW, C;
  size_t f() const { return static_cast<size_t>(N) * HW * C; }
  size_t cc() const { return static_cast<size_t>(C) * C; }
};

std::vector<float> target_gram(const StyleShape& s, uint32_t seed) {
  const auto Fs = random_floats(static_cast<size_t>(s.HW) * s.C, seed, 0.f, 1.f);
  std::vector<float> A(s.cc());
  gram(A.data(), Fs.data(), 1, s.HW, s.C);
  return A;
}

TEST(CpuStyleLoss, ReferenceGradientMatchesFiniteDifferences) {
  // Also checks the Gram reference: the loss goes through gram_reference.
  const StyleShape s{2, 6, 3};
  const auto F = to_double(random_floats(s.f(), 13, 0.f, 2.f)), A = to_double(target_gram(s, 14));
  auto f = [&](const std::vector<double>& Fv) {
    double loss;
    std::vector<double> unused(s.f());
    style_loss_reference(&loss, unused.data(), Fv.data(), A.data(), s.N, s.HW, s.C, 100.0);
    return loss;
  };
  double loss;
  std::vector<double> dF(s.f(), 0.0);
  style_loss_reference(&loss, dF.data(), F.data(), A.data(), s.N, s.HW, s.C, 100.0);
  // The loss is quartic in F: central differences err by O(h^2) ~ 1e-10.
  EXPECT_TRUE(matches("style_loss_reference vs finite differences", dF, test::numeric_gradient(f, F, 1e-5), 1e-7));
}

// ---- total variation -----------------------------------------------------------

struct TvShape {
  int N, H, W, C;
  size_t n() const { return static_cast<size_t>(N) * H * W * C; }
};

TEST(CpuTvLoss, ReferenceGradientMatchesFiniteDifferences) {
  const TvShape s{2, 4, 3, 2};
  const auto x = to_double(random_floats(s.n(), 18));
  auto f = [&](const std::vector<double>& xv) {
    double loss;
    std::vector<double> unused(s.n());
    tv_loss_reference(&loss, unused.data(), xv.data(), s.N, s.H, s.W, s.C, 1e-3);
    return loss;
  };
  double loss;
  std::vector<double> dx(s.n(), 0.0);
  tv_loss_reference(&loss, dx.data(), x.data(), s.N, s.H, s.W, s.C, 1e-3);
  EXPECT_TRUE(matches("tv_loss_reference vs finite differences", dx, test::numeric_gradient(f, x, 1e-4), 1e-8));
}

// ---- determinism -----------------------------------------------------------------

// All three losses with their sums run on `threads` threads. The Gram
// matrix is made beforehand at the default count: BLAS may split its sums
// differently per thread count, and that is not what is under test here.
std::vector<float> all_losses(int threads) {
  const size_t n = 256 * 256 * 3;
  const auto x = random_floats(n, 19, -128.f, 128.f), P = random_floats(n, 20, -128.f, 128.f);
  const StyleShape s{1, 64 * 64, 48};
  const auto F = random_floats(s.f(), 21, 0.f, 2.f), A = target_gram(s, 22);
  std::vector<float> G(s.cc()), ws(style_loss_workspace_floats(s.N, s.HW, s.C));
  gram(G.data(), F.data(), s.N, s.HW, s.C);

  const int saved = num_threads();
  set_num_threads(threads);
  std::vector<float> grad(n, 0.f), dF(s.f(), 0.f), out(3);
  content_loss(&out[0], grad.data(), x.data(), P.data(), n, 5.f);
  tv_loss(&out[1], grad.data(), x.data(), 1, 256, 256, 3, 1e-3f);
  style_loss(&out[2], dF.data(), F.data(), G.data(), A.data(), s.N, s.HW, s.C, 100.f, ws.data());
  set_num_threads(saved);
  return out;
}

TEST(CpuLossSums, AreBitwiseIdenticalRunToRun) { EXPECT_EQ(all_losses(2), all_losses(2)); }

TEST(CpuLossSums, AreBitwiseIdenticalAcrossThreadCounts) { EXPECT_EQ(all_losses(1), all_losses(2)); }

}  // namespace
}  // namespace nst::cpu
