// nst_bench_iteration --profile: a Backend decorator that times every
// network, loss and optimiser op of the iterations it sees and prints where
// an iteration's time goes, by op (convolutions by shape and direction).
// On the cpu backend each op is synchronous, so its wall time is its cost;
// on a device the decorator waits for each op (synchronize), which adds a
// sync per op and measures the ops one at a time, not overlapped. Beside
// each op's wall time, the process's CPU time over it: "cores" = CPU time /
// wall time, how many cores it kept busy. OpenMP and OpenBLAS threads that
// spin while they wait count as busy; with OMP_WAIT_POLICY=PASSIVE they
// sleep instead, and the column shows the work.
#pragma once
#include <algorithm>
#include <time.h>

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
  // One line per op: ms per iteration, share of the timed total and the
  // cores it kept busy, the largest first; then the ops other than the
  // convolutions together. `iterations` is how many the totals cover.
  void print(long long iterations) const {
    std::vector<std::pair<std::string, Time>> rows(totals_.begin(), totals_.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.wall > b.second.wall; });
    Time all, other;
    for (const auto& [op, t] : rows) {
      all += t;
      if (op.compare(0, 5, "conv ") != 0) other += t;
    }
    std::printf("profile over %lld iterations: %.1f ms per iteration in backend ops, %.2f cores busy\n", iterations,
                1e3 * all.wall / iterations, all.cores());
    for (const auto& [op, t] : rows) {
      std::printf("  %-44s %8.2f ms %5.1f %%  %4.2f cores\n", op.c_str(), 1e3 * t.wall / iterations,
                  100 * t.wall / all.wall, t.cores());
    }
    std::printf("  %-44s %8.2f ms %5.1f %%  %4.2f cores\n", "(all but the convolutions)",
                1e3 * other.wall / iterations, 100 * other.wall / all.wall, other.cores());
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
  struct Time {
    double wall = 0, cpu = 0;  // seconds
    Time& operator+=(const Time& t) {
      wall += t.wall;
      cpu += t.cpu;
      return *this;
    }
    double cores() const { return wall > 0 ? cpu / wall : 0; }
  };
  static double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  template <typename F>
  void timed(const std::string& op, F&& run) {
    const double cpu0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    run();
    synchronize();
    Time& t = totals_[op];
    t.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.cpu += process_cpu_seconds() - cpu0;
  }

  std::map<std::string, Time> totals_;
};

}  // namespace nst::bench
