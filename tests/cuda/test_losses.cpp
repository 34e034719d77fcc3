// The custom loss kernels (kernels/cuda/losses.cu) in what the op table
// does not check: the style loss in the backend's split form (the diff
// kernel, then the product alone) gives the bits of the fused kernel, and
// the content loss rejects zero elements. The comparisons of the content,
// style and total variation losses with the CPU ops and the float64
// reference (the loss, and the gradient accumulated into a random prior;
// run to run; every thread/block order of the emulation) live in the op
// table (tests/ops/test_op_table.cpp, shapes in kernels/table/losses.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ostream>
#include <utility>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/losses.hpp"

namespace nst::test {
namespace {

// A loss and its gradient, as downloaded from the device or computed on the CPU.
struct LossRun {
  float loss = NAN;
  std::vector<float> grad;
  bool operator==(const LossRun& o) const {
    return std::memcmp(&loss, &o.loss, sizeof loss) == 0 && grad == o.grad;
  }
};

// ---- content -----------------------------------------------------------------

using CudaContentLoss = CudaTest;

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

TEST_P(CudaStyleLoss, TwoHalvesGiveTheSameBits) { EXPECT_TRUE(on_device_in_two_halves() == on_device()); }

// 13x7 pixels with channel counts below, at and above one 64-channel tile;
// a batch of one-channel images; a batch with odd channels; and more
// pixels than two 64-row tiles.
INSTANTIATE_TEST_SUITE_P(Shapes, CudaStyleLoss,
                         ::testing::Values(StyleShape{1, 13 * 7, 3}, StyleShape{1, 13 * 7, 64},
                                           StyleShape{1, 13 * 7, 70}, StyleShape{2, 13 * 7, 1},
                                           StyleShape{2, 13 * 7, 70}, StyleShape{1, 19 * 11, 130}));

}  // namespace
}  // namespace nst::test
