// Layout kernels for the vendor wrappers: a tiled transpose and a triangle
// mirror. See layout.hpp for what each is for.
#include "kernels/cuda/vendor/layout.hpp"

NST_CUDA_BEGIN
namespace vendor {

// ----------------------------------------------------------------------------
// CUDA kernels

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // block (32,8): each thread moves 4 elements

// The classic shared-memory transpose: a 32x32 tile is read with coalesced
// rows of src and written with coalesced rows of dst; the +1 column keeps
// the column reads free of bank conflicts.
__global__ void transpose_rows_cols_kernel(float* dst, const float* src, int rows, int cols) {
  NST_SHARED(float[kTile][kTile + 1], tile);
  const int col0 = blockIdx.x * kTile, row0 = blockIdx.y * kTile;
  for (int i = threadIdx.y; i < kTile; i += kTileRows) {
    const int r = row0 + i, c = col0 + threadIdx.x;
    if (r < rows && c < cols) tile[i][threadIdx.x] = src[static_cast<size_t>(r) * cols + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTile; i += kTileRows) {
    const int c = col0 + i, r = row0 + threadIdx.x;  // dst row c, column r
    if (r < rows && c < cols) dst[static_cast<size_t>(c) * rows + r] = tile[threadIdx.x][i];
  }
}

// One thread per element of the strict lower triangle of a 2D grid over
// (c, r); blockIdx.z is the image.
__global__ void symmetrize_upper_to_lower_kernel(float* G, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  const int r = blockIdx.y * blockDim.y + threadIdx.y;
  if (r >= C || c >= r) return;
  float* g = G + static_cast<size_t>(blockIdx.z) * C * C;
  g[static_cast<size_t>(r) * C + c] = g[static_cast<size_t>(c) * C + r];
}

// ----------------------------------------------------------------------------
// kernel launchers

void transpose_rows_cols(float* dst, const float* src, int rows, int cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) throw nst::InvalidArgument("transpose_rows_cols: empty matrix");
  const dim3 grid(ceil_div(cols, kTile), ceil_div(rows, kTile));
  const dim3 block(kTile, kTileRows);
  NST_LAUNCH(transpose_rows_cols_kernel, grid, block, 0, stream, dst, src, rows, cols);
}

void symmetrize_upper_to_lower(float* G, int N, int C, cudaStream_t stream) {
  if (N <= 0 || C <= 0) throw nst::InvalidArgument("symmetrize_upper_to_lower: empty matrix");
  if (N > 65535) throw nst::InvalidArgument("symmetrize_upper_to_lower: batch over 65535");
  const dim3 block(32, 8);
  const dim3 grid(ceil_div(C, 32), ceil_div(C, 8), N);
  NST_LAUNCH(symmetrize_upper_to_lower_kernel, grid, block, 0, stream, G, C);
}

}  // namespace vendor
NST_CUDA_END
