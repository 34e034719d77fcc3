// Windows of a map: the crops and scatter-adds of exact tiling
// (engine/tiling.hpp). Each row of a window is w*C contiguous floats, so a
// window is h row copies per image; the add is one float add per element,
// the same rounding as the CUDA kernel's, so tiled results agree bit for
// bit between the cpu backend and the custom kernels.
#include <cstring>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {

namespace {

// Below this many floats the rows are moved on the calling thread.
constexpr size_t kParallelMinFloats = size_t{1} << 16;

size_t row_floats(const Window& win, int C) { return static_cast<size_t>(win.w) * C; }

// Offset of the window's row r of image n in the (N,H,W,C) map.
size_t map_row(int n, int r, int H, int W, int C, const Window& win) {
  return ((static_cast<size_t>(n) * H + win.y + r) * W + win.x) * C;
}

// f(map, part, floats) for each window row: the row's offset in the map,
// its offset in the window's own (N,h,w,C) layout, and its length; rows in
// parallel when there are enough floats to share.
template <typename F>
void for_each_window_row(const char* op, int N, int H, int W, int C, const Window& win, F f) {
  check_window(op, H, W, win);
  const size_t row = row_floats(win, C);
  const int rows = N * win.h;
#pragma omp parallel for schedule(static) if (row * rows >= kParallelMinFloats)
  for (int i = 0; i < rows; ++i) f(map_row(i / win.h, i % win.h, H, W, C, win), static_cast<size_t>(i) * row, row);
}

}  // namespace

void copy_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win) {
  for_each_window_row("copy_window", N, H, W, C, win, [&](size_t map, size_t part, size_t n) {
    std::memcpy(dst + part, src + map, n * sizeof(float));
  });
}

void add_window(float* dst, const float* src, int N, int H, int W, int C, const Window& win) {
  for_each_window_row("add_window", N, H, W, C, win, [&](size_t map, size_t part, size_t n) {
    float* d = dst + map;
    const float* s = src + part;
#pragma omp simd
    for (size_t k = 0; k < n; ++k) d[k] += s[k];
  });
}

void add_window_reference(double* dst, const double* src, int N, int H, int W, int C, const Window& win) {
  for (int n = 0; n < N; ++n)
    for (int r = 0; r < win.h; ++r)
      for (int q = 0; q < win.w; ++q)
        for (int c = 0; c < C; ++c) {
          const size_t to = ((static_cast<size_t>(n) * H + win.y + r) * W + win.x + q) * C + c;
          const size_t from = ((static_cast<size_t>(n) * win.h + r) * win.w + q) * C + c;
          dst[to] += src[from];
        }
}

}  // namespace nst::cpu
