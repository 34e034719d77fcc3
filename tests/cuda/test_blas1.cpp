// The BLAS-1 kernels (kernels/cuda/blas1.cu) against the nst::cpu ops in
// the cases the op table does not cover: dot and asum to 1e-6 relative
// (both are double sums rounded once, in different orders), axpy and scal
// bit for bit (the same float operations, fma included), with pointers one
// float off a 16-byte boundary (scalar head, then float4s) and with
// pointers that never align (all scalar), on sizes that are not multiples
// of 4 nor of a block, up to more than one grid sweep of the sums; a dot of
// a vector with itself; axpy without a scale, in place, and with its scale
// a dot's result on the same stream (L-BFGS's two-loop recursion); empty
// sums, the workspace size, and bad arguments. Outputs are NaN-filled or
// between sentinels. The plain comparisons on aligned vectors (against the
// CPU ops and the float64 reference, run to run, every thread/block order
// of the emulation) live in the op table (tests/ops/test_op_table.cpp,
// shapes in kernels/table/optim.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/blas1.hpp"

namespace nst::test {
namespace {

constexpr double kSumTol = 1e-6;
// More float4s than one capped grid of sum blocks has threads, so the
// grid-stride loop wraps (the op table's vectors fit in one sweep).
constexpr size_t kPastOneSumGrid = 2 * 1024 * 256 * 4 + 3;
// 65537 = 64 Ki + 1: many blocks and a tail.
const size_t kSizes[] = {1, 3, 5, 1000, 65537, kPastOneSumGrid};

std::string at(size_t n, size_t offset) { return "n=" + std::to_string(n) + " offset=" + std::to_string(offset); }

::testing::AssertionResult sum_matches(const char* what, float got, float cpu) {
  return matches(what, std::vector<float>{got}, std::vector<double>{cpu}, kSumTol);
}

class CudaBlas1 : public CudaTest {
 protected:
  // dot(a, b) on the device, a and b `offset` floats into their
  // allocations, the result in a NaN-filled scalar.
  float device_dot(const std::vector<float>& a, const std::vector<float>& b, size_t offset_a, size_t offset_b) {
    const OffsetFloats da(a, offset_a), db(b, offset_b);
    DeviceBuffer<float> result(unwritten(1)), ws(cuda::blas1_workspace_floats(a.size()));
    cuda::dot(result.get(), da.get(), db.get(), a.size(), ws.get(), stream_);
    sync();
    EXPECT_TRUE(da.sentinels_intact() && db.sentinels_intact());
    return result.download()[0];
  }
  // dot(a, a) through one pointer.
  float device_dot_self(const std::vector<float>& a, size_t offset) {
    const OffsetFloats da(a, offset);
    DeviceBuffer<float> result(unwritten(1)), ws(cuda::blas1_workspace_floats(a.size()));
    cuda::dot(result.get(), da.get(), da.get(), a.size(), ws.get(), stream_);
    sync();
    return result.download()[0];
  }
  float device_asum(const std::vector<float>& a, size_t offset) {
    const OffsetFloats da(a, offset);
    DeviceBuffer<float> result(unwritten(1)), ws(cuda::blas1_workspace_floats(a.size()));
    cuda::asum(result.get(), da.get(), a.size(), ws.get(), stream_);
    sync();
    EXPECT_TRUE(da.sentinels_intact());
    return result.download()[0];
  }
};

float cpu_dot(const std::vector<float>& a, const std::vector<float>& b) {
  float r = NAN;
  cpu::dot(&r, a.data(), b.data(), a.size());
  return r;
}

float cpu_asum(const std::vector<float>& a) {
  float r = NAN;
  cpu::asum(&r, a.data(), a.size());
  return r;
}

// ---- dot and asum ------------------------------------------------------------------

// Both one float off a boundary: a scalar head of 3, then float4s.
TEST_F(CudaBlas1, DotOnPointersOffABoundaryMatchesCpu) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n, 1));
    const auto a = random_floats(n, 1), b = random_floats(n, 2);
    EXPECT_TRUE(sum_matches("dot", device_dot(a, b, 1, 1), cpu_dot(a, b)));
  }
}

// a on a boundary, b one float off: no common boundary, all scalar.
TEST_F(CudaBlas1, DotOfDifferentlyAlignedVectorsMatchesCpu) {
  for (size_t n : {size_t{5}, size_t{65537}}) {
    SCOPED_TRACE(at(n, 1));
    const auto a = random_floats(n, 3), b = random_floats(n, 4);
    EXPECT_TRUE(sum_matches("dot mixed alignment", device_dot(a, b, 0, 1), cpu_dot(a, b)));
  }
}

TEST_F(CudaBlas1, DotOfAVectorWithItselfMatchesCpu) {
  for (size_t n : kSizes)
    for (size_t offset : {0, 1}) {
      SCOPED_TRACE(at(n, offset));
      const auto a = random_floats(n, 5, -3.f, 3.f);
      EXPECT_TRUE(sum_matches("dot(a, a)", device_dot_self(a, offset), cpu_dot(a, a)));
    }
}

TEST_F(CudaBlas1, AsumOnPointersOffABoundaryMatchesCpu) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n, 1));
    const auto a = random_floats(n, 6, -2.f, 1.f);
    EXPECT_TRUE(sum_matches("asum", device_asum(a, 1), cpu_asum(a)));
  }
}

// Aligned, all float4s, past one grid sweep of sum blocks.
TEST_F(CudaBlas1, SumsLargerThanOneGridSweepMatchCpu) {
  const size_t n = kPastOneSumGrid;
  const auto a = random_floats(n, 1), b = random_floats(n, 2);
  EXPECT_TRUE(sum_matches("dot", device_dot(a, b, 0, 0), cpu_dot(a, b)));
  EXPECT_TRUE(sum_matches("asum", device_asum(a, 0), cpu_asum(a)));
}

TEST_F(CudaBlas1, EmptySumsWriteZero) {
  DeviceBuffer<float> result(unwritten(1)), ws(cuda::blas1_workspace_floats(0));
  cuda::dot(result.get(), nullptr, nullptr, 0, ws.get(), stream_);
  sync();
  EXPECT_EQ(result.download()[0], 0.f);
  result.upload(unwritten(1));
  cuda::asum(result.get(), nullptr, 0, ws.get(), stream_);
  sync();
  EXPECT_EQ(result.download()[0], 0.f);
}

TEST_F(CudaBlas1, WorkspaceIsSmallAndFixedByTheSize) {
  EXPECT_EQ(cuda::blas1_workspace_floats(0), cuda::blas1_workspace_floats(1));
  EXPECT_LE(cuda::blas1_workspace_floats(size_t{1} << 30), 2048u);
  EXPECT_LE(cuda::blas1_workspace_floats(1000), cuda::blas1_workspace_floats(65537));
}

// ---- axpy and scal -----------------------------------------------------------------

// y (offset_y) += alpha * scale * x (offset_x) on the device against the
// CPU op, bit for bit; `scale` null or the value of a device scalar.
void check_axpy(cudaStream_t stream, size_t n, size_t offset_y, size_t offset_x, const float* scale) {
  SCOPED_TRACE(at(n, offset_y) + " x offset " + std::to_string(offset_x) + (scale ? " scaled" : ""));
  const float alpha = -0.37f;
  const auto x = random_floats(n, 11), y0 = random_floats(n, 12, -2.f, 2.f);
  OffsetFloats dy(y0, offset_y);
  const OffsetFloats dx(x, offset_x);
  DeviceBuffer<float> dscale(std::vector<float>{scale ? *scale : NAN});
  cuda::axpy(dy.get(), alpha, scale ? dscale.get() : nullptr, dx.get(), n, stream);
  NST_CUDA_CHECK(cudaStreamSynchronize(stream));

  std::vector<float> y = y0;
  cpu::axpy(y.data(), alpha, scale, x.data(), n);
  EXPECT_TRUE(same_bits("axpy", dy.values(), y));
  EXPECT_TRUE(dy.sentinels_intact() && dx.sentinels_intact());
}

// Without a scale (alpha alone), and one float off a boundary with and
// without one; the op table has the aligned calls with a device scale.
TEST_F(CudaBlas1, AxpyWithoutAScaleOrOffABoundaryMatchesCpu) {
  const float scale = 2.718f;
  for (size_t n : kSizes) {
    check_axpy(stream_, n, 0, 0, nullptr);
    check_axpy(stream_, n, 1, 1, nullptr);
    check_axpy(stream_, n, 1, 1, &scale);
  }
}

TEST_F(CudaBlas1, AxpyOfDifferentlyAlignedVectorsMatchesCpu) {
  const float scale = -0.5f;
  for (size_t n : {size_t{5}, size_t{65537}}) {
    check_axpy(stream_, n, 0, 1, &scale);
    check_axpy(stream_, n, 1, 0, nullptr);
  }
}

// y += c * y through one pointer: each element reads its own old value.
TEST_F(CudaBlas1, AxpyInPlaceMatchesCpu) {
  for (size_t n : {size_t{5}, size_t{65537}})
    for (size_t offset : {0, 1}) {
      SCOPED_TRACE(at(n, offset));
      const auto y0 = random_floats(n, 13);
      OffsetFloats dy(y0, offset);
      cuda::axpy(dy.get(), 0.75f, nullptr, dy.get(), n, stream_);
      sync();
      std::vector<float> y = y0;
      cpu::axpy(y.data(), 0.75f, nullptr, y.data(), n);
      EXPECT_TRUE(same_bits("axpy in place", dy.values(), y));
      EXPECT_TRUE(dy.sentinels_intact());
    }
}

TEST_F(CudaBlas1, ScalOnAPointerOffABoundaryMatchesCpu) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(at(n, 1));
    const auto x0 = random_floats(n, 14);
    OffsetFloats dx(x0, 1);
    cuda::scal(dx.get(), -1.7f, n, stream_);
    sync();
    std::vector<float> x = x0;
    cpu::scal(x.data(), -1.7f, n);
    EXPECT_TRUE(same_bits("scal", dx.values(), x));
    EXPECT_TRUE(dx.sentinels_intact());
  }
}

// One step of L-BFGS's first loop on the stream, no host sync in between:
// rho = 1 / (s . y) is a host constant here, alpha = s . q on the device,
// q -= rho * alpha * y through the device scalar.
TEST_F(CudaBlas1, DotResultFeedsAxpyScaleOnTheStream) {
  const size_t n = 1000 * 3 + 1;
  const auto s = random_floats(n, 15), yv = random_floats(n, 16), q0 = random_floats(n, 17);
  const OffsetFloats ds(s, 1), dyv(yv, 0);
  OffsetFloats dq(q0, 1);
  DeviceBuffer<float> alpha(unwritten(1)), ws(cuda::blas1_workspace_floats(n));
  const float rho = 0.125f;
  cuda::dot(alpha.get(), ds.get(), dq.get(), n, ws.get(), stream_);
  cuda::axpy(dq.get(), -rho, alpha.get(), dyv.get(), n, stream_);
  sync();

  const float cpu_alpha = cpu_dot(s, q0);
  const float dev_alpha = alpha.download()[0];
  ASSERT_TRUE(sum_matches("alpha", dev_alpha, cpu_alpha));
  // The axpy itself is exact given the scale the device computed.
  std::vector<float> q = q0;
  cpu::axpy(q.data(), -rho, &dev_alpha, yv.data(), n);
  EXPECT_TRUE(same_bits("q", dq.values(), q));
}

TEST_F(CudaBlas1, ZeroElementsLaunchNothing) {
  expect_no_launches([&] {
    cuda::axpy(nullptr, 1.f, nullptr, nullptr, 0, stream_);
    cuda::scal(nullptr, 2.f, 0, stream_);
  });
}

TEST_F(CudaBlas1, NullPointersAreRejected) {
  DeviceBuffer<float> v(4), ws(cuda::blas1_workspace_floats(4));
  EXPECT_THROW(cuda::dot(nullptr, v.get(), v.get(), 4, ws.get(), stream_), nst::InvalidArgument);
  EXPECT_THROW(cuda::dot(v.get(), nullptr, v.get(), 4, ws.get(), stream_), nst::InvalidArgument);
  EXPECT_THROW(cuda::dot(v.get(), v.get(), v.get(), 4, nullptr, stream_), nst::InvalidArgument);
  EXPECT_THROW(cuda::asum(v.get(), nullptr, 4, ws.get(), stream_), nst::InvalidArgument);
  EXPECT_THROW(cuda::axpy(nullptr, 1.f, nullptr, v.get(), 4, stream_), nst::InvalidArgument);
  EXPECT_THROW(cuda::scal(nullptr, 1.f, 4, stream_), nst::InvalidArgument);
}

}  // namespace
}  // namespace nst::test
