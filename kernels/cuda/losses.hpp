// Custom Gram-matrix and loss kernels on the device: Gram (tiled, one
// triangle computed and mirrored), content, style and total-variation losses
// with their gradients. Loss sums are deterministic: fixed per-block
// partial sums in `workspace`, then one block adds the partials in a fixed
// order (no float atomics), so a loss is bit-identical run to run.
// All pointers are device memory; work is queued on `stream`. Same contracts
// and numerics as the matching nst::cpu ops (kernels/cpu/ops.hpp): a loss
// is written (not accumulated) to the device scalar `loss`, gradients are
// accumulated (+=). Workspaces need float alignment only; their contents
// on entry do not matter. Every split and block count depends on the shape
// alone, never on the device, so results are reproducible bit for bit.
#pragma once
#include <cstddef>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN

// ---- Gram (gram.cu) -------------------------------------------------------------
// G[n] (C,C) = F[n]^T F[n] / (C*HW), F[n] viewed as (HW,C). Where a layer
// has few channels and many pixels (block1: C=64, HW=512*512) the HW sum is
// split into gram_split_k() slices so that the GPU fills up; the slices'
// partial tiles go to `workspace` (gram_workspace_floats floats, 0 when
// there is one slice: workspace may then be null) and a second kernel adds
// them in a fixed order, scales and mirrors them.
size_t gram_workspace_floats(int N, int HW, int C);
int gram_split_k(int N, int HW, int C);
void gram(float* G, const float* F, int N, int HW, int C, float* workspace, cudaStream_t stream);
// Never split, no workspace: one block per upper 64x64 tile per image, so
// slow where C is small and HW large. For callers without a workspace.
void gram(float* G, const float* F, int N, int HW, int C, cudaStream_t stream);

// ---- losses (losses.cu) ---------------------------------------------------------
// Device scratch floats each loss needs for this shape.
size_t content_loss_workspace_floats(size_t n);
size_t style_loss_workspace_floats(int N, int HW, int C);
size_t tv_loss_workspace_floats(int N, int H, int W, int C);

// loss = weight * mean((F - P)^2) over n > 0 elements; dF += dloss/dF.
void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight,
                  float* workspace, cudaStream_t stream);

// G = gram(F) computed by the caller; A (C,C) symmetric target.
// loss = weight * mean over N*C*C of (G - A)^2;
// dF (N,HW,C) += 4*weight / (N*C^2 * C*HW) * F (G - A), as a tiled product.
// The workspace holds D = G - A (N*C*C floats) followed by the loss partials.
void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A, int N,
                int HW, int C, float weight, float* workspace, cudaStream_t stream);

// The two halves of style_loss, so that the backend can run the product
// F (G - A) with cuBLAS instead: style_loss_diff writes D[n] = G[n] - A and
// the loss, using style_loss_diff_workspace_floats(N, C) floats of
// workspace (style_loss passes the part after D); style_gradient_product does
// dF += scale * F D with the custom tiled kernel.
size_t style_loss_diff_workspace_floats(int N, int C);
void style_loss_diff(float* loss, float* D, const float* G, const float* A, int N, int C,
                     float weight, float* workspace, cudaStream_t stream);
void style_gradient_product(float* dF, const float* F, const float* D, int N, int HW, int C,
                            float scale, cudaStream_t stream);
// The `scale` style_loss uses: 4*weight / (N*C^2 * C*HW), rounded once from
// double as nst::cpu::style_loss does.
inline float style_gradient_scale(int N, int HW, int C, float weight) {
  return static_cast<float>(4.0 * weight /
                            (static_cast<double>(N) * C * C * (static_cast<double>(C) * HW)));
}

// loss = weight * sum((x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2) over each
// image and channel of x (N,H,W,C); dx += grad.
void tv_loss(float* loss, float* dx, const float* x, int N, int H, int W, int C, float weight,
             float* workspace, cudaStream_t stream);

NST_CUDA_END
