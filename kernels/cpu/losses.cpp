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

namespace {
// The elementwise sums below are deterministic_block_sum's blocks
// (kernels/cpu/reduce.hpp): kSumBlock elements each, boundaries fixed by n.

// Elements [begin, end) of the content loss: adds the gradient to dF and
// returns the sum of squared differences. A function of its own (not a
// lambda body) so that the pointers are plain values the vectoriser can
// trust; through the lambda's captured references it fell back to gathers.
double content_block(float* dF, const float* F, const float* P, size_t begin, size_t end, float scale) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = begin; i < end; ++i) {
    const double d = static_cast<double>(F[i]) - P[i];
    s += d * d;
    dF[i] += scale * static_cast<float>(d);
  }
  return s;
}

// D = G - A over [begin, end), returning the sum of squares of D.
double gram_diff_block(float* D, const float* G, const float* A, size_t begin, size_t end) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = begin; i < end; ++i) {
    const double d = static_cast<double>(G[i]) - A[i];
    D[i] = static_cast<float>(d);
    s += d * d;
  }
  return s;
}

}  // namespace

void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight) {
  const float scale = 2.f * weight / static_cast<float>(n);
  const double sum = deterministic_block_sum(
      n, [&](size_t begin, size_t end) { return content_block(dF, F, P, begin, end, scale); });
  *loss = static_cast<float>(weight * sum / n);
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
  const float scale = static_cast<float>(4.0 * weight / (static_cast<double>(N) * cc * C * HW));
  double sum = 0;
  for (int n = 0; n < N; ++n) {
    const float* g = G + n * cc;
    // One pass: D = G[n] - A, and the sum of its squares.
    sum += deterministic_block_sum(cc, [&](size_t begin, size_t end) { return gram_diff_block(D, g, A, begin, end); });
    // dF[n] (HW,C) += scale * F[n] (HW,C) x D (C,C), the rows split over
    // the threads as the Gram's are: OpenBLAS's own split of this tall,
    // narrow product was 1.1-1.2x slower at block1 and block2 (Zen 4 VM).
    const int parts = gram_parts(HW, num_threads());
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int p = 0; p < parts; ++p) {
      const size_t begin = static_cast<size_t>(static_cast<long>(HW) * p / parts);
      const size_t end = static_cast<size_t>(static_cast<long>(HW) * (p + 1) / parts);
      const size_t at = (static_cast<size_t>(n) * HW + begin) * C;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(end - begin), C, C, scale, F + at, C,
                  D, C, 1.f, dF + at, C);
    }
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

// TV loss of one image row: x points at its W*C values, up/down at the
// rows above and below (x itself at the image's top/bottom edge, which
// makes those differences 0). Adds weight * dL/dx to the row of dx and
// returns the loss of the pairs whose first element is in this row. Gather
// form: each dx element is written by its own row only, so rows can run in
// parallel; three branch-free loops so each vectorises.
double tv_row(float* dx, const float* x, const float* up, const float* down, size_t row, int C, float weight) {
  const float w2 = 2 * weight;
  double loss = 0;
  // Vertical: (down - x)^2 is this row's; x's gradient also has the pair
  // (x - up)^2 owned by the row above.
#pragma omp simd reduction(+ : loss)
  for (size_t k = 0; k < row; ++k) {
    const float d = down[k] - x[k];
    loss += static_cast<double>(d) * d;
    dx[k] += w2 * ((x[k] - up[k]) - d);
  }
  // Horizontal: (x[k+C] - x[k])^2 for every k with a right neighbour ...
#pragma omp simd reduction(+ : loss)
  for (size_t k = 0; k < row - C; ++k) {  // row >= C: W >= 1
    const float d = x[k + C] - x[k];
    loss += static_cast<double>(d) * d;
    dx[k] -= w2 * d;
  }
  // ... and the same pairs seen from their right element.
#pragma omp simd
  for (size_t k = C; k < row; ++k) dx[k] += w2 * (x[k] - x[k - C]);
  return loss;
}

}  // namespace

void tv_loss(float* loss, float* dx, const float* x, int N, int H, int W, int C, float weight) {
  const size_t row = static_cast<size_t>(W) * C;
  const double sum = deterministic_sum(static_cast<size_t>(N) * H, [&](size_t r) {
    const int i = static_cast<int>(r % H);
    const float* xr = x + r * row;
    return tv_row(dx + r * row, xr, i > 0 ? xr - row : xr, i + 1 < H ? xr + row : xr, row, C, weight);
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
