// Streams, events, the device, errors, and the emulation's speed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/emu/device_buffer.hpp"
#include "tests/emu/kernels.cuh"

namespace emu_test {
namespace {

TEST(emuStreams, CopiesAndKernelsOnAStreamRunInOrder) {
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  const std::vector<float> x = iota<float>(1000);
  std::vector<float> y(1000, 0.0f);
  DeviceBuffer<float> a(1000), b(1000);
  ASSERT_EQ(cudaMemcpyAsync(a.get(), x.data(), 4000, cudaMemcpyHostToDevice, s), cudaSuccess);
  scale2(b.get(), a.get(), 1000, s);
  scale2(a.get(), b.get(), 1000, s);
  ASSERT_EQ(cudaMemcpyAsync(y.data(), a.get(), 4000, cudaMemcpyDeviceToHost, s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(cudaStreamQuery(s), cudaSuccess);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(y[i], 4.0f * i);
  ASSERT_EQ(cudaMemsetAsync(a.get(), 0, 4000, s), cudaSuccess);
  EXPECT_EQ(a.download(), std::vector<float>(1000, 0.0f));
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorInvalidResourceHandle);
}

TEST(emuEvents, ElapsedTimeBracketsTheWork) {
  cudaStream_t s;
  cudaEvent_t start, stop;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  float ms = -1.0f;
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaErrorInvalidResourceHandle);  // not recorded
  DeviceBuffer<float> a(std::vector<float>(1 << 16, 1.0f)), b(1 << 16);
  ASSERT_EQ(cudaEventRecord(start, s), cudaSuccess);
  for (int i = 0; i < 4; ++i) scale2(b.get(), a.get(), 1 << 16, s);
  ASSERT_EQ(cudaEventRecord(stop, s), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(nullptr, stop), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
  EXPECT_EQ(cudaEventQuery(stop), cudaSuccess);
  ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 60000.0f);
  cudaEvent_t untimed;
  ASSERT_EQ(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(untimed), cudaSuccess);
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, untimed), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaEventDestroy(untimed), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(start), cudaSuccess);
  EXPECT_EQ(cudaEventDestroy(stop), cudaSuccess);
  EXPECT_EQ(cudaEventRecord(stop), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST(emuDevice, OneDeviceWithSm90Limits) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(cudaSetDevice(0), cudaSuccess);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  cudaDeviceProp p;
  ASSERT_EQ(cudaGetDeviceProperties(&p, 0), cudaSuccess);
  EXPECT_EQ(p.warpSize, 32);
  EXPECT_EQ(p.maxThreadsPerBlock, 1024);
  EXPECT_EQ(p.sharedMemPerBlock, 48u * 1024);
  EXPECT_EQ(p.sharedMemPerBlockOptin, 227u * 1024);
  EXPECT_EQ(p.major, 9);
  EXPECT_NE(std::string(p.name).find("nst emu"), std::string::npos);
  int optin = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0), cudaSuccess);
  EXPECT_EQ(optin, 227 * 1024);
  size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total), cudaSuccess);
  EXPECT_GT(total, 0u);
}

TEST(emuErrors, LastErrorIsReturnedOnceAndHasAName) {
  cudaGetLastError();  // whatever an earlier test left
  EXPECT_EQ(cudaSetDevice(3), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_STREQ(cudaGetErrorName(cudaErrorIllegalAddress), "cudaErrorIllegalAddress");
  EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidConfiguration), "invalid configuration argument");
}

TEST(emuErrors, BarrierOutsideAKernelIsAnError) {
  EXPECT_THROW(__syncthreads(), nst_emu::Error);
}

// Not a check: prints the emulation's speed (see the log).
TEST(emuSpeed, ReportsSwitchRateAndReductionLaunchTime) {
  const int threads = 256, blocks = 64;
  DeviceBuffer<float> in(std::vector<float>(threads * blocks, 1.0f)), out(blocks);
  block_reduce_shuffle(out.get(), in.get(), blocks, threads);  // warm up stacks
  const nst_emu::Stats before = nst_emu::stats();
  const auto t0 = std::chrono::steady_clock::now();
  const int launches = 10;
  for (int i = 0; i < launches; ++i) block_reduce_shuffle(out.get(), in.get(), blocks, threads);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nst_emu::Stats after = nst_emu::stats();
  const double switches = double(after.switches - before.switches);
  std::printf("emu speed: %d launches of a %d-block x %d-thread shuffle reduction in %.3f s: "
              "%.1f us per block, %.0f switches per block, %.1f M switches/s\n",
              launches, blocks, threads, s, 1e6 * s / (launches * blocks), switches / (launches * blocks),
              switches / s / 1e6);
  EXPECT_EQ(out.download(), std::vector<float>(blocks, float(threads)));

  DeviceBuffer<float> small_in(std::vector<float>(threads, 1.0f)), small_out(1);
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) block_reduce_sum(small_out.get(), small_in.get(), threads, 1, threads);
  const double s1 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("emu speed: one-block 256-thread shared-memory reduction launch: %.1f us\n", 1e6 * s1 / 100);

  const nst_emu::Stats b2 = nst_emu::stats();
  DeviceBuffer<float> x(std::vector<float>(1 << 16, 1.0f)), y(1 << 16);
  const auto t2 = std::chrono::steady_clock::now();
  scale2(y.get(), x.get(), 1 << 16);
  const double s2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
  const nst_emu::Stats a2 = nst_emu::stats();
  std::printf("emu speed: barrier-free kernel, %d threads in %.2f ms (%.0f ns per thread)\n", 1 << 16,
              1e3 * s2, 1e9 * s2 / (1 << 16));
  EXPECT_EQ(a2.switches - b2.switches, 2u * (1u << 16));  // in and out once per thread
}

}  // namespace
}  // namespace emu_test
