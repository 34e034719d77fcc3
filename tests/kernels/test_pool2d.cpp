// 2x2 stride-2 max/avg pooling beyond the op table's comparison with the
// float64 references (tests/ops/test_op_table.cpp): first-maximum routing
// on ties, zero gradient for the dropped row and column, and the reference
// backward passes against finite differences.
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::matches;
using test::random_floats;
using test::to_double;

struct Shape {
  int N, H, W, C;
  size_t in() const { return static_cast<size_t>(N) * H * W * C; }
  size_t out() const { return static_cast<size_t>(N) * (H / 2) * (W / 2) * C; }
};

TEST(CpuMaxPool, BackwardRoutesTiesToFirstMaximumInRowMajorOrder) {
  // One 2x2 window per channel (1,2,2,3), row-major order a b / c d:
  //   channel 0: all equal          -> a
  //   channel 1: b and d tie at max -> b
  //   channel 2: c and d tie at max -> c
  const float x[12] = {5, 1, 0,   5, 7, 0,   5, 1, 3,   5, 7, 3};
  const float dy[3] = {10, 20, 30};
  std::vector<float> dx(12, -1.f);
  maxpool2x2_backward(dx.data(), dy, x, 1, 2, 2, 3);
  const std::vector<float> want = {10, 0, 0,   0, 20, 0,   0, 0, 30,   0, 0, 0};
  EXPECT_EQ(dx, want);
  std::vector<double> ref(12);
  const std::vector<double> xd(x, x + 12), dyd(dy, dy + 3);
  maxpool2x2_backward_reference(ref.data(), dyd.data(), xd.data(), 1, 2, 2, 3);
  EXPECT_EQ(std::vector<float>(ref.begin(), ref.end()), want);
}

TEST(CpuMaxPool, BackwardGivesZeroToDroppedRowAndColumn) {
  const Shape s{1, 5, 3, 2};
  const auto x = random_floats(s.in(), 4), dy = random_floats(s.out(), 5, 1.f, 2.f);
  std::vector<float> dx(s.in(), NAN);
  maxpool2x2_backward(dx.data(), dy.data(), x.data(), s.N, s.H, s.W, s.C);
  for (int h = 0; h < s.H; ++h)
    for (int w = 0; w < s.W; ++w)
      for (int c = 0; c < s.C; ++c)
        if (h == s.H - 1 || w == s.W - 1) {
          EXPECT_EQ(dx[(h * s.W + w) * s.C + c], 0.f) << h << "," << w << "," << c;
        }
}

// d/dx sum(dy * pool(x)) against the reference backward, on an odd shape.
template <typename Forward, typename Backward>
void expect_backward_is_gradient(const char* what, Forward forward, Backward backward) {
  const Shape s{2, 5, 3, 2};
  // A permutation of well-separated values: no ties, and every gap (0.05)
  // is far wider than the step, so the argmax does not move under h.
  std::vector<double> x(s.in());
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.05 * static_cast<double>((i * 37) % x.size()) - 1.0;
  const auto dy = to_double(random_floats(s.out(), 8));
  auto f = [&](const std::vector<double>& xv) {
    std::vector<double> y(s.out());
    forward(y.data(), xv.data(), s.N, s.H, s.W, s.C);
    return test::dot(dy, y);
  };
  std::vector<double> dx(s.in());
  backward(dx.data(), dy.data(), x.data(), s.N, s.H, s.W, s.C);
  EXPECT_TRUE(matches(what, dx, test::numeric_gradient(f, x, 1e-4), 1e-9));
}

TEST(CpuMaxPool, ReferenceBackwardIsGradientOfForward) {
  expect_backward_is_gradient("maxpool2x2_backward_reference vs finite differences", maxpool2x2_forward_reference,
                              maxpool2x2_backward_reference);
}

TEST(CpuAvgPool, ReferenceBackwardIsGradientOfForward) {
  expect_backward_is_gradient("avgpool2x2_backward_reference vs finite differences", avgpool2x2_forward_reference,
                              [](double* dx, const double* dy, const double*, int N, int H, int W, int C) {
                                avgpool2x2_backward_reference(dx, dy, N, H, W, C);
                              });
}

}  // namespace
}  // namespace nst::cpu
