// The Gram matrix (SYRK + mirror + scale) is exactly symmetric. Its values
// against the float64 reference: the op table (tests/ops/test_op_table.cpp);
// the reference's gradient, through the style loss, in test_losses.cpp.
#include <gtest/gtest.h>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::random_floats;

struct Shape {
  int N, HW, C;
  size_t f() const { return static_cast<size_t>(N) * HW * C; }
  size_t g() const { return static_cast<size_t>(N) * C * C; }
};

TEST(CpuGram, IsExactlySymmetric) {
  const Shape s{2, 50, 33};
  const auto F = random_floats(s.f(), 2);
  std::vector<float> G(s.g());
  gram(G.data(), F.data(), s.N, s.HW, s.C);
  for (int n = 0; n < s.N; ++n)
    for (int i = 0; i < s.C; ++i)
      for (int j = 0; j < i; ++j) {
        const size_t base = static_cast<size_t>(n) * s.C * s.C;
        ASSERT_EQ(G[base + i * s.C + j], G[base + j * s.C + i]) << n << ": " << i << "," << j;
      }
}

}  // namespace
}  // namespace nst::cpu
