// Gram matrices on the device: G[n] (C,C) = F[n]^T F[n] / (C*HW), F[n]
// viewed as (HW,C) with channels innermost (NHWC).
//
// The product is a SYRK: only 64x64 tiles on or above the diagonal are
// computed (about half the flops of a GEMM) and mirrored. Early VGG layers
// have few channels and many pixels (block1 at 512x512: C=64, HW=262144), so
// one tile per image would leave all but one SM idle; there the HW sum is
// split into slices (split-K). Two kernels:
//   gram_tile_kernel<split>  one (upper tile, slice, image) per block, 4x4
//                            outputs per thread from shared slabs. Split:
//                            the unscaled partial tile into the workspace;
//                            unsplit (one slice): scaled into G and mirrored.
//   gram_finish_kernel       after a split: adds the slices of each element
//                            in a fixed order (so G is bit-identical run to
//                            run, no atomics), scales, writes it and its mirror.
// Workspace layout: partial[slice][n][upper tile][64][64], every entry
// written (zero outside C), so the finish never reads stale memory.
#include <algorithm>
#include <string>

#include "kernels/cuda/losses.hpp"
#include "kernels/cuda/tile_gemm.cuh"

NST_CUDA_BEGIN

namespace {

// The product's tiling (kernels/cuda/tile_gemm.cuh): 64x64 channel tiles,
// HW in slabs of 16 rows, 256 threads with 4x4 outputs each.
using tile::kLoadsPerThread;
using tile::kMicro;
using tile::kSlab;
using tile::kThreads;
using tile::kTile;

// Split-K sizing, from the shape alone (never the device) so that the
// partial sums, hence G, are reproducible everywhere. About 512 blocks keep
// an H100 (132 SMs, ~4 resident blocks each) busy; a slice of at least 256
// rows keeps the finish pass small next to the product.
constexpr int kTargetBlocks = 512;
constexpr int kMinSliceRows = 256;

constexpr int kFinishColumns = 32;  // consecutive partial entries per block (one warp)
constexpr int kFinishLanes = 8;     // slices summed side by side per entry

__host__ __device__ constexpr int triangle(int tiles) { return tiles * (tiles + 1) / 2; }

struct SplitK {
  int slices;
  int slice_rows;  // a multiple of kSlab
};

SplitK split_k(int N, int HW, int C) {
  const int upper_tiles = N * triangle(ceil_div(C, kTile));
  const int by_occupancy = ceil_div(kTargetBlocks, upper_tiles);
  const int by_length = ceil_div(HW, kMinSliceRows);
  const int wanted = std::max(1, std::min(by_occupancy, by_length));
  const int rows = ceil_div(ceil_div(HW, wanted), kSlab) * kSlab;
  return {ceil_div(HW, rows), rows};
}

// Upper tile number t, counted column by column (t = bj*(bj+1)/2 + bi,
// bi <= bj), to its tile row and column.
__device__ __forceinline__ void upper_tile(int t, int& bi, int& bj) {
  bj = 0;
  while (triangle(bj + 1) <= t) ++bj;
  bi = t - triangle(bj);
}

// ---- CUDA kernels ---------------------------------------------------------------

// Writes a block's 4x4 outputs, unscaled, to its partial tile: all 64x64
// entries (zero outside C, from the zero-filled slabs).
__device__ __forceinline__ void store_partial_tile(float* tile, const float (&acc)[kMicro][kMicro], int ty, int tx) {
#pragma unroll
  for (int r = 0; r < kMicro; ++r)
#pragma unroll
    for (int c = 0; c < kMicro; ++c) tile[(ty * kMicro + r) * kTile + tx * kMicro + c] = acc[r][c];
}

// Writes a block's 4x4 outputs, scaled, to G[n] and, off the diagonal, to
// the mirror tile. A diagonal tile holds both halves already, bit-identical
// (the same products in the same order). The mirror store is strided, but
// this path runs when each block sums the whole HW, which dwarfs it.
__device__ __forceinline__ void store_gram_tile(float* gn, const float (&acc)[kMicro][kMicro], int bi, int bj,
                                                int ty, int tx, int C, double scale) {
#pragma unroll
  for (int r = 0; r < kMicro; ++r) {
    const int i = bi * kTile + ty * kMicro + r;
#pragma unroll
    for (int c = 0; c < kMicro; ++c) {
      const int j = bj * kTile + tx * kMicro + c;
      if (i >= C || j >= C) continue;
      const float g = static_cast<float>(acc[r][c] * scale);
      gn[static_cast<size_t>(i) * C + j] = g;
      if (bi != bj) gn[static_cast<size_t>(j) * C + i] = g;
    }
  }
}

// grid (upper tiles, slices, N). Split: `out` is the partial workspace;
// unsplit (one slice): `out` is G. A diagonal tile multiplies a slab by
// itself, so it loads one slab instead of two.
template <bool kSplit>
__global__ void __launch_bounds__(kThreads)
    gram_tile_kernel(float* __restrict__ out, const float* __restrict__ F, int HW, int C, int slice_rows,
                     double scale) {
  NST_SHARED(float[kSlab][kTile], a_slab);
  NST_SHARED(float[kSlab][kTile], b_slab);
  int bi, bj;
  upper_tile(static_cast<int>(blockIdx.x), bi, bj);
  const bool diagonal = bi == bj;
  const int slice = static_cast<int>(blockIdx.y), n = static_cast<int>(blockIdx.z);
  const float* f = F + static_cast<size_t>(n) * HW * C;
  const int k_begin = slice * slice_rows;
  const int k_end = min(HW, k_begin + slice_rows);
  const int tx = tile::thread_col(), ty = tile::thread_row();

  // Slabs are rows [k0, k0+16) x channels [b*64, b*64+64) of f (HW,C).
  float acc[kMicro][kMicro] = {};
  float a_next[kLoadsPerThread], b_next[kLoadsPerThread] = {};
  tile::load_slab(a_next, f, k_begin, k_end, bi * kTile, C);
  if (!diagonal) tile::load_slab(b_next, f, k_begin, k_end, bj * kTile, C);
  for (int k0 = k_begin; k0 < k_end; k0 += kSlab) {
    tile::store_slab(a_slab, a_next);
    if (!diagonal) tile::store_slab(b_slab, b_next);
    __syncthreads();
    // Next slab's global loads are in flight while this one is multiplied.
    if (k0 + kSlab < k_end) {
      tile::load_slab(a_next, f, k0 + kSlab, k_end, bi * kTile, C);
      if (!diagonal) tile::load_slab(b_next, f, k0 + kSlab, k_end, bj * kTile, C);
    }
    tile::multiply_slab(acc, a_slab, diagonal ? a_slab : b_slab, ty, tx);
    __syncthreads();
  }

  if (kSplit) {
    const size_t tile = (static_cast<size_t>(slice) * gridDim.z + n) * gridDim.x + blockIdx.x;
    store_partial_tile(out + tile * kTile * kTile, acc, ty, tx);
  } else {
    store_gram_tile(out + static_cast<size_t>(n) * C * C, acc, bi, bj, ty, tx, C, scale);
  }
}

// grid (N*upper_tiles*kTile*kTile / 32), block (32, lanes <= 8): 32
// consecutive partial entries per block, threadIdx.y sums every lanes-th
// slice (several lanes keep enough loads in flight when there are hundreds
// of slices), then the lanes are added in order. The mirror store is strided, but G is small (C*C)
// next to the slices read here.
__global__ void __launch_bounds__(kFinishColumns * kFinishLanes)
    gram_finish_kernel(float* __restrict__ G, const float* __restrict__ partial, int N, int C,
                       int slices, double scale) {
  NST_SHARED(double[kFinishLanes][kFinishColumns], lane_sums);
  const int upper_tiles = triangle(ceil_div(C, kTile));
  const size_t entries = static_cast<size_t>(N) * upper_tiles * kTile * kTile;
  const size_t e = static_cast<size_t>(blockIdx.x) * kFinishColumns + threadIdx.x;
  const int n = static_cast<int>(e / (static_cast<size_t>(upper_tiles) * kTile * kTile));
  const int t = static_cast<int>(e / (kTile * kTile) % upper_tiles);
  const int r = static_cast<int>(e % (kTile * kTile)) / kTile, c = static_cast<int>(e % kTile);
  int bi, bj;
  upper_tile(t, bi, bj);
  const int i = bi * kTile + r, j = bj * kTile + c;
  // Below the diagonal of a diagonal tile: the mirror entry writes it.
  const bool wanted = i < C && j < C && !(bi == bj && r > c);

  double sum = 0.0;
  if (wanted)
    for (int s = static_cast<int>(threadIdx.y); s < slices; s += blockDim.y) sum += __ldg(partial + s * entries + e);
  lane_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || !wanted) return;
  for (int lane = 1; lane < static_cast<int>(blockDim.y); ++lane) sum += lane_sums[lane][threadIdx.x];
  const float g = static_cast<float>(sum * scale);
  float* gn = G + static_cast<size_t>(n) * C * C;
  gn[static_cast<size_t>(i) * C + j] = g;
  gn[static_cast<size_t>(j) * C + i] = g;
}

}  // namespace

// ---- kernel launchers -----------------------------------------------------------

int gram_split_k(int N, int HW, int C) { return split_k(N, HW, C).slices; }

size_t gram_workspace_floats(int N, int HW, int C) {
  const int slices = split_k(N, HW, C).slices;
  if (slices == 1) return 0;
  return static_cast<size_t>(slices) * N * triangle(ceil_div(C, kTile)) * kTile * kTile;
}

namespace {

void require_positive_shape(int N, int HW, int C) {
  if (N < 1 || HW < 1 || C < 1)
    throw nst::InvalidArgument("cuda::gram: shape N=" + std::to_string(N) + " HW=" + std::to_string(HW) +
                               " C=" + std::to_string(C) + " must be positive");
}

void gram_unsplit(float* G, const float* F, int N, int HW, int C, cudaStream_t stream) {
  const int upper_tiles = triangle(ceil_div(C, kTile));
  NST_LAUNCH(gram_tile_kernel<false>, dim3(upper_tiles, 1, N), kThreads, 0, stream, G, F, HW, C, HW,
             1.0 / (static_cast<double>(C) * HW));
}

}  // namespace

void gram(float* G, const float* F, int N, int HW, int C, float* workspace, cudaStream_t stream) {
  require_positive_shape(N, HW, C);
  const SplitK split = split_k(N, HW, C);
  if (split.slices == 1) return gram_unsplit(G, F, N, HW, C, stream);
  const int upper_tiles = triangle(ceil_div(C, kTile));
  const double scale = 1.0 / (static_cast<double>(C) * HW);
  NST_LAUNCH(gram_tile_kernel<true>, dim3(upper_tiles, split.slices, N), kThreads, 0, stream, workspace, F, HW,
             C, split.slice_rows, scale);
  const size_t entries = static_cast<size_t>(N) * upper_tiles * kTile * kTile;
  static_assert((kTile * kTile) % kFinishColumns == 0, "a finish block stays inside one tile row");
  NST_LAUNCH(gram_finish_kernel, dim3(static_cast<unsigned>(entries / kFinishColumns)),
             dim3(kFinishColumns, std::min(split.slices, kFinishLanes)), 0, stream, G, workspace, N, C,
             split.slices, scale);
}

void gram(float* G, const float* F, int N, int HW, int C, cudaStream_t stream) {
  require_positive_shape(N, HW, C);
  gram_unsplit(G, F, N, HW, C, stream);
}

NST_CUDA_END
