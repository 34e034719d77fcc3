// The register-tiled product shared by the Gram (gram.cu) and style
// gradient (losses.cu) kernels: a block of 256 threads computes a 64x64
// output tile, 4x4 outputs per thread, over an inner dimension taken in
// slabs of 16 staged in shared memory as slab[k][0..64). A kernel loads
// the next slab into registers while it multiplies the current one, so the
// global loads are in flight during the FMAs.
//
// The slabs are `float[kSlab][kPitch]` with kPitch >= kTile, a multiple of
// 4 so that every row stays 16-byte aligned for the float4 reads.
#pragma once
#include <cstddef>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN
namespace tile {

constexpr int kTile = 64;                    // output tile edge
constexpr int kSlab = 16;                    // inner-dimension rows per shared slab
constexpr int kThreads = 256;                // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMicro = 4;                    // outputs per thread per dimension
constexpr int kLoadRows = kThreads / kTile;  // slab rows one pass of row loads covers
constexpr int kLoadsPerThread = kSlab * kTile / kThreads;
static_assert(kThreads == (kTile / kMicro) * (kTile / kMicro), "one thread per 4x4 outputs");
static_assert(kSlab % kLoadRows == 0, "a slab is loaded in whole passes");

// This thread's outputs: rows ty*4 .. ty*4+3, columns tx*4 .. tx*4+3.
__device__ __forceinline__ int thread_col() { return static_cast<int>(threadIdx.x) % (kTile / kMicro); }
__device__ __forceinline__ int thread_row() { return static_cast<int>(threadIdx.x) / (kTile / kMicro); }

// Rows [k0, k0+kSlab) x columns [c0, c0+kTile) of src (rows, cols), row
// major, into registers: each warp reads 32 consecutive columns of one row
// (coalesced); zero outside [.., k_end) x [.., cols) so the product needs
// no bounds checks.
__device__ __forceinline__ void load_slab(float (&v)[kLoadsPerThread], const float* __restrict__ src, int k0,
                                          int k_end, int c0, int cols) {
  const int c = c0 + static_cast<int>(threadIdx.x) % kTile;
  const int k = k0 + static_cast<int>(threadIdx.x) / kTile;
#pragma unroll
  for (int q = 0; q < kLoadsPerThread; ++q) {
    const int row = k + q * kLoadRows;
    v[q] = (row < k_end && c < cols) ? __ldg(src + static_cast<size_t>(row) * cols + c) : 0.0f;
  }
}

// The registers of load_slab into slab[k][c].
template <int kPitch>
__device__ __forceinline__ void store_slab(float (*slab)[kPitch], const float (&v)[kLoadsPerThread]) {
  const int c = static_cast<int>(threadIdx.x) % kTile;
  const int k = static_cast<int>(threadIdx.x) / kTile;
#pragma unroll
  for (int q = 0; q < kLoadsPerThread; ++q) slab[k + q * kLoadRows][c] = v[q];
}

// acc[r][c] += sum_k a[k][ty*4+r] * b[k][tx*4+c]. float4 shared loads: a
// warp reads 2 distinct a vectors (broadcast) and 16 distinct b vectors,
// so the FMAs, not shared memory, set the pace.
template <int kPitch>
__device__ __forceinline__ void multiply_slab(float (&acc)[kMicro][kMicro], const float (*a)[kPitch],
                                              const float (*b)[kPitch], int ty, int tx) {
  static_assert(kPitch >= kTile && kPitch % 4 == 0, "slab rows hold a tile and stay 16-byte aligned");
#pragma unroll
  for (int k = 0; k < kSlab; ++k) {
    const float4 av = *reinterpret_cast<const float4*>(&a[k][ty * kMicro]);
    const float4 bv = *reinterpret_cast<const float4*>(&b[k][tx * kMicro]);
    const float ar[kMicro] = {av.x, av.y, av.z, av.w};
    const float br[kMicro] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
    for (int r = 0; r < kMicro; ++r)
#pragma unroll
      for (int c = 0; c < kMicro; ++c) acc[r][c] = fmaf(ar[r], br[c], acc[r][c]);
  }
}

}  // namespace tile
NST_CUDA_END
