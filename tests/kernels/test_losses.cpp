// Content, style and total-variation losses: value and gradient against the
// float64 references, the "+=" contract on the gradient output, the
// reference gradients against finite differences, and run-to-run /
// thread-count determinism of the loss sums.
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_floats;
using test::to_double;

constexpr double kTol = 1e-5;

// Loss values compared as one-element vectors, to reuse the reporting.
::testing::AssertionResult loss_matches(const char* what, float loss, double ref) {
  return matches(what, std::vector<float>{loss}, std::vector<double>{ref}, kTol);
}

// ---- content -----------------------------------------------------------------

constexpr size_t kContentN = 100003;  // odd, both threads busy

TEST(CpuContentLoss, MatchesReference) {
  const auto F = random_floats(kContentN, 1), P = random_floats(kContentN, 2);
  float loss = NAN;
  Guarded<float> dF(kContentN, 0.f);
  content_loss(&loss, dF.data(), F.data(), P.data(), kContentN, 5.f);
  double ref_loss = NAN;
  std::vector<double> ref(kContentN, 0.0);
  content_loss_reference(&ref_loss, ref.data(), to_double(F).data(), to_double(P).data(), kContentN, 5.0);
  EXPECT_TRUE(loss_matches("content_loss value", loss, ref_loss));
  EXPECT_TRUE(matches("content_loss gradient", dF.values(), ref, kTol));
  EXPECT_TRUE(dF.guard_intact());
}

TEST(CpuContentLoss, AccumulatesIntoGradient) {
  const auto F = random_floats(kContentN, 3), P = random_floats(kContentN, 4);
  const auto prior = random_floats(kContentN, 5);
  std::vector<float> fresh(kContentN, 0.f), added = prior;
  float loss;
  content_loss(&loss, fresh.data(), F.data(), P.data(), kContentN, 5.f);
  content_loss(&loss, added.data(), F.data(), P.data(), kContentN, 5.f);
  std::vector<double> want(kContentN);
  for (size_t i = 0; i < kContentN; ++i) want[i] = static_cast<double>(prior[i]) + fresh[i];
  EXPECT_TRUE(matches("content_loss prior + gradient", added, want, 1e-6));
}

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

// Runs the fast style loss the way the engine does: G from gram(), target
// A the Gram of other features. dF starts as `prior`.
struct StyleRun {
  float loss = NAN;
  std::vector<float> dF;
};
StyleRun run_style(const StyleShape& s, const std::vector<float>& F, const std::vector<float>& A,
                   std::vector<float> prior, float weight) {
  std::vector<float> G(s.N * s.cc()), ws(style_loss_workspace_floats(s.N, s.HW, s.C), NAN);
  gram(G.data(), F.data(), s.N, s.HW, s.C);
  StyleRun r;
  r.dF = std::move(prior);
  style_loss(&r.loss, r.dF.data(), F.data(), G.data(), A.data(), s.N, s.HW, s.C, weight, ws.data());
  return r;
}

std::vector<float> target_gram(const StyleShape& s, uint32_t seed) {
  const auto Fs = random_floats(static_cast<size_t>(s.HW) * s.C, seed, 0.f, 1.f);
  std::vector<float> A(s.cc());
  gram(A.data(), Fs.data(), 1, s.HW, s.C);
  return A;
}

void expect_style_matches_reference(const StyleShape& s) {
  // Features >= 0 as after a ReLU; target from a differently scaled image
  // so that G - A is not a small difference of nearly equal numbers.
  const auto F = random_floats(s.f(), 8, 0.f, 2.f);
  const auto A = target_gram(s, 9);
  const StyleRun r = run_style(s, F, A, std::vector<float>(s.f(), 0.f), 100.f);
  double ref_loss;
  std::vector<double> ref(s.f(), 0.0);
  style_loss_reference(&ref_loss, ref.data(), to_double(F).data(), to_double(A).data(), s.N, s.HW, s.C, 100.0);
  EXPECT_TRUE(loss_matches("style_loss value", r.loss, ref_loss));
  EXPECT_TRUE(matches("style_loss gradient", r.dF, ref, kTol));
}

TEST(CpuStyleLoss, MatchesReferenceOn7x5With3Channels) { expect_style_matches_reference({1, 35, 3}); }

TEST(CpuStyleLoss, MatchesReferenceWithOneChannel) { expect_style_matches_reference({1, 35, 1}); }

TEST(CpuStyleLoss, MatchesReferenceWithBatchAndOddChannels) { expect_style_matches_reference({2, 99, 70}); }

TEST(CpuStyleLoss, MatchesReferenceAtBlock1Width) { expect_style_matches_reference({1, 32 * 32, 64}); }

TEST(CpuStyleLoss, AccumulatesIntoGradient) {
  const StyleShape s{2, 20, 5};
  const auto F = random_floats(s.f(), 10, 0.f, 2.f), A = target_gram(s, 11);
  const auto prior = random_floats(s.f(), 12);
  const StyleRun fresh = run_style(s, F, A, std::vector<float>(s.f(), 0.f), 100.f);
  const StyleRun added = run_style(s, F, A, prior, 100.f);
  std::vector<double> want(s.f());
  for (size_t i = 0; i < s.f(); ++i) want[i] = static_cast<double>(prior[i]) + fresh.dF[i];
  EXPECT_TRUE(matches("style_loss prior + gradient", added.dF, want, 1e-6));
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

void expect_tv_matches_reference(const TvShape& s) {
  // Pixels in preprocessed units (about -128..128).
  const auto x = random_floats(s.n(), 15, -128.f, 128.f);
  float loss = NAN;
  Guarded<float> dx(s.n(), 0.f);
  tv_loss(&loss, dx.data(), x.data(), s.N, s.H, s.W, s.C, 1e-3f);
  double ref_loss;
  std::vector<double> ref(s.n(), 0.0);
  tv_loss_reference(&ref_loss, ref.data(), to_double(x).data(), s.N, s.H, s.W, s.C, 1e-3);
  EXPECT_TRUE(loss_matches("tv_loss value", loss, ref_loss));
  EXPECT_TRUE(matches("tv_loss gradient", dx.values(), ref, kTol));
  EXPECT_TRUE(dx.guard_intact());
}

TEST(CpuTvLoss, MatchesReferenceOn7x5With3Channels) { expect_tv_matches_reference({1, 7, 5, 3}); }

TEST(CpuTvLoss, MatchesReferenceWithOneChannelAndOneRow) { expect_tv_matches_reference({1, 1, 9, 1}); }

TEST(CpuTvLoss, MatchesReferenceWithBatch) { expect_tv_matches_reference({2, 33, 17, 3}); }

TEST(CpuTvLoss, MatchesReferenceAt256x256) { expect_tv_matches_reference({1, 256, 256, 3}); }

TEST(CpuTvLoss, AccumulatesIntoGradient) {
  const TvShape s{2, 6, 5, 3};
  const auto x = random_floats(s.n(), 16, -128.f, 128.f), prior = random_floats(s.n(), 17);
  std::vector<float> fresh(s.n(), 0.f), added = prior;
  float loss;
  tv_loss(&loss, fresh.data(), x.data(), s.N, s.H, s.W, s.C, 1e-3f);
  tv_loss(&loss, added.data(), x.data(), s.N, s.H, s.W, s.C, 1e-3f);
  std::vector<double> want(s.n());
  for (size_t i = 0; i < s.n(); ++i) want[i] = static_cast<double>(prior[i]) + fresh[i];
  EXPECT_TRUE(matches("tv_loss prior + gradient", added, want, 1e-6));
}

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
