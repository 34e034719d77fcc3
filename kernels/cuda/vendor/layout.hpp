// Two small layout kernels the vendor wrappers need around cuDNN and cuBLAS
// (nvcc-compiled, layout.cu). Neither is on a hot path worth tuning:
//   transpose_rows_cols  once per conv plan, Keras HWIO -> cuDNN KRSC
//   symmetrize_upper_to_lower  once per Gram, after SYRK (C*C/2 copies,
//                        against 2*HW*C*C/2 flops for the SYRK itself)
#pragma once
#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN
namespace vendor {

// dst (cols,rows) = src (rows,cols)^T, both row-major. With rows = 9*Cin
// and cols = Cout this turns HWIO (3,3,Cin,Cout) weights into the
// (Cout,3,3,Cin) "KRSC" layout cuDNN expects for CUDNN_TENSOR_NHWC filters.
void transpose_rows_cols(float* dst, const float* src, int rows, int cols, cudaStream_t stream);

// G (N,C,C) row-major, only its upper triangle (c >= r) valid: copies it
// into the strict lower triangle, G[n][r][c] = G[n][c][r] for r > c, so that
// G is exactly symmetric.
void symmetrize_upper_to_lower(float* G, int N, int C, cudaStream_t stream);

}  // namespace vendor
NST_CUDA_END
