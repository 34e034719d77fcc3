// Deterministic block reductions for the kernels that sum (losses.cu,
// blas1.cu): each block of a grid sums its share in double, in a fixed
// tree order, and stores one partial; a single block then adds the
// partials in a fixed order (sum_partials). No float atomics, so a sum is
// bit-identical run to run when the grid depends on the shape alone.
#pragma once
#include <cstddef>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN
namespace reduce {

constexpr int kThreads = 256;  // the 1-D block block_sum reduces over
constexpr int kWarps = kThreads / 32;
// A grid's partials: ~8 resident blocks per SM on 132 SMs, one wave.
constexpr int kMaxPartials = 1024;

// A block's partial sum is kept as two floats, hi + lo (about 48 bits), so
// a workspace needs float alignment only (the style loss's partials follow
// D, N*C*C floats) and the sum still keeps double accuracy.
constexpr size_t kFloatsPerPartial = 2;

inline size_t partial_floats(size_t partials) { return kFloatsPerPartial * partials; }

__device__ __forceinline__ void store_partial(float* partials, size_t b, double s) {
  const float hi = static_cast<float>(s);
  partials[kFloatsPerPartial * b] = hi;
  partials[kFloatsPerPartial * b + 1] = static_cast<float>(s - hi);
}

__device__ __forceinline__ double load_partial(const float* partials, size_t b) {
  return static_cast<double>(partials[kFloatsPerPartial * b]) + partials[kFloatsPerPartial * b + 1];
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sum of v over a 1-D block of kThreads, in a fixed tree order; the result
// is valid in thread 0. Every thread must call it (it has a barrier); a
// second call in one kernel needs a __syncthreads() before it, as warp 0
// may still be reading the first call's warp sums.
__device__ __forceinline__ double block_sum(double v) {
  NST_SHARED(double[kWarps], warp_sums);
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  v = warp_sum(v);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) v = warp_sum(lane < kWarps ? warp_sums[lane] : 0.0);
  return v;
}

// The sum of `count` partials, each thread taking a fixed stride of them,
// then block_sum: valid in thread 0 of a single block of kThreads.
__device__ __forceinline__ double sum_partials(const float* __restrict__ partials, int count) {
  double s = 0.0;
  for (int b = static_cast<int>(threadIdx.x); b < count; b += kThreads) s += load_partial(partials, b);
  return block_sum(s);
}

}  // namespace reduce
NST_CUDA_END
