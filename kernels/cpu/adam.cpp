// Adam on the pixels, PyTorch's form (eps after the bias-corrected sqrt).
#include <cmath>

#include "kernels/cpu/ops.hpp"

namespace nst::cpu {

void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamHyper& h) {
  // Bias corrections in double: 1 - beta2^t is ~1e-3 for small t, so
  // forming it in float would cost ~1e-5 relative error in the step.
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(h.beta1), h.t)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(h.beta2), h.t)));
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    m[i] = h.beta1 * m[i] + (1.f - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1.f - h.beta2) * g[i] * g[i];
    x[i] -= h.lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + h.eps);
  }
}

void adam_step_reference(double* x, double* m, double* v, const double* g, size_t n, const AdamHyper& h) {
  const double b1 = h.beta1, b2 = h.beta2;
  for (size_t i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const double mhat = m[i] / (1 - std::pow(b1, h.t));
    const double vhat = v[i] / (1 - std::pow(b2, h.t));
    x[i] -= h.lr * mhat / (std::sqrt(vhat) + h.eps);
  }
}

}  // namespace nst::cpu
