// Whole-iteration benchmark: one iteration of style transfer (forward to
// the deepest tap, losses, backward to the image, the optimiser's update)
// on VGG16 with random weights (same shapes and cost as the real ones), for
// L-BFGS (history 100, full after 100 iterations: the timed loop starts
// there) and Adam side by side, unless --optimizer picks one.
//
//   nst_bench_iteration --image-size 256,512 [--optimizer lbfgs|adam] [--device cpu|cuda|auto] [--threads N]
//                       [--conv-algo auto|gemm|winograd|cudnn|custom] [--gram-algo cublas|custom] [--tf32]
//                       [--tile N] [--profile] [--benchmark_format=json] [--benchmark_out=F]
// The label names the backend and its algorithms. --profile prints, after
// each run of the timed loop (the last one printed is the reported run), the
// time of each backend op per iteration (bench/op_profile.hpp).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "bench/op_profile.hpp"
#include "engine/device.hpp"
#include "engine/session_maker.hpp"
#include "nst/nst.hpp"

namespace {

struct BenchConfig {
  std::vector<int> sizes = {256};
  nst::Device device = nst::Device::Cpu;
  int threads = 0;
  nst::ComputeOptions compute;  // the conv algorithms (set_conv_algo)
  int tile = 0;                 // Options::tile
  bool profile = false;  // print where an iteration's time goes (bench/op_profile.hpp)
  nst::GramAlgo gram_algo = nst::GramAlgo::Cublas;
  bool tf32 = false;
  std::vector<nst::OptimizerKind> optimizers = {nst::OptimizerKind::Lbfgs, nst::OptimizerKind::Adam};
};

// Conv multiply-adds x2 of one iteration: fprop and dgrad of every conv up
// to the deepest tap (pools, losses and Adam are a rounding error).
double iteration_flops(const std::vector<nst::LayerSpec>& layers, int last, int h, int w) {
  double flops = 0;
  for (int i = 0; i <= last; ++i) {
    if (layers[i].kind == nst::LayerKind::Pool2x2) {
      h /= 2;
      w /= 2;
      continue;
    }
    flops += 2.0 * 2.0 * h * w * 9.0 * layers[i].cin * layers[i].cout;
  }
  return flops;
}

void run_iterations(benchmark::State& state, const BenchConfig& cfg, nst::OptimizerKind optimizer,
                    const nst::NetworkWeights* weights) {
  const int size = static_cast<int>(state.range(0));
  nst::Options opt;
  opt.optimizer = optimizer;
  opt.compute.device = cfg.device;
  opt.compute.threads = cfg.threads;
  opt.compute.conv_algo = cfg.compute.conv_algo;
  opt.compute.cpu_conv_algo = cfg.compute.cpu_conv_algo;
  opt.tile = cfg.tile;
  opt.compute.gram_algo = cfg.gram_algo;
  opt.compute.allow_tf32 = cfg.tf32;
  nst::bench::ProfilingBackend* profile = nullptr;
  std::unique_ptr<nst::Session> owned;
  if (cfg.profile) {
    auto b = std::make_unique<nst::bench::ProfilingBackend>(nst::make_backend(opt.compute, nst::LogFn{}));
    profile = b.get();
    owned = nst::SessionMaker::on_backend(*weights, opt, size, size, std::move(b));
  } else {
    owned = std::make_unique<nst::Session>(*weights, opt, size, size);
  }
  nst::Session& session = *owned;
  session.set_content(nst::noise_image(size, size, 1));
  session.set_styles({nst::noise_image(size, size, 2)});
  session.init_image(nst::Init::Random, 0);
  // Warm-up: first touch of every buffer; on cuda the second evaluation is
  // captured into a graph, which the timed ones replay.
  // L-BFGS's two-loop recursion grows with its history: fill it first.
  const int warm = optimizer == nst::OptimizerKind::Lbfgs ? opt.lbfgs_history + 1 : 2;
  for (int i = 0; i < warm; ++i) session.step();
  if (profile) profile->restart();
  for (auto _ : state) benchmark::DoNotOptimize(session.step());
  if (profile) profile->print(state.iterations());
  const auto layers = nst::vgg16_layers();
  const double flops = iteration_flops(layers, 13 /* block5_conv1 */, size, size);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["px"] = size;
  state.SetLabel(session.backend_name() + (cfg.tile > 0 ? ", tile " + std::to_string(cfg.tile) : ""));
}

// A failure (no device, bad flag, out of memory) is reported as the
// benchmark's error, in the table and the JSON, instead of aborting.
void BM_Iteration(benchmark::State& state, const BenchConfig& cfg, nst::OptimizerKind optimizer,
                  const nst::NetworkWeights* weights) {
  try {
    run_iterations(state, cfg, optimizer, weights);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// Takes our flags out of argv before Google Benchmark sees them.
BenchConfig parse_own_flags(int& argc, char** argv) {
  BenchConfig cfg;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      if (a.compare(0, n, flag) != 0) return nullptr;
      if (a.size() > n && a[n] == '=') return argv[i] + n + 1;
      if (a.size() == n && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    if (const char* v = value("--image-size")) {
      cfg.sizes.clear();
      std::stringstream ss(v);
      for (std::string s; std::getline(ss, s, ',');) cfg.sizes.push_back(std::stoi(s));
    } else if (const char* v = value("--device")) {
      cfg.device = std::string(v) == "cuda" ? nst::Device::Cuda : std::string(v) == "auto" ? nst::Device::Auto
                                                                                         : nst::Device::Cpu;
    } else if (const char* v = value("--threads")) {
      cfg.threads = std::atoi(v);
    } else if (const char* v = value("--conv-algo")) {
      nst::set_conv_algo(cfg.compute, v);
    } else if (const char* v = value("--tile")) {
      cfg.tile = std::atoi(v);
    } else if (const char* v = value("--gram-algo")) {
      cfg.gram_algo = std::string(v) == "custom" ? nst::GramAlgo::Custom : nst::GramAlgo::Cublas;
    } else if (const char* v = value("--optimizer")) {
      cfg.optimizers = {std::string(v) == "adam" ? nst::OptimizerKind::Adam : nst::OptimizerKind::Lbfgs};
    } else if (a == "--tf32") {
      cfg.tf32 = true;
    } else if (a == "--profile") {
      cfg.profile = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  static const BenchConfig cfg = parse_own_flags(argc, argv);
  static const nst::NetworkWeights weights = nst::make_random_weights(nst::vgg16_layers(), 0);
  for (nst::OptimizerKind o : cfg.optimizers) {
    auto* b = benchmark::RegisterBenchmark(o == nst::OptimizerKind::Adam ? "iteration/adam" : "iteration/lbfgs",
                                           BM_Iteration, cfg, o, &weights);
    for (int s : cfg.sizes) b->Arg(s);
    b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
