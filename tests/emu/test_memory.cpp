// Atomics under contention, and device memory: fresh memory reads as NaN,
// copies are checked against their allocation and direction, and kernels
// that touch memory past the end of an allocation are caught (guard regions,
// or AddressSanitizer in the ASan build).
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "tests/emu/device_buffer.hpp"
#include "tests/emu/kernels.cuh"

namespace emu_test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- atomics ----

TEST(emuAtomics, HistogramOfManyThreadsIntoFewBins) {
  const int n = 5000, nbins = 3;
  std::vector<int> x(n);
  for (int i = 0; i < n; ++i) x[i] = (i * 13) % 97;
  DeviceBuffer<int> in(x);
  DeviceBuffer<unsigned> bins(nbins);
  bins.zero();
  histogram(bins.get(), in.get(), n, nbins);
  std::vector<unsigned> want(nbins, 0);
  for (int v : x) ++want[v % nbins];
  EXPECT_EQ(bins.download(), want);
}

TEST(emuAtomics, SharedMemoryAtomicsMergedIntoGlobal) {
  const int n = 3001;
  std::vector<int> x(n);
  for (int i = 0; i < n; ++i) x[i] = (i * 7) % 31;
  DeviceBuffer<int> in(x);
  DeviceBuffer<unsigned> bins(16);
  bins.zero();
  histogram_shared(bins.get(), in.get(), n);
  std::vector<unsigned> want(16, 0);
  for (int v : x) ++want[v % 16];
  EXPECT_EQ(bins.download(), want);
}

TEST(emuAtomics, FloatAddMinMax) {
  const int n = 1000;
  std::vector<float> f(n);
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) {
    f[i] = 0.25f * (i % 8);
    v[i] = (i * 7919) % 2001 - 1000;
  }
  DeviceBuffer<float> fin(f), total(std::vector<float>{0.0f});
  atomic_sum(total.get(), fin.get(), n);
  EXPECT_EQ(total.download()[0], std::accumulate(f.begin(), f.end(), 0.0f));
  DeviceBuffer<int> in(v), lo(std::vector<int>{INT_MAX}), hi(std::vector<int>{INT_MIN});
  atomic_min_max(lo.get(), hi.get(), in.get(), n);
  EXPECT_EQ(lo.download()[0], *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(hi.download()[0], *std::max_element(v.begin(), v.end()));
}

TEST(emuAtomics, CompareAndSwapHandsOutEveryTicketOnce) {
  const int n = 700;
  DeviceBuffer<int> tickets(n), counter(std::vector<int>{0});
  cas_tickets(tickets.get(), counter.get(), n);
  std::vector<int> t = tickets.download();
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, iota<int>(n));
  EXPECT_EQ(counter.download()[0], n);
}

// ---- device memory ----

TEST(emuMemory, FreshDeviceMemoryReadsAsNaN) {
  DeviceBuffer<float> buf(100);
  for (float v : buf.download()) ASSERT_TRUE(std::isnan(v));
}

TEST(emuMemory, CopyPastTheEndOfAnAllocationIsRejected) {
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 10 * sizeof(float)), cudaSuccess);
  std::vector<float> host(11, 1.0f);
  EXPECT_EQ(cudaMemcpy(d, host.data(), 11 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_TRUE(contains(nst_emu::last_error_detail(), "44 bytes at offset 0 of allocation #"))
      << nst_emu::last_error_detail();
  EXPECT_TRUE(contains(nst_emu::last_error_detail(), "(40 bytes at")) << nst_emu::last_error_detail();
  EXPECT_EQ(cudaMemcpy(host.data(), d + 5, 6 * sizeof(float), cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemset(d + 1, 0, 10 * sizeof(float)), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(d + 10, host.data(), 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_TRUE(contains(nst_emu::last_error_detail(), "points 0 bytes past the end")) << nst_emu::last_error_detail();
  EXPECT_EQ(cudaFree(d), cudaSuccess);
}

TEST(emuMemory, CopyInTheWrongDirectionIsRejected) {
  DeviceBuffer<float> d(4);
  std::vector<float> host(4, 0.0f);
  EXPECT_EQ(cudaMemcpy(host.data(), d.get(), 16, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_TRUE(contains(nst_emu::last_error_detail(), "the direction says dst is device and src is host"))
      << nst_emu::last_error_detail();
  EXPECT_EQ(cudaMemcpy(d.get(), host.data(), 16, cudaMemcpyDeviceToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), d.get(), 16, cudaMemcpyDefault), cudaSuccess);
}

TEST(emuMemory, DoubleFreeIsRejected) {
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 64), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
}

TEST(emuMemory, CheckMacroThrowsWithTheExpressionAndTheDetail) {
  float* d = nullptr;
  NST_CUDA_CHECK(cudaMalloc(&d, 8));
  std::vector<float> host(4);
  try {
    NST_CUDA_CHECK(cudaMemcpy(d, host.data(), 16, cudaMemcpyHostToDevice));
    FAIL() << "no error";
  } catch (const nst::DeviceError& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, "tests/emu/test_memory.cpp:")) << msg;
    EXPECT_TRUE(contains(msg, "cudaMemcpy(d, host.data(), 16, cudaMemcpyHostToDevice) failed: "
                              "cudaErrorInvalidValue (invalid argument)"))
        << msg;
    EXPECT_TRUE(contains(msg, "run past its end")) << msg;
  }
  NST_CUDA_CHECK(cudaFree(d));
}

TEST(emuMemory, ZeroByteMallocGivesNull) {
  void* p = reinterpret_cast<void*>(1);
  EXPECT_EQ(cudaMalloc(&p, 0), cudaSuccess);
  EXPECT_EQ(p, nullptr);
}

#if !defined(__SANITIZE_ADDRESS__)

TEST(emuMemory, KernelWritingPastTheEndIsNamedWhenItFinishes) {
  DeviceBuffer<float> out(100);
  try {
    write_past_end(out.get(), 100, 3);
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), cudaErrorIllegalAddress);
    EXPECT_TRUE(contains(msg, "kernel `write_past_end_kernel` (launched at tests/emu/memory_kernels.cu:"))
        << msg;
    EXPECT_TRUE(contains(msg, "(400 bytes at")) << msg;
    EXPECT_TRUE(contains(msg, "written past its end, bytes 400..411")) << msg;
  }
  // Reported once: the guard was restored.
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST(emuMemory, HostWritingPastTheEndIsFoundAtSynchronisation) {
  DeviceBuffer<float> buf(10);
  buf.get()[10] = 0.0f;  // host code dereferencing a device pointer: a fault on a GPU
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
  EXPECT_TRUE(contains(nst_emu::last_error_detail(), "written past its end, bytes 40..43"))
      << nst_emu::last_error_detail();
}

TEST(emuMemory, ReadingPastTheEndSeesNaN) {
  DeviceBuffer<float> in(std::vector<float>{1, 2, 3, 4}), out(4);
  read_past_end(out.get(), in.get(), 4);
  const std::vector<float> r = out.download();
  EXPECT_EQ(r[0], 2.0f);
  EXPECT_TRUE(std::isnan(r[3]));
}

#else

TEST(emuMemory, KernelWritingPastTheEndFaultsUnderAsan) {
  DeviceBuffer<float> out(100);
  EXPECT_DEATH(write_past_end(out.get(), 100, 1), "use-after-poison");
}

TEST(emuMemory, KernelReadingPastTheEndFaultsUnderAsan) {
  DeviceBuffer<float> in(4), out(4);
  EXPECT_DEATH(read_past_end(out.get(), in.get(), 4), "use-after-poison");
}

TEST(emuMemory, KernelReadingFreedMemoryFaultsUnderAsan) {
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 16), cudaSuccess);
  ASSERT_EQ(cudaFree(d), cudaSuccess);
  DeviceBuffer<float> out(4);
  EXPECT_DEATH(read_past_end(out.get(), d, 2), "heap-use-after-free");
}

#endif

}  // namespace
}  // namespace emu_test
