// Custom conv2d 3x3 (stride 1, zero padding 1) on the device, NHWC, HWIO
// weights (cross-correlation, as Keras stores them): forward as an implicit
// GEMM with bias and ReLU fused in the epilogue, backward-data as the same
// implicit GEMM on the flipped, transposed kernel with the ReLU mask applied
// while loading dy. All pointers are device memory; work is queued on
// `stream`. Same numerics as nst::cpu::conv2d_* (kernels/cpu/ops.hpp).
//
// Any shape works (sizes >= 1; each tensor under 2^31 elements, since the
// kernels index in 32 bits). Loads and stores are float4 when Cin and Cout
// are multiples of 4 and every pointer is 16-byte aligned, scalar
// otherwise. Bad sizes, null pointers or an unknown tile throw
// nst::InvalidArgument; a failed launch throws nst::DeviceError.
#pragma once
#include <cstddef>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN

// Tile shape of the implicit GEMM (M = N*H*W output pixels, N = output
// channels, K = 9*Cin). Kernels are templates on it; these are the
// instantiations the library ships and the benchmark compares. A block
// has (block_m / thread_m) * (block_n / thread_n) threads:
//   Large128x64  128x64x8, 8x8 per thread, 128 threads
//   Medium64x64   64x64x8, 8x4 per thread, 128 threads
//   Small32x32    32x32x8, 4x4 per thread,  64 threads
struct ConvTile {
  int block_m, block_n, block_k;  // block tile
  int thread_m, thread_n;         // per-thread register tile
};
enum class ConvTileConfig { Large128x64, Medium64x64, Small32x32 };
ConvTile conv_tile(ConvTileConfig config);
// The configuration used when none is given, from the GEMM shape: the
// largest tile that still gives an H100's 132 SMs about two blocks each;
// Small when Cout <= 32. For a conv2d_dgrad the GEMM's output channels are
// Cin, so it asks for default_conv_tile(N, H, W, Cout, Cin).
ConvTileConfig default_conv_tile(int N, int H, int W, int Cin, int Cout);

// Floats of device scratch conv2d_dgrad needs for this shape (the
// rearranged kernel, 9*Cin*Cout); conv2d_fprop needs none.
size_t conv2d_dgrad_workspace_floats(int Cin, int Cout);

// y (N,H,W,Cout) = conv(x (N,H,W,Cin), w (3,3,Cin,Cout)) + b, then ReLU if
// `relu`; b may be null.
void conv2d_fprop(float* y, const float* x, const float* w, const float* b, int N, int H, int W,
                  int Cin, int Cout, bool relu, cudaStream_t stream);
void conv2d_fprop(float* y, const float* x, const float* w, const float* b, int N, int H, int W,
                  int Cin, int Cout, bool relu, ConvTileConfig tile, cudaStream_t stream);

// dx (N,H,W,Cin) = dL/dx, overwritten. dy (N,H,W,Cout) is dL/d(output);
// when relu_y (N,H,W,Cout) is not null the output was relu(conv(x)) and dy
// is masked by relu_y > 0 as it is read (dy itself is left unchanged).
// `workspace` holds conv2d_dgrad_workspace_floats(Cin, Cout) floats, is
// rewritten on every call (two launches: the kernel rearrangement, then the
// GEMM) and must not overlap the other arguments.
void conv2d_dgrad(float* dx, const float* dy, const float* relu_y, const float* w, int N, int H,
                  int W, int Cin, int Cout, float* workspace, cudaStream_t stream);
void conv2d_dgrad(float* dx, const float* dy, const float* relu_y, const float* w, int N, int H,
                  int W, int Cin, int Cout, float* workspace, ConvTileConfig tile,
                  cudaStream_t stream);
// The two launches of conv2d_dgrad apart, for frozen weights: wt
// (3,3,Cout,Cin, conv2d_dgrad_workspace_floats(Cin, Cout) floats) is w
// flipped in space with ci <-> co, made once per Model; each backward then
// runs only the GEMM.
void conv2d_dgrad_weights(float* wt, const float* w, int Cin, int Cout, cudaStream_t stream);
void conv2d_dgrad_prepared(float* dx, const float* dy, const float* relu_y, const float* wt, int N,
                           int H, int W, int Cin, int Cout, cudaStream_t stream);
void conv2d_dgrad_prepared(float* dx, const float* dy, const float* relu_y, const float* wt, int N,
                           int H, int W, int Cin, int Cout, ConvTileConfig tile, cudaStream_t stream);

NST_CUDA_END
