// The custom loss kernels (kernels/cuda/losses.cu) against the CPU ops on
// random data whose shapes are not multiples of the block or tile sizes:
// the loss written to the device scalar, the gradient accumulated (+=) into
// a gradient that starts from random values, and the loss and gradient
// bit-identical run to run and under every thread/block order of the
// emulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <utility>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/losses.hpp"

namespace nst::test {
namespace {

constexpr double kTol = 1e-5;

::testing::AssertionResult loss_matches(const char* what, float loss, float cpu_loss) {
  return matches(what, std::vector<float>{loss}, std::vector<double>{cpu_loss}, kTol);
}

// A loss and its gradient, as downloaded from the device or computed on the CPU.
struct LossRun {
  float loss = NAN;
  std::vector<float> grad;
  bool operator==(const LossRun& o) const {
    return std::memcmp(&loss, &o.loss, sizeof loss) == 0 && grad == o.grad;
  }
};

// ---- content -----------------------------------------------------------------

class CudaContentLoss : public CudaTest {
 protected:
  static constexpr size_t kN = 2 * 13 * 7 * 70 + 1;  // odd, not a multiple of a block
  static constexpr float kWeight = 5e3f;             // gradient comparable to the prior

  std::vector<float> F = random_floats(kN, 1), P = random_floats(kN, 2);
  std::vector<float> prior = random_floats(kN, 3, -1e-2f, 1e-2f);

  LossRun on_device() {
    DeviceBuffer<float> f(F), p(P), dF(prior), loss(1), ws(cuda::content_loss_workspace_floats(kN));
    cuda::content_loss(loss.get(), dF.get(), f.get(), p.get(), kN, kWeight, ws.get(), stream_);
    sync();
    return {loss.download()[0], dF.download()};
  }
  LossRun on_cpu() {
    LossRun r{NAN, prior};
    cpu::content_loss(&r.loss, r.grad.data(), F.data(), P.data(), kN, kWeight);
    return r;
  }
};

TEST_F(CudaContentLoss, MatchesCpuAndAccumulatesIntoGradient) {
  const LossRun got = on_device(), want = on_cpu();
  EXPECT_TRUE(loss_matches("content_loss value", got.loss, want.loss));
  EXPECT_TRUE(matches("content_loss prior + gradient", got.grad, to_double(want.grad), kTol));
}

TEST_F(CudaContentLoss, IsBitIdenticalAcrossRuns) { EXPECT_TRUE(on_device() == on_device()); }

#if defined(NST_EMU)
TEST_F(CudaContentLoss, IsBitIdenticalInEveryThreadAndBlockOrder) {
  expect_same_in_every_order([&] { return on_device(); });
}
#endif

TEST_F(CudaContentLoss, RejectsZeroElements) {
  EXPECT_THROW(cuda::content_loss(nullptr, nullptr, nullptr, nullptr, 0, 1.f, nullptr, stream_),
               nst::InvalidArgument);
}

// ---- style -------------------------------------------------------------------

struct StyleShape {
  int N, HW, C;
  size_t f() const { return static_cast<size_t>(N) * HW * C; }
  size_t cc() const { return static_cast<size_t>(C) * C; }
};
std::ostream& operator<<(std::ostream& os, const StyleShape& s) {
  return os << "N=" << s.N << " HW=" << s.HW << " C=" << s.C;
}

class CudaStyleLoss : public CudaTest, public ::testing::WithParamInterface<StyleShape> {
 protected:
  static constexpr float kWeight = 100.f;

  // Features >= 0 as after a ReLU; G their CPU Gram (so that only the loss
  // kernels are compared); A the Gram of a differently scaled image, so
  // G - A is not a small difference of nearly equal numbers. The prior
  // gradient is of the size of the gradient.
  void SetUp() override {
    CudaTest::SetUp();
    if (IsSkipped()) return;
    const StyleShape s = GetParam();
    F = random_floats(s.f(), 8, 0.f, 2.f);
    G.resize(s.N * s.cc());
    cpu::gram(G.data(), F.data(), s.N, s.HW, s.C);
    const auto Fs = random_floats(static_cast<size_t>(s.HW) * s.C, 9, 0.f, 1.f);
    A.resize(s.cc());
    cpu::gram(A.data(), Fs.data(), 1, s.HW, s.C);
    const LossRun fresh = on_cpu(std::vector<float>(s.f(), 0.f));
    float peak = 0.f;
    for (float g : fresh.grad) peak = std::max(peak, std::fabs(g));
    prior = random_floats(s.f(), 10, -peak, peak);
  }

  LossRun on_device() {
    const StyleShape s = GetParam();
    DeviceBuffer<float> f(F), g(G), a(A), dF(prior), loss(1), ws(cuda::style_loss_workspace_floats(s.N, s.HW, s.C));
    cuda::style_loss(loss.get(), dF.get(), f.get(), g.get(), a.get(), s.N, s.HW, s.C, kWeight, ws.get(), stream_);
    sync();
    return {loss.download()[0], dF.download()};
  }
  // The backend's split form: the diff kernel, then the product alone.
  LossRun on_device_in_two_halves() {
    const StyleShape s = GetParam();
    DeviceBuffer<float> f(F), g(G), a(A), dF(prior), loss(1), D(s.N * s.cc()),
        ws(cuda::style_loss_diff_workspace_floats(s.N, s.C));
    cuda::style_loss_diff(loss.get(), D.get(), g.get(), a.get(), s.N, s.C, kWeight, ws.get(), stream_);
    cuda::style_gradient_product(dF.get(), f.get(), D.get(), s.N, s.HW, s.C,
                                 cuda::style_gradient_scale(s.N, s.HW, s.C, kWeight), stream_);
    sync();
    return {loss.download()[0], dF.download()};
  }
  LossRun on_cpu(std::vector<float> start) {
    const StyleShape s = GetParam();
    LossRun r{NAN, std::move(start)};
    std::vector<float> ws(cpu::style_loss_workspace_floats(s.N, s.HW, s.C));
    cpu::style_loss(&r.loss, r.grad.data(), F.data(), G.data(), A.data(), s.N, s.HW, s.C, kWeight, ws.data());
    return r;
  }

  std::vector<float> F, G, A, prior;
};

TEST_P(CudaStyleLoss, MatchesCpuAndAccumulatesIntoGradient) {
  const LossRun got = on_device(), want = on_cpu(prior);
  EXPECT_TRUE(loss_matches("style_loss value", got.loss, want.loss)) << GetParam();
  EXPECT_TRUE(matches("style_loss prior + gradient", got.grad, to_double(want.grad), kTol)) << GetParam();
}

TEST_P(CudaStyleLoss, TwoHalvesGiveTheSameBits) { EXPECT_TRUE(on_device_in_two_halves() == on_device()); }

TEST_P(CudaStyleLoss, IsBitIdenticalAcrossRuns) { EXPECT_TRUE(on_device() == on_device()); }

// 13x7 pixels with channel counts below, at and above one 64-channel tile;
// a batch of one-channel images; a batch with odd channels; and more
// pixels than two 64-row tiles.
INSTANTIATE_TEST_SUITE_P(Shapes, CudaStyleLoss,
                         ::testing::Values(StyleShape{1, 13 * 7, 3}, StyleShape{1, 13 * 7, 64},
                                           StyleShape{1, 13 * 7, 70}, StyleShape{2, 13 * 7, 1},
                                           StyleShape{2, 13 * 7, 70}, StyleShape{1, 19 * 11, 130}));

#if defined(NST_EMU)
class CudaStyleLossOrder : public CudaStyleLoss {};
TEST_P(CudaStyleLossOrder, IsBitIdenticalInEveryThreadAndBlockOrder) {
  expect_same_in_every_order([&] { return on_device(); });
}
INSTANTIATE_TEST_SUITE_P(Shapes, CudaStyleLossOrder, ::testing::Values(StyleShape{2, 13 * 7, 70}));
#endif

// ---- total variation ---------------------------------------------------------

struct TvShape {
  int N, H, W, C;
  size_t size() const { return static_cast<size_t>(N) * H * W * C; }
};
std::ostream& operator<<(std::ostream& os, const TvShape& s) {
  return os << "N=" << s.N << " H=" << s.H << " W=" << s.W << " C=" << s.C;
}

class CudaTvLoss : public CudaTest, public ::testing::WithParamInterface<TvShape> {
 protected:
  static constexpr float kWeight = 1e-3f;

  void SetUp() override {
    CudaTest::SetUp();
    if (IsSkipped()) return;
    const TvShape s = GetParam();
    x = random_floats(s.size(), 21, -120.f, 150.f);  // preprocessed pixel range
    prior = random_floats(s.size(), 22, -1.f, 1.f);
  }
  LossRun on_device() {
    const TvShape s = GetParam();
    DeviceBuffer<float> xd(x), dx(prior), loss(1), ws(cuda::tv_loss_workspace_floats(s.N, s.H, s.W, s.C));
    cuda::tv_loss(loss.get(), dx.get(), xd.get(), s.N, s.H, s.W, s.C, kWeight, ws.get(), stream_);
    sync();
    return {loss.download()[0], dx.download()};
  }
  LossRun on_cpu() {
    const TvShape s = GetParam();
    LossRun r{NAN, prior};
    cpu::tv_loss(&r.loss, r.grad.data(), x.data(), s.N, s.H, s.W, s.C, kWeight);
    return r;
  }

  std::vector<float> x, prior;
};

TEST_P(CudaTvLoss, MatchesCpuAndAccumulatesIntoGradient) {
  const LossRun got = on_device(), want = on_cpu();
  EXPECT_TRUE(loss_matches("tv_loss value", got.loss, want.loss)) << GetParam();
  EXPECT_TRUE(matches("tv_loss prior + gradient", got.grad, to_double(want.grad), kTol)) << GetParam();
}

TEST_P(CudaTvLoss, IsBitIdenticalAcrossRuns) { EXPECT_TRUE(on_device() == on_device()); }

// An RGB image, a batch of one-channel images, single-row and
// single-column images (one difference direction is empty), rows longer
// than one block, and more rows than partial sums (blocks stride over rows).
INSTANTIATE_TEST_SUITE_P(Shapes, CudaTvLoss,
                         ::testing::Values(TvShape{1, 13, 7, 3}, TvShape{2, 5, 9, 1}, TvShape{1, 1, 6, 2},
                                           TvShape{1, 7, 1, 3}, TvShape{1, 9, 100, 3}, TvShape{2, 600, 3, 1}));

#if defined(NST_EMU)
class CudaTvLossOrder : public CudaTvLoss {};
TEST_P(CudaTvLossOrder, IsBitIdenticalInEveryThreadAndBlockOrder) {
  expect_same_in_every_order([&] { return on_device(); });
}
INSTANTIATE_TEST_SUITE_P(Shapes, CudaTvLossOrder, ::testing::Values(TvShape{1, 9, 100, 3}));
#endif

}  // namespace
}  // namespace nst::test
