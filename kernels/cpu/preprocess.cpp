// Caffe preprocessing, as the Keras VGG16 weights expect: RGB bytes ->
// BGR floats in 0..255 minus the ImageNet mean (in B, G, R order).
#include <algorithm>
#include <cmath>

#include "kernels/cpu/dispatch.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst::cpu {
namespace {
constexpr double kMeanBGR[3] = {103.939, 116.779, 123.68};
}

NST_CPU_DISPATCH void preprocess(float* x, const uint8_t* rgb, size_t pixels) {
#pragma omp parallel for schedule(static)
  for (size_t p = 0; p < pixels; ++p)
    for (int c = 0; c < 3; ++c) x[p * 3 + c] = static_cast<float>(rgb[p * 3 + 2 - c] - kMeanBGR[c]);
}

NST_CPU_DISPATCH void deprocess(uint8_t* rgb, const float* x, size_t pixels) {
#pragma omp parallel for schedule(static)
  for (size_t p = 0; p < pixels; ++p)
    for (int c = 0; c < 3; ++c) {
      // Round half to even (the default rounding mode), then clamp; written
      // so that a NaN pixel becomes 0 (casting NaN to uint8_t is undefined).
      const double v = std::nearbyint(static_cast<double>(x[p * 3 + c]) + kMeanBGR[c]);
      rgb[p * 3 + 2 - c] = static_cast<uint8_t>(v >= 0.0 ? std::min(v, 255.0) : 0.0);
    }
}

// Spelled out per channel rather than through kMeanBGR, so a wrong index
// in the fast path cannot be mirrored here.
void preprocess_reference(double* x, const uint8_t* rgb, size_t pixels) {
  for (size_t p = 0; p < pixels; ++p) {
    x[p * 3 + 0] = rgb[p * 3 + 2] - 103.939;
    x[p * 3 + 1] = rgb[p * 3 + 1] - 116.779;
    x[p * 3 + 2] = rgb[p * 3 + 0] - 123.68;
  }
}

}  // namespace nst::cpu
