// Gram matrices (SYRK + mirror + scale) against the float64 reference.
// The reference's gradient is checked through the style loss, in
// test_losses.cpp.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_floats;
using test::to_double;

struct Shape {
  int N, HW, C;
  size_t f() const { return static_cast<size_t>(N) * HW * C; }
  size_t g() const { return static_cast<size_t>(N) * C * C; }
};

// fp32 dot products of up to 4096 terms against fp64: ~1e-7 relative.
constexpr double kTol = 1e-5;

void expect_gram_matches_reference(const Shape& s) {
  // Post-ReLU features are >= 0, so every product adds with the same sign.
  const auto F = random_floats(s.f(), 1, 0.f, 1.f);
  Guarded<float> G(s.g());
  gram(G.data(), F.data(), s.N, s.HW, s.C);
  std::vector<double> ref(s.g());
  gram_reference(ref.data(), to_double(F).data(), s.N, s.HW, s.C);
  EXPECT_TRUE(matches("gram", G.values(), ref, kTol));
  EXPECT_TRUE(G.guard_intact());
}

TEST(CpuGram, MatchesReferenceOn7x5With3Channels) { expect_gram_matches_reference({1, 35, 3}); }

TEST(CpuGram, MatchesReferenceWithOneChannel) { expect_gram_matches_reference({1, 35, 1}); }

TEST(CpuGram, MatchesReferenceWithBatchAndOddChannels) { expect_gram_matches_reference({2, 99, 70}); }

TEST(CpuGram, MatchesReferenceOnLongSums) { expect_gram_matches_reference({1, 64 * 64, 128}); }

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
