// The thread-safety the public header promises: distinct Sessions and
// stylize() calls on one shared NetworkWeights may run on different threads
// at once, and each gives the bits it gives alone. (Run under ASan+UBSan in
// CI with the rest of the suite.)
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "nst/nst.hpp"

namespace nst {
namespace {

constexpr int kThreads = 3;

Options one_thread_cpu(OptimizerKind optimizer) {
  Options o;
  o.compute.device = Device::Cpu;
  o.compute.threads = 1;  // the runs share the machine's cores
  o.optimizer = optimizer;
  return o;
}

// Session k: its own content and style, `steps` iterations, the result.
std::vector<float> run_session(const NetworkWeights& w, const std::vector<LayerSpec>& layers, const Options& o,
                               int k, int steps) {
  Session s(w, o, 18 + k, 21, LogFn{}, layers);
  s.set_content(noise_image(21, 18 + k, 10 + k));
  s.set_styles({noise_image(25, 19, 20 + k)});
  s.init_image(Init::Content, 0);
  for (int i = 0; i < steps; ++i) s.step();
  s.finish();
  return s.image();
}

// Runs job(k) for k = 0..kThreads-1 on threads released together.
template <typename Result, typename Job>
std::vector<Result> run_at_once(const Job& job) {
  std::promise<void> go;
  const std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<Result>> results;
  for (int k = 0; k < kThreads; ++k) {
    results.push_back(std::async(std::launch::async, [&job, start, k] {
      start.wait();
      return job(k);
    }));
  }
  go.set_value();
  std::vector<Result> out;
  for (auto& r : results) out.push_back(r.get());
  return out;
}

class ConcurrencyTest : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(ConcurrencyTest, SessionsOnOneWeightsGiveTheirSerialResults) {
  const std::vector<LayerSpec> layers = vgg16_layers(16);
  const NetworkWeights weights = make_random_weights(layers, 3);
  const Options o = one_thread_cpu(GetParam());
  std::vector<std::vector<float>> serial;
  for (int k = 0; k < kThreads; ++k) serial.push_back(run_session(weights, layers, o, k, 8));
  const auto concurrent =
      run_at_once<std::vector<float>>([&](int k) { return run_session(weights, layers, o, k, 8); });
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(concurrent[k], serial[k]) << "session " << k;
}

TEST_P(ConcurrencyTest, StylizeCallsAtOnceGiveTheirSerialResults) {
  const NetworkWeights weights = make_random_weights(vgg16_layers(), 4);
  Options o = one_thread_cpu(GetParam());
  o.image_size = 32;
  o.iterations = 3;
  auto job = [&](int k) {
    return stylize(weights, noise_image(32, 24 + 4 * k, 30 + k), {noise_image(28, 28, 40 + k)}, o).rgb;
  };
  std::vector<std::vector<uint8_t>> serial;
  for (int k = 0; k < kThreads; ++k) serial.push_back(job(k));
  const auto concurrent = run_at_once<std::vector<uint8_t>>(job);
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(concurrent[k], serial[k]) << "stylize call " << k;
}

INSTANTIATE_TEST_SUITE_P(Optimizers, ConcurrencyTest, ::testing::Values(OptimizerKind::Lbfgs, OptimizerKind::Adam),
                         [](const auto& info) { return info.param == OptimizerKind::Lbfgs ? "Lbfgs" : "Adam"; });

}  // namespace
}  // namespace nst
