#include "kernels/cpu/dispatch.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst::cpu {

// simd: element i reads and writes index i only, so in place (dx == dy,
// as conv2d_dgrad calls it) is safe; GCC cannot prove that and would
// otherwise fall back to scalar code for overlapping arrays.
NST_CPU_DISPATCH void relu_forward(float* y, const float* x, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

NST_CPU_DISPATCH void relu_backward(float* dx, const float* dy, const float* y, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) {
    // dy is loaded whatever the sign, making this a select, not a branch:
    // without AVX-512's masked loads a conditional load is not vectorised,
    // and a branch on random signs cost 17x (bench/RESULTS.md, "Portable
    // build").
    const float g = dy[i];
    dx[i] = y[i] > 0.f ? g : 0.f;
  }
}

void relu_forward_reference(double* y, const double* x, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
}

void relu_backward_reference(double* dx, const double* dy, const double* y, size_t n) {
  for (size_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0 ? dy[i] : 0.0;
}

}  // namespace nst::cpu
