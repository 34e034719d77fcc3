// __syncthreads(), shared memory, and what the emulation reports when a
// kernel gets them wrong: divergent barriers, a missing barrier (found by
// running a block's threads in different orders), overflowing shared arrays.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "tests/emu/device_buffer.hpp"
#include "tests/emu/kernels.cuh"

namespace emu_test {
namespace {

const nst_emu::Schedule kOrders[] = {nst_emu::Schedule::forward, nst_emu::Schedule::reverse,
                                     nst_emu::Schedule::random};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- shared memory ----

class emuSharedReduction : public ::testing::TestWithParam<int> {};

TEST_P(emuSharedReduction, BlockSumsMatchInEveryOrder) {
  const int threads = GetParam();
  const int blocks = 6;
  const int n = 10007;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(i % 17) - 8.0f;
  DeviceBuffer<float> in(x), out(blocks);
  std::vector<float> want(blocks, 0.0f);
  for (int i = 0; i < n; ++i) want[(i / threads) % blocks] += x[i];
  for (nst_emu::Schedule order : kOrders) {
    nst_emu::ScopedSchedule scoped(order, 7);
    block_reduce_sum(out.get(), in.get(), n, blocks, threads);
    const std::vector<float> got = out.download();
    for (int b = 0; b < blocks; ++b) EXPECT_EQ(got[b], want[b]) << "block " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, emuSharedReduction, ::testing::Values(64, 256, 1024));

TEST(emuSharedMemory, StaticSharedArrayIsFreshAndNaNInEveryBlock) {
  const int blocks = 9;
  DeviceBuffer<int> nan_before(blocks);
  fresh_shared_per_block(nan_before.get(), blocks);
  EXPECT_EQ(nan_before.download(), std::vector<int>(blocks, 1));
}

TEST(emuSharedMemory, DynamicSharedMemoryReversesEachBlock) {
  const int blocks = 3, threads = 96;
  DeviceBuffer<float> in(iota<float>(blocks * threads)), out(blocks * threads);
  reverse_in_block(out.get(), in.get(), blocks, threads);
  const std::vector<float> r = out.download();
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t) ASSERT_EQ(r[b * threads + t], b * threads + (threads - 1 - t));
}

TEST(emuSharedMemory, OptInAllowsUpTo227KiBOfDynamicSharedMemory) {
  const int floats = 200 * 1024 / 4;
  DeviceBuffer<float> out(2);
  EXPECT_THROW(dynamic_shared_sum(out.get(), floats), nst_emu::Error);
  ASSERT_EQ(dynamic_shared_sum_allow(floats * 4), cudaSuccess);
  dynamic_shared_sum(out.get(), floats);
  EXPECT_EQ(out.download(), (std::vector<float>{float(floats), float(floats)}));
  EXPECT_EQ(dynamic_shared_sum_allow(228 * 1024), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  ASSERT_EQ(dynamic_shared_sum_allow(48 * 1024), cudaSuccess);
}

TEST(emuSharedMemory, StaticSharedOverTheLimitIsReportedWithItsName) {
  DeviceBuffer<float> out(32);
  try {
    oversized_static_shared(out.get());
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    EXPECT_EQ(e.code(), cudaErrorLaunchOutOfResources);
    EXPECT_TRUE(contains(e.what(), "`big` (52000 bytes")) << e.what();
    EXPECT_TRUE(contains(e.what(), "limit of 49152")) << e.what();
  }
}

#if !defined(__SANITIZE_ADDRESS__)
TEST(emuSharedMemory, WritePastASharedArrayIsReportedWithItsName) {
  DeviceBuffer<float> out(1);
  try {
    shared_overflow(out.get());
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    EXPECT_EQ(e.code(), cudaErrorIllegalAddress);
    EXPECT_TRUE(contains(e.what(), "wrote past the end of shared variable `small` (128 bytes"))
        << e.what();
    EXPECT_TRUE(contains(e.what(), "`shared_overflow_kernel`")) << e.what();
  }
}
#else
TEST(emuSharedMemory, WritePastASharedArrayFaultsUnderAsan) {
  DeviceBuffer<float> out(1);
  // ASan sees the poisoned guard; with UBSan too (build-asan), its bounds
  // check on the array index fires first (the index is whichever thread
  // writes first in the schedule: 32 in order, 63 in reverse).
  EXPECT_DEATH(shared_overflow(out.get()), "use-after-poison|index [0-9]+ out of bounds");
}
#endif

// ---- barriers ----

TEST(emuBarrier, SyncthreadsCountAndOr) {
  DeviceBuffer<int> out(3);
  barrier_votes(out.get(), 128, 40);
  EXPECT_EQ(out.download(), (std::vector<int>{40, 0, 1}));
  barrier_votes(out.get(), 128, 128);
  EXPECT_EQ(out.download(), (std::vector<int>{128, 1, 1}));
  barrier_votes(out.get(), 128, 0);
  EXPECT_EQ(out.download(), (std::vector<int>{0, 0, 0}));
}

TEST(emuBarrier, BarrierReachedByHalfTheBlockNamesKernelBlockAndThreads) {
  nst_emu::ScopedSchedule forward(nst_emu::Schedule::forward);  // block 0 fails first
  DeviceBuffer<float> out(2 * 64);
  try {
    divergent_barrier(out.get(), 2, 64);
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), cudaErrorLaunchFailure);
    EXPECT_TRUE(contains(msg, "barrier divergence in kernel `divergent_barrier_kernel`")) << msg;
    EXPECT_TRUE(contains(msg, "block (0,0,0) of grid (2,1,1)")) << msg;
    EXPECT_TRUE(contains(msg, "threads 0-15: waiting at __syncthreads() at tests/emu/sync_kernels.cu:"))
        << msg;
    EXPECT_TRUE(contains(msg, "threads 16-63: exited")) << msg;
  }
}

TEST(emuBarrier, EarlyReturnBeforeABarrierIsAnError) {
  DeviceBuffer<float> out(64);
  try {
    early_exit_barrier(out.get(), 50, 64);
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    EXPECT_TRUE(contains(e.what(), "threads 0-49: waiting at __syncthreads()")) << e.what();
    EXPECT_TRUE(contains(e.what(), "threads 50-63: exited")) << e.what();
  }
  early_exit_barrier(out.get(), 64, 64);  // every thread reaches it: fine
  EXPECT_EQ(out.download(), std::vector<float>(64, 2.0f));
}

TEST(emuBarrier, TwoDifferentBarriersAreAnError) {
  DeviceBuffer<float> out(8);
  try {
    two_barrier_sites(out.get(), 8);
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, "threads 0, 2, 4, 6: waiting at __syncthreads() at")) << msg;
    EXPECT_TRUE(contains(msg, "threads 1, 3, 5, 7: waiting at __syncthreads() at")) << msg;
  }
}

TEST(emuBarrier, TrapNamesTheBlockAndThread) {
  DeviceBuffer<float> out(64);
  try {
    trap_in_block1(out.get());
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    EXPECT_EQ(e.code(), cudaErrorIllegalInstruction);
    EXPECT_TRUE(contains(e.what(), "block (1,0,0), thread (5,0,0): __trap() at tests/emu/sync_kernels.cu:"))
        << e.what();
  }
}

// ---- schedules ----

std::vector<float> exchange(nst_emu::Schedule order, bool with_barrier, std::uint64_t seed = 1234) {
  nst_emu::ScopedSchedule scoped(order, seed);
  DeviceBuffer<float> out(2 * 128);
  neighbour_exchange(out.get(), 2, 128, with_barrier);
  return out.download();
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(emuSchedule, MissingBarrierChangesTheResultBetweenForwardAndReverse) {
  const std::vector<float> forward = exchange(nst_emu::Schedule::forward, false);
  const std::vector<float> reverse = exchange(nst_emu::Schedule::reverse, false);
  EXPECT_FALSE(same_bits(forward, reverse));
  // Forward: thread t reads s[t+1] before thread t+1 wrote it.
  EXPECT_TRUE(std::isnan(forward[0]));
  EXPECT_EQ(reverse[0], 2.0f);
}

TEST(emuSchedule, WithTheBarrierEveryOrderAgrees) {
  const std::vector<float> forward = exchange(nst_emu::Schedule::forward, true);
  for (int g = 0; g < 256; ++g) ASSERT_EQ(forward[g], float((g / 128) * 128 + (g % 128 + 1) % 128 + 1));
  EXPECT_TRUE(same_bits(forward, exchange(nst_emu::Schedule::reverse, true)));
  EXPECT_TRUE(same_bits(forward, exchange(nst_emu::Schedule::random, true)));
}

TEST(emuSchedule, RandomOrderIsReproducibleFromItsSeed) {
  const std::vector<float> a = exchange(nst_emu::Schedule::random, false, 1234);
  EXPECT_TRUE(same_bits(a, exchange(nst_emu::Schedule::random, false, 1234)));
  EXPECT_FALSE(same_bits(a, exchange(nst_emu::Schedule::random, false, 4321)));
  EXPECT_FALSE(same_bits(a, exchange(nst_emu::Schedule::forward, false)));
}

TEST(emuSchedule, ScopedScheduleRestoresThePreviousOrder) {
  const nst_emu::Schedule before = nst_emu::schedule();
  {
    nst_emu::ScopedSchedule scoped(nst_emu::Schedule::reverse, 5);
    EXPECT_EQ(nst_emu::schedule(), nst_emu::Schedule::reverse);
    EXPECT_EQ(nst_emu::schedule_seed(), 5u);
  }
  EXPECT_EQ(nst_emu::schedule(), before);
}

}  // namespace
}  // namespace emu_test
