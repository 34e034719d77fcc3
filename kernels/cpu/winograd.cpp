// conv2d 3x3 (stride 1, zero padding 1, NHWC) by Winograd's minimal
// filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016), forward and backward-data.
//
// Each 4x4 block of outputs is computed from a 6x6 block of inputs as
//   Y = A^T [ sum_ci (G g G^T) (.) (B^T d B) ] A
// where (.) is elementwise over the 36 transform points. For a block of TB
// tiles, the sum over ci is 36 independent GEMMs
//   M_k (TB, Cout) = V_k (TB, Cin) x U_k (Cin, Cout),   k = 0..35,
// 2.25x fewer multiplications than direct convolution (36 per 16 outputs
// instead of 144). The price is accuracy: the transforms use the points
// 0, +-1, +-2, oo, whose coefficients (up to 8 in A^T, 1/24 in G) amplify
// rounding; tests/kernels/test_winograd.cpp states the measured error
// against the float64 reference beside the GEMM path's.
//
// Layout and threading. U (36, Cin, Cout) is made once per frozen kernel,
// in float64 and rounded once. The tiles of all images are cut into blocks
// of TB; each OpenMP thread takes whole blocks and keeps the block's V
// (36, TB, Cin) and M (36, TB, Cout) in its own slice of the workspace,
// sized to stay in the core's L2 (kBlockFloats): input transform, 36
// single-threaded SGEMMs (OpenBLAS runs single-threaded inside a parallel
// region), output transform. Bias and ReLU are applied in the output
// transform; for backward-data the ReLU mask of the layer's output is
// applied as dy is read by the input transform.
//
// Backward-data: dx = conv(dy, w'), with w' the kernel flipped in space
// and transposed (ci <-> co), as in conv2d.cpp; U is made from w'.
//
// The transforms work on 16 channels at a time (one AVX-512 register);
// they are compiled for AVX-512, AVX2 and the baseline and picked at run
// time (NST_CPU_DISPATCH_WIDE), without contraction into fma, so every
// clone does the same float operations in the same order and gives the same
// bits (by construction; a test run exercises only the clone of its CPU).
#include <omp.h>
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/dispatch.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst::cpu {
namespace {

constexpr int kOut = 4;      // outputs per tile side
constexpr int kIn = 6;       // inputs per tile side (kOut + 2)
constexpr int kPoints = 36;  // kIn * kIn transform points
constexpr int kLanes = 16;   // channels per transform pass

// V and M of one block, per thread: 2 MB, half the L2 of the machines we
// measured on (bench/RESULTS.md, "Winograd"); TB is clamped so the GEMMs
// keep enough rows to run near peak (M = TB) and tiny layers one block.
constexpr size_t kBlockFloats = size_t(512) << 10;
constexpr int kMinTilesPerBlock = 16, kMaxTilesPerBlock = 256;

int tiles_across(int n) { return (n + kOut - 1) / kOut; }

int tiles_per_block(int Cin, int Cout) {
  const size_t per_tile = static_cast<size_t>(kPoints) * (Cin + Cout);
  const size_t tb = kBlockFloats / per_tile;
  return static_cast<int>(std::clamp<size_t>(tb, kMinTilesPerBlock, kMaxTilesPerBlock));
}

size_t slice_floats(int tb, int Cin, int Cout) { return static_cast<size_t>(kPoints) * tb * (Cin + Cout); }

// ---- the 1-D transforms on kLanes channels ------------------------------------
// in[r] and out[i] point at n <= kLanes floats each.

// B^T: 6 inputs -> 6 transform points.
inline void input_1d(float* const out[kIn], const float* const in[kIn], int n) {
#pragma omp simd
  for (int c = 0; c < n; ++c) {
    const float d0 = in[0][c], d1 = in[1][c], d2 = in[2][c], d3 = in[3][c], d4 = in[4][c], d5 = in[5][c];
    out[0][c] = 4.f * d0 - 5.f * d2 + d4;
    out[1][c] = -4.f * d1 - 4.f * d2 + d3 + d4;
    out[2][c] = 4.f * d1 - 4.f * d2 - d3 + d4;
    out[3][c] = -2.f * d1 - d2 + 2.f * d3 + d4;
    out[4][c] = 2.f * d1 - d2 - 2.f * d3 + d4;
    out[5][c] = 4.f * d1 - 5.f * d3 + d5;
  }
}

// A^T: 6 transform points -> 4 outputs.
inline void output_1d(float* const out[kOut], const float* const in[kIn], int n) {
#pragma omp simd
  for (int c = 0; c < n; ++c) {
    const float m0 = in[0][c], m1 = in[1][c], m2 = in[2][c], m3 = in[3][c], m4 = in[4][c], m5 = in[5][c];
    const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    out[0][c] = m0 + s12 + s34;
    out[1][c] = d12 + 2.f * d34;
    out[2][c] = s12 + 4.f * s34;
    out[3][c] = d12 + 8.f * d34 + m5;
  }
}

// G: 3 taps -> 6 transform points, in float64.
void kernel_1d(double out[kIn], const double g[3]) {
  out[0] = g[0] / 4;
  out[1] = -(g[0] + g[1] + g[2]) / 6;
  out[2] = -(g[0] - g[1] + g[2]) / 6;
  out[3] = g[0] / 24 + g[1] / 12 + g[2] / 6;
  out[4] = g[0] / 24 - g[1] / 12 + g[2] / 6;
  out[5] = g[2];
}

// ---- one tile ---------------------------------------------------------------------
// Where a tile's data sit: image plane (H, W, C) and the tile's top-left
// output pixel.
struct TilePlace {
  int h0, w0;
};

// V[k, b, :] (b-th tile of the block, k = 6i + j) = B^T d B for the 6x6
// input window at (h0-1, w0-1) of x (H, W, C), zero outside; with `mask`
// (H, W, C), d = mask > 0 ? x : 0.
NST_CPU_DISPATCH_WIDE
void transform_input_tile(float* V, int tb, int b, const float* x, const float* mask, int H, int W, int C,
                          TilePlace at) {
  alignas(64) float d[kIn][kIn][kLanes];
  alignas(64) float t[kIn][kIn][kLanes];
  for (int c0 = 0; c0 < C; c0 += kLanes) {
    const int n = std::min(kLanes, C - c0);
    for (int r = 0; r < kIn; ++r) {
      const int ih = at.h0 - 1 + r;
      for (int s = 0; s < kIn; ++s) {
        const int iw = at.w0 - 1 + s;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
          std::fill(d[r][s], d[r][s] + kLanes, 0.f);
          continue;
        }
        const size_t offset = (static_cast<size_t>(ih) * W + iw) * C + c0;
        const float* src = x + offset;
        if (mask) {
          const float* keep = mask + offset;
#pragma omp simd
          for (int c = 0; c < n; ++c) d[r][s][c] = keep[c] > 0.f ? src[c] : 0.f;
        } else {
          std::memcpy(d[r][s], src, sizeof(float) * n);
        }
      }
    }
    for (int s = 0; s < kIn; ++s) {  // columns: t = B^T d
      const float* in[kIn] = {d[0][s], d[1][s], d[2][s], d[3][s], d[4][s], d[5][s]};
      float* out[kIn] = {t[0][s], t[1][s], t[2][s], t[3][s], t[4][s], t[5][s]};
      input_1d(out, in, n);
    }
    for (int i = 0; i < kIn; ++i) {  // rows: V = t B
      const float* in[kIn] = {t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5]};
      float* out[kIn];
      for (int j = 0; j < kIn; ++j) out[j] = V + ((static_cast<size_t>(i) * kIn + j) * tb + b) * C + c0;
      input_1d(out, in, n);
    }
  }
}

// y's 4x4 block at (h0, w0) of (H, W, C), cropped to the image, from
// M[k, b, :]: A^T m A, plus bias, then ReLU.
NST_CPU_DISPATCH_WIDE
void transform_output_tile(float* y, const float* M, int tb, int b, const float* bias, bool relu, int H, int W,
                           int C, TilePlace at) {
  alignas(64) float t[kOut][kIn][kLanes];
  alignas(64) float o[kOut][kOut][kLanes];
  const int rows = std::min(kOut, H - at.h0), cols = std::min(kOut, W - at.w0);
  for (int c0 = 0; c0 < C; c0 += kLanes) {
    const int n = std::min(kLanes, C - c0);
    for (int j = 0; j < kIn; ++j) {  // columns: t = A^T m
      const float* in[kIn];
      for (int i = 0; i < kIn; ++i) in[i] = M + ((static_cast<size_t>(i) * kIn + j) * tb + b) * C + c0;
      float* out[kOut] = {t[0][j], t[1][j], t[2][j], t[3][j]};
      output_1d(out, in, n);
    }
    for (int i = 0; i < kOut; ++i) {  // rows: o = t A
      const float* in[kIn] = {t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5]};
      float* out[kOut] = {o[i][0], o[i][1], o[i][2], o[i][3]};
      output_1d(out, in, n);
    }
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        float* dst = y + (static_cast<size_t>(at.h0 + i) * W + at.w0 + j) * C + c0;
#pragma omp simd
        for (int c = 0; c < n; ++c) {
          const float v = bias ? o[i][j][c] + bias[c0 + c] : o[i][j][c];
          dst[c] = relu && v < 0.f ? 0.f : v;
        }
      }
  }
}

// ---- the whole convolution --------------------------------------------------------
struct Conv {
  int N, H, W, Cin, Cout;
};

// y (N, H, W, Cout) from x (N, H, W, Cin) and U (36, Cin, Cout); `mask`
// (like x) or null; bias (Cout) or null.
void winograd_conv(float* y, const float* x, const float* mask, const float* U, const float* bias, bool relu,
                   const Conv& s, float* workspace, size_t workspace_floats) {
  const int th = tiles_across(s.H), tw = tiles_across(s.W);
  const long long tiles_per_image = static_cast<long long>(th) * tw;
  const int tb = tiles_per_block(s.Cin, s.Cout);
  const long long blocks_per_image = (tiles_per_image + tb - 1) / tb;
  const long long blocks = blocks_per_image * s.N;
  const size_t slice = slice_floats(tb, s.Cin, s.Cout);
  const int slices = static_cast<int>(std::min<size_t>(workspace_floats / slice, omp_get_max_threads()));
  const int threads = static_cast<int>(std::clamp<long long>(blocks, 1, std::max(slices, 1)));
  const size_t in_plane = static_cast<size_t>(s.H) * s.W * s.Cin, out_plane = static_cast<size_t>(s.H) * s.W * s.Cout;

#pragma omp parallel num_threads(threads)
  {
    float* V = workspace + slice * omp_get_thread_num();
    float* M = V + static_cast<size_t>(kPoints) * tb * s.Cin;
#pragma omp for schedule(dynamic)
    for (long long blk = 0; blk < blocks; ++blk) {
      const int n = static_cast<int>(blk / blocks_per_image);
      const long long first = (blk % blocks_per_image) * tb;
      const int count = static_cast<int>(std::min<long long>(tb, tiles_per_image - first));
      const float* xn = x + n * in_plane;
      const float* mn = mask ? mask + n * in_plane : nullptr;
      for (int b = 0; b < count; ++b) {
        const long long t = first + b;
        transform_input_tile(V, tb, b, xn, mn, s.H, s.W, s.Cin,
                             {static_cast<int>(t / tw) * kOut, static_cast<int>(t % tw) * kOut});
      }
      for (int k = 0; k < kPoints; ++k) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, s.Cout, s.Cin, 1.f,
                    V + static_cast<size_t>(k) * tb * s.Cin, s.Cin, U + static_cast<size_t>(k) * s.Cin * s.Cout,
                    s.Cout, 0.f, M + static_cast<size_t>(k) * tb * s.Cout, s.Cout);
      }
      float* yn = y + n * out_plane;
      for (int b = 0; b < count; ++b) {
        const long long t = first + b;
        transform_output_tile(yn, M, tb, b, bias, relu, s.H, s.W, s.Cout,
                              {static_cast<int>(t / tw) * kOut, static_cast<int>(t % tw) * kOut});
      }
    }
  }
}

// U (36, Cin, Cout) = G g G^T for each (ci, co), g[kh][kw] = tap(kh, kw, ci, co).
template <typename Tap>
void transform_kernel(float* U, int Cin, int Cout, Tap tap) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int ci = 0; ci < Cin; ++ci)
    for (int co = 0; co < Cout; ++co) {
      double rows[3][kIn];  // G g, one column of g at a time: rows[kw][i]
      for (int kw = 0; kw < 3; ++kw) {
        const double g[3] = {tap(0, kw, ci, co), tap(1, kw, ci, co), tap(2, kw, ci, co)};
        kernel_1d(rows[kw], g);
      }
      for (int i = 0; i < kIn; ++i) {
        const double g[3] = {rows[0][i], rows[1][i], rows[2][i]};
        double u[kIn];
        kernel_1d(u, g);
        for (int j = 0; j < kIn; ++j)
          U[(static_cast<size_t>(i) * kIn + j) * Cin * Cout + static_cast<size_t>(ci) * Cout + co] =
              static_cast<float>(u[j]);
      }
    }
}

}  // namespace

size_t winograd_kernel_floats(int Cin, int Cout) { return static_cast<size_t>(kPoints) * Cin * Cout; }

void winograd_fprop_kernel(float* U, const float* w, int Cin, int Cout) {
  transform_kernel(U, Cin, Cout, [&](int kh, int kw, int ci, int co) {
    return static_cast<double>(w[((static_cast<size_t>(kh) * 3 + kw) * Cin + ci) * Cout + co]);
  });
}

void winograd_dgrad_kernel(float* U, const float* w, int Cin, int Cout) {
  // The dgrad convolution maps Cout channels to Cin with w'[kh,kw,co,ci] =
  // w[2-kh,2-kw,ci,co].
  transform_kernel(U, Cout, Cin, [&](int kh, int kw, int co, int ci) {
    return static_cast<double>(w[((static_cast<size_t>(2 - kh) * 3 + (2 - kw)) * Cin + ci) * Cout + co]);
  });
}

size_t winograd_workspace_floats(int Cin, int Cout, int threads) {
  // fprop (Cin -> Cout) and dgrad (Cout -> Cin) use the same slice size.
  return slice_floats(tiles_per_block(Cin, Cout), Cin, Cout) * static_cast<size_t>(std::max(threads, 1));
}

void winograd_fprop(float* y, const float* x, const float* U, const float* b, int N, int H, int W, int Cin,
                    int Cout, bool relu, float* workspace, size_t workspace_floats) {
  winograd_conv(y, x, nullptr, U, b, relu, {N, H, W, Cin, Cout}, workspace, workspace_floats);
}

void winograd_dgrad(float* dx, const float* dy, const float* relu_y, const float* U, int N, int H, int W, int Cin,
                    int Cout, float* workspace, size_t workspace_floats) {
  winograd_conv(dx, dy, relu_y, U, nullptr, false, {N, H, W, Cout, Cin}, workspace, workspace_floats);
}

}  // namespace nst::cpu
