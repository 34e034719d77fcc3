// Helpers for the op tests: seeded random data, float <-> double copies,
// output buffers with sentinel guards after their end, a relative error
// check that prints the first mismatches, a bitwise comparison, and
// float64 central finite differences.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/random.hpp"

namespace nst::test {

// Uniform in [lo, hi) from a fixed seed, the same with every standard
// library (engine/random.hpp).
inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return uniform_floats(n, seed, lo, hi);
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(rng() >> 24);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// The sizes of a 3x3 convolution (N,H,W,Cin) -> (N,H,W,Cout) and the element
// counts of its input, output and HWIO kernel.
struct ConvShape {
  int N, H, W, Cin, Cout;
  size_t x() const { return static_cast<size_t>(N) * H * W * Cin; }
  size_t y() const { return static_cast<size_t>(N) * H * W * Cout; }
  size_t w() const { return static_cast<size_t>(9) * Cin * Cout; }
};

// A kernel scaled like He init, so that outputs stay O(1) whatever Cin is.
inline std::vector<float> random_conv_kernel(const ConvShape& s, uint32_t seed) {
  const float a = 1.f / std::sqrt(9.f * s.Cin);
  return random_floats(s.w(), seed, -a, a);
}

// An output buffer of n values followed by a guard region of 0xA5 bytes,
// to catch writes past the end. The body starts as `fill` (NaN for
// floating types by default, so an element the op forgets to write shows
// up in the comparison).
template <typename T>
class Guarded {
 public:
  static constexpr size_t kGuard = 64;  // elements
  explicit Guarded(size_t n, T fill = std::numeric_limits<T>::quiet_NaN()) : n_(n), buf_(n + kGuard, fill) {
    std::memset(buf_.data() + n, kSentinel, kGuard * sizeof(T));
  }
  explicit Guarded(const std::vector<T>& init) : Guarded(init.size()) {
    std::copy(init.begin(), init.end(), buf_.begin());
  }
  T* data() { return buf_.data(); }
  std::vector<T> values() const { return {buf_.begin(), buf_.begin() + n_}; }
  bool guard_intact() const {
    const auto* bytes = reinterpret_cast<const unsigned char*>(buf_.data() + n_);
    return std::all_of(bytes, bytes + kGuard * sizeof(T), [](unsigned char b) { return b == kSentinel; });
  }

 private:
  static constexpr unsigned char kSentinel = 0xA5;
  size_t n_;
  std::vector<T> buf_;
};

// ||actual - expected|| / ||expected|| in double (the norm of the
// difference alone where expected is all zero).
template <typename T>
double relative_error(const std::vector<T>& actual, const std::vector<double>& expected) {
  double num = 0, den = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double d = static_cast<double>(actual[i]) - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Passes when the relative error is at most tol (so a tol of 0 asks for
// exact values), sizes match and nothing is NaN; otherwise lists the first
// few elements off by more than tol * rms(expected). Prints the error
// either way so the measured accuracy is visible with `ctest -V`.
template <typename T>
::testing::AssertionResult matches(const std::string& what, const std::vector<T>& actual,
                                   const std::vector<double>& expected, double tol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": size " << actual.size() << " != " << expected.size();
  const double err = relative_error(actual, expected);
  std::printf("    rel_error(%s) = %.3g (tolerance %.3g)\n", what.c_str(), err, tol);
  if (err <= tol) return ::testing::AssertionSuccess();  // false for NaN too
  double rms = 0;
  for (double e : expected) rms += e * e;
  rms = std::sqrt(rms / expected.size());
  std::ostringstream os;
  os << what << ": relative error " << err << " >= " << tol << "; first mismatches:";
  int shown = 0;
  for (size_t i = 0; i < expected.size() && shown < 8; ++i) {
    const double a = static_cast<double>(actual[i]);
    if (!(std::fabs(a - expected[i]) <= tol * rms)) {
      os << "\n  [" << i << "] got " << a << " want " << expected[i];
      ++shown;
    }
  }
  return ::testing::AssertionFailure() << os.str();
}

// Equal bit patterns everywhere (so NaN == NaN and -0 != 0); prints the
// count of differences; on failure names the first few and, for floats,
// the relative error (rounding, or wrong?).
template <typename T>
::testing::AssertionResult same_bits(const std::string& what, const std::vector<T>& actual,
                                     const std::vector<T>& expected) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": size " << actual.size() << " != " << expected.size();
  size_t diff = 0;
  std::string detail;
  for (size_t i = 0; i < actual.size(); ++i)
    if (std::memcmp(&actual[i], &expected[i], sizeof(T)) != 0 && diff++ < 5)
      detail += "\n  [" + std::to_string(i) + "] got " + std::to_string(+actual[i]) + " want " +
               std::to_string(+expected[i]);
  std::printf("    bitwise mismatches(%s): %zu of %zu\n", what.c_str(), diff, actual.size());
  if (diff == 0) return ::testing::AssertionSuccess();
  if constexpr (std::is_same_v<T, float>) {
    char err[48];
    std::snprintf(err, sizeof err, "\n  relative error %.3g", relative_error(actual, to_double(expected)));
    detail += err;
  }
  return ::testing::AssertionFailure() << what << ": " << diff << " of " << actual.size()
                                       << " differ:" << detail;
}

// d f / d x by central differences in float64, one coordinate at a time.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, double h) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double up = f(x);
    x[i] = x0 - h;
    const double down = f(x);
    x[i] = x0;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// sum(a * b), the scalar whose gradient w.r.t. an op's input is that op's
// backward applied to b.
inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace nst::test
