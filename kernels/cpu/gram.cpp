// Gram matrices: G[n] (C,C) = F[n]^T F[n] / (C*HW), F[n] viewed as (HW,C).
// SYRK computes one triangle (half the flops of a GEMM); we mirror it. Long
// sums split over the threads by rows (see ops.hpp).
#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {

namespace {

// A part of fewer rows gains less from its own thread than the sum of the
// parts' C x C Grams costs. A guess: the smallest part measured is
// block5_conv1's at 256 px (256 rows in two parts of 128, C = 512), 1.25x
// faster split than one SSYRK on a 2-core Zen 4 VM; fewer rows were not
// tried. More parts than threads were slower there (bench/RESULTS.md).
constexpr int kMinRowsPerPart = 128;

// The upper triangle of g (C,C) = scale * f^T f, f (rows,C): one SYRK.
void syrk_upper(float* g, const float* f, int rows, int C, float scale) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, C, rows, scale, f, C, 0.f, g, C);
}

void mirror_upper(float* g, int C) {
#pragma omp parallel for schedule(static)
  for (int i = 1; i < C; ++i)
    for (int j = 0; j < i; ++j) g[static_cast<size_t>(i) * C + j] = g[static_cast<size_t>(j) * C + i];
}

// Part p's Gram into g (p = 0) or workspace slice p - 1, each part's SYRK
// on one thread (OpenBLAS runs single-threaded inside a parallel region),
// then g's upper triangle += the other parts', in part order.
void split_gram(float* g, const float* f, int HW, int C, float scale, int parts, float* workspace) {
  const size_t cc = static_cast<size_t>(C) * C;
#pragma omp parallel for schedule(static) num_threads(parts)
  for (int p = 0; p < parts; ++p) {
    const int begin = static_cast<int>(static_cast<long>(HW) * p / parts);
    const int end = static_cast<int>(static_cast<long>(HW) * (p + 1) / parts);
    syrk_upper(p == 0 ? g : workspace + (p - 1) * cc, f + static_cast<size_t>(begin) * C, end - begin, C, scale);
  }
#pragma omp parallel for schedule(static, 8)  // interleaved: the rows shorten
  for (int i = 0; i < C; ++i)
    for (int p = 1; p < parts; ++p) {
      const float* part = workspace + (p - 1) * cc + static_cast<size_t>(i) * C;
      float* row = g + static_cast<size_t>(i) * C;
      for (int j = i; j < C; ++j) row[j] += part[j];
    }
}

}  // namespace

int gram_parts(int HW, int threads) { return std::clamp(HW / kMinRowsPerPart, 1, std::max(threads, 1)); }

size_t gram_workspace_floats(int C, int threads) {
  return static_cast<size_t>(std::max(threads, 1) - 1) * C * C;
}

void gram(float* G, const float* F, int N, int HW, int C, float* workspace, size_t workspace_floats) {
  const float scale = 1.f / (static_cast<float>(C) * HW);
  const size_t cc = static_cast<size_t>(C) * C;
  const int parts = static_cast<int>(
      std::min<size_t>(gram_parts(HW, num_threads()), workspace != nullptr ? 1 + workspace_floats / cc : 1));
  for (int n = 0; n < N; ++n) {
    float* g = G + n * cc;
    const float* f = F + static_cast<size_t>(n) * HW * C;
    if (parts > 1)
      split_gram(g, f, HW, C, scale, parts, workspace);
    else
      syrk_upper(g, f, HW, C, scale);
    mirror_upper(g, C);
  }
}

void gram_reference(double* G, const double* F, int N, int HW, int C) {
  const double scale = 1.0 / (static_cast<double>(C) * HW);
  for (int n = 0; n < N; ++n) {
    const double* f = F + static_cast<size_t>(n) * HW * C;
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < C; ++j) {
        double acc = 0;
        for (int p = 0; p < HW; ++p) acc += f[static_cast<size_t>(p) * C + i] * f[static_cast<size_t>(p) * C + j];
        G[(static_cast<size_t>(n) * C + i) * C + j] = acc * scale;
      }
  }
}

}  // namespace nst::cpu
