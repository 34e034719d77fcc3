// Per-op benchmarks of the CPU backend, registered from the op table
// (kernels/table): every host variant of every op at the op's VGG16 bench
// shapes for an image of --image px (default 256). Names are
// op/variant/shape (e.g. "conv2d_fprop/cpu.winograd/block3_conv1"), as in
// nst_bench_cuda. Compute-bound ops report GFLOP/s (multiply-adds x2 of
// the direct algorithm, so Winograd's rate compares with GEMM's as a
// speed), every op GB/s of compulsory traffic (inputs read once, outputs
// written once, "+=" outputs read and written); both from the table's
// formulas, as rates over the measured time. The label says what the
// variant runs.
//
//   nst_bench_ops [--image 256] --benchmark_min_time=0.1
//                 [--benchmark_filter=conv2d] [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "kernels/table/op_table.hpp"

namespace {

using namespace nst::table;

// Counter of `per_iteration` units (1e9 of them per reported unit) per second.
benchmark::Counter rate(double per_iteration) {
  return benchmark::Counter(per_iteration / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void run_variant(benchmark::State& state, const Op& op, const Variant& v, const Shape& shape) {
  try {
    Instance instance(op, v, shape.d, /*seed=*/1);
    for (auto _ : state) {
      instance.run();
      benchmark::ClobberMemory();
    }
    if (op.flops) state.counters["GFLOP/s"] = rate(op.flops(shape.d));
    state.counters["GB/s"] = rate(op.bytes(shape.d));
    state.SetLabel(instance.describe());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void register_host_variants(int image) {
  for (const BenchCase& c : bench_cases(Place::Host, image)) {
    const Op& op = *c.op;
    const Variant& v = *c.variant;
    const Shape shape = c.shape;
    benchmark::RegisterBenchmark(c.name.c_str(), [&op, &v, shape](benchmark::State& s) { run_variant(s, op, v, shape); })
        ->Unit(op.flops && op.flops(shape.d) > 1e7 ? benchmark::kMillisecond : benchmark::kMicrosecond);
  }
}

// Takes --image N out of argv (before Google Benchmark sees it).
int take_image_flag(int& argc, char** argv) {
  int image = 256;
  for (int i = 1; i < argc; ++i) {
    const bool joined = std::strncmp(argv[i], "--image=", 8) == 0;
    if (!joined && std::strcmp(argv[i], "--image") != 0) continue;
    const char* value = joined ? argv[i] + 8 : (i + 1 < argc ? argv[i + 1] : "");
    char* end = nullptr;
    const long v = std::strtol(value, &end, 10);
    if (end == value || *end != '\0' || v < 16 || v > 8192) {
      std::fprintf(stderr, "nst_bench_ops: --image takes a side in pixels from 16 to 8192, not '%s'\n", value);
      std::exit(2);
    }
    image = static_cast<int>(v);
    const int taken = joined ? 1 : 2;
    for (int j = i; j + taken < argc; ++j) argv[j] = argv[j + taken];
    argc -= taken;
    break;
  }
  return image;
}

}  // namespace

int main(int argc, char** argv) {
  const int image = take_image_flag(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("image", std::to_string(image));
  register_host_variants(image);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
