// Seeded random numbers that are identical on every platform and standard
// library: std::mt19937_64 is fully specified, but std::normal_distribution
// is not, so normals come from our own Box-Muller transform.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace nst {

// n floats uniform in [lo, hi) from 32-bit mt19937's raw bits (the
// standard specifies them; uniform_real_distribution it does not), so the
// same seed gives the same data everywhere. The op tests and the op
// table's inputs are made this way.
inline std::vector<float> uniform_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>((rng() >> 8) * (1.0 / 16777216.0));
  return v;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

  // Standard normal; the pair's second value is cached for the next call.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();  // log(0) guard
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * M_PI * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  std::mt19937_64 gen_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace nst
