// BLAS-1 vector ops (dot, asum, axpy, scal) beyond the op table's
// comparison with the float64 references (tests/ops/test_op_table.cpp):
// dot of positive data (nothing cancels, so a skipped block shows), dot and
// asum bit-identical run to run and at 1 and 2 threads; the legal aliases
// (dot(a, a), axpy with y == x); axpy with and without a scale read from
// memory, its coefficient formed once in float and applied with one
// rounding (fma); empty sums; nothing written past the end.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/cpu/ops.hpp"
#include "test_util.hpp"

namespace nst::cpu {
namespace {

using test::Guarded;
using test::matches;
using test::random_floats;
using test::same_bits;
using test::to_double;

// 4097 = one SIMD block and one element; 100003 spans many blocks and both
// threads' chunks.
const size_t kSizes[] = {1, 7, 4097, 100003};
// The sums are double, rounded once to float: ~6e-8 relative, unless the
// random signs cancel the sum down to ~1e-4 of its terms' magnitudes.
constexpr double kSumTol = 1e-6;
constexpr double kTol = 1e-6;

std::string at(size_t n) { return "n=" + std::to_string(n); }

float run_dot(const std::vector<float>& a, const std::vector<float>& b) {
  Guarded<float> r(1);
  dot(r.data(), a.data(), b.data(), a.size());
  EXPECT_TRUE(r.guard_intact());
  return r.values()[0];
}

float run_asum(const std::vector<float>& a) {
  Guarded<float> r(1);
  asum(r.data(), a.data(), a.size());
  EXPECT_TRUE(r.guard_intact());
  return r.values()[0];
}

// Positive terms of very different sizes: nothing cancels, so this checks
// that every element is summed (a skipped block shows at once).
TEST(CpuBlas1, DotOfPositiveDataMatchesReference) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n));
    const auto a = random_floats(n, 3, 0.f, 100.f), b = random_floats(n, 4, 1e-3f, 1.f);
    double want;
    dot_reference(&want, to_double(a).data(), to_double(b).data(), n);
    EXPECT_TRUE(matches("dot positive", std::vector<float>{run_dot(a, b)}, {want}, kSumTol));
  }
}

TEST(CpuBlas1, DotOfAVectorWithItselfIsItsSquaredNorm) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n));
    const auto a = random_floats(n, 5, -3.f, 3.f);
    double want;
    const auto ad = to_double(a);
    dot_reference(&want, ad.data(), ad.data(), n);
    EXPECT_TRUE(matches("dot(a, a)", std::vector<float>{run_dot(a, a)}, {want}, kSumTol));
  }
}

TEST(CpuBlas1, EmptySumsAreZero) {
  float r = NAN;
  dot(&r, nullptr, nullptr, 0);
  EXPECT_EQ(r, 0.f);
  r = NAN;
  asum(&r, nullptr, 0);
  EXPECT_EQ(r, 0.f);
}

// dot and asum of a few sizes at the given thread count, as bits.
std::vector<float> all_sums(int threads) {
  const int saved = num_threads();
  set_num_threads(threads);
  std::vector<float> out;
  for (size_t n : {size_t{4097}, size_t{100003}, size_t{1} << 20}) {
    const auto a = random_floats(n, 7), b = random_floats(n, 8);
    out.push_back(run_dot(a, b));
    out.push_back(run_dot(a, a));
    out.push_back(run_asum(a));
  }
  set_num_threads(saved);
  return out;
}

TEST(CpuBlas1Sums, AreBitwiseIdenticalRunToRun) { EXPECT_TRUE(same_bits("sums", all_sums(2), all_sums(2))); }

TEST(CpuBlas1Sums, AreBitwiseIdenticalAcrossThreadCounts) { EXPECT_TRUE(same_bits("sums at 1 and 2 threads", all_sums(1), all_sums(2))); }

// y after axpy, from y0, on the CPU op and the reference.
void check_axpy(size_t n, float alpha, const float* scale) {
  const auto x = random_floats(n, 9), y0 = random_floats(n, 10, -2.f, 2.f);
  Guarded<float> y(y0);
  axpy(y.data(), alpha, scale, x.data(), n);
  EXPECT_TRUE(y.guard_intact());

  auto yr = to_double(y0);
  const double s = scale != nullptr ? *scale : 0.0;
  axpy_reference(yr.data(), alpha, scale != nullptr ? &s : nullptr, to_double(x).data(), n);
  EXPECT_TRUE(matches("axpy", y.values(), yr, kTol));

  // The documented arithmetic, bit for bit: c = alpha * scale in float,
  // then one fma per element.
  const float c = scale != nullptr ? alpha * *scale : alpha;
  std::vector<float> exact(n);
  for (size_t i = 0; i < n; ++i) exact[i] = std::fma(c, x[i], y0[i]);
  EXPECT_TRUE(same_bits("axpy against fma(alpha * scale, x, y)", y.values(), exact));
}

TEST(CpuBlas1, AxpyWithoutScaleMatchesReference) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n));
    check_axpy(n, -0.37f, nullptr);
  }
}

TEST(CpuBlas1, AxpyWithScaleMatchesReference) {
  const float scale = 2.718f;
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n));
    check_axpy(n, -0.37f, &scale);
  }
}

// y += c * y: each element reads its own old value.
TEST(CpuBlas1, AxpyInPlaceScalesTheVector) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n));
    const auto y0 = random_floats(n, 11);
    auto y = y0;
    const float scale = 0.5f;
    axpy(y.data(), 3.f, &scale, y.data(), n);
    std::vector<float> exact(n);
    for (size_t i = 0; i < n; ++i) exact[i] = std::fma(1.5f, y0[i], y0[i]);
    EXPECT_TRUE(same_bits("axpy in place", y, exact));
  }
}

TEST(CpuBlas1, ZeroElementsTouchNothing) {
  axpy(nullptr, 1.f, nullptr, nullptr, 0);
  scal(nullptr, 2.f, 0);
}

}  // namespace
}  // namespace nst::cpu
