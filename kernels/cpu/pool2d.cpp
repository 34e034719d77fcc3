// 2x2 stride-2 pooling, NHWC, floor: an odd last row/column is dropped in
// forward and gets zero gradient in backward (as Keras' 'valid' pooling).
//
// Fast paths walk one output row at a time with four row pointers into the
// window's corners, channels innermost, so the inner loop is contiguous and
// vectorises. Backward writes every element of each window (the gradient
// or 0), so only the uncovered odd row/column needs a separate zero fill.
// The references are plain loops over (n, i, j, c) that index x directly.
#include <algorithm>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {
namespace {

// Start of input row h of image n in x (N,H,W,C).
inline size_t row_start(int n, int h, int H, int W, int C) {
  return (static_cast<size_t>(n) * H + h) * W * C;
}

// dx (N,H,W,C): zero the last row when H is odd and the last column when W
// is odd; no window covers them.
void zero_uncovered(float* dx, int N, int H, int W, int C) {
  const size_t row = static_cast<size_t>(W) * C;
  for (int n = 0; n < N; ++n) {
    if (H % 2) std::fill_n(dx + row_start(n, H - 1, H, W, C), row, 0.f);
    if (W % 2)
      for (int h = 0; h < H; ++h) std::fill_n(dx + row_start(n, h, H, W, C) + row - C, C, 0.f);
  }
}

}  // namespace

// y (N,H/2,W/2,C) from x (N,H,W,C).
void maxpool2x2_forward(float* y, const float* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i) {
      const float* r0 = x + row_start(n, 2 * i, H, W, C);
      const float* r1 = r0 + static_cast<size_t>(W) * C;
      float* out = y + row_start(n, i, Ho, Wo, C);
      for (int j = 0; j < Wo; ++j, r0 += 2 * C, r1 += 2 * C, out += C)
        for (int c = 0; c < C; ++c)
          out[c] = std::max(std::max(r0[c], r0[C + c]), std::max(r1[c], r1[C + c]));
    }
}

// dx (N,H,W,C) from dy (N,H/2,W/2,C) and the forward input x.
void maxpool2x2_backward(float* dx, const float* dy, const float* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i) {
      const size_t top = row_start(n, 2 * i, H, W, C), below = static_cast<size_t>(W) * C;
      const float *x0 = x + top, *x1 = x0 + below;
      float *d0 = dx + top, *d1 = d0 + below;
      const float* g = dy + row_start(n, i, Ho, Wo, C);
      for (int j = 0; j < Wo; ++j, x0 += 2 * C, x1 += 2 * C, d0 += 2 * C, d1 += 2 * C, g += C)
        // omp simd: dx never overlaps x or dy, which GCC cannot prove here.
#pragma omp simd
        for (int c = 0; c < C; ++c) {
          // The first element equal to the window's maximum takes the
          // gradient (the earliest wins ties). Written as selects rather
          // than an argmax with branches, so the loop vectorises: random
          // data makes those branches unpredictable. With a NaN in the
          // window the routing is unspecified.
          const float a = x0[c], b = x0[C + c], e = x1[c], f = x1[C + c];
          const float m = std::max(std::max(a, b), std::max(e, f));
          const bool ta = a == m, tb = (b == m) & !ta, te = (e == m) & !ta & !tb, tf = !ta & !tb & !te;
          const float gc = g[c];
          d0[c] = ta ? gc : 0.f;
          d0[C + c] = tb ? gc : 0.f;
          d1[c] = te ? gc : 0.f;
          d1[C + c] = tf ? gc : 0.f;
        }
    }
  zero_uncovered(dx, N, H, W, C);
}

void avgpool2x2_forward(float* y, const float* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i) {
      const float* r0 = x + row_start(n, 2 * i, H, W, C);
      const float* r1 = r0 + static_cast<size_t>(W) * C;
      float* out = y + row_start(n, i, Ho, Wo, C);
      for (int j = 0; j < Wo; ++j, r0 += 2 * C, r1 += 2 * C, out += C)
        for (int c = 0; c < C; ++c) out[c] = 0.25f * ((r0[c] + r0[C + c]) + (r1[c] + r1[C + c]));
    }
}

void avgpool2x2_backward(float* dx, const float* dy, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i) {
      float* d0 = dx + row_start(n, 2 * i, H, W, C);
      float* d1 = d0 + static_cast<size_t>(W) * C;
      const float* g = dy + row_start(n, i, Ho, Wo, C);
      for (int j = 0; j < Wo; ++j, d0 += 2 * C, d1 += 2 * C, g += C)
        for (int c = 0; c < C; ++c) d0[c] = d0[C + c] = d1[c] = d1[C + c] = 0.25f * g[c];
    }
  zero_uncovered(dx, N, H, W, C);
}

// ---- references: one output element at a time, straight from the spec ----

namespace {
// Index of (n,h,w,c) in a (N,H,W,C) tensor.
size_t at(int n, int h, int w, int c, int H, int W, int C) {
  return ((static_cast<size_t>(n) * H + h) * W + w) * C + c;
}
}  // namespace

void maxpool2x2_forward_reference(double* y, const double* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c) {
          double m = x[at(n, 2 * i, 2 * j, c, H, W, C)];
          for (int dh = 0; dh < 2; ++dh)
            for (int dw = 0; dw < 2; ++dw) m = std::max(m, x[at(n, 2 * i + dh, 2 * j + dw, c, H, W, C)]);
          y[at(n, i, j, c, Ho, Wo, C)] = m;
        }
}

void maxpool2x2_backward_reference(double* dx, const double* dy, const double* x, int N, int H, int W,
                                   int C) {
  std::fill_n(dx, static_cast<size_t>(N) * H * W * C, 0.0);
  const int Ho = H / 2, Wo = W / 2;
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c) {
          // First maximum in row-major window order gets the gradient.
          size_t best = at(n, 2 * i, 2 * j, c, H, W, C);
          for (int dh = 0; dh < 2; ++dh)
            for (int dw = 0; dw < 2; ++dw) {
              const size_t k = at(n, 2 * i + dh, 2 * j + dw, c, H, W, C);
              if (x[k] > x[best]) best = k;
            }
          dx[best] += dy[at(n, i, j, c, Ho, Wo, C)];
        }
}

void avgpool2x2_forward_reference(double* y, const double* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c) {
          double s = 0;
          for (int dh = 0; dh < 2; ++dh)
            for (int dw = 0; dw < 2; ++dw) s += x[at(n, 2 * i + dh, 2 * j + dw, c, H, W, C)];
          y[at(n, i, j, c, Ho, Wo, C)] = s / 4;
        }
}

void avgpool2x2_backward_reference(double* dx, const double* dy, int N, int H, int W, int C) {
  std::fill_n(dx, static_cast<size_t>(N) * H * W * C, 0.0);
  const int Ho = H / 2, Wo = W / 2;
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c)
          for (int dh = 0; dh < 2; ++dh)
            for (int dw = 0; dw < 2; ++dw)
              dx[at(n, 2 * i + dh, 2 * j + dw, c, H, W, C)] += dy[at(n, i, j, c, Ho, Wo, C)] / 4;
}

}  // namespace nst::cpu
