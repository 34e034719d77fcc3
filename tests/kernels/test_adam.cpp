// Adam (PyTorch's form) against the float64 reference over ten steps from
// m = v = 0, as a run starts, and the bias-corrected first step's known
// size. One step from arbitrary moments: the op table
// (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::matches;
using test::random_floats;
using test::to_double;

constexpr size_t kN = 100003;  // odd, both threads busy
constexpr double kTol = 1e-5;

// Fast and reference optimiser state side by side, from the same start:
// pixels in preprocessed units, m = v = 0 as the engine starts them.
struct Pair {
  std::vector<float> x, m, v;
  std::vector<double> xr, mr, vr;
  explicit Pair(size_t n)
      : x(random_floats(n, 1, -128.f, 128.f)), m(n, 0.f), v(n, 0.f), xr(to_double(x)), mr(n, 0.0), vr(n, 0.0) {}
  void step(const std::vector<float>& g, const AdamHyper& h) {
    adam_step(x.data(), m.data(), v.data(), g.data(), x.size(), h);
    adam_step_reference(xr.data(), mr.data(), vr.data(), to_double(g).data(), xr.size(), h);
  }
};

// Compares the total change of x, not x itself: x ~ 100 would hide a
// wrong step of size ~10 behind a small relative error.
void expect_same_state(const Pair& p, const std::vector<float>& x0) {
  std::vector<double> dx(x0.size()), dxr(x0.size());
  for (size_t i = 0; i < x0.size(); ++i) {
    dx[i] = static_cast<double>(p.x[i]) - x0[i];
    dxr[i] = p.xr[i] - x0[i];
  }
  EXPECT_TRUE(matches("adam_step x - x0", dx, dxr, kTol));
  EXPECT_TRUE(matches("adam_step m", p.m, p.mr, kTol));
  EXPECT_TRUE(matches("adam_step v", p.v, p.vr, kTol));
}

TEST(CpuAdam, SeveralStepsMatchReference) {
  // x itself is stored in float (ulp ~8e-6 near 100): ten roundings of x
  // against a total move of a few units give ~3e-6, inside the 1e-5.
  Pair p(kN);
  const auto x0 = p.x;
  AdamHyper h;
  h.lr = 0.5f;
  h.beta1 = 0.8f;
  for (int t = 1; t <= 10; ++t) {
    h.t = t;
    p.step(random_floats(kN, 100 + t, -0.01f, 0.01f), h);
  }
  expect_same_state(p, x0);
}

TEST(CpuAdam, FirstStepMovesEachPixelByLearningRate) {
  // With m = v = 0 and t = 1 the bias corrections make the step
  // lr * g / (|g| + eps): lr against the gradient's sign.
  const std::vector<float> g = {0.5f, -0.25f, 3.f};
  std::vector<float> x = {1.f, 2.f, 3.f}, m(3, 0.f), v(3, 0.f);
  AdamHyper h;  // lr 10
  adam_step(x.data(), m.data(), v.data(), g.data(), 3, h);
  EXPECT_NEAR(x[0], 1.f - 10.f, 1e-5);
  EXPECT_NEAR(x[1], 2.f + 10.f, 1e-5);
  EXPECT_NEAR(x[2], 3.f - 10.f, 1e-5);
}

}  // namespace
}  // namespace nst::cpu
