// Colour control: luminance-only transfer, histogram matching and linear
// (mean + covariance) colour matching. See nst/color.hpp for the contracts.
#include "nst/color.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "nst/error.hpp"

namespace nst {
namespace {

// ---------------------------------------------------------------- helpers

void require_image(const Image& img, const char* what) {
  if (img.width <= 0 || img.height <= 0 || img.rgb.size() != img.pixels() * 3) {
    throw InvalidArgument(std::string(what) + " image is empty or its buffer does not match its size (" +
                          std::to_string(img.width) + "x" + std::to_string(img.height) + ")");
  }
}

// Round to the nearest level and clamp to 0..255; NaN goes to 0 so that no
// input can produce undefined behaviour in the cast.
uint8_t to_level(double x) {
  if (!(x > 0.0)) return 0;
  if (x >= 255.0) return 255;
  return static_cast<uint8_t>(std::lround(x));
}

// True when R = G = B at every pixel. Exact on purpose: it is what a
// greyscale file gives through load_image (stb expands 1 channel to 3).
bool is_grey(const Image& img) {
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    if (img.rgb[i] != img.rgb[i + 1] || img.rgb[i] != img.rgb[i + 2]) return false;
  }
  return true;
}

Image blank_like(const Image& img) {
  Image out;
  out.width = img.width;
  out.height = img.height;
  out.rgb.resize(img.rgb.size());
  return out;
}

// ------------------------------------------------------------------- YUV
//
// YUV rather than YIQ: both share the BT.601 luma Y = 0.299 R + 0.587 G +
// 0.114 B, and YIQ's (I, Q) is YUV's (U, V) rotated by 33 degrees, so with
// exact inverses "Y from one image, chroma from the other" gives the same
// RGB in either space. YUV is what jcjohnson/neural-style (torch's
// image.rgb2yuv) uses, so its numbers are directly comparable.
//
//   U = 0.492111 (B - Y),   V = 0.877283 (R - Y)
//
// The inverse below is exact (not torch's rounded yuv2rgb coefficients), so
// rgb -> yuv -> rgb is the identity up to float rounding. Because U and V
// do not depend on a common shift of R, G and B, swapping Y amounts to
// adding Y_s - Y_c to every channel of the content pixel.

constexpr double kWr = 0.299, kWg = 0.587, kWb = 0.114;
constexpr double kU = 0.492111, kV = 0.877283;

struct Yuv {
  double y, u, v;
};

double luma(double r, double g, double b) { return kWr * r + kWg * g + kWb * b; }

Yuv rgb_to_yuv(const uint8_t* p) {
  const double y = luma(p[0], p[1], p[2]);
  return {y, kU * (p[2] - y), kV * (p[0] - y)};
}

void yuv_to_rgb(const Yuv& c, uint8_t* out) {
  const double r = c.y + c.v / kV;
  const double b = c.y + c.u / kU;
  const double g = (c.y - kWr * r - kWb * b) / kWg;  // Y = wr R + wg G + wb B solved for G
  out[0] = to_level(r);
  out[1] = to_level(g);
  out[2] = to_level(b);
}

// -------------------------------------------------------------- histogram

using Histogram = std::array<size_t, 256>;

Histogram channel_histogram(const Image& img, int channel) {
  Histogram h{};
  for (size_t i = channel; i < img.rgb.size(); i += 3) ++h[img.rgb[i]];
  return h;
}

// The sorted list of a histogram's N samples, s_0 <= ... <= s_{N-1}, read
// without sorting: s_k is the first level whose inclusive CDF exceeds k.
class SortedSamples {
 public:
  explicit SortedSamples(const Histogram& h) {
    size_t sum = 0;
    for (int v = 0; v < 256; ++v) cdf_[v] = sum += h[v];
    n_ = sum;
  }
  size_t size() const { return n_; }

  // Quantile at fractional rank t in [0, N-1]: linear between s_floor(t)
  // and s_ceil(t), so a source rank that falls between two reference
  // samples lands between their values instead of snapping to one.
  double at_rank(double t) const {
    t = std::clamp(t, 0.0, static_cast<double>(n_ - 1));
    const size_t k = static_cast<size_t>(t);
    const double frac = t - static_cast<double>(k);
    const double lo = sample(k);
    return frac > 0.0 ? lo + frac * (sample(k + 1) - lo) : lo;
  }

 private:
  double sample(size_t k) const {
    return static_cast<double>(std::upper_bound(cdf_.begin(), cdf_.end(), k) - cdf_.begin());
  }
  std::array<size_t, 256> cdf_{};
  size_t n_ = 0;
};

// Monotone map level -> level taking the source histogram onto the
// reference's. All source pixels of one level occupy the ranks
// [before, before + count - 1] of the sorted source; the level maps to the
// reference quantile at their middle rank m, with ranks rescaled between
// sample counts by their centres: (m + 1/2) / N_s = (t + 1/2) / N_r.
// Equal source levels are ties and always map together (a function of the
// level, not of pixel position: no spatial pattern from tie-breaking, and
// deterministic). With N_s = N_r and the same histogram, t = m falls inside
// the level's own run of samples, so matching an image to itself is exact.
std::array<uint8_t, 256> matching_map(const Histogram& src, const SortedSamples& ref) {
  std::array<uint8_t, 256> map{};
  const double nr = static_cast<double>(ref.size());
  double n_src = 0;
  for (size_t c : src) n_src += static_cast<double>(c);
  double before = 0;
  for (int v = 0; v < 256; ++v) {
    // Unused levels get the value between their neighbours' (only to keep
    // the map monotone; no pixel reads them).
    const double mid = src[v] > 0 ? before + (static_cast<double>(src[v]) - 1) / 2 : before - 0.5;
    const double t = (mid + 0.5) * nr / n_src - 0.5;
    map[v] = to_level(ref.at_rank(t));
    before += static_cast<double>(src[v]);
  }
  return map;
}

Image match_histograms(const Image& source, const Image& reference) {
  Image out = blank_like(source);
  for (int c = 0; c < 3; ++c) {
    const auto map = matching_map(channel_histogram(source, c), SortedSamples(channel_histogram(reference, c)));
    for (size_t i = c; i < source.rgb.size(); i += 3) out.rgb[i] = map[source.rgb[i]];
  }
  return out;
}

// A grey reference has all its colour mass on the grey axis, which three
// independent channel maps cannot express (a red source pixel would stay
// red: R and G would go through the same map from different levels). So
// the source's luma is matched to the reference's single grey histogram
// and written to all three channels.
Image match_histograms_to_grey(const Image& source, const Image& grey_reference) {
  Image luma_img = blank_like(source);  // only channel 0 is used
  for (size_t i = 0; i < source.rgb.size(); i += 3) {
    luma_img.rgb[i] = to_level(luma(source.rgb[i], source.rgb[i + 1], source.rgb[i + 2]));
  }
  const auto map =
      matching_map(channel_histogram(luma_img, 0), SortedSamples(channel_histogram(grey_reference, 0)));
  Image out = blank_like(source);
  for (size_t i = 0; i < source.rgb.size(); i += 3) {
    out.rgb[i] = out.rgb[i + 1] = out.rgb[i + 2] = map[luma_img.rgb[i]];
  }
  return out;
}

// ----------------------------------------------------------------- linear

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<Vec3, 3>;

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat3 transpose(const Mat3& a) {
  Mat3 t{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) t[i][j] = a[j][i];
  return t;
}

Mat3 identity() { return {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}; }

struct ColourStats {
  Vec3 mean{};
  Mat3 cov{};  // population covariance, (1/N) sum (x - mean)(x - mean)^T
};

// Two passes (mean, then centred products) in double: exact enough for any
// image size, unlike E[x x^T] - mean mean^T, which cancels badly.
ColourStats colour_stats(const Image& img) {
  ColourStats s;
  const double n = static_cast<double>(img.pixels());
  for (size_t i = 0; i < img.rgb.size(); i += 3)
    for (int c = 0; c < 3; ++c) s.mean[c] += img.rgb[i + c];
  for (auto& m : s.mean) m /= n;
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    const Vec3 d = {img.rgb[i] - s.mean[0], img.rgb[i + 1] - s.mean[1], img.rgb[i + 2] - s.mean[2]};
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) s.cov[a][b] += d[a] * d[b];
  }
  for (auto& row : s.cov)
    for (auto& v : row) v /= n;
  return s;
}

struct Eigen3 {
  Vec3 values{};
  Mat3 vectors{};  // columns are the eigenvectors
};

// Cyclic Jacobi: rotate away each off-diagonal entry in turn. For a
// symmetric matrix it converges quadratically and keeps V orthogonal to
// rounding, which is what a matrix square root needs; 3x3 takes a few sweeps.
// Rotation zeroing a_pq:  theta = (a_qq - a_pp) / (2 a_pq),
//   t = sign(theta) / (|theta| + sqrt(theta^2 + 1)),  c = 1/sqrt(1+t^2), s = t c,
//   A <- J^T A J,  V <- V J  with J the identity but J_pp = J_qq = c, J_pq = s, J_qp = -s.
Eigen3 jacobi_eigen(Mat3 a) {
  Mat3 v = identity();
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off = std::abs(a[0][1]) + std::abs(a[0][2]) + std::abs(a[1][2]);
    const double diag = std::abs(a[0][0]) + std::abs(a[1][1]) + std::abs(a[2][2]);
    if (off <= 1e-300 || off <= 1e-17 * diag) break;
    for (int p = 0; p < 2; ++p) {
      for (int q = p + 1; q < 3; ++q) {
        if (a[p][q] == 0.0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        Mat3 j = identity();
        j[p][p] = j[q][q] = c;
        j[p][q] = s;
        j[q][p] = -s;
        a = multiply(transpose(j), multiply(a, j));
        v = multiply(v, j);
      }
    }
  }
  return {{a[0][0], a[1][1], a[2][2]}, v};
}

// (C + ridge I)^power for symmetric positive semi-definite C:
// V diag((max(lambda, 0) + ridge)^power) V^T. Negative eigenvalues are
// rounding noise of a PSD matrix, hence the clamp at 0.
Mat3 symmetric_power(const Mat3& c, double power, double ridge) {
  const Eigen3 e = jacobi_eigen(c);
  Mat3 scaled = e.vectors;
  for (int k = 0; k < 3; ++k) {
    const double f = std::pow(std::max(e.values[k], 0.0) + ridge, power);
    for (int i = 0; i < 3; ++i) scaled[i][k] *= f;
  }
  return multiply(scaled, transpose(e.vectors));
}

// Ridge on the source covariance, in levels^2. About 8-bit quantisation's
// own variance (1/12): a direction with less spread carries no colour
// signal, and C_s^(-1/2) must stay finite for flat and grey sources, whose
// covariance is singular. It biases the matched covariance by about
// ridge / lambda_min(C_s), under 1% for any image with real colour spread.
constexpr double kCovarianceRidge = 0.1;

// Gatys et al. 2016, eq. for A_IA ("image analogies" variant): with
// A = C_r^(1/2) C_s^(-1/2) (symmetric roots), x' = A (x - mu_s) + mu_r has
// mean mu_r and covariance A C_s A^T = C_r^(1/2) C_s^(-1/2) C_s C_s^(-1/2) C_r^(1/2) = C_r.
// Of all the A that do this (C_r^(1/2) Q C_s^(-1/2), Q orthogonal) the
// symmetric one rotates colours least.
Image match_linear(const Image& source, const Image& reference) {
  const ColourStats s = colour_stats(source), r = colour_stats(reference);
  const Mat3 a = multiply(symmetric_power(r.cov, 0.5, 0.0), symmetric_power(s.cov, -0.5, kCovarianceRidge));
  // A grey reference's C_r^(1/2) maps onto the grey axis already; averaging
  // the channels removes the last-bit noise so that R = G = B exactly.
  const bool grey_out = is_grey(reference);
  Image out = blank_like(source);
  for (size_t i = 0; i < source.rgb.size(); i += 3) {
    const Vec3 d = {source.rgb[i] - s.mean[0], source.rgb[i + 1] - s.mean[1], source.rgb[i + 2] - s.mean[2]};
    Vec3 x = r.mean;
    for (int row = 0; row < 3; ++row)
      for (int k = 0; k < 3; ++k) x[row] += a[row][k] * d[k];
    if (grey_out) x[0] = x[1] = x[2] = (x[0] + x[1] + x[2]) / 3.0;
    for (int c = 0; c < 3; ++c) out.rgb[i + c] = to_level(x[c]);
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------ public

Image transfer_luminance(const Image& stylized, const Image& content) {
  require_image(stylized, "stylised");
  require_image(content, "content");
  const Image chroma = (content.width == stylized.width && content.height == stylized.height)
                           ? content
                           : resize(content, stylized.width, stylized.height);
  Image out = blank_like(stylized);
  for (size_t i = 0; i < stylized.rgb.size(); i += 3) {
    Yuv c = rgb_to_yuv(&chroma.rgb[i]);
    c.y = rgb_to_yuv(&stylized.rgb[i]).y;
    yuv_to_rgb(c, &out.rgb[i]);
  }
  return out;
}

Image match_colors(const Image& source, const Image& reference, ColorTransfer how) {
  require_image(source, "source");
  require_image(reference, "reference");
  switch (how) {
    case ColorTransfer::None:
      return source;
    case ColorTransfer::Histogram:
      return is_grey(reference) ? match_histograms_to_grey(source, reference) : match_histograms(source, reference);
    case ColorTransfer::Linear:
      return match_linear(source, reference);
  }
  throw InvalidArgument("unknown colour transfer method " + std::to_string(static_cast<int>(how)));
}

ColorTransfer parse_color_transfer(const std::string& name) {
  if (name == "none") return ColorTransfer::None;
  if (name == "histogram") return ColorTransfer::Histogram;
  if (name == "linear") return ColorTransfer::Linear;
  throw InvalidArgument("unknown colour transfer '" + name + "' (use none, histogram or linear)");
}

}  // namespace nst
