// Windows of a map on the device: exact tiling's crops (copy_window) and
// scatter-adds of a tile's gradient (add_window), as nst::cpu's, bit for
// bit. A window is N*h rows of w*C contiguous floats inside rows of W*C;
// one grid-stride loop over the window's floats, each thread finding its
// row by one division. Memory-bound and a small part of a tiled evaluation
// (a few passes over the image per tile, against the whole network), so
// there is no float4 path: rows start at arbitrary float offsets.
#include <string>

#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

// The geometry both kernels index with.
struct WindowGeometry {
  size_t row;        // floats in one window row, w*C
  size_t map_row;    // floats in one map row, W*C
  size_t first;      // offset of the window's first float in image 0, (y*W + x)*C
  size_t image;      // floats in one map image, H*W*C
  size_t rows;       // window rows per image, h
};

// Map offset of the window's i-th float (window order: image, row, column, channel).
__device__ __forceinline__ size_t map_offset(size_t i, const WindowGeometry& g) {
  const size_t r = i / g.row, k = i - r * g.row;
  const size_t n = r / g.rows, rr = r - n * g.rows;
  return n * g.image + g.first + rr * g.map_row + k;
}

__global__ void copy_window_kernel(float* __restrict__ dst, const float* __restrict__ src, size_t n,
                                   WindowGeometry g) {
  const size_t stride = vec::grid_threads();
  for (size_t i = vec::global_thread(); i < n; i += stride) dst[i] = src[map_offset(i, g)];
}

__global__ void add_window_kernel(float* __restrict__ dst, const float* __restrict__ src, size_t n,
                                  WindowGeometry g) {
  const size_t stride = vec::grid_threads();
  for (size_t i = vec::global_thread(); i < n; i += stride) {
    const size_t o = map_offset(i, g);
    dst[o] = __fadd_rn(dst[o], src[i]);
  }
}

// The geometry of a checked window, and its float count in `floats`.
WindowGeometry geometry(const char* op, int N, int H, int W, int C, const Window& win, size_t* floats) {
  if (N < 0 || C < 0) {
    throw nst::InvalidArgument(std::string("cuda::") + op + ": negative shape (N,C) = (" + std::to_string(N) + "," +
                               std::to_string(C) + ")");
  }
  check_window(op, H, W, win);
  WindowGeometry g;
  g.row = static_cast<size_t>(win.w) * C;
  g.map_row = static_cast<size_t>(W) * C;
  g.first = (static_cast<size_t>(win.y) * W + win.x) * C;
  g.image = static_cast<size_t>(H) * W * C;
  g.rows = static_cast<size_t>(win.h);
  *floats = static_cast<size_t>(N) * win.h * g.row;
  return g;
}

}  // namespace

void copy_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win, cudaStream_t stream) {
  size_t n = 0;
  const WindowGeometry g = geometry("copy_window", N, H, W, C, win, &n);
  if (n == 0) return;
  NST_LAUNCH(copy_window_kernel, vec::grid_stride_blocks(n), vec::kThreads, 0, stream, dst, src, n, g);
}

void add_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win, cudaStream_t stream) {
  size_t n = 0;
  const WindowGeometry g = geometry("add_window", N, H, W, C, win, &n);
  if (n == 0) return;
  NST_LAUNCH(add_window_kernel, vec::grid_stride_blocks(n), vec::kThreads, 0, stream, dst, src, n, g);
}

NST_CUDA_END
