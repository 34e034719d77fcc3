// The cpu backend: the engine's op interface over kernels/cpu.
#include <algorithm>
#include <deque>
#include <new>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "nst/error.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) { cpu::set_num_threads(threads); }

  std::string name() const override { return "cpu"; }

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
  }
  void reserve_style_loss(const Shape& f) override {
    grow(style_ws_, cpu::style_loss_workspace_floats(f.n, f.h * f.w, f.c));
  }
  void upload(float* dst, const float* src, size_t n) override { std::copy(src, src + n, dst); }
  void download(float* dst, const float* src, size_t n) override { std::copy(src, src + n, dst); }
  void fill(float* dst, float value, size_t n) override { std::fill(dst, dst + n, value); }

  void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b, int cout,
                    bool relu) override {
    cpu::conv2d_fprop(y, x, w, b, xs.n, xs.h, xs.w, xs.c, cout, relu, conv_ws_.data());
  }
  const float* prepare_conv2d_dgrad(const float* w, int cin, int cout) override {
    float* wt = allocate(static_cast<size_t>(9) * cin * cout);
    cpu::conv2d_dgrad_weights(wt, w, cin, cout);
    return wt;
  }
  void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* /*w*/,
                    const float* w_dgrad, int cout) override {
    if (relu_y) cpu::relu_backward(dy, dy, relu_y, xs.pixels() * cout);
    cpu::conv2d_dgrad_prepared(dx, dy, w_dgrad, xs.n, xs.h, xs.w, xs.c, cout, conv_ws_.data());
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

  void gram(float* G, const float* F, const Shape& fs) override { cpu::gram(G, F, fs.n, fs.h * fs.w, fs.c); }
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
  static void grow(std::vector<float>& ws, size_t floats) {
    if (ws.size() < floats) ws.resize(floats);
  }

  std::deque<std::vector<float>> blocks_;
  std::vector<float> conv_ws_, style_ws_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace nst
