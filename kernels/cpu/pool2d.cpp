// 2x2 stride-2 pooling, NHWC, floor: an odd last row/column is dropped in
// forward and gets zero gradient in backward (as Keras' 'valid' pooling).
#include <algorithm>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {
namespace {

// The four inputs of output (n, i, j, c), in row-major window order.
template <typename T>
struct Window {
  size_t idx[4];
  Window(int n, int i, int j, int c, int H, int W, int C) {
    const size_t top = ((static_cast<size_t>(n) * H + 2 * i) * W + 2 * j) * C + c;
    idx[0] = top;
    idx[1] = top + C;
    idx[2] = top + static_cast<size_t>(W) * C;
    idx[3] = idx[2] + C;
  }
  // Index of the first maximum: ties go to the earliest element.
  size_t argmax(const T* x) const {
    size_t best = idx[0];
    for (int k = 1; k < 4; ++k)
      if (x[idx[k]] > x[best]) best = idx[k];
    return best;
  }
};

template <typename T>
void max_forward(T* y, const T* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c)
          y[((static_cast<size_t>(n) * Ho + i) * Wo + j) * C + c] = x[Window<T>(n, i, j, c, H, W, C).argmax(x)];
}

template <typename T>
void max_backward(T* dx, const T* dy, const T* x, int N, int H, int W, int C) {
  std::fill(dx, dx + static_cast<size_t>(N) * H * W * C, T(0));
  const int Ho = H / 2, Wo = W / 2;
  // Windows do not overlap, so each dx element has at most one writer.
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c)
          dx[Window<T>(n, i, j, c, H, W, C).argmax(x)] = dy[((static_cast<size_t>(n) * Ho + i) * Wo + j) * C + c];
}

template <typename T>
void avg_forward(T* y, const T* x, int N, int H, int W, int C) {
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c) {
          const Window<T> win(n, i, j, c, H, W, C);
          y[((static_cast<size_t>(n) * Ho + i) * Wo + j) * C + c] =
              T(0.25) * (x[win.idx[0]] + x[win.idx[1]] + x[win.idx[2]] + x[win.idx[3]]);
        }
}

template <typename T>
void avg_backward(T* dx, const T* dy, int N, int H, int W, int C) {
  std::fill(dx, dx + static_cast<size_t>(N) * H * W * C, T(0));
  const int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j)
        for (int c = 0; c < C; ++c) {
          const Window<T> win(n, i, j, c, H, W, C);
          const T g = T(0.25) * dy[((static_cast<size_t>(n) * Ho + i) * Wo + j) * C + c];
          for (size_t k : win.idx) dx[k] = g;
        }
}

}  // namespace

void maxpool2x2_forward(float* y, const float* x, int N, int H, int W, int C) { max_forward(y, x, N, H, W, C); }
void maxpool2x2_backward(float* dx, const float* dy, const float* x, int N, int H, int W, int C) {
  max_backward(dx, dy, x, N, H, W, C);
}
void avgpool2x2_forward(float* y, const float* x, int N, int H, int W, int C) { avg_forward(y, x, N, H, W, C); }
void avgpool2x2_backward(float* dx, const float* dy, int N, int H, int W, int C) { avg_backward(dx, dy, N, H, W, C); }

// The references share the window logic above but run in float64 and
// single-threaded; the tests check both against finite differences.
void maxpool2x2_forward_reference(double* y, const double* x, int N, int H, int W, int C) {
  max_forward(y, x, N, H, W, C);
}
void maxpool2x2_backward_reference(double* dx, const double* dy, const double* x, int N, int H, int W, int C) {
  max_backward(dx, dy, x, N, H, W, C);
}
void avgpool2x2_forward_reference(double* y, const double* x, int N, int H, int W, int C) {
  avg_forward(y, x, N, H, W, C);
}
void avgpool2x2_backward_reference(double* dx, const double* dy, int N, int H, int W, int C) {
  avg_backward(dx, dy, N, H, W, C);
}

}  // namespace nst::cpu
