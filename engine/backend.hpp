// The op interface the engine computes with. A backend owns its memory
// (one arena, allocated while planning, never inside the iteration loop)
// and implements every op on pointers into that arena. `cpu` is the
// reference backend; `cuda` implements the same interface on a device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kernels/window.hpp"

namespace nst {

struct ComputeOptions;

struct Shape {  // (N,H,W,C)
  int n = 1, h = 0, w = 0, c = 0;
  size_t size() const { return static_cast<size_t>(n) * h * w * c; }
  size_t pixels() const { return static_cast<size_t>(n) * h * w; }
};

struct AdamSettings {
  float lr = 10.f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // ---- memory (planning time only) ---------------------------------------
  // Returns `floats` uninitialised floats that live as long as the backend.
  virtual float* allocate(size_t floats) = 0;
  // Stack discipline for set-up scratch (e.g. a style image's activations):
  // release(mark()) frees everything allocated after the mark.
  virtual size_t mark() const = 0;
  virtual void release(size_t mark) = 0;
  // Size scratch space for conv2d on `x` -> `cout` channels and for the
  // style loss on `f`; ops afterwards use it without allocating.
  virtual void reserve_conv2d(const Shape& x, int cout) = 0;
  virtual void reserve_style_loss(const Shape& f) = 0;
  virtual void reserve_content_loss(size_t /*n*/) {}
  virtual void reserve_tv_loss(const Shape& /*x*/) {}
  virtual void upload(float* dst, const float* src, size_t n) = 0;
  virtual void download(float* dst, const float* src, size_t n) = 0;
  virtual void fill(float* dst, float value, size_t n) = 0;

  // ---- network ops -----------------------------------------------------------
  // y (N,H,W,cout) = [relu](conv3x3(x, w) + b); w (3,3,x.c,cout) HWIO.
  virtual void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b,
                            int cout, bool relu) = 0;
  // Planning time, once per frozen kernel w (3,3,cin,cout): its form for
  // conv2d_dgrad (the flipped, transposed copy), which lives as long as
  // the backend.
  virtual const float* prepare_conv2d_dgrad(const float* w, int cin, int cout) = 0;
  // dx (N,H,W,x.c) = dL/dx from dy (N,H,W,cout), with w_dgrad from
  // prepare_conv2d_dgrad(w). If relu_y is not null, dy is the gradient
  // w.r.t. relu_y = relu(conv(x)) and the ReLU mask is applied on the way
  // in (dy may be overwritten in doing so).
  virtual void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* w,
                            const float* w_dgrad, int cout) = 0;
  // y (N,H/2,W/2,C); backward overwrites dx (N,H,W,C).
  virtual void pool2x2_forward(float* y, const float* x, const Shape& xs, bool max) = 0;
  virtual void pool2x2_backward(float* dx, const float* dy, const float* x, const Shape& xs, bool max) = 0;

  // ---- losses: write the loss to a device scalar, accumulate into grads ------
  // G (N,C,C) = F^T F / (C*H*W) per image.
  virtual void gram(float* G, const float* F, const Shape& fs) = 0;
  virtual void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n,
                            float weight) = 0;
  // Needs G = gram(F) already computed (the forward pass does it).
  virtual void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A,
                          const Shape& fs, float weight) = 0;
  virtual void tv_loss(float* loss, float* dx, const float* x, const Shape& xs, float weight) = 0;

  // ---- masks -------------------------------------------------------------------
  // y (N,H,W,C) = m (N,H,W) * x, each pixel's C values times its mask value;
  // with `accumulate`, y += m * x (one rounding, fma). Without it y may equal
  // x; with it they must not overlap. The masked loss terms are built on it.
  virtual void pixel_scale(float* y, const float* x, const float* m, const Shape& xs, bool accumulate) = 0;

  // ---- windows (exact tiling, engine/tiling.hpp) ---------------------------------
  // dst (N,win.h,win.w,C) = the window of src (xs); the window of dst (xs)
  // += src (N,win.h,win.w,C). Same bits on every backend (a copy; one float
  // add per element). nst::InvalidArgument if the window leaves the map.
  virtual void copy_window(float* dst, const float* src, const Shape& xs, const Window& win) = 0;
  virtual void add_window(float* dst, const Shape& xs, const Window& win, const float* src) = 0;

  // ---- optimiser and pixels --------------------------------------------------
  // One Adam step on x (t is the 1-based step number).
  virtual void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamSettings& s,
                         int t) = 0;
  // x (N,H,W,3) preprocessed BGR from rgb bytes (host memory), and back.
  virtual void preprocess(float* x, const uint8_t* rgb, size_t pixels) = 0;
  virtual void deprocess(uint8_t* rgb, const float* x, size_t pixels) = 0;

  // ---- vector ops (optimisers) -----------------------------------------------
  // BLAS-1 on backend memory for an optimiser that keeps its vectors there
  // (L-BFGS): results stay in backend memory, so a chain of them (a dot
  // feeding an axpy's scale) queues without a host sync; download the few
  // scalars the host needs. Same numerics on every backend (the cpu ops of
  // kernels/cpu/ops.hpp): sums in double rounded once to float; axpy is
  // fma(alpha * *scale, x, y) with the coefficient rounded once to float.
  // Deterministic: the same inputs at the same addresses give the same bits.

  // result (device scalar) = a . b over n floats, deterministic.
  virtual void dot(float* result, const float* a, const float* b, size_t n) = 0;
  // result (device scalar) = sum |a[i]| over n floats, deterministic.
  virtual void asum(float* result, const float* a, size_t n) = 0;
  // y += alpha * (scale ? *scale : 1) * x; scale is a device scalar or null.
  virtual void axpy(float* y, float alpha, const float* scale, const float* x, size_t n) = 0;
  // x *= alpha.
  virtual void scale(float* x, float alpha, size_t n) = 0;
  virtual void copy(float* dst, const float* src, size_t n) = 0;  // device to device, no overlap
  virtual void reserve_vector_ops(size_t /*n*/) {}  // planning time: scratch for dot/asum of n floats

  // Waits for queued work (a no-op on the CPU).
  virtual void synchronize() {}

  // Runs the ops that `record` queues. A device backend may capture them the
  // second time and replay the capture (a CUDA graph) from then on, so
  // `record` must queue the same ops on the same buffers on every call.
  virtual void run_captured(const std::function<void()>& record) { record(); }
};

// The cpu backend on `threads` OpenMP threads (0: all), convolutions by
// im2col + GEMM.
std::unique_ptr<Backend> make_cpu_backend(int threads);
// With options.threads and options.cpu_conv_algo; `log` gets a line per
// layer shape that could run Winograd, saying what it runs.
std::unique_ptr<Backend> make_cpu_backend(const ComputeOptions& options, const std::function<void(const std::string&)>& log);
// The cuda backend compiled against kernels/emu: every custom kernel runs on
// the CPU (slowly), cuDNN/cuBLAS are absent, so options must select the
// custom conv and Gram algorithms. Defined only in the test library
// nst_cuda_backend_emu.
std::unique_ptr<Backend> make_emulated_cuda_backend(const ComputeOptions& options);

}  // namespace nst
