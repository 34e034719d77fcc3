// Built-in index variables over 1-D/2-D/3-D grids, the launch limits, and
// the math and memory intrinsics.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/emu/device_buffer.hpp"
#include "tests/emu/kernels.cuh"

namespace emu_test {
namespace {

struct Config {
  dim3 grid;
  dim3 block;
};

class emuIndexing : public ::testing::TestWithParam<Config> {};

TEST_P(emuIndexing, EveryThreadSeesItsOwnIndices) {
  const Config c = GetParam();
  const unsigned threads = c.block.x * c.block.y * c.block.z;
  const unsigned blocks = c.grid.x * c.grid.y * c.grid.z;
  DeviceBuffer<int> out(12u * threads * blocks);
  record_indices(out.get(), c.grid, c.block);
  const std::vector<int> r = out.download();
  std::size_t g = 0;
  for (unsigned bz = 0; bz < c.grid.z; ++bz)
    for (unsigned by = 0; by < c.grid.y; ++by)
      for (unsigned bx = 0; bx < c.grid.x; ++bx)
        for (unsigned tz = 0; tz < c.block.z; ++tz)
          for (unsigned ty = 0; ty < c.block.y; ++ty)
            for (unsigned tx = 0; tx < c.block.x; ++tx, ++g) {
              const std::vector<int> want = {int(tx), int(ty), int(tz), int(bx), int(by), int(bz),
                                             int(c.block.x), int(c.block.y), int(c.block.z),
                                             int(c.grid.x), int(c.grid.y), int(c.grid.z)};
              const std::vector<int> got(r.begin() + 12 * g, r.begin() + 12 * g + 12);
              ASSERT_EQ(got, want) << "thread (" << tx << "," << ty << "," << tz << ") of block ("
                                   << bx << "," << by << "," << bz << ")";
            }
}

INSTANTIATE_TEST_SUITE_P(Grids, emuIndexing,
                         ::testing::Values(Config{dim3(1), dim3(1)}, Config{dim3(5), dim3(96)},
                                           Config{dim3(3, 2), dim3(8, 4)},
                                           Config{dim3(2, 3, 2), dim3(4, 2, 3)},
                                           Config{dim3(1, 1, 3), dim3(1, 1, 64)},
                                           Config{dim3(2), dim3(1024)}, Config{dim3(7, 1, 1), dim3(33)}));

TEST(emuGridStride, SaxpyCoversEveryElementOnce) {
  const int n = 1000;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.5f * i;
    y[i] = 3.0f - i;
  }
  DeviceBuffer<float> dx(x), dy(y), out(n);
  saxpy(out.get(), dx.get(), dy.get(), 2.0f, n);
  const std::vector<float> r = out.download();
  for (int i = 0; i < n; ++i) ASSERT_EQ(r[i], 2.0f * x[i] + y[i]) << i;
}

// ---- launch limits ----

std::string launch_error(dim3 grid, dim3 block, std::size_t shared_bytes,
                         cudaStream_t stream = nullptr) {
  DeviceBuffer<float> in(4), out(4);
  try {
    scale2_config(out.get(), in.get(), 4, grid, block, shared_bytes, stream);
  } catch (const nst_emu::Error& e) {
    EXPECT_TRUE(e.code() == cudaErrorInvalidConfiguration || e.code() == cudaErrorInvalidValue ||
                e.code() == cudaErrorInvalidResourceHandle)
        << e.code();
    return e.what();
  }
  return "";
}

TEST(emuLaunch, TwoThousandFortyEightThreadsPerBlockIsRejected) {
  const std::string msg = launch_error(1, 2048, 0);
  EXPECT_NE(msg.find("2048 threads per block, more than the limit of 1024"), std::string::npos) << msg;
  EXPECT_NE(msg.find("`scale2_kernel`"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tests/emu/indexing_kernels.cu:"), std::string::npos) << msg;
}

TEST(emuLaunch, ThreadsPerBlockCountAllThreeDimensions) {
  EXPECT_NE(launch_error(1, dim3(32, 32, 2), 0).find("2048 threads"), std::string::npos);
}

TEST(emuLaunch, BlockZOver64IsRejected) {
  EXPECT_NE(launch_error(1, dim3(1, 1, 65), 0).find("(1024,1024,64)"), std::string::npos);
}

TEST(emuLaunch, ZeroDimensionIsRejected) {
  EXPECT_NE(launch_error(dim3(0), 32, 0).find("zero"), std::string::npos);
  EXPECT_NE(launch_error(1, dim3(32, 0), 0).find("zero"), std::string::npos);
}

TEST(emuLaunch, GridYOver65535IsRejected) {
  EXPECT_NE(launch_error(dim3(1, 65536), 32, 0).find("grid dimensions"), std::string::npos);
}

TEST(emuLaunch, DynamicSharedMemoryOver48KiBNeedsTheOptIn) {
  const std::string msg = launch_error(1, 32, 48 * 1024 + 4);
  EXPECT_NE(msg.find("49156 bytes of dynamic shared memory, more than the limit of 49152"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("cudaFuncAttributeMaxDynamicSharedMemorySize"), std::string::npos) << msg;
}

TEST(emuLaunch, DestroyedStreamIsRejected) {
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_NE(launch_error(1, 32, 0, s).find("stream"), std::string::npos);
}

TEST(emuLaunch, ErrorIsAnNstDeviceError) {
  DeviceBuffer<float> buf(4);
  EXPECT_THROW(scale2_config(buf.get(), buf.get(), 4, 1, 2048, 0), nst::DeviceError);
}

TEST(emuLaunch, RuntimeWorksAfterAFailedLaunch) {
  DeviceBuffer<float> in(std::vector<float>{1, 2, 3, 4}), out(4);
  EXPECT_THROW(scale2_config(out.get(), in.get(), 4, 1, 4096, 0), nst_emu::Error);
  scale2(out.get(), in.get(), 4);
  EXPECT_EQ(out.download(), (std::vector<float>{2, 4, 6, 8}));
}

// ---- intrinsics, constant memory, vector types ----

TEST(emuIntrinsics, MathIntrinsicsMatchTheHostFunctions) {
  const std::vector<float> x = {0.25f, 1.0f, 2.0f, 0.7f, 9.0f};
  const int n = static_cast<int>(x.size());
  DeviceBuffer<float> in(x), out(8 * x.size());
  math_intrinsics(out.get(), in.get(), n);
  const std::vector<float> r = out.download();
  for (int i = 0; i < n; ++i) {
    const float v = x[i];
    EXPECT_FLOAT_EQ(r[8 * i + 0], std::exp(v));
    EXPECT_FLOAT_EQ(r[8 * i + 1], 1.0f / std::sqrt(v));
    EXPECT_FLOAT_EQ(r[8 * i + 2], std::fma(v, v, 1.0f));
    EXPECT_FLOAT_EQ(r[8 * i + 3], 1.0f / v);
    EXPECT_FLOAT_EQ(r[8 * i + 4], std::sqrt(v));
    EXPECT_FLOAT_EQ(r[8 * i + 5], std::fmax(v, 0.5f));
    EXPECT_FLOAT_EQ(r[8 * i + 6], std::fmin(v, 1.0f));
    EXPECT_EQ(r[8 * i + 7], v);
  }
}

TEST(emuIntrinsics, ConstantMemoryIsSetWithMemcpyToSymbol) {
  const float scale[4] = {1.0f, 10.0f, 100.0f, -1.0f};
  ASSERT_EQ(set_constant_scale(scale), cudaSuccess);
  DeviceBuffer<float> in(std::vector<float>{1, 2, 3, 4, 5, 6}), out(6);
  constant_scale(out.get(), in.get(), 6);
  EXPECT_EQ(out.download(), (std::vector<float>{1, 20, 300, -4, 5, 60}));
}

TEST(emuIntrinsics, Float4LoadsThroughLdg) {
  const int n4 = 37;
  DeviceBuffer<float> in(iota<float>(4 * n4)), out(4 * n4);
  scale_float4(reinterpret_cast<float4*>(out.get()), reinterpret_cast<const float4*>(in.get()), n4);
  const std::vector<float> r = out.download();
  for (int i = 0; i < 4 * n4; ++i) ASSERT_EQ(r[i], 2.0f * i);
}

// A GPU faults on a float4 load from an address that is not 16-byte
// aligned; so must the emulation, or a kernel's alignment check could be
// missing and every emulated test would still pass.
TEST(emuIntrinsics, MisalignedFloat4LoadIsAnError) {
  const int n4 = 4;
  DeviceBuffer<float> in(iota<float>(4 * n4 + 1)), out(4 * n4);
  const auto* off_by_one = reinterpret_cast<const float4*>(in.get() + 1);
  try {
    scale_float4(reinterpret_cast<float4*>(out.get()), off_by_one, n4);
    FAIL() << "expected nst_emu::Error";
  } catch (const nst_emu::Error& e) {
    EXPECT_EQ(e.code(), cudaErrorMisalignedAddress);
    EXPECT_NE(std::string(e.what()).find("misaligned 16-byte __ldg"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("scale_float4_kernel"), std::string::npos) << e.what();
  }
}

TEST(emuIntrinsics, VectorTypesHaveCudaSizesAndAlignments) {
  EXPECT_EQ(sizeof(float4), 16u);
  EXPECT_EQ(alignof(float4), 16u);
  EXPECT_EQ(alignof(float2), 8u);
  EXPECT_EQ(sizeof(float3), 12u);
  EXPECT_EQ(alignof(float3), 4u);
  EXPECT_EQ(alignof(int4), 16u);
  EXPECT_EQ(alignof(double2), 16u);
  EXPECT_EQ(sizeof(uchar4), 4u);
  const dim3 d(7);
  EXPECT_EQ(d.y, 1u);
  EXPECT_EQ(d.z, 1u);
}

}  // namespace
}  // namespace emu_test
