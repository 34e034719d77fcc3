// For the mask tests (tests/engine, tests/quality): a tap's masked Gram
// computed the plain way, and a distance between Grams that the two
// styles' own separation sets the scale of.
#pragma once
#include <cmath>
#include <vector>

#include "engine/mask.hpp"

namespace nst::testing {

// (m F)^T (m F) / (C sum m^2) of a tap (pixels, C), in double, with the
// canvas mask pooled down to the tap.
inline std::vector<double> masked_gram(const std::vector<float>& f, int C, MaskMap m) {
  while (m.values.size() * C > f.size()) m = mask_at_layer(m, m.width / 2, m.height / 2);
  std::vector<double> g(static_cast<size_t>(C) * C, 0.0);
  for (size_t p = 0; p < m.values.size(); ++p) {
    const double w = static_cast<double>(m.values[p]) * m.values[p];
    if (w == 0) continue;
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < C; ++j) g[static_cast<size_t>(i) * C + j] += w * f[p * C + i] * f[p * C + j];
  }
  for (double& v : g) v /= C * m.area();
  return g;
}

// ||g - target|| in units of ||A - B||, the two styles' own separation: 0
// is on the target, about 1 as far from it as the other style is.
inline double gram_distance(const std::vector<double>& g, const std::vector<float>& target,
                            const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, ab = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    d += (g[i] - target[i]) * (g[i] - target[i]);
    ab += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  }
  return std::sqrt(d / ab);
}

}  // namespace nst::testing
