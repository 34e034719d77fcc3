// BLAS-1 vector ops for the optimisers (L-BFGS): dot, asum, axpy, scal.
// The sums are deterministic_block_sum's (kernels/cpu/reduce.hpp), as the
// losses' are: kSumBlock-element SIMD blocks summed in double, the block
// boundaries and the order of the partials fixed by n alone, so a result is
// bit-identical at any thread count. A product of two floats is exact in
// double, so whether the compiler fuses the accumulation does not matter.
#include <cmath>
#include <cstddef>

#include "kernels/cpu/dispatch.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cpu/reduce.hpp"

namespace nst::cpu {

namespace {

// Plain functions over [begin, end), pointers by value, so each loop
// vectorises (see deterministic_block_sum).
double dot_block(const float* a, const float* b, size_t begin, size_t end) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = begin; i < end; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double asum_block(const float* a, size_t begin, size_t end) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = begin; i < end; ++i) s += std::fabs(static_cast<double>(a[i]));
  return s;
}

// Below this many elements the elementwise ops run on the calling thread:
// a parallel region costs more than the loop.
constexpr size_t kParallelMin = 1 << 14;

}  // namespace

void dot(float* result, const float* a, const float* b, size_t n) {
  const double sum = deterministic_block_sum(n, [&](size_t begin, size_t end) { return dot_block(a, b, begin, end); });
  *result = static_cast<float>(sum);
}

void asum(float* result, const float* a, size_t n) {
  const double sum = deterministic_block_sum(n, [&](size_t begin, size_t end) { return asum_block(a, begin, end); });
  *result = static_cast<float>(sum);
}

NST_CPU_DISPATCH void axpy(float* y, float alpha, const float* scale, const float* x, size_t n) {
  // One float product, then one rounding per element (fma): the CUDA
  // kernel's arithmetic exactly.
  const float c = scale != nullptr ? alpha * *scale : alpha;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (size_t i = 0; i < n; ++i) y[i] = std::fma(c, x[i], y[i]);
}

NST_CPU_DISPATCH void scal(float* x, float alpha, size_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (size_t i = 0; i < n; ++i) x[i] *= alpha;
}

void dot_reference(double* result, const double* a, const double* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  *result = s;
}

void asum_reference(double* result, const double* a, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::fabs(a[i]);
  *result = s;
}

void axpy_reference(double* y, double alpha, const double* scale, const double* x, size_t n) {
  const double c = scale != nullptr ? alpha * *scale : alpha;
  for (size_t i = 0; i < n; ++i) y[i] += c * x[i];
}

void scal_reference(double* x, double alpha, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] *= alpha;
}

}  // namespace nst::cpu
