// BLAS-1 vector ops on the device for optimisers that keep their vectors
// there (L-BFGS): the two-loop recursion chains dot -> axpy with the dot's
// result as the axpy's scale, all on one stream, with no host sync.
// All pointers are device memory, float-aligned; float4 paths are taken
// where the pointers allow. Work is queued on `stream`. Same contracts as
// the nst::cpu ops of kernels/cpu/ops.hpp:
//   - dot and asum sum in double and round once to float, deterministically:
//     fixed per-block partials in `workspace` (the block count depends on n
//     alone), then one block adds them in a fixed order (no float atomics),
//     as the loss kernels do. A result is bit-identical run to run; it
//     agrees with the CPU op to rounding (both are double sums, in different
//     orders). The result is written (not accumulated) to a device scalar.
//   - axpy forms c = alpha * *scale once in float and applies fma(c, x, y),
//     as the CPU op does: the two agree bit for bit. scal is x * alpha.
// Null pointers throw nst::InvalidArgument (those of an empty vector may be
// null). Workspaces need float alignment only; their contents on entry do
// not matter.
#pragma once
#include <cstddef>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN

// Device scratch floats dot and asum need for n elements (at most 2048).
size_t blas1_workspace_floats(size_t n);

// *result = sum a[i] * b[i]; a may equal b. n = 0 writes 0.
void dot(float* result, const float* a, const float* b, size_t n, float* workspace, cudaStream_t stream);
// *result = sum |a[i]|. n = 0 writes 0.
void asum(float* result, const float* a, size_t n, float* workspace, cudaStream_t stream);

// y += alpha * (scale ? *scale : 1) * x; scale is a device scalar or null,
// read by the kernel (so a dot's result can feed it on the stream), and
// must not point into y. y may equal x; otherwise they must not overlap.
// n = 0 launches nothing.
void axpy(float* y, float alpha, const float* scale, const float* x, size_t n, cudaStream_t stream);
// x *= alpha. n = 0 launches nothing.
void scal(float* x, float alpha, size_t n, cudaStream_t stream);

NST_CUDA_END
