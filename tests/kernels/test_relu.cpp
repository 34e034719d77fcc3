// ReLU forward/backward against the float64 references; the reference
// backward against finite differences; backward in place (dx aliases dy).
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_floats;
using test::to_double;

// Odd, and large enough that both OpenMP threads get a share.
constexpr size_t kN = 100003;

TEST(CpuRelu, ForwardMatchesReference) {
  const auto x = random_floats(kN, 1);
  Guarded<float> y(kN);
  relu_forward(y.data(), x.data(), kN);
  std::vector<double> ref(kN);
  relu_forward_reference(ref.data(), to_double(x).data(), kN);
  EXPECT_TRUE(matches("relu_forward", y.values(), ref, 1e-7));  // exact in fact
  EXPECT_TRUE(y.guard_intact());
}

TEST(CpuRelu, BackwardMatchesReference) {
  const auto y = random_floats(kN, 2), dy = random_floats(kN, 3);
  std::vector<float> y_relu(kN);
  relu_forward(y_relu.data(), y.data(), kN);
  Guarded<float> dx(kN);
  relu_backward(dx.data(), dy.data(), y_relu.data(), kN);
  std::vector<double> ref(kN);
  relu_backward_reference(ref.data(), to_double(dy).data(), to_double(y_relu).data(), kN);
  EXPECT_TRUE(matches("relu_backward", dx.values(), ref, 1e-7));
  EXPECT_TRUE(dx.guard_intact());
}

TEST(CpuRelu, BackwardWorksInPlace) {
  const auto x = random_floats(kN, 4), dy = random_floats(kN, 5);
  std::vector<float> y(kN), separate(kN);
  relu_forward(y.data(), x.data(), kN);
  relu_backward(separate.data(), dy.data(), y.data(), kN);
  std::vector<float> inplace = dy;
  relu_backward(inplace.data(), inplace.data(), y.data(), kN);
  EXPECT_EQ(inplace, separate);
}

TEST(CpuRelu, ForwardWorksInPlace) {
  const auto x = random_floats(kN, 6);
  std::vector<float> separate(kN), inplace = x;
  relu_forward(separate.data(), x.data(), kN);
  relu_forward(inplace.data(), inplace.data(), kN);
  EXPECT_EQ(inplace, separate);
}

TEST(CpuRelu, ReferenceBackwardIsGradientOfForward) {
  // Inputs kept at least 0.1 from the kink at 0, well beyond the step h.
  auto x = to_double(random_floats(40, 7, 0.1f, 1.f));
  for (size_t i = 0; i < x.size(); i += 2) x[i] = -x[i];
  const auto dy = to_double(random_floats(x.size(), 8));
  auto f = [&](const std::vector<double>& xv) {
    std::vector<double> y(xv.size());
    relu_forward_reference(y.data(), xv.data(), xv.size());
    return test::dot(dy, y);
  };
  std::vector<double> y(x.size()), dx(x.size());
  relu_forward_reference(y.data(), x.data(), x.size());
  relu_backward_reference(dx.data(), dy.data(), y.data(), x.size());
  EXPECT_TRUE(matches("relu_backward_reference vs finite differences", dx, test::numeric_gradient(f, x, 1e-3),
                      1e-9));
}

}  // namespace
}  // namespace nst::cpu
