// Warp shuffles, votes and reductions, and the errors of warp intrinsics
// used with lanes that cannot take part.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/emu/device_buffer.hpp"
#include "tests/emu/kernels.cuh"

namespace emu_test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<float> ramp(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>((i * 7) % 23) - 5.0f;
  return v;
}

TEST(emuWarp, ShuffleDownReducesEachWarp) {
  const int warps = 5;
  const std::vector<float> x = ramp(32 * warps);
  DeviceBuffer<float> in(x), out(warps);
  warp_reduce_sum(out.get(), in.get(), warps);
  const std::vector<float> r = out.download();
  for (int w = 0; w < warps; ++w) {
    float want = 0.0f;
    for (int l = 0; l < 32; ++l) want += x[32 * w + l];
    EXPECT_EQ(r[w], want) << "warp " << w;
  }
}

TEST(emuWarp, ShuffleXorGivesEveryLaneTheSum) {
  const int warps = 4;
  const std::vector<float> x = ramp(32 * warps);
  DeviceBuffer<float> in(x), out(32 * warps);
  warp_allreduce(out.get(), in.get(), warps);
  const std::vector<float> r = out.download();
  for (int w = 0; w < warps; ++w) {
    float want = 0.0f;
    for (int l = 0; l < 32; ++l) want += x[32 * w + l];
    for (int l = 0; l < 32; ++l) EXPECT_FLOAT_EQ(r[32 * w + l], want);
  }
}

TEST(emuWarp, ShuffleBroadcastsOneLane) {
  DeviceBuffer<float> in(iota<float>(64)), out(64);
  warp_broadcast(out.get(), in.get(), 7, 2);
  const std::vector<float> r = out.download();
  for (int g = 0; g < 64; ++g) EXPECT_EQ(r[g], (g / 32) * 32 + 7.0f);
  warp_broadcast(out.get(), in.get(), 39, 2);  // srcLane is taken modulo the width
  EXPECT_EQ(out.download(), r);
}

TEST(emuWarp, ShuffleUpComputesAnInclusiveScan) {
  const int warps = 3;
  const std::vector<float> x = ramp(32 * warps);
  DeviceBuffer<float> in(x), out(32 * warps);
  warp_scan(out.get(), in.get(), warps);
  const std::vector<float> r = out.download();
  for (int w = 0; w < warps; ++w) {
    float sum = 0.0f;
    for (int l = 0; l < 32; ++l) {
      sum += x[32 * w + l];
      EXPECT_EQ(r[32 * w + l], sum) << "warp " << w << " lane " << l;
    }
  }
}

TEST(emuWarp, BallotAllAny) {
  std::vector<float> x(96, -1.0f);
  x[3] = x[17] = x[31] = 1.0f;       // warp 0: three lanes
  for (int l = 32; l < 64; ++l) x[l] = 2.0f;  // warp 1: all
  DeviceBuffer<float> in(x);           // warp 2: none
  DeviceBuffer<unsigned> out(9);
  warp_votes(out.get(), in.get(), 3);
  EXPECT_EQ(out.download(),
            (std::vector<unsigned>{(1u << 3) | (1u << 17) | (1u << 31), 0, 1, 0xffffffffu, 1, 1, 0, 0, 0}));
}

TEST(emuWarp, WidthSplitsTheWarpIntoSegments) {
  for (int width : {2, 4, 8, 16, 32}) {
    const std::vector<float> x = ramp(64);
    DeviceBuffer<float> in(x), out(64);
    segment_reduce(out.get(), in.get(), width, 2);
    const std::vector<float> r = out.download();
    for (int seg = 0; seg < 64 / width; ++seg) {
      float want = 0.0f;
      for (int l = 0; l < width; ++l) want += x[seg * width + l];
      EXPECT_EQ(r[seg * width], want) << "width " << width << " segment " << seg;
    }
  }
}

TEST(emuWarp, ReduceAddAndMaxSync) {
  std::vector<int> x(64);
  for (int i = 0; i < 64; ++i) x[i] = (i * 37) % 101 - 50;
  DeviceBuffer<int> in(x), out(4);
  warp_reduce_int(out.get(), in.get(), 2);
  const std::vector<int> r = out.download();
  for (int w = 0; w < 2; ++w) {
    int sum = 0, biggest = -1000;
    for (int l = 0; l < 32; ++l) {
      sum += x[32 * w + l];
      biggest = std::max(biggest, x[32 * w + l]);
    }
    EXPECT_EQ(r[w], sum);
    EXPECT_EQ(r[2 + w], biggest);
  }
}

TEST(emuWarp, BlockReductionThroughShufflesAndSharedMemory) {
  for (int threads : {256, 1024}) {
    const int blocks = 3;
    const std::vector<float> x = ramp(blocks * threads);
    DeviceBuffer<float> in(x), out(blocks);
    block_reduce_shuffle(out.get(), in.get(), blocks, threads);
    const std::vector<float> r = out.download();
    for (int b = 0; b < blocks; ++b) {
      float want = 0.0f;
      for (int t = 0; t < threads; ++t) want += x[b * threads + t];
      EXPECT_EQ(r[b], want) << threads << " threads, block " << b;
    }
  }
}

TEST(emuWarp, SyncwarpOnDisjointHalvesAtDifferentSites) {
  DeviceBuffer<float> in(iota<float>(32)), out(32);
  split_syncwarp(out.get(), in.get());
  const std::vector<float> r = out.download();
  for (int l = 0; l < 16; ++l) EXPECT_EQ(r[l], 15.0f - l);
  for (int l = 16; l < 32; ++l) EXPECT_EQ(r[l], 47.0f - l);
}

TEST(emuWarp, ReadingALaneOutsideTheMaskGivesNaN) {
  DeviceBuffer<float> in(iota<float>(32)), out(32);
  shuffle_outside_mask(out.get(), in.get());
  const std::vector<float> r = out.download();
  for (int l = 0; l < 8; ++l) EXPECT_EQ(r[l], l + 8.0f);
  for (int l = 8; l < 16; ++l) EXPECT_TRUE(std::isnan(r[l])) << l;
  for (int l = 16; l < 32; ++l) EXPECT_EQ(r[l], float(l));
}

TEST(emuWarp, ShuffleWithExitedLanesInTheMaskIsAnError) {
  DeviceBuffer<float> out(32);
  try {
    shuffle_after_exit(out.get());
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, "barrier divergence in kernel `shuffle_after_exit_kernel`")) << msg;
    EXPECT_TRUE(contains(msg, "threads 0-15: waiting at __shfl_down_sync(mask 0xffffffff) at "
                              "tests/emu/warp_kernels.cu:"))
        << msg;
    EXPECT_TRUE(contains(msg, "threads 16-31: exited")) << msg;
  }
}

TEST(emuWarp, MaskWithoutTheCallingLaneIsAnError) {
  nst_emu::ScopedSchedule forward(nst_emu::Schedule::forward);  // lane 1 fails first
  DeviceBuffer<float> out(32);
  try {
    shuffle_mask_without_self(out.get());
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    EXPECT_TRUE(contains(e.what(), "thread (1,0,0): __shfl_sync at tests/emu/warp_kernels.cu:"))
        << e.what();
    EXPECT_TRUE(contains(e.what(), "mask 0x00000001 does not include the calling lane 1")) << e.what();
  }
}

TEST(emuWarp, WidthThatIsNotAPowerOfTwoIsAnError) {
  DeviceBuffer<float> out(32);
  try {
    shuffle_bad_width(out.get());
    FAIL() << "no error";
  } catch (const nst_emu::Error& e) {
    EXPECT_TRUE(contains(e.what(), "width 12 is not a power of two")) << e.what();
  }
}

}  // namespace
}  // namespace emu_test
