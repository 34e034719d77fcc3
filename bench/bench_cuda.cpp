// Benchmarks of the cuda backend's kernels on the device, at the VGG16
// shapes of a 512x512 image: each custom kernel beside its cuDNN/cuBLAS
// counterpart, so that one JSON file says which algorithm wins where.
//
//   nst_bench_cuda [--benchmark_filter=conv_fprop] [--benchmark_min_time=0.1]
//                  [--benchmark_out=cuda_kernels.json --benchmark_out_format=json]
//
// Names are op/variant/shape (e.g. "conv_fprop/cudnn/block3_conv2"; Google
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
// Memory-bound ops cycle through `copies` sets of buffers, enough that a
// batch touches more than twice the L2, so their GB/s is HBM bandwidth
// rather than L2's; the compute-bound ones (conv, gram, product) reuse one.
//
// Counters: GFLOP/s (multiply-adds x2 of the full product; a SYRK computes
// half the Gram entries, so its GFLOP/s is "effective": equal time, equal
// rate) or GB/s of compulsory traffic (each input read once, each output
// written once, "+=" outputs read and written).
//
// Without a CUDA device it prints one line and exits 0.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cuda/blas1.hpp"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/losses.hpp"

#if NST_HAVE_CUDA_VENDOR
#include <cublas_v2.h>

#include "kernels/cuda/vendor/checks.hpp"
#include "kernels/cuda/vendor/cublas_ops.hpp"
#if NST_HAVE_CUDNN
#include "kernels/cuda/vendor/cudnn_conv.hpp"
#endif
#endif

namespace {

namespace cu = nst::cuda;

// A batch of calls lasts at least kBatchTargetMs unless that needs more than
// kMaxBatch calls. The wall time of a benchmark is about batch x its
// manual (reported) time, so the cap keeps the tiny kernels' runs short.
constexpr double kBatchTargetMs = 0.2;
constexpr int kMaxBatch = 32;
constexpr int kMaxCopies = 64;

cudaStream_t g_stream = nullptr;
size_t g_l2_bytes = 50u << 20;  // replaced by the device's value in main()

// ---- device memory ---------------------------------------------------------------

// Move-only cudaMalloc'd array of n T's.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) : n_(n) {
    if (n > 0) NST_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)));
  }
  ~DeviceArray() {
    if (p_ != nullptr) cudaFree(p_);  // no throwing from a destructor
  }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& h) {
    NST_CUDA_CHECK(cudaMemcpy(p_, h.data(), std::min(h.size(), n_) * sizeof(T), cudaMemcpyHostToDevice));
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};
using Floats = DeviceArray<float>;

// n uniform(lo, hi) floats from a counter-based hash (splitmix64): much
// faster than <random> for the 16M-element activations, set up on every run.
std::vector<float> random_host(size_t n, float lo, float hi, uint32_t seed) {
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = (static_cast<uint64_t>(seed) << 40) + i + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = static_cast<float>((z >> 40) + 1) * 0x1p-24f;  // (0, 1]
    h[i] = lo + (hi - lo) * u;
  }
  return h;
}

// Device copy of n uniform(lo, hi) floats (non-zero with probability 1).
Floats random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Floats d(n);
  d.upload(random_host(n, lo, hi, seed));
  return d;
}

// `copies` device copies of one random array (for the memory-bound ops).
std::vector<Floats> random_copies(int copies, size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  if (copies <= 0) return {};
  const auto h = random_host(n, lo, hi, seed);
  std::vector<Floats> v;
  for (int i = 0; i < copies; ++i) {
    v.emplace_back(n);
    v.back().upload(h);
  }
  return v;
}

// Buffer sets a memory-bound op cycles through: enough that a batch reads
// and writes more than twice the L2 before a set comes round again.
int cold_copies(double bytes_per_call) {
  const double c = std::ceil(2.0 * static_cast<double>(g_l2_bytes) / std::max(bytes_per_call, 1.0));
  return static_cast<int>(std::clamp(c, 1.0, static_cast<double>(kMaxCopies)));
}

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

// ---- conv2d 3x3: custom tiles vs cuDNN ---------------------------------------------------

struct ConvLayer {
  const char* name;
  int H, W, Cin, Cout;
};
// Distinct conv shapes of VGG16 for a 512x512 image (N = 1); block3_conv3,
// block4_conv3 and block5_conv2/3 repeat a shape listed here.
const ConvLayer kConvLayers[] = {
    {"block1_conv1", 512, 512, 3, 64},    {"block1_conv2", 512, 512, 64, 64},
    {"block2_conv1", 256, 256, 64, 128},  {"block2_conv2", 256, 256, 128, 128},
    {"block3_conv1", 128, 128, 128, 256}, {"block3_conv2", 128, 128, 256, 256},
    {"block4_conv1", 64, 64, 256, 512},   {"block4_conv2", 64, 64, 512, 512},
    {"block5_conv1", 32, 32, 512, 512},
};

double conv_flops(const ConvLayer& l) { return 2.0 * 9.0 * l.H * l.W * l.Cin * l.Cout; }

const char* tile_name(cu::ConvTileConfig c) {
  switch (c) {
    case cu::ConvTileConfig::Large128x64: return "large128x64";
    case cu::ConvTileConfig::Medium64x64: return "medium64x64";
    case cu::ConvTileConfig::Small32x32: return "small32x32";
  }
  return "?";
}

std::string tile_label(cu::ConvTileConfig c) {
  const cu::ConvTile t = cu::conv_tile(c);
  return std::string("implicit GEMM ") + tile_name(c) + " (" + std::to_string(t.block_m) + "x" +
         std::to_string(t.block_n) + "x" + std::to_string(t.block_k) + ", " + std::to_string(t.thread_m) + "x" +
         std::to_string(t.thread_n) + " per thread)";
}

// The tensors of one conv layer: x, w, b, y for fprop; dy, dx (and the
// custom dgrad's rearranged kernel, ws) for dgrad.
struct ConvBuffers {
  explicit ConvBuffers(const ConvLayer& l)
      : px(static_cast<size_t>(l.H) * l.W),
        x(random_floats(px * l.Cin, 1)),
        w(random_floats(9ull * l.Cin * l.Cout, 2, -0.1f, 0.1f)),
        b(random_floats(l.Cout, 3)),
        y(px * l.Cout),
        dy(random_floats(px * l.Cout, 4)),
        dx(px * l.Cin),
        ws(cu::conv2d_dgrad_workspace_floats(l.Cin, l.Cout)) {}
  size_t px;
  Floats x, w, b, y, dy, dx, ws;
};

// tile < 0: the default choice (the overloads without a tile).
void BM_conv_custom(benchmark::State& state, const ConvLayer& l, bool fprop, int tile) {
  ConvBuffers t(l);
  const auto chosen = fprop ? cu::default_conv_tile(1, l.H, l.W, l.Cin, l.Cout)
                            : cu::default_conv_tile(1, l.H, l.W, l.Cout, l.Cin);
  const auto cfg = tile < 0 ? chosen : static_cast<cu::ConvTileConfig>(tile);
  if (fprop) {
    // Bias and ReLU fused in the epilogue, as the backend calls it.
    run_timed(state, 1, [&](int) {
      if (tile < 0)
        cu::conv2d_fprop(t.y.get(), t.x.get(), t.w.get(), t.b.get(), 1, l.H, l.W, l.Cin, l.Cout, true, g_stream);
      else
        cu::conv2d_fprop(t.y.get(), t.x.get(), t.w.get(), t.b.get(), 1, l.H, l.W, l.Cin, l.Cout, true, cfg, g_stream);
    });
  } else {
    // relu_y = nullptr: the plain backward-data, to compare with cuDNN's
    // dgrad, which takes dy with the ReLU mask already applied (the backend
    // runs relu_backward first on that path, while the custom kernel masks
    // dy as it loads it). The kernel is rearranged once, outside the timed
    // loop, as the engine does per Model (cuDNN's plan keeps its own copy).
    cu::conv2d_dgrad_weights(t.ws.get(), t.w.get(), l.Cin, l.Cout, g_stream);
    run_timed(state, 1, [&](int) {
      if (tile < 0)
        cu::conv2d_dgrad_prepared(t.dx.get(), t.dy.get(), nullptr, t.ws.get(), 1, l.H, l.W, l.Cin, l.Cout, g_stream);
      else
        cu::conv2d_dgrad_prepared(t.dx.get(), t.dy.get(), nullptr, t.ws.get(), 1, l.H, l.W, l.Cin, l.Cout, cfg,
                                  g_stream);
    });
  }
  state.counters["GFLOP/s"] = giga_rate(conv_flops(l));
  state.SetLabel((tile < 0 ? "default: " : "") + tile_label(cfg));
}

#if NST_HAVE_CUDA_VENDOR && NST_HAVE_CUDNN
void BM_conv_cudnn(benchmark::State& state, const ConvLayer& l, bool fprop, cu::CudnnConvOptions options) {
  ConvBuffers t(l);
  cu::CudnnConv conv(g_stream, options);
  const int plan = conv.plan({1, l.H, l.W, l.Cin, l.Cout}, t.w.get(), t.b.get());
  conv.allocate_workspace();
  const cu::CudnnConvPlanInfo info = conv.info(plan);
  std::string label = "cuDNN " + std::to_string(cu::CudnnConv::library_version()) + " ";
  if (fprop) {
    // conv + bias + ReLU, as the backend calls it (the custom kernel fuses both).
    run_timed(state, 1, [&](int) { conv.fprop(plan, t.y.get(), t.x.get(), /*relu=*/true); });
    label += "fprop " + info.fprop_algo_name + " math " + info.fprop_math + ", ws " +
             std::to_string(info.fprop_workspace_bytes >> 10) + " KiB, bias+relu " +
             (info.fused ? "fused" : "separate");
    if (options.fused_bias_relu && !info.fused) label += " (" + info.fused_note + ")";
  } else {
    // dy taken as already ReLU-masked (see BM_conv_custom).
    run_timed(state, 1, [&](int) { conv.dgrad(plan, t.dx.get(), t.dy.get()); });
    label += "dgrad " + info.dgrad_algo_name + " math " + info.dgrad_math + ", ws " +
             std::to_string(info.dgrad_workspace_bytes >> 10) + " KiB" +
             (info.dgrad_deterministic ? "" : ", non-deterministic");
  }
  state.counters["GFLOP/s"] = giga_rate(conv_flops(l));
  state.SetLabel(label);
}
#endif

void register_conv() {
  for (const bool fprop : {true, false}) {
    const std::string op = fprop ? "conv_fprop/" : "conv_dgrad/";
    for (const ConvLayer& l : kConvLayers) {
      const std::string shape = std::string("/") + l.name;
      add(op + "custom_default" + shape, [l, fprop](benchmark::State& s) { BM_conv_custom(s, l, fprop, -1); });
      for (const auto c : {cu::ConvTileConfig::Large128x64, cu::ConvTileConfig::Medium64x64,
                           cu::ConvTileConfig::Small32x32}) {
        add(op + "custom_" + tile_name(c) + shape,
            [l, fprop, c](benchmark::State& s) { BM_conv_custom(s, l, fprop, static_cast<int>(c)); });
      }
#if NST_HAVE_CUDA_VENDOR && NST_HAVE_CUDNN
      cu::CudnnConvOptions plain;  // the backend's defaults
      cu::CudnnConvOptions tf32 = plain;
      tf32.allow_tf32 = true;
      add(op + "cudnn" + shape, [l, fprop, plain](benchmark::State& s) { BM_conv_cudnn(s, l, fprop, plain); });
      add(op + "cudnn_tf32" + shape, [l, fprop, tf32](benchmark::State& s) { BM_conv_cudnn(s, l, fprop, tf32); });
      if (fprop) {
        cu::CudnnConvOptions fused = plain;
        fused.fused_bias_relu = true;
        add(op + "cudnn_fused" + shape, [l, fused](benchmark::State& s) { BM_conv_cudnn(s, l, true, fused); });
      }
#endif
    }
  }
}

// ---- Gram and the style-gradient product: custom vs cuBLAS ---------------------------------

struct StyleTap {
  const char* name;
  int HW, C;
};
const StyleTap kStyleTaps[] = {
    {"block1_conv1", 512 * 512, 64},  {"block2_conv1", 256 * 256, 128}, {"block3_conv1", 128 * 128, 256},
    {"block4_conv1", 64 * 64, 512},   {"block5_conv1", 32 * 32, 512},
};

double product_flops(const StyleTap& t) { return 2.0 * t.HW * t.C * t.C; }

enum class GramVariant { Custom, CustomNoSplit, CublasSyrk, CublasGemm };

void BM_gram(benchmark::State& state, const StyleTap& tap, GramVariant v, bool tf32) {
  const Floats F = random_floats(static_cast<size_t>(tap.HW) * tap.C, 5);
  Floats G(static_cast<size_t>(tap.C) * tap.C);
  if (v == GramVariant::Custom || v == GramVariant::CustomNoSplit) {
    const bool split = v == GramVariant::Custom;
    Floats ws(split ? cu::gram_workspace_floats(1, tap.HW, tap.C) : 0);
    run_timed(state, 1, [&](int) {
      if (split)
        cu::gram(G.get(), F.get(), 1, tap.HW, tap.C, ws.get(), g_stream);
      else
        cu::gram(G.get(), F.get(), 1, tap.HW, tap.C, g_stream);
    });
    state.SetLabel(split ? "tiled, split_k " + std::to_string(cu::gram_split_k(1, tap.HW, tap.C))
                         : std::string("tiled, no split"));
  } else {
#if NST_HAVE_CUDA_VENDOR
    cu::CublasOptions options;
    options.allow_tf32 = tf32;
    cu::CublasOps ops(g_stream, options);
    const auto method = v == GramVariant::CublasSyrk ? cu::GramMethod::Syrk : cu::GramMethod::Gemm;
    run_timed(state, 1, [&](int) { ops.gram(G.get(), F.get(), 1, tap.HW, tap.C, method); });
    state.SetLabel(std::string("cuBLAS ") + cu::gram_method_name(method) + (tf32 ? ", TF32" : ", FP32"));
#else
    (void)tf32;
#endif
  }
  state.counters["GFLOP/s"] = giga_rate(product_flops(tap));
}

// dF += scale F D, D (C,C) symmetric as D = G - A is.
void BM_style_product(benchmark::State& state, const StyleTap& tap, bool cublas, bool tf32) {
  const Floats F = random_floats(static_cast<size_t>(tap.HW) * tap.C, 6);
  Floats dF = random_floats(static_cast<size_t>(tap.HW) * tap.C, 7);
  auto d = random_host(static_cast<size_t>(tap.C) * tap.C, -1.f, 1.f, 8);
  for (int i = 0; i < tap.C; ++i)
    for (int j = 0; j < i; ++j) d[static_cast<size_t>(i) * tap.C + j] = d[static_cast<size_t>(j) * tap.C + i];
  Floats D(d.size());
  D.upload(d);
  const float scale = cu::style_gradient_scale(1, tap.HW, tap.C, 100.f);
  if (!cublas) {
    run_timed(state, 1,
              [&](int) { cu::style_gradient_product(dF.get(), F.get(), D.get(), 1, tap.HW, tap.C, scale, g_stream); });
    state.SetLabel("tiled");
  } else {
#if NST_HAVE_CUDA_VENDOR
    cu::CublasOptions options;
    options.allow_tf32 = tf32;
    cu::CublasOps ops(g_stream, options);
    run_timed(state, 1, [&](int) { ops.style_gradient_product(dF.get(), F.get(), D.get(), 1, tap.HW, tap.C, scale); });
    state.SetLabel(std::string("cuBLAS GEMM N,N") + (tf32 ? ", TF32" : ", FP32"));
#else
    (void)tf32;
#endif
  }
  state.counters["GFLOP/s"] = giga_rate(product_flops(tap));
}

void register_style() {
  for (const StyleTap& t : kStyleTaps) {
    const std::string shape = std::string("/") + t.name;
    auto gram = [&](const char* variant, GramVariant v, bool tf32) {
      add(std::string("gram/") + variant + shape, [t, v, tf32](benchmark::State& s) { BM_gram(s, t, v, tf32); });
    };
    gram("custom", GramVariant::Custom, false);
    gram("custom_nosplit", GramVariant::CustomNoSplit, false);
#if NST_HAVE_CUDA_VENDOR
    gram("cublas_syrk", GramVariant::CublasSyrk, false);
    gram("cublas_gemm", GramVariant::CublasGemm, false);
    gram("cublas_syrk_tf32", GramVariant::CublasSyrk, true);
    gram("cublas_gemm_tf32", GramVariant::CublasGemm, true);
#endif
    auto product = [&](const char* variant, bool cublas, bool tf32) {
      add(std::string("style_product/") + variant + shape,
          [t, cublas, tf32](benchmark::State& s) { BM_style_product(s, t, cublas, tf32); });
    };
    product("custom", false, false);
#if NST_HAVE_CUDA_VENDOR
    product("cublas", true, false);
    product("cublas_tf32", true, true);
#endif
  }
}

// ---- memory-bound ops (GB/s) ------------------------------------------------------------

struct Act {
  const char* name;
  int H, W, C;
  size_t n() const { return static_cast<size_t>(H) * W * C; }
};
// ReLU at block1_conv2's and block3_conv2's output; pooling of those
// (pool1: 512x512x64 -> 256x256; pool3: 128x128x256 -> 64x64).
const Act kReluActs[] = {{"block1_conv2", 512, 512, 64}, {"block3_conv2", 128, 128, 256}};
const Act kPoolActs[] = {{"block1_pool", 512, 512, 64}, {"block3_pool", 128, 128, 256}};
const Act kContent = {"block4_conv2", 64, 64, 512};
const Act kImage = {"image512", 512, 512, 3};

void set_bandwidth(benchmark::State& state, double bytes, const std::string& label) {
  state.counters["GB/s"] = giga_rate(bytes);
  state.SetLabel(label);
}

void BM_relu(benchmark::State& state, const Act& a, bool forward) {
  const size_t n = a.n();
  const double bytes = (forward ? 8.0 : 12.0) * n;
  const int k = cold_copies(bytes);
  auto x = random_copies(k, n, 9), dy = random_copies(forward ? 0 : k, n, 10);
  std::vector<Floats> out;
  for (int i = 0; i < k; ++i) out.emplace_back(n);
  if (forward)
    run_timed(state, k, [&](int i) { cu::relu_forward(out[i].get(), x[i].get(), n, g_stream); });
  else
    run_timed(state, k, [&](int i) { cu::relu_backward(out[i].get(), dy[i].get(), x[i].get(), n, g_stream); });
  set_bandwidth(state, bytes, forward ? "y = max(x, 0)" : "dx = dy * (y > 0)");
}

enum class Pool { MaxFwd, MaxBwd, AvgFwd, AvgBwd };

void BM_pool(benchmark::State& state, const Act& a, Pool p) {
  const size_t n = a.n(), q = static_cast<size_t>(a.H / 2) * (a.W / 2) * a.C;
  // Forward: read x, write y. Backward: read dy (and x for max), write dx.
  const double bytes = 4.0 * (p == Pool::MaxBwd ? 2 * n + q : n + q);
  const int k = cold_copies(bytes);
  const bool fwd = p == Pool::MaxFwd || p == Pool::AvgFwd;
  auto big = random_copies(p == Pool::AvgBwd ? 0 : k, n, 11);      // x
  auto small = random_copies(fwd ? 0 : k, q, 12);                  // dy
  std::vector<Floats> out;
  for (int i = 0; i < k; ++i) out.emplace_back(fwd ? q : n);  // y or dx
  const int H = a.H, W = a.W, C = a.C;
  run_timed(state, k, [&](int i) {
    switch (p) {
      case Pool::MaxFwd: cu::maxpool2x2_forward(out[i].get(), big[i].get(), 1, H, W, C, g_stream); break;
      case Pool::MaxBwd:
        cu::maxpool2x2_backward(out[i].get(), small[i].get(), big[i].get(), 1, H, W, C, g_stream);
        break;
      case Pool::AvgFwd: cu::avgpool2x2_forward(out[i].get(), big[i].get(), 1, H, W, C, g_stream); break;
      case Pool::AvgBwd: cu::avgpool2x2_backward(out[i].get(), small[i].get(), 1, H, W, C, g_stream); break;
    }
  });
  set_bandwidth(state, bytes, "2x2 stride 2");
}

// loss = w mean((F - P)^2), dF += grad: reads F, P, reads and writes dF.
void BM_content_loss(benchmark::State& state, const Act& a) {
  const size_t n = a.n();
  const double bytes = 16.0 * n;
  const int k = cold_copies(bytes);
  auto F = random_copies(k, n, 13), P = random_copies(k, n, 14), dF = random_copies(k, n, 15);
  Floats loss(k), ws(cu::content_loss_workspace_floats(n));
  run_timed(state, k, [&](int i) {
    cu::content_loss(loss.get() + i, dF[i].get(), F[i].get(), P[i].get(), n, 5.f, ws.get(), g_stream);
  });
  set_bandwidth(state, bytes, "loss + gradient, deterministic partial sums");
}

// loss = w sum of squared neighbour differences, dx += grad.
void BM_tv_loss(benchmark::State& state, const Act& a) {
  const size_t n = a.n();
  const double bytes = 12.0 * n;
  const int k = cold_copies(bytes);
  auto x = random_copies(k, n, 16), dx = random_copies(k, n, 17);
  Floats loss(k), ws(cu::tv_loss_workspace_floats(1, a.H, a.W, a.C));
  run_timed(state, k, [&](int i) {
    cu::tv_loss(loss.get() + i, dx[i].get(), x[i].get(), 1, a.H, a.W, a.C, 1e-3f, ws.get(), g_stream);
  });
  set_bandwidth(state, bytes, "loss + gradient, deterministic partial sums");
}

// D = G - A and loss = w mean(D^2): reads G, A, writes D.
void BM_style_loss_diff(benchmark::State& state, const StyleTap& t) {
  const size_t cc = static_cast<size_t>(t.C) * t.C;
  const double bytes = 12.0 * cc;
  const int k = cold_copies(bytes);
  auto G = random_copies(k, cc, 18), A = random_copies(k, cc, 19);
  std::vector<Floats> D;
  for (int i = 0; i < k; ++i) D.emplace_back(cc);
  Floats loss(k), ws(cu::style_loss_diff_workspace_floats(1, t.C));
  run_timed(state, k, [&](int i) {
    cu::style_loss_diff(loss.get() + i, D[i].get(), G[i].get(), A[i].get(), 1, t.C, 100.f, ws.get(), g_stream);
  });
  set_bandwidth(state, bytes, "D = G - A, loss");
}

// Adam on the image: reads x, m, v, g; writes x, m, v.
void BM_adam(benchmark::State& state, const Act& a) {
  const size_t n = a.n();
  const double bytes = 28.0 * n;
  const int k = cold_copies(bytes);
  auto x = random_copies(k, n, 20), m = random_copies(k, n, 21), v = random_copies(k, n, 22, 0.01f, 1.f),
       g = random_copies(k, n, 23);
  DeviceArray<int> t(1);
  t.upload({1});
  const cu::AdamParams p{10.f, 0.9f, 0.999f, 1e-8f};
  run_timed(state, k, [&](int i) {
    cu::adam_step(x[i].get(), m[i].get(), v[i].get(), g[i].get(), n, p, t.get(), g_stream);
  });
  set_bandwidth(state, bytes, "fused moments + update");
}

// BLAS-1 on the image vectors of an L-BFGS step (512x384x3 floats).
// dot: reads a, b; the result stays on the device (two launches: partials,
// then the fixed-order finish).
void BM_dot(benchmark::State& state, size_t n) {
  const double bytes = 8.0 * n;
  const int k = cold_copies(bytes);
  auto a = random_copies(k, n, 26), b = random_copies(k, n, 27);
  Floats result(k), ws(cu::blas1_workspace_floats(n));
  run_timed(state, k, [&](int i) { cu::dot(result.get() + i, a[i].get(), b[i].get(), n, ws.get(), g_stream); });
  set_bandwidth(state, bytes, "deterministic partial sums in double");
}

// axpy with its scale read from a device scalar: reads x, reads and writes y.
void BM_axpy(benchmark::State& state, size_t n) {
  const double bytes = 12.0 * n;
  const int k = cold_copies(bytes);
  auto x = random_copies(k, n, 28), y = random_copies(k, n, 29);
  Floats scale = random_floats(1, 30, 1e-3f, 2e-3f);
  run_timed(state, k, [&](int i) { cu::axpy(y[i].get(), 0.5f, scale.get(), x[i].get(), n, g_stream); });
  set_bandwidth(state, bytes, "y += alpha * *scale * x, float4");
}

// 3 bytes in and 3 floats out per pixel (or back).
void BM_preprocess(benchmark::State& state, const Act& a, bool forward) {
  const size_t px = static_cast<size_t>(a.H) * a.W;
  const double bytes = 15.0 * px;
  const int k = cold_copies(bytes);
  std::vector<uint8_t> h(3 * px);
  const auto u = random_host(3 * px, 1.f, 255.f, 24);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(u[i]);
  std::vector<DeviceArray<uint8_t>> rgb;
  for (int i = 0; i < k; ++i) {
    rgb.emplace_back(3 * px);
    rgb.back().upload(h);
  }
  auto x = random_copies(k, 3 * px, 25, -120.f, 150.f);
  if (forward)
    run_timed(state, k, [&](int i) { cu::preprocess(x[i].get(), rgb[i].get(), px, g_stream); });
  else
    run_timed(state, k, [&](int i) { cu::deprocess(rgb[i].get(), x[i].get(), px, g_stream); });
  set_bandwidth(state, bytes, forward ? "RGB bytes -> BGR - caffe mean" : "BGR + caffe mean -> RGB bytes");
}

void register_memory_bound() {
  for (const Act& a : kReluActs) {
    add(std::string("relu_fwd/custom/") + a.name, [a](benchmark::State& s) { BM_relu(s, a, true); });
    add(std::string("relu_bwd/custom/") + a.name, [a](benchmark::State& s) { BM_relu(s, a, false); });
  }
  const std::pair<const char*, Pool> pools[] = {
      {"maxpool_fwd", Pool::MaxFwd}, {"maxpool_bwd", Pool::MaxBwd},
      {"avgpool_fwd", Pool::AvgFwd}, {"avgpool_bwd", Pool::AvgBwd}};
  for (const auto& [op, p] : pools)
    for (const Act& a : kPoolActs)
      add(std::string(op) + "/custom/" + a.name, [a, p = p](benchmark::State& s) { BM_pool(s, a, p); });
  add(std::string("content_loss/custom/") + kContent.name, [](benchmark::State& s) { BM_content_loss(s, kContent); });
  for (const StyleTap& t : kStyleTaps)
    add(std::string("style_loss_diff/custom/") + t.name, [t](benchmark::State& s) { BM_style_loss_diff(s, t); });
  add(std::string("tv_loss/custom/") + kImage.name, [](benchmark::State& s) { BM_tv_loss(s, kImage); });
  add(std::string("adam_step/custom/") + kImage.name, [](benchmark::State& s) { BM_adam(s, kImage); });
  add(std::string("preprocess/custom/") + kImage.name, [](benchmark::State& s) { BM_preprocess(s, kImage, true); });
  add(std::string("deprocess/custom/") + kImage.name, [](benchmark::State& s) { BM_preprocess(s, kImage, false); });
  constexpr size_t kLbfgsVector = 512 * 384 * 3;
  add("dot/custom/image512x384", [](benchmark::State& s) { BM_dot(s, kLbfgsVector); });
  add("axpy/custom/image512x384", [](benchmark::State& s) { BM_axpy(s, kLbfgsVector); });
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
  benchmark::AddCustomContext("cudnn", std::to_string(cu::CudnnConv::library_version()));
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
  register_conv();
  register_style();
  register_memory_bound();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  cudaStreamDestroy(g_stream);
  return 0;
}
