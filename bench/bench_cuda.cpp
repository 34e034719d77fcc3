// Benchmarks of the cuda backend's kernels on the device, registered from
// the op table (kernels/table): every device variant of every op at the
// op's VGG16 bench shapes for a 512x512 image, so that each custom kernel
// (each conv tile) stands beside its cuDNN/cuBLAS counterpart and one JSON
// file says which algorithm wins where.
//
//   nst_bench_cuda [--benchmark_filter=conv2d_fprop] [--benchmark_min_time=0.1]
//                  [--benchmark_out=cuda_kernels.json --benchmark_out_format=json]
//
// Names are op/variant/shape (e.g. "conv2d_fprop/cudnn/block3_conv2"; Google
// Benchmark appends "/manual_time"), so bench/summarize.py can group the
// variants of one op and shape into a table. Labels name the algorithm
// (tile, cuDNN algorithm and math, cuBLAS method, split).
//
// Timing: all work is queued on one stream. Each benchmark makes one
// warm-up call first (lazy module loading, cuDNN/cuBLAS kernel selection,
// first touch), then sizes a batch: enough back-to-back calls to fill
// kBatchTargetMs, so that the launch latency is hidden as it is in a real
// iteration. A batch is timed by two cudaEvents and reported as manual time
// per call (counter "batch" = calls per batch). A kernel shorter than the
// host's launch rate (a few microseconds) measures that rate instead; the
// backend replays its iteration as a CUDA graph, which hides it.
// Memory-bound ops (under kComputeBound FLOPs per byte) cycle through
// `copies` instances, enough that a batch touches more than twice the L2,
// so their GB/s is HBM bandwidth rather than L2's; the compute-bound ones
// (conv, gram, style) reuse one. "+=" outputs accumulate over the calls,
// which changes their values, not the work.
//
// Counters, from the table's formulas: GFLOP/s (multiply-adds x2 of the
// full product; a SYRK computes half the Gram entries, so its GFLOP/s is
// "effective": equal time, equal rate) and GB/s of compulsory traffic
// (each input read once, each output written once, "+=" outputs read and
// written).
//
// Without a CUDA device it prints one line and exits 0.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/table/op_table.hpp"

#if NST_HAVE_CUDA_VENDOR
#include <cublas_v2.h>

#include "kernels/cuda/vendor/checks.hpp"
#if NST_HAVE_CUDNN
#include "kernels/cuda/vendor/cudnn_conv.hpp"
#endif
#endif

namespace {

namespace table = nst::table;

// A batch of calls lasts at least kBatchTargetMs unless that needs more than
// kMaxBatch calls. The wall time of a benchmark is about batch x its
// manual (reported) time, so the cap keeps the tiny kernels' runs short.
constexpr double kBatchTargetMs = 0.2;
constexpr int kMaxBatch = 32;
constexpr int kMaxCopies = 64;

cudaStream_t g_stream = nullptr;
size_t g_l2_bytes = 50u << 20;  // replaced by the device's value in main()

// An op is timed on a warm L2 (one instance) at or above this many FLOPs
// per compulsory byte: the conv layers, the Gram and the style product.
constexpr double kComputeBound = 4.0;

// ---- timing ------------------------------------------------------------------------

class Events {
 public:
  Events() {
    NST_CUDA_CHECK(cudaEventCreate(&start_));
    NST_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Events() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
  // Milliseconds the device spends on `calls` (queued on g_stream).
  template <typename F>
  double time_ms(F&& calls) {
    NST_CUDA_CHECK(cudaEventRecord(start_, g_stream));
    calls();
    NST_CUDA_CHECK(cudaEventRecord(stop_, g_stream));
    NST_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.f;
    NST_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Times call(i), i = 0, 1, ... (an op uses buffer set i % copies), as
// described at the top. Every benchmark ends here.
void run_timed(benchmark::State& state, int copies, const std::function<void(int)>& call) {
  for (int i = 0; i < copies; ++i) call(i);  // warm-up
  NST_CUDA_CHECK(cudaStreamSynchronize(g_stream));
  Events events;
  long next = 0;
  const double one_ms = events.time_ms([&] { call(static_cast<int>(next++ % copies)); });
  const int batch =
      static_cast<int>(std::clamp(std::ceil(kBatchTargetMs / std::max(one_ms, 1e-4)), 1.0, double{kMaxBatch}));
  for (auto _ : state) {
    const double ms = events.time_ms([&] {
      for (int r = 0; r < batch; ++r) call(static_cast<int>(next++ % copies));
    });
    state.SetIterationTime(ms * 1e-3 / batch);
  }
  state.counters["batch"] = batch;
  state.counters["copies"] = copies;
}

// Counter of `per_call` units per second, in units of 1e9.
benchmark::Counter giga_rate(double per_call) {
  return benchmark::Counter(per_call * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Runs a benchmark body; a failure (nst::DeviceError, ...) skips that
// benchmark with its message instead of ending the program.
void guarded(benchmark::State& state, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

benchmark::internal::Benchmark* add(const std::string& name, std::function<void(benchmark::State&)> fn) {
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [fn](benchmark::State& state) { guarded(state, [&] { fn(state); }); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

// Buffer sets a memory-bound op cycles through: enough that a batch reads
// and writes more than twice the L2 before a set comes round again.
int cold_copies(double bytes_per_call) {
  const double c = std::ceil(2.0 * static_cast<double>(g_l2_bytes) / std::max(bytes_per_call, 1.0));
  return static_cast<int>(std::clamp(c, 1.0, static_cast<double>(kMaxCopies)));
}

void BM_variant(benchmark::State& state, const table::Op& op, const table::Variant& v, const table::Shape& shape) {
  const double flops = op.flops ? op.flops(shape.d) : 0.0, bytes = op.bytes(shape.d);
  const int copies = flops >= kComputeBound * bytes ? 1 : cold_copies(bytes);
  std::vector<std::unique_ptr<table::Instance>> instances;
  for (int i = 0; i < copies; ++i)
    instances.push_back(std::make_unique<table::Instance>(op, v, shape.d, /*seed=*/1 + i, g_stream));
  run_timed(state, copies, [&](int i) { instances[i]->run(); });
  if (op.flops) state.counters["GFLOP/s"] = giga_rate(flops);
  state.counters["GB/s"] = giga_rate(bytes);
  state.SetLabel(instances.front()->describe());
}

void register_device_variants() {
  constexpr int kImage = 512;
  for (const table::BenchCase& c : table::bench_cases(table::Place::Device, kImage)) {
    const table::Op& op = *c.op;
    const table::Variant& v = *c.variant;
    const table::Shape shape = c.shape;
    add(c.name, [&op, &v, shape](benchmark::State& s) { BM_variant(s, op, v, shape); });
  }
}

// Device, library versions and timing method, in the JSON's "context".
void add_context() {
  cudaDeviceProp prop{};
  NST_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  int runtime = 0, driver = 0;
  NST_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  NST_CUDA_CHECK(cudaDriverGetVersion(&driver));
  g_l2_bytes = static_cast<size_t>(prop.l2CacheSize);
  benchmark::AddCustomContext("gpu", prop.name);
  benchmark::AddCustomContext("gpu_compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
  benchmark::AddCustomContext("gpu_sms", std::to_string(prop.multiProcessorCount));
  benchmark::AddCustomContext("gpu_l2_bytes", std::to_string(prop.l2CacheSize));
  benchmark::AddCustomContext("cuda_runtime", std::to_string(runtime));
  benchmark::AddCustomContext("cuda_driver", std::to_string(driver));
#if NST_HAVE_CUDA_VENDOR
  int major = 0, minor = 0, patch = 0;
  NST_CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &major));
  NST_CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &minor));
  NST_CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &patch));
  benchmark::AddCustomContext("cublas",
                              std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
#if NST_HAVE_CUDNN
  benchmark::AddCustomContext("cudnn", std::to_string(nst::cuda::CudnnConv::library_version()));
#endif
#endif
  benchmark::AddCustomContext("timing", "cudaEvent per batch of back-to-back calls on one stream, time per call");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0) {
    const std::string why = status != cudaSuccess
                                ? std::string("cudaGetDeviceCount: ") + cudaGetErrorName(status) + ", " +
                                      cudaGetErrorString(status)
                                : std::string("cudaGetDeviceCount found 0 devices");
    std::printf("nst_bench_cuda: no CUDA device present (%s): nothing to benchmark\n", why.c_str());
    return 0;
  }
  try {
    NST_CUDA_CHECK(cudaSetDevice(0));
    NST_CUDA_CHECK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    add_context();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nst_bench_cuda: %s\n", e.what());
    return 1;
  }
  register_device_variants();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  cudaStreamDestroy(g_stream);
  return 0;
}
