// conv2d 3x3, stride 1, zero padding 1, NHWC, HWIO kernels.
//
// Fast path: im2col over a band of output rows, then one GEMM
//   (rows*W, 9*Cin) x (9*Cin, Cout)
// The HWIO kernel is already that (9*Cin, Cout) matrix because an im2col
// row is ordered (kh, kw, cin). Bands keep the im2col buffer bounded
// (kMaxColumnFloats) however large the image.
// dgrad is the same convolution of dy with the kernel flipped in space and
// transposed (ci <-> co): dx[h,w,ci] = sum dy[h+1-kh, w+1-kw, co] w[kh,kw,ci,co].
// That reuses the fprop path (im2col + GEMM) on a rearranged kernel: the
// engine rearranges each frozen kernel once (conv2d_dgrad_weights) and
// calls conv2d_dgrad_prepared; conv2d_dgrad does both per call. We chose
// it over GEMM + col2im because col2im is a scatter-add where each dx
// element receives 9 overlapping contributions: parallel col2im needs
// atomics or a colouring of the taps, and the GEMM's (rows*W, 9*Cin)
// output needs a buffer as large as im2col's, so it saves no memory.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {
namespace {

// 16 MB of im2col per band: 14 rows of a 512-wide, 64-channel image. The
// multi-band tests (test_conv2d.cpp) pick 67x61x128, 4.7M floats, to
// exceed it; they assert that they do.
constexpr size_t kMaxColumnFloats = size_t(4) << 20;

int band_rows(int H, int W, int Cin) {
  const size_t row = static_cast<size_t>(W) * 9 * Cin;
  return static_cast<int>(std::clamp<size_t>(kMaxColumnFloats / row, 1, H));
}

// col (rows*W, 9*Cin) for output rows [h0, h0+rows) of image x (H,W,Cin).
void im2col_band(float* col, const float* x, int H, int W, int Cin, int h0, int rows) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int h = h0 + r;
    for (int w = 0; w < W; ++w) {
      float* dst = col + (static_cast<size_t>(r) * W + w) * 9 * Cin;
      for (int kh = 0; kh < 3; ++kh) {
        const int ih = h + kh - 1;
        for (int kw = 0; kw < 3; ++kw, dst += Cin) {
          const int iw = w + kw - 1;
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
            std::memset(dst, 0, sizeof(float) * Cin);
          } else {
            std::memcpy(dst, x + (static_cast<size_t>(ih) * W + iw) * Cin, sizeof(float) * Cin);
          }
        }
      }
    }
  }
}

// y = conv(x, w) (+ bias, ReLU) for one image, banded.
void conv_image(float* y, const float* x, const float* w, const float* b, int H, int W, int Cin, int Cout,
                bool relu, float* col) {
  const int rows = band_rows(H, W, Cin);
  for (int h0 = 0; h0 < H; h0 += rows) {
    const int n = std::min(rows, H - h0);
    im2col_band(col, x, H, W, Cin, h0, n);
    float* out = y + static_cast<size_t>(h0) * W * Cout;
    const int M = n * W, K = 9 * Cin;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, Cout, K, 1.f, col, K, w, Cout, 0.f, out, Cout);
    if (!b && !relu) continue;
#pragma omp parallel for schedule(static)
    for (int m = 0; m < M; ++m) {
      float* o = out + static_cast<size_t>(m) * Cout;
      for (int c = 0; c < Cout; ++c) {
        const float v = o[c] + (b ? b[c] : 0.f);
        o[c] = relu && v < 0.f ? 0.f : v;
      }
    }
  }
}

}  // namespace

size_t conv2d_workspace_floats(int /*N*/, int H, int W, int Cin, int Cout) {
  // The larger of the fprop and dgrad column bands, plus the rearranged
  // kernel for dgrad.
  const size_t fprop = static_cast<size_t>(band_rows(H, W, Cin)) * W * 9 * Cin;
  const size_t dgrad = static_cast<size_t>(band_rows(H, W, Cout)) * W * 9 * Cout;
  return std::max(fprop, dgrad) + static_cast<size_t>(9) * Cin * Cout;
}

void conv2d_fprop(float* y, const float* x, const float* w, const float* b, int N, int H, int W, int Cin,
                  int Cout, bool relu, float* workspace) {
  for (int n = 0; n < N; ++n) {
    conv_image(y + static_cast<size_t>(n) * H * W * Cout, x + static_cast<size_t>(n) * H * W * Cin, w, b, H, W,
               Cin, Cout, relu, workspace);
  }
}

void conv2d_dgrad_weights(float* wt, const float* w, int Cin, int Cout) {
  // wt (3,3,Cout,Cin): wt[kh,kw,co,ci] = w[2-kh,2-kw,ci,co]
#pragma omp parallel for collapse(2) schedule(static)
  for (int k = 0; k < 9; ++k)
    for (int co = 0; co < Cout; ++co) {
      const float* src = w + static_cast<size_t>(8 - k) * Cin * Cout + co;
      float* dst = wt + (static_cast<size_t>(k) * Cout + co) * Cin;
      for (int ci = 0; ci < Cin; ++ci) dst[ci] = src[static_cast<size_t>(ci) * Cout];
    }
}

void conv2d_dgrad_prepared(float* dx, const float* dy, const float* wt, int N, int H, int W, int Cin, int Cout,
                           float* workspace) {
  for (int n = 0; n < N; ++n) {
    conv_image(dx + static_cast<size_t>(n) * H * W * Cin, dy + static_cast<size_t>(n) * H * W * Cout, wt, nullptr,
               H, W, Cout, Cin, false, workspace);
  }
}

void conv2d_dgrad(float* dx, const float* dy, const float* w, int N, int H, int W, int Cin, int Cout,
                  float* workspace) {
  float* wt = workspace;
  conv2d_dgrad_weights(wt, w, Cin, Cout);
  conv2d_dgrad_prepared(dx, dy, wt, N, H, W, Cin, Cout, workspace + static_cast<size_t>(9) * Cin * Cout);
}

void conv2d_fprop_reference(double* y, const double* x, const double* w, const double* b, int N, int H, int W,
                            int Cin, int Cout, bool relu) {
  for (int n = 0; n < N; ++n)
    for (int h = 0; h < H; ++h)
      for (int wo = 0; wo < W; ++wo)
        for (int co = 0; co < Cout; ++co) {
          double acc = b ? b[co] : 0.0;
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 3; ++kw) {
              const int ih = h + kh - 1, iw = wo + kw - 1;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int ci = 0; ci < Cin; ++ci)
                acc += x[((static_cast<size_t>(n) * H + ih) * W + iw) * Cin + ci] *
                       w[((static_cast<size_t>(kh) * 3 + kw) * Cin + ci) * Cout + co];
            }
          y[((static_cast<size_t>(n) * H + h) * W + wo) * Cout + co] = relu && acc < 0 ? 0.0 : acc;
        }
}

void conv2d_dgrad_reference(double* dx, const double* dy, const double* w, int N, int H, int W, int Cin,
                            int Cout) {
  std::fill(dx, dx + static_cast<size_t>(N) * H * W * Cin, 0.0);
  // Scatter form, the transpose of the forward loop: independent of the
  // flipped-kernel trick the fast path uses.
  for (int n = 0; n < N; ++n)
    for (int h = 0; h < H; ++h)
      for (int wo = 0; wo < W; ++wo)
        for (int co = 0; co < Cout; ++co) {
          const double g = dy[((static_cast<size_t>(n) * H + h) * W + wo) * Cout + co];
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 3; ++kw) {
              const int ih = h + kh - 1, iw = wo + kw - 1;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int ci = 0; ci < Cin; ++ci)
                dx[((static_cast<size_t>(n) * H + ih) * W + iw) * Cin + ci] +=
                    g * w[((static_cast<size_t>(kh) * 3 + kw) * Cin + ci) * Cout + co];
            }
        }
}

}  // namespace nst::cpu
