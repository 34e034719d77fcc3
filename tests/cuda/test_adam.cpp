// The custom Adam kernel against nst::cpu::adam_step over several steps,
// with the step number advanced in device memory between launches of the
// same arguments (as a replayed CUDA graph sees it), m and v from zero as
// in a real run: x, m and v after every step, for sizes that are not
// multiples of 4, misaligned pointers (scalar head then float4, or all
// scalar), more than one sweep of the grid, a late step (t = 1000) and
// other hyper-parameters. The op table (tests/ops/test_op_table.cpp,
// kernels/table/optim.cpp) has the plain single step (t = 3, random m and
// v) against the float64 reference, run to run and in every thread order
// of the emulation (the barrier that shares the bias corrections).
//
// The kernel performs the CPU's float operations in the CPU's order with
// the CPU's fused multiply-adds (as GCC contracts them on an FMA machine),
// so the results agree bit for bit there; the check allows 1e-6 relative
// so that a CPU build without FMA still passes, and prints both measures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"

namespace nst::test {
namespace {

constexpr double kTol = 1e-6;

// Within kTol relative (printed), and how many elements differ in any bit.
::testing::AssertionResult agrees(const std::string& what, const std::vector<float>& actual,
                                  const std::vector<float>& expected) {
  size_t diff = 0;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
    diff += std::memcmp(&actual[i], &expected[i], sizeof(float)) != 0;
  std::printf("    bitwise mismatches(%s): %zu of %zu\n", what.c_str(), diff, actual.size());
  return matches(what.c_str(), actual, to_double(expected), kTol);
}

struct AdamRun {
  size_t n;
  size_t offset_x, offset_mvg;  // floats into their allocations
  int first_step, steps;
  cpu::AdamHyper hyper;  // t is ignored: the run counts from first_step
};

std::string describe(const AdamRun& r) {
  return "n " + std::to_string(r.n) + ", offsets " + std::to_string(r.offset_x) + "/" +
         std::to_string(r.offset_mvg) + ", t " + std::to_string(r.first_step) + ".." +
         std::to_string(r.first_step + r.steps - 1);
}

class CudaAdam : public CudaTest {
 protected:
  // Runs r.steps steps on the device and on the CPU from the same state and
  // compares x, m and v after each. A new gradient each step; m and v start
  // at zero as in a real run.
  void check(const AdamRun& r) {
    SCOPED_TRACE(describe(r));
    std::vector<float> x = random_floats(r.n, 1, -100.f, 100.f), m(r.n, 0.f), v(r.n, 0.f);
    OffsetFloats dx(x, r.offset_x), dm(m, r.offset_mvg), dv(v, r.offset_mvg);
    DeviceBuffer<int> t(1);
    const cuda::AdamParams p{r.hyper.lr, r.hyper.beta1, r.hyper.beta2, r.hyper.eps};
    for (int k = 0; k < r.steps; ++k) {
      const int step = r.first_step + k;
      const std::vector<float> g = random_floats(r.n, 100 + static_cast<uint32_t>(step), -2.f, 2.f);
      const OffsetFloats dg(g, r.offset_mvg);
      t.upload({step});
      cuda::adam_step(dx.get(), dm.get(), dv.get(), dg.get(), r.n, p, t.get(), stream_);
      sync();

      cpu::AdamHyper h = r.hyper;
      h.t = step;
      cpu::adam_step(x.data(), m.data(), v.data(), g.data(), r.n, h);
      const std::string at = " at t=" + std::to_string(step);
      ASSERT_TRUE(agrees("x" + at, dx.values(), x));
      ASSERT_TRUE(agrees("m" + at, dm.values(), m));
      ASSERT_TRUE(agrees("v" + at, dv.values(), v));
    }
    EXPECT_TRUE(dx.sentinels_intact() && dm.sentinels_intact() && dv.sentinels_intact());
  }
};

const size_t kSizes[] = {1, 3, 13 * 7 * 3, 2 * 13 * 7 * 64 + 1, 2 * 13 * 7 * 70 + 3};

TEST_F(CudaAdam, StepsMatchCpu) {
  for (size_t n : kSizes) check({n, 0, 0, 1, 5, cpu::AdamHyper{}});
}

// All four pointers one float off: 3 scalar elements, then float4s.
TEST_F(CudaAdam, EquallyMisalignedPointersMatchCpu) {
  for (size_t n : {size_t{2}, size_t{13 * 7 * 3}, size_t{13 * 7 * 64 + 2}}) check({n, 1, 1, 1, 3, cpu::AdamHyper{}});
}

// x on a boundary, m, v and g off it: no common boundary, all scalar.
TEST_F(CudaAdam, DifferentlyAlignedPointersMatchCpu) {
  for (size_t n : {size_t{7}, size_t{13 * 7 * 64 + 2}}) check({n, 0, 1, 1, 3, cpu::AdamHyper{}});
}

// More float4s than the capped grid has threads (4096 blocks of 256 take
// 4 Mi floats a sweep): the grid-stride loop must cover the rest.
TEST_F(CudaAdam, ArraysLargerThanOneGridSweep) { check({2 * 4096 * 256 * 4 + 5, 0, 0, 1, 1, cpu::AdamHyper{}}); }

// Late in a run both bias corrections are ~1; the pow in the kernel must
// still agree with the CPU's.
TEST_F(CudaAdam, LateStepsMatchCpu) { check({13 * 7 * 70, 0, 0, 998, 3, cpu::AdamHyper{}}); }

TEST_F(CudaAdam, OtherHyperParametersMatchCpu) {
  cpu::AdamHyper h;
  h.lr = 0.05f;
  h.beta1 = 0.8f;
  h.beta2 = 0.99f;
  h.eps = 1e-4f;
  check({13 * 7 * 64 + 3, 0, 0, 1, 4, h});
}

TEST_F(CudaAdam, ZeroElementsLaunchNothing) {
  expect_no_launches([&] {
    cuda::adam_step(nullptr, nullptr, nullptr, nullptr, 0, cuda::AdamParams{10.f, 0.9f, 0.999f, 1e-8f}, nullptr,
                    stream_);
  });
}

}  // namespace
}  // namespace nst::test
