// A Backend that hands every op to another one: the base of decorators that
// watch or alter a few ops (tests count downloads through it) without
// writing out the whole interface. A new op in Backend must be forwarded
// here: a pure virtual one fails to compile until it is, but one with a
// default body (reserve_*, synchronize, run_captured) would silently run
// the default instead of the inner backend's, so forward those too.
#pragma once
#include <memory>
#include <string>
#include <utility>

#include "engine/backend.hpp"

namespace nst {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  std::string name() const override { return inner_->name(); }

  float* allocate(size_t n) override { return inner_->allocate(n); }
  size_t mark() const override { return inner_->mark(); }
  void release(size_t m) override { inner_->release(m); }
  void reserve_conv2d(const Shape& x, int cout) override { inner_->reserve_conv2d(x, cout); }
  void reserve_style_loss(const Shape& f) override { inner_->reserve_style_loss(f); }
  void reserve_content_loss(size_t n) override { inner_->reserve_content_loss(n); }
  void reserve_tv_loss(const Shape& x) override { inner_->reserve_tv_loss(x); }
  void upload(float* d, const float* s, size_t n) override { inner_->upload(d, s, n); }
  void download(float* d, const float* s, size_t n) override { inner_->download(d, s, n); }
  void fill(float* d, float v, size_t n) override { inner_->fill(d, v, n); }

  void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b, int cout,
                    bool relu) override {
    inner_->conv2d_fprop(y, x, xs, w, b, cout, relu);
  }
  const float* prepare_conv2d_dgrad(const float* w, int cin, int cout) override {
    return inner_->prepare_conv2d_dgrad(w, cin, cout);
  }
  void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* w,
                    const float* w_dgrad, int cout) override {
    inner_->conv2d_dgrad(dx, dy, relu_y, xs, w, w_dgrad, cout);
  }
  void pool2x2_forward(float* y, const float* x, const Shape& xs, bool max) override {
    inner_->pool2x2_forward(y, x, xs, max);
  }
  void pool2x2_backward(float* dx, const float* dy, const float* x, const Shape& xs, bool max) override {
    inner_->pool2x2_backward(dx, dy, x, xs, max);
  }

  void gram(float* G, const float* F, const Shape& fs) override { inner_->gram(G, F, fs); }
  void content_loss(float* l, float* dF, const float* F, const float* P, size_t n, float w) override {
    inner_->content_loss(l, dF, F, P, n, w);
  }
  void style_loss(float* l, float* dF, const float* F, const float* G, const float* A, const Shape& fs,
                  float w) override {
    inner_->style_loss(l, dF, F, G, A, fs, w);
  }
  void tv_loss(float* l, float* dx, const float* x, const Shape& xs, float w) override {
    inner_->tv_loss(l, dx, x, xs, w);
  }
  void pixel_scale(float* y, const float* x, const float* m, const Shape& xs, bool accumulate) override {
    inner_->pixel_scale(y, x, m, xs, accumulate);
  }
  void copy_window(float* dst, const float* src, const Shape& xs, const Window& win) override {
    inner_->copy_window(dst, src, xs, win);
  }
  void add_window(float* dst, const Shape& xs, const Window& win, const float* src) override {
    inner_->add_window(dst, xs, win, src);
  }

  void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamSettings& s, int t) override {
    inner_->adam_step(x, m, v, g, n, s, t);
  }
  void preprocess(float* x, const uint8_t* rgb, size_t p) override { inner_->preprocess(x, rgb, p); }
  void deprocess(uint8_t* rgb, const float* x, size_t p) override { inner_->deprocess(rgb, x, p); }

  void dot(float* r, const float* a, const float* b, size_t n) override { inner_->dot(r, a, b, n); }
  void asum(float* r, const float* a, size_t n) override { inner_->asum(r, a, n); }
  void axpy(float* y, float alpha, const float* s, const float* x, size_t n) override {
    inner_->axpy(y, alpha, s, x, n);
  }
  void scale(float* x, float alpha, size_t n) override { inner_->scale(x, alpha, n); }
  void copy(float* d, const float* s, size_t n) override { inner_->copy(d, s, n); }
  void reserve_vector_ops(size_t n) override { inner_->reserve_vector_ops(n); }

  void synchronize() override { inner_->synchronize(); }
  void run_captured(const std::function<void()>& record) override { inner_->run_captured(record); }

 protected:
  Backend& inner() { return *inner_; }

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace nst
