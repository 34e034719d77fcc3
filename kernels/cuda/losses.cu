// Content, style and total-variation losses on the device, with their
// gradients (same formulas as kernels/cpu/losses.cpp):
//   content: L = w * mean((F-P)^2)               dF += 2w/n (F-P)
//   style:   L = w * mean_{n,i,j} (G-A)^2        dF += 4w/(N*C^2*C*HW) F (G-A)
//   tv:      L = w * sum (x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2
//
// Loss sums are deterministic without atomics: each block of an elementwise
// kernel sums its share (fixed by the shape alone) in double and stores one
// partial; finish_loss_kernel, a single block, adds the partials in a fixed
// order and writes the loss. Double costs nothing in these memory-bound
// loops and keeps the result within rounding of the CPU's double sums.
// Gradients are accumulated (+=), each element by exactly one thread.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>

#include "kernels/cuda/losses.hpp"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/tile_gemm.cuh"

NST_CUDA_BEGIN

namespace {

// Every elementwise and reduction block; the sums are kernels/cuda/reduce.cuh's.
constexpr int kThreads = reduce::kThreads;
constexpr int kMaxPartials = reduce::kMaxPartials;
using reduce::block_sum;
using reduce::store_partial;

// ---- style product tiling (kernels/cuda/tile_gemm.cuh) ----------------------------
// dF tiles of 64 pixels x 64 channels, the inner dimension (channels of F,
// rows of D) in slabs of 16.
using tile::kLoadsPerThread;
using tile::kMicro;
using tile::kSlab;
using tile::kTile;
constexpr int kPitch = kTile + 4;  // rows stay 16-byte aligned for float4 reads;
                                   // the transposed F store is only 2-way conflicted
static_assert(kThreads == tile::kThreads, "the style product runs in the loss kernels' blocks");

// F[p0 .. p0+64) x channels [k0, k0+16) into registers, for a transposed
// slab f_slab[k][p]: a warp reads 2 pixels x 16 consecutive channels (two
// 64-byte runs); zero outside HW x C.
__device__ __forceinline__ void load_feature_slab(float (&v)[kLoadsPerThread], const float* __restrict__ f,
                                                  int p0, int k0, int HW, int C) {
  const int k = k0 + static_cast<int>(threadIdx.x) % kSlab;
  const int p = p0 + static_cast<int>(threadIdx.x) / kSlab;
#pragma unroll
  for (int q = 0; q < kLoadsPerThread; ++q) {
    const int row = p + q * (kThreads / kSlab);
    v[q] = (row < HW && k < C) ? __ldg(f + static_cast<size_t>(row) * C + k) : 0.0f;
  }
}

__device__ __forceinline__ void store_feature_slab(float (*slab)[kPitch], const float (&v)[kLoadsPerThread]) {
  const int k = static_cast<int>(threadIdx.x) % kSlab;
  const int p = static_cast<int>(threadIdx.x) / kSlab;
#pragma unroll
  for (int q = 0; q < kLoadsPerThread; ++q) slab[k][p + q * (kThreads / kSlab)] = v[q];
}

// ---- CUDA kernels ---------------------------------------------------------------

// One block adds `count` partials in a fixed order: loss = weight * sum / divisor
// (the CPU's order of operations).
__global__ void __launch_bounds__(kThreads)
    finish_loss_kernel(float* loss, const float* __restrict__ partials, int count, double weight,
                       double divisor) {
  const double s = reduce::sum_partials(partials, count);
  if (threadIdx.x == 0) *loss = static_cast<float>(weight * s / divisor);
}

// Grid-stride over n elements; one partial per block.
__global__ void __launch_bounds__(kThreads)
    content_loss_kernel(float* __restrict__ partials, float* __restrict__ dF, const float* __restrict__ F,
                        const float* __restrict__ P, size_t n, float scale) {
  double s = 0.0;
  const size_t stride = static_cast<size_t>(gridDim.x) * kThreads;
  for (size_t i = static_cast<size_t>(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    const double d = static_cast<double>(__ldg(F + i)) - __ldg(P + i);
    s += d * d;
    dF[i] += scale * static_cast<float>(d);
  }
  s = block_sum(s);
  if (threadIdx.x == 0) store_partial(partials, blockIdx.x, s);
}

// grid (blocks per image, N): D[n] = G[n] - A, one partial per block.
__global__ void __launch_bounds__(kThreads)
    style_diff_kernel(float* __restrict__ partials, float* __restrict__ D, const float* __restrict__ G,
                      const float* __restrict__ A, int cc) {
  const size_t offset = static_cast<size_t>(blockIdx.y) * cc;
  double s = 0.0;
  for (int i = static_cast<int>(blockIdx.x * kThreads + threadIdx.x); i < cc; i += gridDim.x * kThreads) {
    const double d = static_cast<double>(__ldg(G + offset + i)) - __ldg(A + i);
    D[offset + i] = static_cast<float>(d);
    s += d * d;
  }
  s = block_sum(s);
  if (threadIdx.x == 0) store_partial(partials, static_cast<size_t>(blockIdx.y) * gridDim.x + blockIdx.x, s);
}

// grid (HW/64, C/64, N): dF[n] (HW,C) += scale * F[n] (HW,C) D[n] (C,C), one
// 64x64 tile per block, the inner dimension in 16-channel slabs.
__global__ void __launch_bounds__(kThreads)
    style_product_kernel(float* __restrict__ dF, const float* __restrict__ F, const float* __restrict__ D,
                         int HW, int C, float scale) {
  NST_SHARED(float[kSlab][kPitch], f_slab);  // f_slab[k][p] = F[p0+p][k0+k]
  NST_SHARED(float[kSlab][kPitch], d_slab);  // d_slab[k][j] = D[k0+k][j0+j]
  const int p0 = static_cast<int>(blockIdx.x) * kTile, j0 = static_cast<int>(blockIdx.y) * kTile;
  const size_t image = static_cast<size_t>(blockIdx.z) * HW * C;
  const float* f = F + image;
  const float* d = D + static_cast<size_t>(blockIdx.z) * C * C;
  const int tx = tile::thread_col(), ty = tile::thread_row();

  // D (C,C) is loaded like any row-major slab: rows [k0, k0+16) x columns
  // [j0, j0+64), zero outside C x C.
  float acc[kMicro][kMicro] = {};
  float f_next[kLoadsPerThread], d_next[kLoadsPerThread];
  load_feature_slab(f_next, f, p0, 0, HW, C);
  tile::load_slab(d_next, d, 0, C, j0, C);
  for (int k0 = 0; k0 < C; k0 += kSlab) {
    store_feature_slab(f_slab, f_next);
    tile::store_slab(d_slab, d_next);
    __syncthreads();
    // Next slab's global loads are in flight while this one is multiplied.
    if (k0 + kSlab < C) {
      load_feature_slab(f_next, f, p0, k0 + kSlab, HW, C);
      tile::load_slab(d_next, d, k0 + kSlab, C, j0, C);
    }
    tile::multiply_slab(acc, f_slab, d_slab, ty, tx);
    __syncthreads();
  }

  float* out = dF + image;
#pragma unroll
  for (int r = 0; r < kMicro; ++r) {
    const int p = p0 + ty * kMicro + r;
#pragma unroll
    for (int c = 0; c < kMicro; ++c) {
      const int j = j0 + tx * kMicro + c;
      if (p < HW && j < C) out[static_cast<size_t>(p) * C + j] += scale * acc[r][c];
    }
  }
}

// grid (blocks per row, row groups): image rows n*H+i, a block striding over
// rows by gridDim.y and over a row's W*C values by gridDim.x*kThreads. Each
// thread gathers its element's four neighbours (an edge stands in for a
// missing one, making that difference 0), so dx has one writer per element;
// the pairs to the next row and the next column count towards the loss.
__global__ void __launch_bounds__(kThreads)
    tv_loss_kernel(float* __restrict__ partials, float* __restrict__ dx, const float* __restrict__ x, int rows,
                   int H, int W, int C, float w2) {
  const int row_len = W * C;
  double s = 0.0;
  for (int row = static_cast<int>(blockIdx.y); row < rows; row += gridDim.y) {
    const int i = row % H;
    const float* xr = x + static_cast<size_t>(row) * row_len;
    float* dxr = dx + static_cast<size_t>(row) * row_len;
    for (int k = static_cast<int>(blockIdx.x * kThreads + threadIdx.x); k < row_len; k += gridDim.x * kThreads) {
      const float v = __ldg(xr + k);
      const float up = i > 0 ? __ldg(xr + k - row_len) : v;
      const float down = i + 1 < H ? __ldg(xr + k + row_len) : v;
      const float left = k >= C ? __ldg(xr + k - C) : v;
      const float right = k + C < row_len ? __ldg(xr + k + C) : v;
      const float dv = down - v, dh = right - v;
      s += static_cast<double>(dv) * dv + static_cast<double>(dh) * dh;
      dxr[k] += w2 * (((v - up) - dv) + ((v - left) - dh));
    }
  }
  s = block_sum(s);
  if (threadIdx.x == 0) store_partial(partials, static_cast<size_t>(blockIdx.y) * gridDim.x + blockIdx.x, s);
}

// ---- launch shapes (from the shape alone: the partial order is fixed) ----------

int content_blocks(size_t n) {
  return static_cast<int>(std::min<size_t>(ceil_div<size_t>(n, kThreads), kMaxPartials));
}

dim3 style_diff_grid(int N, int C) {
  const int cc_blocks = ceil_div(C * C, kThreads);
  return dim3(std::min(cc_blocks, std::max(1, kMaxPartials / N)), N);
}

dim3 tv_grid(int N, int H, int W, int C) {
  const int rows = N * H;
  const int per_row = std::min(ceil_div(W * C, kThreads), kMaxPartials);
  return dim3(per_row, std::min(rows, std::max(1, kMaxPartials / per_row)));
}

size_t partial_floats(dim3 grid) { return reduce::partial_floats(static_cast<size_t>(grid.x) * grid.y * grid.z); }

void finish_loss(float* loss, const float* partials, dim3 grid, double weight, double divisor,
                 cudaStream_t stream) {
  NST_LAUNCH(finish_loss_kernel, 1, kThreads, 0, stream, loss, partials, static_cast<int>(grid.x * grid.y * grid.z),
             weight, divisor);
}

// Throws nst::InvalidArgument naming the op and the shape when a size is
// not positive (a zero-sized grid is a launch error on the device).
void require_positive(const char* op, std::initializer_list<std::pair<const char*, long long>> sizes) {
  bool ok = true;
  std::string shape;
  for (const auto& [name, value] : sizes) {
    ok = ok && value > 0;
    shape += (shape.empty() ? "" : " ") + std::string(name) + "=" + std::to_string(value);
  }
  if (!ok) throw nst::InvalidArgument(std::string("cuda::") + op + ": shape " + shape + " must be positive");
}

}  // namespace

// ---- kernel launchers -----------------------------------------------------------

size_t content_loss_workspace_floats(size_t n) { return partial_floats(dim3(content_blocks(n))); }

size_t style_loss_diff_workspace_floats(int N, int C) { return partial_floats(style_diff_grid(N, C)); }

size_t style_loss_workspace_floats(int N, int /*HW*/, int C) {
  return static_cast<size_t>(N) * C * C + style_loss_diff_workspace_floats(N, C);
}

size_t tv_loss_workspace_floats(int N, int H, int W, int C) { return partial_floats(tv_grid(N, H, W, C)); }

void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight, float* workspace,
                  cudaStream_t stream) {
  require_positive("content_loss", {{"n", static_cast<long long>(n)}});
  const dim3 grid(content_blocks(n));
  const float scale = 2.f * weight / static_cast<float>(n);
  NST_LAUNCH(content_loss_kernel, grid, kThreads, 0, stream, workspace, dF, F, P, n, scale);
  finish_loss(loss, workspace, grid, weight, static_cast<double>(n), stream);
}

void style_loss_diff(float* loss, float* D, const float* G, const float* A, int N, int C, float weight,
                     float* workspace, cudaStream_t stream) {
  require_positive("style_loss_diff", {{"N", N}, {"C", C}});
  const dim3 grid = style_diff_grid(N, C);
  NST_LAUNCH(style_diff_kernel, grid, kThreads, 0, stream, workspace, D, G, A, C * C);
  finish_loss(loss, workspace, grid, weight, static_cast<double>(N) * C * C, stream);
}

void style_gradient_product(float* dF, const float* F, const float* D, int N, int HW, int C, float scale,
                            cudaStream_t stream) {
  require_positive("style_gradient_product", {{"N", N}, {"HW", HW}, {"C", C}});
  const dim3 grid(ceil_div(HW, kTile), ceil_div(C, kTile), N);
  NST_LAUNCH(style_product_kernel, grid, kThreads, 0, stream, dF, F, D, HW, C, scale);
}

void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A, int N, int HW, int C,
                float weight, float* workspace, cudaStream_t stream) {
  require_positive("style_loss", {{"N", N}, {"HW", HW}, {"C", C}});
  float* D = workspace;
  style_loss_diff(loss, D, G, A, N, C, weight, workspace + static_cast<size_t>(N) * C * C, stream);
  style_gradient_product(dF, F, D, N, HW, C, style_gradient_scale(N, HW, C, weight), stream);
}

void tv_loss(float* loss, float* dx, const float* x, int N, int H, int W, int C, float weight, float* workspace,
             cudaStream_t stream) {
  require_positive("tv_loss", {{"N", N}, {"H", H}, {"W", W}, {"C", C}});
  const dim3 grid = tv_grid(N, H, W, C);
  NST_LAUNCH(tv_loss_kernel, grid, kThreads, 0, stream, workspace, dx, x, N * H, H, W, C, 2.f * weight);
  finish_loss(loss, workspace, grid, weight, 1.0, stream);
}

NST_CUDA_END
