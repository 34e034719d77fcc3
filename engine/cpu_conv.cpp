#include "engine/cpu_conv.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cpu/ops.hpp"

namespace nst {
namespace {

constexpr int kMinWinogradChannels = 16;
constexpr double kMinTimedFlops = 1e8;
double direct_flops(const Shape& x, int cout) { return 2.0 * 9 * static_cast<double>(x.pixels()) * x.c * cout; }

double seconds(const std::function<void()>& run) {
  const auto t0 = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// GEMM's time over Winograd's, the faster of two runs each, alternating:
// a first call may pay for paging in a workspace or for OpenBLAS's
// buffers, and a shared machine's noise comes and goes.
double measured_speedup(const std::function<void()>& gemm, const std::function<void()>& winograd) {
  double w = seconds(winograd), g = seconds(gemm);
  w = std::min(w, seconds(winograd));
  g = std::min(g, seconds(gemm));
  return g / w;
}

std::string describe(ConvDirection direction, const Shape& x, int cout, double speedup) {
  char line[160];
  std::snprintf(line, sizeof line, "conv %s %dx%d %d->%d: %s (winograd measured at %.2fx gemm's speed)",
                direction == ConvDirection::Fprop ? "fprop" : "dgrad", x.w, x.h, x.c, cout,
                speedup > 1 ? "winograd" : "gemm", speedup);
  return line;
}

}  // namespace

bool winograd_applies(ConvDirection direction, int cin, int cout) {
  return (direction == ConvDirection::Fprop ? cin : cout) >= kMinWinogradChannels;
}

bool winograd_candidate(CpuConvAlgo algo, ConvDirection direction, const Shape& x, int cout) {
  switch (algo) {
    case CpuConvAlgo::Gemm:
      return false;
    case CpuConvAlgo::Winograd:
      return winograd_applies(direction, x.c, cout);
    case CpuConvAlgo::Auto:
      break;
  }
  return winograd_applies(direction, x.c, cout) && direct_flops(x, cout) >= kMinTimedFlops;
}

bool keeps_winograd_kernel(CpuConvAlgo algo, ConvDirection direction, int cin, int cout) {
  return algo != CpuConvAlgo::Gemm && winograd_applies(direction, cin, cout);
}

bool needs_winograd_workspace(CpuConvAlgo algo, const Shape& x, int cout) {
  return winograd_candidate(algo, ConvDirection::Fprop, x, cout) ||
         winograd_candidate(algo, ConvDirection::Dgrad, x, cout);
}

bool auto_runs_winograd(ConvDirection direction, const Shape& x, int cout, const std::function<void()>& gemm,
                        const std::function<void()>& winograd, const LogFn& log) {
  using Key = std::tuple<ConvDirection, int, int, int, int, int, int>;
  static std::mutex mutex;
  static std::map<Key, bool> chosen;
  // One lock around the measurement too: two sessions timing at once would
  // time each other's load.
  std::lock_guard<std::mutex> lock(mutex);
  const Key key{direction, x.n, x.h, x.w, x.c, cout, cpu::num_threads()};
  const auto it = chosen.find(key);
  if (it != chosen.end()) return it->second;
  const double speedup = measured_speedup(gemm, winograd);
  if (log) log(describe(direction, x, cout, speedup));
  return chosen[key] = speedup > 1;
}

const char* cpu_conv_algo_name(CpuConvAlgo algo) {
  switch (algo) {
    case CpuConvAlgo::Gemm:
      return "gemm";
    case CpuConvAlgo::Winograd:
      return "winograd";
    case CpuConvAlgo::Auto:
      break;
  }
  return "auto";
}

}  // namespace nst
