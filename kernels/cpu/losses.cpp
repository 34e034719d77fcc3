// Content, style and total-variation losses with their gradients.
//   content: L = w * mean((F-P)^2)                 dL/dF = 2w/n (F-P)
//   style:   L = w * mean_{n,i,j} (G-A)^2,  G = F^T F/(C*HW)
//            dL/dG = 2w/(N*C^2) (G-A); G symmetric, so
//            dL/dF = 2 F dL/dG / (C*HW) = 4w/(N*C^2*C*HW) F (G-A)
//   tv:      L = w * sum (x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2
// Loss values are summed in double with a deterministic order.
#include <cblas.h>

#include <cstddef>
#include <vector>

#include "kernels/cpu/ops.hpp"
#include "kernels/cpu/reduce.hpp"

namespace nst::cpu {

void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight) {
  const double sum = deterministic_sum(n, [&](size_t i) {
    const double d = static_cast<double>(F[i]) - P[i];
    return d * d;
  });
  *loss = static_cast<float>(weight * sum / n);
  const float scale = 2.f * weight / static_cast<float>(n);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) dF[i] += scale * (F[i] - P[i]);
}

void content_loss_reference(double* loss, double* dF, const double* F, const double* P, size_t n, double weight) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += (F[i] - P[i]) * (F[i] - P[i]);
  *loss = weight * sum / n;
  for (size_t i = 0; i < n; ++i) dF[i] += 2.0 * weight / n * (F[i] - P[i]);
}

size_t style_loss_workspace_floats(int /*N*/, int /*HW*/, int C) { return static_cast<size_t>(C) * C; }

void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A, int N, int HW, int C,
                float weight, float* workspace) {
  const size_t cc = static_cast<size_t>(C) * C;
  float* D = workspace;  // (C,C) = G[n] - A
  const float scale = 4.f * weight / (static_cast<float>(N) * cc * static_cast<float>(C) * HW);
  double sum = 0;
  for (int n = 0; n < N; ++n) {
    const float* g = G + n * cc;
    sum += deterministic_sum(cc, [&](size_t i) {
      const double d = static_cast<double>(g[i]) - A[i];
      return d * d;
    });
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < cc; ++i) D[i] = g[i] - A[i];
    // dF[n] (HW,C) += scale * F[n] (HW,C) x D (C,C)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, HW, C, C, scale, F + static_cast<size_t>(n) * HW * C, C,
                D, C, 1.f, dF + static_cast<size_t>(n) * HW * C, C);
  }
  *loss = static_cast<float>(weight * sum / (static_cast<double>(N) * cc));
}

void style_loss_reference(double* loss, double* dF, const double* F, const double* A, int N, int HW, int C,
                          double weight) {
  const size_t cc = static_cast<size_t>(C) * C;
  std::vector<double> G(cc);
  double sum = 0;
  for (int n = 0; n < N; ++n) {
    const double* f = F + static_cast<size_t>(n) * HW * C;
    gram_reference(G.data(), f, 1, HW, C);
    for (size_t i = 0; i < cc; ++i) sum += (G[i] - A[i]) * (G[i] - A[i]);
    // Straight from the chain rule through G = F^T F / (C*HW), without
    // using the symmetry the fast path relies on.
    const double dg = 2.0 * weight / (static_cast<double>(N) * cc);
    for (int p = 0; p < HW; ++p)
      for (int k = 0; k < C; ++k) {
        double acc = 0;
        for (int j = 0; j < C; ++j) {
          acc += (G[static_cast<size_t>(k) * C + j] - A[static_cast<size_t>(k) * C + j]) * f[static_cast<size_t>(p) * C + j];
          acc += (G[static_cast<size_t>(j) * C + k] - A[static_cast<size_t>(j) * C + k]) * f[static_cast<size_t>(p) * C + j];
        }
        dF[static_cast<size_t>(n) * HW * C + static_cast<size_t>(p) * C + k] += dg * acc / (static_cast<double>(C) * HW);
      }
  }
  *loss = weight * sum / (static_cast<double>(N) * cc);
}

namespace {

// Loss and gradient of TV at one element, from its neighbours only
// (gather form: every output written by one thread).
template <typename T>
void tv_at(double* loss_term, T* grad, const T* x, int i, int j, int H, int W, int C) {
  const size_t row = static_cast<size_t>(W) * C;
  const T v = x[0];
  double l = 0;
  T g = 0;
  if (i + 1 < H) {
    const T d = x[row] - v;
    l += static_cast<double>(d) * d;
    g -= 2 * d;
  }
  if (j + 1 < W) {
    const T d = x[C] - v;
    l += static_cast<double>(d) * d;
    g -= 2 * d;
  }
  if (i > 0) g += 2 * (v - x[-static_cast<std::ptrdiff_t>(row)]);
  if (j > 0) g += 2 * (v - x[-C]);
  *loss_term = l;
  *grad = g;
}

}  // namespace

void tv_loss(float* loss, float* dx, const float* x, int N, int H, int W, int C, float weight) {
  const size_t n = static_cast<size_t>(N) * H * W * C;
  const double sum = deterministic_sum(n, [&](size_t k) {
    const int c = static_cast<int>(k % C);
    (void)c;
    const size_t pix = k / C;
    const int j = static_cast<int>(pix % W), i = static_cast<int>((pix / W) % H);
    double l;
    float g;
    tv_at(&l, &g, x + k, i, j, H, W, C);
    dx[k] += weight * g;
    return l;
  });
  *loss = static_cast<float>(weight * sum);
}

void tv_loss_reference(double* loss, double* dx, const double* x, int N, int H, int W, int C, double weight) {
  double sum = 0;
  auto at = [&](int n, int i, int j, int c) { return ((static_cast<size_t>(n) * H + i) * W + j) * C + c; };
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j)
        for (int c = 0; c < C; ++c) {
          if (i + 1 < H) {
            const double d = x[at(n, i + 1, j, c)] - x[at(n, i, j, c)];
            sum += d * d;
            dx[at(n, i + 1, j, c)] += 2 * weight * d;
            dx[at(n, i, j, c)] -= 2 * weight * d;
          }
          if (j + 1 < W) {
            const double d = x[at(n, i, j + 1, c)] - x[at(n, i, j, c)];
            sum += d * d;
            dx[at(n, i, j + 1, c)] += 2 * weight * d;
            dx[at(n, i, j, c)] -= 2 * weight * d;
          }
        }
  *loss = weight * sum;
}

}  // namespace nst::cpu
