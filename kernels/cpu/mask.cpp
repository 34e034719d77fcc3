// Per-pixel scaling, broadcast over channels: what a mask does to a feature
// map (the engine's masked loss terms, engine/objective.cpp).
//   y[p,c] = m[p] * x[p,c]            (accumulate = false; y may equal x)
//   y[p,c] = fma(m[p], x[p,c], y[p,c])  (accumulate = true)
// Both forms round once (a product; an explicit fma, as the CUDA kernel's
// fmaf), so the CPU and CUDA results agree bit for bit whatever the
// compiler contracts; NST_CPU_DISPATCH may therefore clone it.
#include <cmath>
#include <cstddef>

#include "kernels/cpu/dispatch.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst::cpu {

namespace {

// Below this many pixels the loop runs on the calling thread.
constexpr size_t kParallelMinPixels = 1 << 10;

// One loop body per form, so that each vectorises without a branch inside.
template <bool ACCUMULATE>
inline void scale_pixels(float* y, const float* x, const float* m, size_t pixels, size_t c) {
#pragma omp parallel for schedule(static) if (pixels >= kParallelMinPixels)
  for (size_t p = 0; p < pixels; ++p) {
    const float s = m[p];
    float* yp = y + p * c;
    const float* xp = x + p * c;
#pragma omp simd
    for (size_t k = 0; k < c; ++k) yp[k] = ACCUMULATE ? std::fma(s, xp[k], yp[k]) : s * xp[k];
  }
}

}  // namespace

NST_CPU_DISPATCH void pixel_scale(float* y, const float* x, const float* m, size_t pixels, int C, bool accumulate) {
  if (accumulate) {
    scale_pixels<true>(y, x, m, pixels, static_cast<size_t>(C));
  } else {
    scale_pixels<false>(y, x, m, pixels, static_cast<size_t>(C));
  }
}

void pixel_scale_reference(double* y, const double* x, const double* m, size_t pixels, int C, bool accumulate) {
  for (size_t p = 0; p < pixels; ++p)
    for (int k = 0; k < C; ++k) {
      const size_t i = p * C + k;
      y[i] = (accumulate ? y[i] : 0.0) + m[p] * x[i];
    }
}

}  // namespace nst::cpu
