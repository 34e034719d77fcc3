// The Gram matrix (SYRK + mirror + scale) is exactly symmetric; its split
// over the threads by rows takes as many parts as they and the workspace
// allow. Its values
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

// The parts: a function of HW and the thread count, never more than the
// threads or than HW allows at 128 rows a part.
TEST(CpuGram, PartsFollowTheRowsAndTheThreads) {
  EXPECT_EQ(gram_parts(65536, 2), 2);
  EXPECT_EQ(gram_parts(65536, 16), 16);
  EXPECT_EQ(gram_parts(256, 16), 2);
  EXPECT_EQ(gram_parts(255, 2), 1);
  EXPECT_EQ(gram_parts(65536, 1), 1);
  EXPECT_EQ(gram_workspace_floats(64, 1), 0u);
  EXPECT_EQ(gram_workspace_floats(64, 3), 2u * 64 * 64);
}

// A workspace with room for fewer parts than the threads would take: the
// split takes as many as fit and writes nothing past the workspace; the
// result is that of a run at that many threads, bit for bit.
TEST(CpuGram, SplitsOnlyAsFarAsTheWorkspaceAllows) {
  const int N = 2, HW = 1031, C = 24;  // 1031: the parts are of unequal rows
  const size_t cc = static_cast<size_t>(C) * C;
  const auto F = random_floats(static_cast<size_t>(N) * HW * C, 3, 0.f, 1.f);
  const int saved = num_threads();
  set_num_threads(2);
  std::vector<float> two(N * cc), ws2(gram_workspace_floats(C, 2));
  gram(two.data(), F.data(), N, HW, C, ws2.data(), ws2.size());
  set_num_threads(4);
  test::Guarded<float> G(N * cc), ws(cc);  // room for one more part than the first
  gram(G.data(), F.data(), N, HW, C, ws.data(), cc);
  set_num_threads(saved);
  EXPECT_TRUE(ws.guard_intact()) << "wrote past the workspace";
  EXPECT_TRUE(G.guard_intact());
  EXPECT_TRUE(test::same_bits("4 threads with room for 2 parts, against 2 threads", G.values(), two));
}

}  // namespace
}  // namespace nst::cpu
