// nst_bench_iteration --profile: a Backend decorator that times every
// network, loss and optimiser op of the iterations it sees and prints where
// an iteration's time goes, by op (convolutions by shape and direction).
// On the cpu backend each op is synchronous, so its wall time is its cost;
// on a device the decorator waits for each op (synchronize), which adds a
// sync per op and measures the ops one at a time, not overlapped.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/forwarding_backend.hpp"

namespace nst::bench {

class ProfilingBackend final : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;

  // Forget what was timed so far (the set-up and warm-up steps).
  void restart() { totals_.clear(); }
  // One line per op: ms per iteration and share of the timed total, the
  // largest first; `iterations` is how many the totals cover.
  void print(long long iterations) const {
    std::vector<std::pair<std::string, double>> rows(totals_.begin(), totals_.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    double all = 0;
    for (const auto& r : rows) all += r.second;
    std::printf("profile over %lld iterations: %.1f ms per iteration in backend ops\n", iterations,
                1e3 * all / iterations);
    for (const auto& [op, s] : rows) {
      std::printf("  %-44s %8.2f ms %5.1f %%\n", op.c_str(), 1e3 * s / iterations, 100 * s / all);
    }
  }

  void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b, int cout,
                    bool relu) override {
    timed(conv_name("conv fprop", xs, cout), [&] { ForwardingBackend::conv2d_fprop(y, x, xs, w, b, cout, relu); });
  }
  void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* w,
                    const float* w_dgrad, int cout) override {
    timed(conv_name("conv dgrad", xs, cout),
          [&] { ForwardingBackend::conv2d_dgrad(dx, dy, relu_y, xs, w, w_dgrad, cout); });
  }
  void pool2x2_forward(float* y, const float* x, const Shape& xs, bool max) override {
    timed("pool forward", [&] { ForwardingBackend::pool2x2_forward(y, x, xs, max); });
  }
  void pool2x2_backward(float* dx, const float* dy, const float* x, const Shape& xs, bool max) override {
    timed("pool backward", [&] { ForwardingBackend::pool2x2_backward(dx, dy, x, xs, max); });
  }
  void gram(float* G, const float* F, const Shape& fs) override {
    timed("gram", [&] { ForwardingBackend::gram(G, F, fs); });
  }
  void content_loss(float* l, float* dF, const float* F, const float* P, size_t n, float w) override {
    timed("content loss", [&] { ForwardingBackend::content_loss(l, dF, F, P, n, w); });
  }
  void style_loss(float* l, float* dF, const float* F, const float* G, const float* A, const Shape& fs,
                  float w) override {
    timed("style loss", [&] { ForwardingBackend::style_loss(l, dF, F, G, A, fs, w); });
  }
  void tv_loss(float* l, float* dx, const float* x, const Shape& xs, float w) override {
    timed("tv loss", [&] { ForwardingBackend::tv_loss(l, dx, x, xs, w); });
  }
  void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamSettings& s, int t) override {
    timed("adam", [&] { ForwardingBackend::adam_step(x, m, v, g, n, s, t); });
  }
  void fill(float* d, float v, size_t n) override {
    timed("fill", [&] { ForwardingBackend::fill(d, v, n); });
  }
  void download(float* d, const float* s, size_t n) override {
    timed("download", [&] { ForwardingBackend::download(d, s, n); });
  }
  void dot(float* r, const float* a, const float* b, size_t n) override {
    timed("vector ops", [&] { ForwardingBackend::dot(r, a, b, n); });
  }
  void axpy(float* y, float alpha, const float* s, const float* x, size_t n) override {
    timed("vector ops", [&] { ForwardingBackend::axpy(y, alpha, s, x, n); });
  }
  void copy(float* d, const float* s, size_t n) override {
    timed("vector ops", [&] { ForwardingBackend::copy(d, s, n); });
  }

 private:
  static std::string conv_name(const char* what, const Shape& x, int cout) {
    return std::string(what) + " " + std::to_string(x.w) + "x" + std::to_string(x.h) + " " + std::to_string(x.c) +
           "->" + std::to_string(cout);
  }
  template <typename F>
  void timed(const std::string& op, F&& run) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    synchronize();
    totals_[op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  std::map<std::string, double> totals_;
};

}  // namespace nst::bench
