// The cpu backend: the engine's op interface over kernels/cpu.
#include <algorithm>
#include <deque>
#include <map>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include "engine/backend.hpp"
#include "engine/cpu_conv.hpp"
#include "nst/error.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst {
namespace {

// Convolutions run im2col + SGEMM or Winograd per layer and direction
// (engine/cpu_conv.hpp): the choice is made per input shape when the plan
// reserves the layer, and Winograd's transformed kernels are made with the
// GEMM path's when each frozen kernel is prepared (prepare_conv2d_dgrad,
// the backend's once-per-kernel hook), found again by the kernel's address.
class CpuBackend final : public Backend {
 public:
  CpuBackend(int threads, CpuConvAlgo algo, LogFn log) : algo_(algo), log_(std::move(log)) {
    cpu::set_num_threads(threads);
  }

  std::string name() const override {
    return algo_ == CpuConvAlgo::Gemm ? "cpu" : std::string("cpu (conv ") + cpu_conv_algo_name(algo_) + ")";
  }

  size_t held_bytes() const {
    size_t bytes = 0;
    for (const auto& b : blocks_) bytes += b.size() * sizeof(float);
    return bytes;
  }
  static std::string megabytes(size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MB"; }

  float* allocate(size_t floats) override {
    // A deque of vectors: earlier blocks never move when more are added.
    try {
      blocks_.emplace_back(floats);
    } catch (const std::bad_alloc&) {
      throw OutOfMemory("cannot allocate " + megabytes(floats * sizeof(float)) + " of host memory (" +
                        megabytes(held_bytes()) + " already held)");
    }
    return blocks_.back().data();
  }
  size_t mark() const override { return blocks_.size(); }
  void release(size_t mark) override {
    while (blocks_.size() > mark) blocks_.pop_back();
  }
  void reserve_conv2d(const Shape& x, int cout) override {
    grow(conv_ws_, cpu::conv2d_workspace_floats(x.n, x.h, x.w, x.c, cout));
    Choice& c = choices_[key_of(x, cout)];
    const Algo winograd = algo_ == CpuConvAlgo::Winograd ? Algo::Winograd : Algo::Undecided;
    c.fprop = winograd_candidate(algo_, ConvDirection::Fprop, x, cout) ? winograd : Algo::Gemm;
    c.dgrad = winograd_candidate(algo_, ConvDirection::Dgrad, x, cout) ? winograd : Algo::Gemm;
    if (needs_winograd_workspace(algo_, x, cout)) {
      grow(winograd_ws_, cpu::winograd_workspace_floats(x.c, cout, cpu::num_threads()));
    }
  }
  // The style loss's D and the Gram's parts share one workspace.
  void reserve_style_loss(const Shape& f) override {
    grow(style_ws_, std::max(cpu::style_loss_workspace_floats(f.n, f.h * f.w, f.c),
                             cpu::gram_workspace_floats(f.c, cpu::num_threads())));
  }
  void upload(float* dst, const float* src, size_t n) override { std::copy(src, src + n, dst); }
  void download(float* dst, const float* src, size_t n) override { std::copy(src, src + n, dst); }
  void fill(float* dst, float value, size_t n) override { std::fill(dst, dst + n, value); }

  void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b, int cout,
                    bool relu) override {
    const auto gemm = [&] { cpu::conv2d_fprop(y, x, w, b, xs.n, xs.h, xs.w, xs.c, cout, relu, conv_ws_.data()); };
    const WinogradKernels* k = winograd_kernels(w);
    if (!k || !k->fprop) return gemm();
    const auto winograd = [&] {
      cpu::winograd_fprop(y, x, k->fprop, b, xs.n, xs.h, xs.w, xs.c, cout, relu, winograd_ws_.data(),
                          winograd_ws_.size());
    };
    run(ConvDirection::Fprop, &Choice::fprop, xs, cout, gemm, winograd);
  }
  const float* prepare_conv2d_dgrad(const float* w, int cin, int cout) override {
    float* wt = allocate(static_cast<size_t>(9) * cin * cout);
    cpu::conv2d_dgrad_weights(wt, w, cin, cout);
    WinogradKernels k;
    if (keeps_winograd_kernel(algo_, ConvDirection::Fprop, cin, cout)) {
      k.fprop = allocate(cpu::winograd_kernel_floats(cin, cout));
      cpu::winograd_fprop_kernel(k.fprop, w, cin, cout);
    }
    if (keeps_winograd_kernel(algo_, ConvDirection::Dgrad, cin, cout)) {
      k.dgrad = allocate(cpu::winograd_kernel_floats(cin, cout));
      cpu::winograd_dgrad_kernel(k.dgrad, w, cin, cout);
    }
    if (k.fprop || k.dgrad) winograd_kernels_[w] = k;
    return wt;
  }
  void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* w,
                    const float* w_dgrad, int cout) override {
    // Masking dy in place is idempotent, so Auto may time this twice.
    const auto gemm = [&] {
      if (relu_y) cpu::relu_backward(dy, dy, relu_y, xs.pixels() * cout);
      cpu::conv2d_dgrad_prepared(dx, dy, w_dgrad, xs.n, xs.h, xs.w, xs.c, cout, conv_ws_.data());
    };
    const WinogradKernels* k = winograd_kernels(w);
    if (!k || !k->dgrad) return gemm();
    const auto winograd = [&] {
      cpu::winograd_dgrad(dx, dy, relu_y, k->dgrad, xs.n, xs.h, xs.w, xs.c, cout, winograd_ws_.data(),
                          winograd_ws_.size());
    };
    run(ConvDirection::Dgrad, &Choice::dgrad, xs, cout, gemm, winograd);
  }
  void pool2x2_forward(float* y, const float* x, const Shape& xs, bool max) override {
    if (max) {
      cpu::maxpool2x2_forward(y, x, xs.n, xs.h, xs.w, xs.c);
    } else {
      cpu::avgpool2x2_forward(y, x, xs.n, xs.h, xs.w, xs.c);
    }
  }
  void pool2x2_backward(float* dx, const float* dy, const float* x, const Shape& xs, bool max) override {
    if (max) {
      cpu::maxpool2x2_backward(dx, dy, x, xs.n, xs.h, xs.w, xs.c);
    } else {
      cpu::avgpool2x2_backward(dx, dy, xs.n, xs.h, xs.w, xs.c);
    }
  }

  void gram(float* G, const float* F, const Shape& fs) override {
    cpu::gram(G, F, fs.n, fs.h * fs.w, fs.c, style_ws_.data(), style_ws_.size());
  }
  void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight) override {
    cpu::content_loss(loss, dF, F, P, n, weight);
  }
  void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A, const Shape& fs,
                  float weight) override {
    cpu::style_loss(loss, dF, F, G, A, fs.n, fs.h * fs.w, fs.c, weight, style_ws_.data());
  }
  void tv_loss(float* loss, float* dx, const float* x, const Shape& xs, float weight) override {
    cpu::tv_loss(loss, dx, x, xs.n, xs.h, xs.w, xs.c, weight);
  }
  void pixel_scale(float* y, const float* x, const float* m, const Shape& xs, bool accumulate) override {
    cpu::pixel_scale(y, x, m, xs.pixels(), xs.c, accumulate);
  }
  void copy_window(float* dst, const float* src, const Shape& xs, const Window& win) override {
    cpu::copy_window(dst, src, xs.n, xs.h, xs.w, xs.c, win);
  }
  void add_window(float* dst, const Shape& xs, const Window& win, const float* src) override {
    cpu::add_window(dst, src, xs.n, xs.h, xs.w, xs.c, win);
  }

  void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamSettings& s,
                 int t) override {
    cpu::AdamHyper h;
    h.lr = s.lr;
    h.beta1 = s.beta1;
    h.beta2 = s.beta2;
    h.eps = s.eps;
    h.t = t;
    cpu::adam_step(x, m, v, g, n, h);
  }
  void preprocess(float* x, const uint8_t* rgb, size_t pixels) override { cpu::preprocess(x, rgb, pixels); }
  void deprocess(uint8_t* rgb, const float* x, size_t pixels) override { cpu::deprocess(rgb, x, pixels); }

  void dot(float* result, const float* a, const float* b, size_t n) override { cpu::dot(result, a, b, n); }
  void asum(float* result, const float* a, size_t n) override { cpu::asum(result, a, n); }
  void axpy(float* y, float alpha, const float* scale, const float* x, size_t n) override {
    cpu::axpy(y, alpha, scale, x, n);
  }
  void scale(float* x, float alpha, size_t n) override { cpu::scal(x, alpha, n); }
  void copy(float* dst, const float* src, size_t n) override { std::copy(src, src + n, dst); }

 private:
  using Key = std::tuple<int, int, int, int, int>;
  enum class Algo { Gemm, Winograd, Undecided };  // Undecided: Auto, not yet timed
  struct Choice {
    Algo fprop = Algo::Gemm, dgrad = Algo::Gemm;
  };
  struct WinogradKernels {  // null where Winograd does not apply
    float *fprop = nullptr, *dgrad = nullptr;
  };

  static Key key_of(const Shape& x, int cout) { return {x.n, x.h, x.w, x.c, cout}; }
  static void grow(std::vector<float>& ws, size_t floats) {
    if (ws.size() < floats) ws.resize(floats);
  }

  // w's Winograd kernels, or null for a kernel without them (under Gemm, a
  // layer Winograd does not apply to, or a kernel that was not prepared).
  const WinogradKernels* winograd_kernels(const float* w) const {
    const auto k = winograd_kernels_.find(w);
    return k == winograd_kernels_.end() ? nullptr : &k->second;
  }

  // Runs one direction of a conv by the algorithm chosen for its shape,
  // timing both first under Auto. A shape that was not reserved runs GEMM.
  template <typename G, typename W>
  void run(ConvDirection direction, Algo Choice::*algo, const Shape& x, int cout, const G& gemm,
           const W& winograd) {
    const auto c = choices_.find(key_of(x, cout));
    Algo a = c == choices_.end() ? Algo::Gemm : c->second.*algo;
    if (a == Algo::Undecided) {
      a = auto_runs_winograd(direction, x, cout, gemm, winograd, log_) ? Algo::Winograd : Algo::Gemm;
      c->second.*algo = a;
    }
    if (a == Algo::Winograd) {
      winograd();
    } else {
      gemm();
    }
  }

  CpuConvAlgo algo_;
  LogFn log_;
  std::deque<std::vector<float>> blocks_;
  std::vector<float> conv_ws_, style_ws_, winograd_ws_;
  std::map<Key, Choice> choices_;
  std::map<const float*, WinogradKernels> winograd_kernels_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads, CpuConvAlgo::Gemm, LogFn{});
}

std::unique_ptr<Backend> make_cpu_backend(const ComputeOptions& options, const LogFn& log) {
  return std::make_unique<CpuBackend>(options.threads, options.cpu_conv_algo, log);
}

}  // namespace nst
