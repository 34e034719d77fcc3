// The CPU backend's ops: NHWC float32, outputs first, then inputs, then
// sizes. Each fast op (OpenMP, OpenBLAS) has a naive float64 reference
// beside it, named *_reference, that tests compare against. Nothing here
// knows about VGG: these are plain tensor ops.
//
// Conventions
//   x, y       activations (N,H,W,C)
//   w          conv kernel (3,3,Cin,Cout) HWIO, cross-correlation
//   "+="       ops documented as accumulating add into their gradient
//              output, so that gradients from several taps can be summed
//   loss       a single float written (not accumulated) by loss ops
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/window.hpp"

namespace nst::cpu {

// Number of threads used by OpenMP and OpenBLAS; n <= 0 keeps the default.
// Process-wide (both libraries keep it globally). Loss sums are
// bit-identical at any thread count; BLAS results only at a fixed one.
void set_num_threads(int n);
int num_threads();
// What to set when OpenBLAS took kernels older than this CPU
// (kernels/cpu/blas_core.h), or "" when its choice is fine.
std::string blas_core_advice();

// ---- conv2d 3x3, stride 1, zero padding 1 ---------------------------------
// Scratch floats needed by conv2d_fprop / conv2d_dgrad for one call on this
// shape (im2col tiles plus a rearranged kernel for dgrad).
size_t conv2d_workspace_floats(int N, int H, int W, int Cin, int Cout);
// y (N,H,W,Cout) = conv(x (N,H,W,Cin), w) + b, then ReLU if `relu`; b may
// be null (no bias).
void conv2d_fprop(float* y, const float* x, const float* w, const float* b, int N, int H, int W,
                  int Cin, int Cout, bool relu, float* workspace);
// dx (N,H,W,Cin) = dL/dx given dy (N,H,W,Cout) = dL/dy of the linear conv
// output (apply the ReLU mask to dy before calling). Overwrites dx.
void conv2d_dgrad(float* dx, const float* dy, const float* w, int N, int H, int W, int Cin,
                  int Cout, float* workspace);
// The two halves of conv2d_dgrad, for frozen weights: wt (3,3,Cout,Cin) is
// w flipped in space with ci <-> co, made once; conv2d_dgrad_prepared then
// needs only the im2col part of the workspace (9*Cin*Cout floats fewer).
void conv2d_dgrad_weights(float* wt, const float* w, int Cin, int Cout);
void conv2d_dgrad_prepared(float* dx, const float* dy, const float* wt, int N, int H, int W, int Cin,
                           int Cout, float* workspace);
void conv2d_fprop_reference(double* y, const double* x, const double* w, const double* b, int N,
                            int H, int W, int Cin, int Cout, bool relu);
void conv2d_dgrad_reference(double* dx, const double* dy, const double* w, int N, int H, int W,
                            int Cin, int Cout);

// ---- conv2d 3x3 by Winograd F(4x4,3x3) (winograd.cpp) --------------------------
// The same convolutions as above with 2.25x fewer multiplications and a
// larger rounding error (stated in tests/kernels/test_winograd.cpp). The
// kernel is transformed once: U (36, Cin, Cout) for fprop, and (36, Cout,
// Cin) for dgrad, each winograd_kernel_floats(Cin, Cout) floats.
size_t winograd_kernel_floats(int Cin, int Cout);
void winograd_fprop_kernel(float* U, const float* w, int Cin, int Cout);
void winograd_dgrad_kernel(float* U, const float* w, int Cin, int Cout);
// Scratch for either direction on a Cin <-> Cout layer when run on up to
// `threads` OpenMP threads (one slice each; a call uses as many threads as
// the workspace it is given has slices). Independent of the image size.
size_t winograd_workspace_floats(int Cin, int Cout, int threads);
// y (N,H,W,Cout) = [relu](conv(x, w) + b), U = winograd_fprop_kernel(w).
void winograd_fprop(float* y, const float* x, const float* U, const float* b, int N, int H, int W, int Cin,
                    int Cout, bool relu, float* workspace, size_t workspace_floats);
// dx (N,H,W,Cin) = dL/dx from dy (N,H,W,Cout), U = winograd_dgrad_kernel(w);
// with relu_y (N,H,W,Cout) not null, dy is masked by relu_y > 0 as it is
// read (dy is not modified). Overwrites dx.
void winograd_dgrad(float* dx, const float* dy, const float* relu_y, const float* U, int N, int H, int W,
                    int Cin, int Cout, float* workspace, size_t workspace_floats);

// ---- ReLU -----------------------------------------------------------------
void relu_forward(float* y, const float* x, size_t n);
// dx = dy * (y > 0); dx may alias dy.
void relu_backward(float* dx, const float* dy, const float* y, size_t n);
void relu_forward_reference(double* y, const double* x, size_t n);
void relu_backward_reference(double* dx, const double* dy, const double* y, size_t n);

// ---- 2x2 pooling, stride 2, no padding (output H/2 x W/2, floor) ----------
void maxpool2x2_forward(float* y, const float* x, int N, int H, int W, int C);
// dx (N,H,W,C) overwritten; each window's gradient goes to its first
// maximum (row-major order); rows/cols outside any window get 0.
void maxpool2x2_backward(float* dx, const float* dy, const float* x, int N, int H, int W, int C);
void avgpool2x2_forward(float* y, const float* x, int N, int H, int W, int C);
void avgpool2x2_backward(float* dx, const float* dy, int N, int H, int W, int C);
void maxpool2x2_forward_reference(double* y, const double* x, int N, int H, int W, int C);
void maxpool2x2_backward_reference(double* dx, const double* dy, const double* x, int N, int H,
                                   int W, int C);
void avgpool2x2_forward_reference(double* y, const double* x, int N, int H, int W, int C);
void avgpool2x2_backward_reference(double* dx, const double* dy, int N, int H, int W, int C);

// ---- Gram matrix ------------------------------------------------------------
// For each image n: G[n] (C,C) = F[n]^T F[n] / (C*HW), F[n] viewed as (HW,C).
// With a workspace, the HW rows are split into parts, one thread each
// (gram_parts: a function of HW and the thread count, so the bits are
// the same at the same thread count), and the parts' Grams summed: a long,
// narrow SYRK (block1: 65536 x 64) keeps both threads busy that way where
// OpenBLAS's own split of the small C x C output does not. Without one
// (or with less than a second part's C*C floats), one SYRK.
void gram(float* G, const float* F, int N, int HW, int C, float* workspace = nullptr, size_t workspace_floats = 0);
// Enough for every HW at this thread count: (threads - 1) * C * C.
size_t gram_workspace_floats(int C, int threads);
int gram_parts(int HW, int threads);
void gram_reference(double* G, const double* F, int N, int HW, int C);

// ---- Losses (value and gradient) -------------------------------------------
// loss = weight * mean((F - P)^2) over n elements; dF += dloss/dF.
void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight);
void content_loss_reference(double* loss, double* dF, const double* F, const double* P, size_t n,
                            double weight);

// Scratch floats for style_loss on this shape.
size_t style_loss_workspace_floats(int N, int HW, int C);
// G (N,C,C) = gram(F) computed by the caller; A (C,C) is the target and
// must be symmetric (a blend of Grams is): the fast path uses G - A = (G - A)^T.
// loss = weight * mean over N*C*C of (G - A)^2;
// dF (N,HW,C) += 4*weight / (N*C^2 * C*HW) * F (G - A).
void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A, int N,
                int HW, int C, float weight, float* workspace);
void style_loss_reference(double* loss, double* dF, const double* F, const double* A, int N,
                          int HW, int C, double weight);

// Total variation over each image and channel of x (N,H,W,C):
// loss = weight * sum((x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2); dx += grad.
void tv_loss(float* loss, float* dx, const float* x, int N, int H, int W, int C, float weight);
void tv_loss_reference(double* loss, double* dx, const double* x, int N, int H, int W, int C,
                       double weight);

// ---- Masks: per-pixel scaling (mask.cpp) ----------------------------------------
// y (P,C) = m (P) * x (P,C), each pixel's C values times its mask value; with
// `accumulate`, y += m * x instead (as fma(m, x, y), one rounding). Without
// it y may equal x (in place); with it y and x must not overlap.
void pixel_scale(float* y, const float* x, const float* m, size_t pixels, int C, bool accumulate);
void pixel_scale_reference(double* y, const double* x, const double* m, size_t pixels, int C,
                           bool accumulate);

// ---- Windows of a map (window.cpp; nst::Window in kernels/window.hpp) ----------
// What exact tiling (engine/tiling.hpp) moves between an image-sized map and
// a tile. The window must lie inside the (H,W) map (nst::InvalidArgument).
// dst (N,win.h,win.w,C) = the window of src (N,H,W,C): a copy, exact.
void copy_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win);
// The window of dst (N,H,W,C) += src (N,win.h,win.w,C): one rounding per
// element (a float add), so every backend gives the same bits.
void add_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win);
void add_window_reference(double* dst, const double* src, int N, int H, int W, int C, const Window& win);

// ---- Adam (PyTorch's form: eps added after the bias-corrected sqrt) ---------
struct AdamHyper {
  float lr = 10.f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  int t = 1;  // 1-based step number, for bias correction
};
// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
// x -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamHyper& h);
void adam_step_reference(double* x, double* m, double* v, const double* g, size_t n,
                         const AdamHyper& h);

// ---- BLAS-1 -----------------------------------------------------------------
// Vector ops for optimisers (L-BFGS's two-loop recursion). dot and asum sum
// in double over fixed blocks of the range (kernels/cpu/reduce.hpp), so they
// are bit-identical at any thread count, and round once to float; the result
// goes to a scalar in memory, as on the device backends.
// *result = sum a[i] * b[i]; a may equal b (a squared norm).
void dot(float* result, const float* a, const float* b, size_t n);
// *result = sum |a[i]|.
void asum(float* result, const float* a, size_t n);
// y += alpha * (scale ? *scale : 1) * x, with the coefficient
// c = alpha * *scale formed once, in float, then y[i] = fma(c, x[i], y[i])
// (one rounding, as the CUDA kernel does: the two agree bit for bit). y may
// equal x; otherwise they must not overlap.
void axpy(float* y, float alpha, const float* scale, const float* x, size_t n);
// x *= alpha.
void scal(float* x, float alpha, size_t n);
void dot_reference(double* result, const double* a, const double* b, size_t n);
void asum_reference(double* result, const double* a, size_t n);
void axpy_reference(double* y, double alpha, const double* scale, const double* x, size_t n);
void scal_reference(double* x, double alpha, size_t n);

// ---- Caffe preprocessing for the Keras VGG weights --------------------------
// x (pixels,3) BGR in 0..255 minus the mean (103.939, 116.779, 123.68) from
// rgb (pixels,3) bytes; deprocess inverts it, rounds and clamps to 0..255.
void preprocess(float* x, const uint8_t* rgb, size_t pixels);
void deprocess(uint8_t* rgb, const float* x, size_t pixels);
void preprocess_reference(double* x, const uint8_t* rgb, size_t pixels);

}  // namespace nst::cpu
