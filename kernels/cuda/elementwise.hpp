// Memory-bound custom kernels on the device: ReLU, 2x2 pooling, masks
// (per-pixel scaling), the Adam step and caffe pre/deprocessing. All pointers are device memory; work is
// queued on `stream`. Same contracts and numerics as the matching
// nst::cpu ops (kernels/cpu/ops.hpp), bit for bit (Adam: where the CPU
// build fuses its multiply-adds, as GCC does on any FMA machine). Any
// float-aligned pointers work; float4 paths are taken where the pointers
// allow. An empty tensor launches nothing (its pointers may be null).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/window.hpp"

NST_CUDA_BEGIN

// ---- ReLU (relu.cu) ----------------------------------------------------------
// y may alias x.
void relu_forward(float* y, const float* x, size_t n, cudaStream_t stream);
// dx = dy * (y > 0); dx may alias dy.
void relu_backward(float* dx, const float* dy, const float* y, size_t n, cudaStream_t stream);

// ---- 2x2 pooling, stride 2, floor (pool2d.cu) --------------------------------
// x, dx (N,H,W,C); y, dy (N,H/2,W/2,C). A negative size throws
// nst::InvalidArgument.
void maxpool2x2_forward(float* y, const float* x, int N, int H, int W, int C, cudaStream_t stream);
// dx (N,H,W,C) overwritten; a window's gradient goes to its first maximum in
// row-major order; rows/columns outside every window get 0.
void maxpool2x2_backward(float* dx, const float* dy, const float* x, int N, int H, int W, int C,
                         cudaStream_t stream);
void avgpool2x2_forward(float* y, const float* x, int N, int H, int W, int C, cudaStream_t stream);
void avgpool2x2_backward(float* dx, const float* dy, int N, int H, int W, int C,
                         cudaStream_t stream);

// ---- masks: per-pixel scaling (mask.cu) ----------------------------------------
// y (P,C) = m (P) * x (P,C), each pixel's C values times its mask value; with
// `accumulate`, y = fmaf(m, x, y). Without it y may alias x; with it y and x
// must not overlap. A negative C throws nst::InvalidArgument.
void pixel_scale(float* y, const float* x, const float* m, size_t pixels, int C, bool accumulate,
                 cudaStream_t stream);

// ---- windows of a map (window.cu; nst::Window in kernels/window.hpp) -------------
// Exact tiling's crops and scatter-adds, as nst::cpu::copy_window and
// add_window, bit for bit (a copy; one float add per element). A window
// outside the (H,W) map throws nst::InvalidArgument.
void copy_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win, cudaStream_t stream);
void add_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win, cudaStream_t stream);

// ---- Adam (adam.cu) ------------------------------------------------------------
// One fused pass: moments, bias correction, update (PyTorch's form, as
// nst::cpu::adam_step). The 1-based step number is read from device memory
// (`t`), so a captured CUDA graph can replay the step unchanged while the
// backend advances the counter.
struct AdamParams {
  float lr, beta1, beta2, eps;
};
void adam_step(float* x, float* m, float* v, const float* g, size_t n, AdamParams p, const int* t,
               cudaStream_t stream);

// ---- caffe pre/deprocessing (preprocess.cu) ------------------------------------
// x (pixels,3) BGR minus the caffe mean from rgb (pixels,3) bytes, and back
// (rounded, clamped to 0..255). `rgb` is device memory too.
void preprocess(float* x, const uint8_t* rgb, size_t pixels, cudaStream_t stream);
void deprocess(uint8_t* rgb, const float* x, size_t pixels, cudaStream_t stream);

NST_CUDA_END
