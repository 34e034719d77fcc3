// ReLU forward and backward in place (y aliases x, dx aliases dy), and the
// reference backward against finite differences. The kernels against the
// float64 references: the op table (tests/ops/test_op_table.cpp).
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::matches;
using test::random_floats;
using test::to_double;

// Odd, and large enough that both OpenMP threads get a share.
constexpr size_t kN = 100003;

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
