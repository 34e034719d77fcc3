// Gram matrices: G[n] (C,C) = F[n]^T F[n] / (C*HW), F[n] viewed as (HW,C).
// SYRK computes one triangle (half the flops of a GEMM); we mirror it.
#include <cblas.h>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {

void gram(float* G, const float* F, int N, int HW, int C) {
  const float scale = 1.f / (static_cast<float>(C) * HW);
  for (int n = 0; n < N; ++n) {
    float* g = G + static_cast<size_t>(n) * C * C;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, C, HW, scale, F + static_cast<size_t>(n) * HW * C, C, 0.f,
                g, C);
#pragma omp parallel for schedule(static)
    for (int i = 1; i < C; ++i)
      for (int j = 0; j < i; ++j) g[static_cast<size_t>(i) * C + j] = g[static_cast<size_t>(j) * C + i];
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
