// `nst --dry-run` against what a run really holds: the estimate's growth
// from a tiny run to two real sizes is within 10 % of the growth of the
// run's peak resident memory (the tiny run is the start-up base: libraries,
// the weights as read, the images), measured with wait4() on the child.
// Also: --max-memory refuses a run that does not fit, before any work.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "nst/image.hpp"

namespace fs = std::filesystem;

namespace {

struct ChildRun {
  int code = -1;
  std::string output;
  long peak_rss_kb = 0;  // the child's ru_maxrss
};

// Under AddressSanitizer, freed blocks stay resident in its quarantine
// (256 MB by default), so a run that grows a workspace a few times (the cpu
// backend does, layer by layer) would count every old size in its peak RSS
// (measured in CI: 11.5 % above the estimate at 256 px). The estimate is of
// nst's own allocations: the children run without the quarantine.
void without_asan_quarantine() {
#if defined(__SANITIZE_ADDRESS__)
  const char* options = std::getenv("ASAN_OPTIONS");
  const std::string with = std::string(options ? options : "") + ":quarantine_size_mb=0";
  setenv("ASAN_OPTIONS", with.c_str(), 1);
#endif
}

// Runs nst with `args`, its stdout and stderr captured, and its peak RSS.
ChildRun run_nst(const std::vector<std::string>& args) {
  static const bool once = (without_asan_quarantine(), true);
  (void)once;
  int out[2];
  if (pipe(out) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv = {const_cast<char*>(NST_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(NST_CLI, argv.data());
    _exit(127);
  }
  close(out[1]);
  ChildRun r;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) r.output.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.peak_rss_kb = usage.ru_maxrss;
  return r;
}

// "peak 123.4 MB (129394688 bytes)" -> 129394688.
double estimated_bytes(const ChildRun& r) {
  const size_t at = r.output.find("MB (");
  if (at == std::string::npos) return -1;
  return std::stod(r.output.substr(at + 4));
}

class MemoryEstimateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_memory_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    nst::save_image(p("content.png"), nst::noise_image(480, 360, 1));
    nst::save_image(p("style.png"), nst::noise_image(300, 300, 2));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  // One scale, L-BFGS (the default, the most state), one iteration; `algo`
  // is --conv-algo.
  // `more`: further flags (--tile).
  std::vector<std::string> args(int size, const std::string& algo = "auto",
                                const std::vector<std::string>& more = {}) const {
    std::vector<std::string> a = {"--content", p("content.png"), "--style", p("style.png"), "--output", p("out.png"),
                                  "--weights", "random:1", "--device", "cpu", "--threads", "1", "--image-size",
                                  std::to_string(size), "--scales", std::to_string(size), "--iterations", "1",
                                  "--print-every", "0", "--conv-algo", algo};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  ChildRun dry_run(int size, const std::string& algo = "auto", const std::vector<std::string>& more = {}) const {
    std::vector<std::string> a = args(size, algo, more);
    a.push_back("--dry-run");
    return run_nst(a);
  }
  // The estimate's growth from a 32 px run to each size against the peak
  // RSS's growth, within 10 %.
  void expect_growth_matches(std::initializer_list<int> sizes, const std::string& algo,
                             const std::vector<std::string>& more = {}) {
    const int kBase = 32;
    const ChildRun base_estimate = dry_run(kBase, algo, more), base_run = run_nst(args(kBase, algo, more));
    ASSERT_EQ(base_estimate.code, 0) << base_estimate.output;
    ASSERT_EQ(base_run.code, 0) << base_run.output;
    fs::remove(p("out.png"));
    for (int size : sizes) {
      const ChildRun estimate = dry_run(size, algo, more);
      ASSERT_EQ(estimate.code, 0) << estimate.output;
      EXPECT_FALSE(fs::exists(p("out.png"))) << "a dry run writes nothing";
      const ChildRun real = run_nst(args(size, algo, more));
      ASSERT_EQ(real.code, 0) << real.output;
      const double estimated = estimated_bytes(estimate) - estimated_bytes(base_estimate);
      const double measured = 1024.0 * (real.peak_rss_kb - base_run.peak_rss_kb);
      std::printf("%s, %d px: estimated %.1f MB above the %d px run, measured %.1f MB (%+.1f %%)\n", algo.c_str(),
                  size, estimated / (1 << 20), kBase, measured / (1 << 20), 100.0 * (estimated - measured) / measured);
      EXPECT_NEAR(estimated, measured, 0.10 * measured) << estimate.output;
      fs::remove(p("out.png"));
    }
  }

  fs::path dir_;
};

TEST_F(MemoryEstimateTest, GrowthMatchesThePeakResidentMemoryOfRealRunsWithinTenPercent) {
  expect_growth_matches({256, 480}, "auto");
}

// Winograd's workspace slices and transformed kernels, and GEMM alone.
TEST_F(MemoryEstimateTest, GrowthUnderEachConvAlgorithmMatchesThePeakWithinTenPercent) {
  expect_growth_matches({256}, "winograd");
  expect_growth_matches({256}, "gemm");
}

// Tiled (--tile 128 at 480x360: 4x3 tiles, extents up to 256 px): the
// tile buffers, the part scratch and the style image's own tile buffers.
TEST_F(MemoryEstimateTest, TiledGrowthMatchesThePeakWithinTenPercent) {
  expect_growth_matches({480}, "auto", {"--tile", "128"});
}

// Without --tile, a run that does not fit --max-memory untiled is tiled at
// the largest tile that fits, and says so.
TEST_F(MemoryEstimateTest, RunThatDoesNotFitIsTiledAutomatically) {
  const ChildRun untiled = dry_run(480, "auto", {"--tile", "0"}), tiled = dry_run(480, "auto", {"--tile", "256"});
  ASSERT_EQ(untiled.code, 0) << untiled.output;
  ASSERT_EQ(tiled.code, 0) << tiled.output;
  const uint64_t between = (estimated_bytes(untiled) + estimated_bytes(tiled)) / 2;
  ASSERT_LT(estimated_bytes(tiled), estimated_bytes(untiled)) << tiled.output;
  const ChildRun r = dry_run(480, "auto", {"--max-memory", std::to_string(between)});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tiling at "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(": fits"), std::string::npos) << r.output;
  EXPECT_LE(estimated_bytes(r), between);
}

TEST_F(MemoryEstimateTest, DryRunListsEveryPartAndWhetherItFits) {
  std::vector<std::string> a = args(128);
  a.insert(a.end(), {"--dry-run", "--max-memory", "1G"});
  const ChildRun r = run_nst(a);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* part : {"weights as read", "dgrad", "activations and gradients", "loss targets",
                           "optimiser state", "style image passes", "workspaces", "--max-memory 1024.0 MB: fits"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << " missing from:\n" << r.output;
  EXPECT_FALSE(fs::exists(p("out.png")));
}

// --device cuda: device memory, planned on the cuda backend's sizing twin
// (no device needed; tests/engine/test_cuda_memory_estimate.cpp checks it
// against the emulated backend). cuDNN's workspace is an upper bound, and
// the output says so; the custom kernels' estimate is exact.
TEST_F(MemoryEstimateTest, DryRunOnCudaEstimatesDeviceMemory) {
  auto on_cuda = [&](const std::string& algo) {
    std::vector<std::string> a = args(128, algo);
    *std::find(a.begin(), a.end(), "cpu") = "cuda";
    a.insert(a.end(), {"--dry-run", "--max-memory", "2G"});
    return run_nst(a);
  };
  const ChildRun custom = on_cuda("custom"), cudnn = on_cuda("cudnn");
  if (custom.output.find("no cuda backend") != std::string::npos) GTEST_SKIP() << custom.output;
  ASSERT_EQ(custom.code, 0) << custom.output;
  EXPECT_NE(custom.output.find("(cuda backend"), std::string::npos) << custom.output;
  EXPECT_NE(custom.output.find("device: weights and dgrad kernels"), std::string::npos) << custom.output;
  EXPECT_EQ(custom.output.find("upper bound"), std::string::npos) << custom.output;
  EXPECT_NE(custom.output.find("--max-memory 2048.0 MB: fits"), std::string::npos) << custom.output;
  if (cudnn.output.find("no cuDNN") != std::string::npos) GTEST_SKIP() << cudnn.output;
  ASSERT_EQ(cudnn.code, 0) << cudnn.output;
  EXPECT_NE(cudnn.output.find("upper bound: cuDNN's workspace"), std::string::npos) << cudnn.output;
  EXPECT_GT(estimated_bytes(cudnn), estimated_bytes(custom) + (256 << 20));
  EXPECT_FALSE(fs::exists(p("out.png")));
}

TEST_F(MemoryEstimateTest, MaxMemoryRefusesARunThatDoesNotFitBeforeAnyWork) {
  std::vector<std::string> a = args(256);
  a.insert(a.end(), {"--max-memory", "64M"});
  const ChildRun r = run_nst(a);
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--max-memory 64.0 MB"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("iter "), std::string::npos) << "no iteration may run:\n" << r.output;
  EXPECT_FALSE(fs::exists(p("out.png")));
}

}  // namespace
