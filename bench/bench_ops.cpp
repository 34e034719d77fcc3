// Per-op benchmarks of the CPU backend at VGG16 shapes (a 256 or 512
// image). Compute-bound ops report GFLOP/s (multiply-adds x2), the others
// GB/s of compulsory traffic (each input read once, each output written
// once), both as rates over the measured time.
//
//   nst_bench_ops --benchmark_min_time=0.1 [--benchmark_filter=conv]
//                 [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/ops.hpp"

namespace {

using namespace nst::cpu;

std::vector<float> random_floats(size_t n, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Counter of `per_iteration` units (1e9 of them per reported unit) per second.
benchmark::Counter rate(double per_iteration) {
  return benchmark::Counter(per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

size_t nhwc(const benchmark::State& s, int c) { return static_cast<size_t>(s.range(0)) * s.range(1) * c; }

// ---- conv2d: args H, W, Cin, Cout -------------------------------------------

double conv_flops(const benchmark::State& s) {
  return 2.0 * 9 * s.range(0) * s.range(1) * s.range(2) * s.range(3);
}

void BM_conv2d_fprop(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), Cin = state.range(2), Cout = state.range(3);
  const auto x = random_floats(nhwc(state, Cin)), w = random_floats(9 * Cin * Cout), b = random_floats(Cout);
  std::vector<float> y(nhwc(state, Cout)), ws(conv2d_workspace_floats(1, H, W, Cin, Cout));
  for (auto _ : state) {
    conv2d_fprop(y.data(), x.data(), w.data(), b.data(), 1, H, W, Cin, Cout, /*relu=*/true, ws.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(conv_flops(state));
}

void BM_conv2d_dgrad(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), Cin = state.range(2), Cout = state.range(3);
  const auto dy = random_floats(nhwc(state, Cout)), w = random_floats(9 * Cin * Cout);
  std::vector<float> dx(nhwc(state, Cin)), ws(conv2d_workspace_floats(1, H, W, Cin, Cout));
  for (auto _ : state) {
    conv2d_dgrad(dx.data(), dy.data(), w.data(), 1, H, W, Cin, Cout, ws.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(conv_flops(state));
}

// Winograd F(4x4,3x3): GFLOP/s counts the direct convolution's FLOPs
// (conv_flops), so the rate compares with the GEMM path's as a speed, not
// as arithmetic done. dgrad includes the fused ReLU mask, which the GEMM
// path's engine call runs as a separate relu_backward pass.
void BM_winograd_fprop(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), Cin = state.range(2), Cout = state.range(3);
  const auto x = random_floats(nhwc(state, Cin)), w = random_floats(9 * Cin * Cout), b = random_floats(Cout);
  std::vector<float> U(winograd_kernel_floats(Cin, Cout)), y(nhwc(state, Cout));
  std::vector<float> ws(winograd_workspace_floats(Cin, Cout, num_threads()));
  winograd_fprop_kernel(U.data(), w.data(), Cin, Cout);
  for (auto _ : state) {
    winograd_fprop(y.data(), x.data(), U.data(), b.data(), 1, H, W, Cin, Cout, /*relu=*/true, ws.data(), ws.size());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(conv_flops(state));
}

void BM_winograd_dgrad(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), Cin = state.range(2), Cout = state.range(3);
  const auto dy = random_floats(nhwc(state, Cout)), relu_y = random_floats(nhwc(state, Cout));
  const auto w = random_floats(9 * Cin * Cout);
  std::vector<float> U(winograd_kernel_floats(Cin, Cout)), dx(nhwc(state, Cin));
  std::vector<float> ws(winograd_workspace_floats(Cin, Cout, num_threads()));
  winograd_dgrad_kernel(U.data(), w.data(), Cin, Cout);
  for (auto _ : state) {
    winograd_dgrad(dx.data(), dy.data(), relu_y.data(), U.data(), 1, H, W, Cin, Cout, ws.data(), ws.size());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(conv_flops(state));
}

void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"H", "W", "Cin", "Cout"});
  b->Args({256, 256, 3, 64});     // block1_conv1 at 256
  b->Args({256, 256, 64, 64});    // block1_conv2 at 256
  b->Args({64, 64, 256, 256});    // block3 at 256
  b->Args({32, 32, 512, 512});    // block4 at 256
  b->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_conv2d_fprop)->Apply(conv_shapes);
BENCHMARK(BM_conv2d_dgrad)->Apply(conv_shapes);
BENCHMARK(BM_winograd_fprop)->Apply(conv_shapes);
BENCHMARK(BM_winograd_dgrad)->Apply(conv_shapes);

// ---- elementwise and pooling: args H, W, C ---------------------------------------

void BM_relu_backward(benchmark::State& state) {
  const size_t n = nhwc(state, state.range(2));
  const auto y = random_floats(n);
  auto dy = random_floats(n);
  for (auto _ : state) {
    relu_backward(dy.data(), dy.data(), y.data(), n);  // in place, as the engine calls it
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(3.0 * n * sizeof(float));
}

void BM_maxpool2x2_forward(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), C = state.range(2);
  const auto x = random_floats(nhwc(state, C));
  std::vector<float> y(x.size() / 4);
  for (auto _ : state) {
    maxpool2x2_forward(y.data(), x.data(), 1, H, W, C);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(1.25 * x.size() * sizeof(float));
}

void BM_maxpool2x2_backward(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), C = state.range(2);
  const auto x = random_floats(nhwc(state, C)), dy = random_floats(x.size() / 4);
  std::vector<float> dx(x.size());
  for (auto _ : state) {
    maxpool2x2_backward(dx.data(), dy.data(), x.data(), 1, H, W, C);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(2.25 * x.size() * sizeof(float));
}

void BM_avgpool2x2_backward(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1), C = state.range(2);
  const auto dy = random_floats(nhwc(state, C) / 4);
  std::vector<float> dx(nhwc(state, C));
  for (auto _ : state) {
    avgpool2x2_backward(dx.data(), dy.data(), 1, H, W, C);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(1.25 * dx.size() * sizeof(float));
}

void activation_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"H", "W", "C"});
  b->Args({256, 256, 64});  // block1 at 256
  b->Args({64, 64, 256});   // block3 at 256
  b->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_relu_backward)->Apply(activation_shapes);
BENCHMARK(BM_maxpool2x2_forward)->Apply(activation_shapes);
BENCHMARK(BM_maxpool2x2_backward)->Apply(activation_shapes);
BENCHMARK(BM_avgpool2x2_backward)->Apply(activation_shapes);

// ---- Gram and losses: args H, W, C ------------------------------------------------

void BM_gram(benchmark::State& state) {
  const int HW = state.range(0) * state.range(1), C = state.range(2);
  const auto F = random_floats(nhwc(state, C), 0.f, 1.f);
  std::vector<float> G(static_cast<size_t>(C) * C);
  for (auto _ : state) {
    gram(G.data(), F.data(), 1, HW, C);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(1.0 * HW * C * C);  // SYRK: half of 2*HW*C^2
}

void BM_style_loss(benchmark::State& state) {
  const int HW = state.range(0) * state.range(1), C = state.range(2);
  const auto F = random_floats(nhwc(state, C), 0.f, 1.f);
  const auto G = random_floats(static_cast<size_t>(C) * C), A = random_floats(G.size());
  std::vector<float> dF(F.size()), ws(style_loss_workspace_floats(1, HW, C));
  float loss;
  for (auto _ : state) {
    style_loss(&loss, dF.data(), F.data(), G.data(), A.data(), 1, HW, C, 100.f, ws.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(2.0 * HW * C * C);  // F (G - A)
}

void gram_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"H", "W", "C"});
  b->Args({256, 256, 64});   // block1_conv1 at 256
  b->Args({128, 128, 256});  // block3_conv1 at 512
  b->Args({32, 32, 512});    // block4_conv1 at 256
  b->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_gram)->Apply(gram_shapes);
BENCHMARK(BM_style_loss)->Apply(gram_shapes);

void BM_content_loss(benchmark::State& state) {
  const size_t n = nhwc(state, state.range(2));
  const auto F = random_floats(n), P = random_floats(n);
  std::vector<float> dF(n);
  float loss;
  for (auto _ : state) {
    content_loss(&loss, dF.data(), F.data(), P.data(), n, 5.f);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(4.0 * n * sizeof(float));  // F, P, dF read; dF written
}
BENCHMARK(BM_content_loss)->ArgNames({"H", "W", "C"})->Args({64, 64, 512})->Unit(benchmark::kMicrosecond);

// ---- image-sized ops: args H, W (3 channels) -----------------------------------------

void BM_tv_loss(benchmark::State& state) {
  const int H = state.range(0), W = state.range(1);
  const auto x = random_floats(nhwc(state, 3), -128.f, 128.f);
  std::vector<float> dx(x.size());
  float loss;
  for (auto _ : state) {
    tv_loss(&loss, dx.data(), x.data(), 1, H, W, 3, 1e-3f);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(3.0 * x.size() * sizeof(float));
}

void BM_adam_step(benchmark::State& state) {
  const size_t n = nhwc(state, 3);
  auto x = random_floats(n, -128.f, 128.f);
  const auto g = random_floats(n);
  std::vector<float> m(n, 0.f), v(n, 0.f);
  AdamHyper h;
  for (auto _ : state) {
    adam_step(x.data(), m.data(), v.data(), g.data(), n, h);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(7.0 * n * sizeof(float));  // x, m, v read+written; g read
}

void BM_preprocess(benchmark::State& state) {
  const size_t pixels = nhwc(state, 1);
  std::vector<uint8_t> rgb(pixels * 3, 128);
  std::vector<float> x(pixels * 3);
  for (auto _ : state) {
    preprocess(x.data(), rgb.data(), pixels);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(pixels * 3.0 * (1 + sizeof(float)));
}

void BM_deprocess(benchmark::State& state) {
  const size_t pixels = nhwc(state, 1);
  const auto x = random_floats(pixels * 3, -128.f, 128.f);
  std::vector<uint8_t> rgb(pixels * 3);
  for (auto _ : state) {
    deprocess(rgb.data(), x.data(), pixels);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(pixels * 3.0 * (1 + sizeof(float)));
}

// ---- BLAS-1 for L-BFGS on the image: arg n floats ----------------------------------

void BM_dot(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto a = random_floats(n), b = random_floats(n);
  float r;
  for (auto _ : state) {
    dot(&r, a.data(), b.data(), n);
    benchmark::DoNotOptimize(r);
  }
  state.counters["GB/s"] = rate(2.0 * n * sizeof(float));  // a, b read
}

void BM_axpy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto x = random_floats(n);
  auto y = random_floats(n);
  const float scale = 1e-3f;  // y stays bounded over many iterations
  for (auto _ : state) {
    axpy(y.data(), 0.5f, &scale, x.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(3.0 * n * sizeof(float));  // x, y read; y written
}

// A 512x384 RGB image, the vectors of an L-BFGS step.
BENCHMARK(BM_dot)->ArgName("n")->Arg(512 * 384 * 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_axpy)->ArgName("n")->Arg(512 * 384 * 3)->Unit(benchmark::kMicrosecond);

void image_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"H", "W"})->Args({512, 512})->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_tv_loss)->Apply(image_shapes);
BENCHMARK(BM_adam_step)->Apply(image_shapes);
BENCHMARK(BM_preprocess)->Apply(image_shapes);
BENCHMARK(BM_deprocess)->Apply(image_shapes);

}  // namespace

BENCHMARK_MAIN();
