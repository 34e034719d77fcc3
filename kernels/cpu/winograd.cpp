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
// of TB; when there are enough blocks, each OpenMP thread takes whole
// blocks and keeps the block's V (36, TB, Cin) and M (36, TB, Cout) in its
// own slice of the workspace, sized to stay in the core's L2
// (kBlockFloats): input transform, 36 single-threaded SGEMMs (OpenBLAS runs
// single-threaded inside a parallel region), output transform. With few
// blocks the threads share each block instead. Bias and ReLU are applied in the output
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

// V and M of one block, per thread: 2 MB, the L2 of one core of the Xeon
// VM this was measured on, but at least 128 tiles: each of a block's 36
// GEMMs packs its U_k (Cin x Cout) again, and with fewer rows (M = TB) that
// packing dominated (perf: 21 % of a 256 px iteration in OpenBLAS's
// sgemm_itcopy at 16 tiles per block). Measured (bench_ops, 256 px VGG
// shapes), minimum 16 / 64 / 128 / 256 tiles: 512 -> 512 at 32x32 10.7 /
// 7.7 / 7.6 / 8.5 ms forward, 64 -> 64 at 256x256 12.7 / 12.6 / 12.9 /
// 16.4 ms; blocks of 4 and 8 MB were no better. Tuned on that machine only. TB does
// not depend on the thread count, and so neither do the bits.
constexpr size_t kBlockFloats = size_t(512) << 10;
constexpr int kMinTilesPerBlock = 128, kMaxTilesPerBlock = 256;

int tiles_across(int n) { return (n + kOut - 1) / kOut; }

int tiles_per_block(int Cin, int Cout) {
  const size_t per_tile = static_cast<size_t>(kPoints) * (Cin + Cout);
  const size_t tb = kBlockFloats / per_tile;
  return static_cast<int>(std::clamp<size_t>(tb, kMinTilesPerBlock, kMaxTilesPerBlock));
}

size_t slice_floats(int tb, int Cin, int Cout) { return static_cast<size_t>(kPoints) * tb * (Cin + Cout); }

// Inlined into each ISA's clone of the tile transforms (a call would run
// the baseline code).
#define NST_WINOGRAD_INLINE inline __attribute__((always_inline))

// ---- the 1-D transforms on kLanes channels ------------------------------------
// in[r] and out[i] point at n <= kLanes floats each.

// B^T: 6 inputs -> 6 transform points.
NST_WINOGRAD_INLINE void input_1d(float* const out[kIn], const float* const in[kIn], int n) {
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
NST_WINOGRAD_INLINE void output_1d(float* const out[kOut], const float* const in[kIn], int n) {
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

// Each tile is transformed 16 channels at a time; a full chunk has the
// width as a constant (kFull), so that its loops are whole vectors with no
// remainder, and only a layer whose channels are not a multiple of 16 (VGG's
// first) runs the general form on its last chunk.
template <bool kFull>
NST_WINOGRAD_INLINE void input_chunk(float* V, int tb, int b, const float* x, const float* mask, int H, int W,
                                     int C, TilePlace at, int c0) {
  const int n = kFull ? kLanes : std::min(kLanes, C - c0);
  alignas(64) float d[kIn][kIn][kLanes];
  alignas(64) float t[kIn][kIn][kLanes];
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

template <bool kFull>
NST_WINOGRAD_INLINE void output_chunk(float* y, const float* M, int tb, int b, const float* bias, bool relu, int H,
                                      int W, int C, TilePlace at, int c0) {
  const int n = kFull ? kLanes : std::min(kLanes, C - c0);
  alignas(64) float t[kOut][kIn][kLanes];
  alignas(64) float o[kOut][kOut][kLanes];
  const int rows = std::min(kOut, H - at.h0), cols = std::min(kOut, W - at.w0);
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

// V[k, b, :] (b-th tile of the block, k = 6i + j) = B^T d B for the 6x6
// input window at (h0-1, w0-1) of x (H, W, C), zero outside; with `mask`
// (H, W, C), d = mask > 0 ? x : 0.
NST_CPU_DISPATCH_WIDE
void transform_input_tile(float* V, int tb, int b, const float* x, const float* mask, int H, int W, int C,
                          TilePlace at) {
  int c0 = 0;
  for (; c0 + kLanes <= C; c0 += kLanes) input_chunk<true>(V, tb, b, x, mask, H, W, C, at, c0);
  if (c0 < C) input_chunk<false>(V, tb, b, x, mask, H, W, C, at, c0);
}

// y's 4x4 block at (h0, w0) of (H, W, C), cropped to the image, from
// M[k, b, :]: A^T m A, plus bias, then ReLU.
NST_CPU_DISPATCH_WIDE
void transform_output_tile(float* y, const float* M, int tb, int b, const float* bias, bool relu, int H, int W,
                           int C, TilePlace at) {
  int c0 = 0;
  for (; c0 + kLanes <= C; c0 += kLanes) output_chunk<true>(y, M, tb, b, bias, relu, H, W, C, at, c0);
  if (c0 < C) output_chunk<false>(y, M, tb, b, bias, relu, H, W, C, at, c0);
}

// ---- the whole convolution --------------------------------------------------------
struct Conv {
  int N, H, W, Cin, Cout;
};

// One call's tiles, cut into blocks of tb (a block never spans two images),
// and the three steps on one block. Each step's work on a tile or a
// transform point is the same whichever thread does it, so the schedules
// below give the same bits.
class Blocks {
 public:
  Blocks(const Conv& s, const float* x, const float* mask, const float* U, float* y, const float* bias, bool relu)
      : s_(s), x_(x), mask_(mask), U_(U), y_(y), bias_(bias), relu_(relu), tw_(tiles_across(s.W)),
        tiles_(static_cast<long long>(tiles_across(s.H)) * tw_), tb_(tiles_per_block(s.Cin, s.Cout)),
        per_image_((tiles_ + tb_ - 1) / tb_) {}

  long long count() const { return per_image_ * s_.N; }
  int block_tiles() const { return tb_; }
  // Tiles in block `blk` (tb, or fewer in an image's last block).
  int tiles_in(long long blk) const {
    return static_cast<int>(std::min<long long>(tb_, tiles_ - (blk % per_image_) * tb_));
  }
  float* V(float* slice) const { return slice; }
  float* M(float* slice) const { return slice + static_cast<size_t>(kPoints) * tb_ * s_.Cin; }

  void input_tile(float* slice, long long blk, int b) const {
    const size_t offset = image(blk) * s_.H * s_.W * s_.Cin;
    transform_input_tile(V(slice), tb_, b, x_ + offset, mask_ ? mask_ + offset : nullptr, s_.H, s_.W, s_.Cin,
                         place(blk, b));
  }
  void gemm(float* slice, int tiles, int k) const {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tiles, s_.Cout, s_.Cin, 1.f,
                V(slice) + static_cast<size_t>(k) * tb_ * s_.Cin, s_.Cin, U_ + static_cast<size_t>(k) * s_.Cin * s_.Cout,
                s_.Cout, 0.f, M(slice) + static_cast<size_t>(k) * tb_ * s_.Cout, s_.Cout);
  }
  void output_tile(float* slice, long long blk, int b) const {
    transform_output_tile(y_ + image(blk) * s_.H * s_.W * s_.Cout, M(slice), tb_, b, bias_, relu_, s_.H, s_.W,
                          s_.Cout, place(blk, b));
  }

 private:
  size_t image(long long blk) const { return static_cast<size_t>(blk / per_image_); }
  TilePlace place(long long blk, int b) const {
    const long long t = (blk % per_image_) * tb_ + b;
    return {static_cast<int>(t / tw_) * kOut, static_cast<int>(t % tw_) * kOut};
  }

  Conv s_;
  const float *x_, *mask_, *U_;
  float* y_;
  const float* bias_;
  bool relu_;
  int tw_;
  long long tiles_;
  int tb_;
  long long per_image_;
};

// Many blocks: each thread takes whole blocks, in its own slice (L2).
void run_blocks_per_thread(const Blocks& blocks, float* workspace, size_t slice, int threads) {
#pragma omp parallel num_threads(threads)
  {
    float* mine = workspace + slice * omp_get_thread_num();
#pragma omp for schedule(dynamic)
    for (long long blk = 0; blk < blocks.count(); ++blk) {
      const int tiles = blocks.tiles_in(blk);
      for (int b = 0; b < tiles; ++b) blocks.input_tile(mine, blk, b);
      for (int k = 0; k < kPoints; ++k) blocks.gemm(mine, tiles, k);
      for (int b = 0; b < tiles; ++b) blocks.output_tile(mine, blk, b);
    }
  }
}

// Few blocks (deep layers of small images: VGG's block5 at 256 px is one
// block of 12 tiles): the threads share each block, splitting its tiles in
// the transforms and its 36 GEMMs between them.
void run_blocks_together(const Blocks& blocks, float* slice, int threads) {
#pragma omp parallel num_threads(threads)
  for (long long blk = 0; blk < blocks.count(); ++blk) {
    const int tiles = blocks.tiles_in(blk);
#pragma omp for schedule(static)
    for (int b = 0; b < tiles; ++b) blocks.input_tile(slice, blk, b);
#pragma omp for schedule(dynamic)
    for (int k = 0; k < kPoints; ++k) blocks.gemm(slice, tiles, k);
#pragma omp for schedule(static)
    for (int b = 0; b < tiles; ++b) blocks.output_tile(slice, blk, b);
  }
}

// y (N, H, W, Cout) from x (N, H, W, Cin) and U (36, Cin, Cout); `mask`
// (like x) or null; bias (Cout) or null.
void winograd_conv(float* y, const float* x, const float* mask, const float* U, const float* bias, bool relu,
                   const Conv& s, float* workspace, size_t workspace_floats) {
  const Blocks blocks(s, x, mask, U, y, bias, relu);
  const size_t slice = slice_floats(blocks.block_tiles(), s.Cin, s.Cout);
  const int slices = static_cast<int>(std::min<size_t>(workspace_floats / slice, omp_get_max_threads()));
  const int threads = std::max(slices, 1);
  // Whole blocks per thread once there are enough of them to share evenly
  // (a thread idles at most a quarter of the time).
  if (blocks.count() >= 4LL * threads) {
    run_blocks_per_thread(blocks, workspace, slice, threads);
  } else {
    run_blocks_together(blocks, workspace, threads);
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
