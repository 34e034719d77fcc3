// Colour control: luminance transfer, histogram and linear colour matching.
// The checks recompute YUV, quantiles, means and covariances here, from
// their definitions, rather than reuse the implementation's helpers.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <vector>

#include "engine/random.hpp"
#include "nst/color.hpp"
#include "nst/error.hpp"
#include "nst/image.hpp"

namespace fs = std::filesystem;

namespace nst {
namespace {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<Vec3, 3>;

uint8_t clamp_level(double x) { return static_cast<uint8_t>(std::lround(std::clamp(x, 0.0, 255.0))); }

// x = mean + M z with z ~ N(0, I): colours with covariance M M^T, so the
// channels are correlated like a real photo's.
Image correlated_image(int w, int h, uint64_t seed, const Vec3& mean, const Mat3& m) {
  Rng rng(seed);
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(img.pixels() * 3);
  for (size_t i = 0; i < img.rgb.size(); i += 3) {
    const Vec3 z = {rng.normal(), rng.normal(), rng.normal()};
    for (int c = 0; c < 3; ++c) {
      img.rgb[i + c] = clamp_level(mean[c] + m[c][0] * z[0] + m[c][1] * z[1] + m[c][2] * z[2]);
    }
  }
  return img;
}

// A skewed, non-Gaussian reference: each channel a different power of a
// shared uniform plus noise, kept off 0 and 255 (a clamped spike is one
// level a histogram map cannot split).
Image skewed_image(int w, int h, uint64_t seed) {
  Rng rng(seed);
  Image img;
  img.width = w;
  img.height = h;
  for (size_t i = 0; i < img.pixels(); ++i) {
    const double u = rng.uniform();
    img.rgb.push_back(clamp_level(20 + 215 * u * u + 6 * rng.normal()));
    img.rgb.push_back(clamp_level(40 + 150 * std::sqrt(u) + 15 * rng.normal()));
    img.rgb.push_back(clamp_level(200 - 120 * u + 20 * rng.normal()));
  }
  return img;
}

Image grey_of(const Image& img) {
  Image g = img;
  for (size_t i = 0; i < g.rgb.size(); i += 3) {
    const double y = 0.299 * g.rgb[i] + 0.587 * g.rgb[i + 1] + 0.114 * g.rgb[i + 2];
    g.rgb[i] = g.rgb[i + 1] = g.rgb[i + 2] = clamp_level(y);
  }
  return g;
}

bool is_grey(const Image& img) {
  for (size_t i = 0; i < img.rgb.size(); i += 3)
    if (img.rgb[i] != img.rgb[i + 1] || img.rgb[i] != img.rgb[i + 2]) return false;
  return true;
}

std::vector<int> channel(const Image& img, int c) {
  std::vector<int> v;
  for (size_t i = c; i < img.rgb.size(); i += 3) v.push_back(img.rgb[i]);
  return v;
}

double mean_of(const std::vector<int>& v) {
  double s = 0;
  for (int x : v) s += x;
  return s / v.size();
}

// Sample quantile: the sorted value at index round(p (N - 1)).
int quantile(std::vector<int> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::lround(p * (v.size() - 1)))];
}

Vec3 colour_mean(const Image& img) {
  Vec3 m{};
  for (int c = 0; c < 3; ++c) m[c] = mean_of(channel(img, c));
  return m;
}

Mat3 colour_cov(const Image& img) {
  const Vec3 m = colour_mean(img);
  Mat3 cov{};
  for (size_t i = 0; i < img.rgb.size(); i += 3)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) cov[a][b] += (img.rgb[i + a] - m[a]) * (img.rgb[i + b] - m[b]);
  for (auto& row : cov)
    for (auto& x : row) x /= img.pixels();
  return cov;
}

// ||A - B||_F / ||B||_F
double relative_frobenius(const Mat3& a, const Mat3& b) {
  double num = 0, den = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      num += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
      den += b[i][j] * b[i][j];
    }
  return std::sqrt(num / den);
}

int max_abs_diff(const Image& a, const Image& b) {
  int d = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) d = std::max(d, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
  return d;
}

bool same_shape(const Image& out, const Image& like) {
  return out.width == like.width && out.height == like.height && out.rgb.size() == like.rgb.size();
}

// BT.601 YUV, as in the header.
Vec3 yuv(const uint8_t* p) {
  const double y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  return {y, 0.492111 * (p[2] - y), 0.877283 * (p[0] - y)};
}

const Mat3 kMixA = {{{30, 8, 4}, {20, 18, 2}, {10, 12, 15}}};   // warm, strongly correlated
const Mat3 kMixB = {{{12, -6, 3}, {14, 22, 0}, {5, 25, 20}}};  // cooler, different correlations
const Mat3 kMixWide = {{{50, 8, 4}, {30, 30, 2}, {10, 20, 35}}};  // spread over most levels

// ------------------------------------------------------- transfer_luminance

TEST(TransferLuminance, KeepsStylisedLumaAndContentChroma) {
  const Image stylized = correlated_image(64, 48, 1, {120, 110, 100}, kMixA);
  const Image content = correlated_image(64, 48, 2, {110, 130, 140}, kMixB);
  const Image out = transfer_luminance(stylized, content);
  ASSERT_TRUE(same_shape(out, stylized));
  size_t unclamped = 0;
  for (size_t i = 0; i < out.rgb.size(); i += 3) {
    const Vec3 s = yuv(&stylized.rgb[i]), c = yuv(&content.rgb[i]), o = yuv(&out.rgb[i]);
    // Swapping Y adds Y_s - Y_c to each channel; only where that stays in
    // 0..255 is the result free of clamping.
    bool clamped = false;
    for (int k = 0; k < 3; ++k) {
      const double v = content.rgb[i + k] + (s[0] - c[0]);
      clamped |= v < 0 || v > 255;
    }
    if (clamped) continue;
    ++unclamped;
    EXPECT_LE(std::abs(o[0] - s[0]), 1.0) << "pixel " << i / 3;
    EXPECT_LE(std::abs(o[1] - c[1]), 1.0) << "pixel " << i / 3;
    EXPECT_LE(std::abs(o[2] - c[2]), 1.0) << "pixel " << i / 3;
  }
  EXPECT_GT(unclamped, out.pixels() * 9 / 10);
}

TEST(TransferLuminance, SameImageIsIdentity) {
  for (const Image& img : {noise_image(33, 17, 3), correlated_image(20, 30, 4, {128, 128, 128}, kMixA)}) {
    EXPECT_LE(max_abs_diff(transfer_luminance(img, img), img), 1);
  }
}

TEST(TransferLuminance, ResizesContentToStylisedSize) {
  const Image stylized = correlated_image(40, 30, 5, {120, 110, 100}, kMixA);
  const Image content = correlated_image(23, 17, 6, {110, 130, 140}, kMixB);
  const Image out = transfer_luminance(stylized, content);
  EXPECT_EQ(out.width, 40);
  EXPECT_EQ(out.height, 30);
  EXPECT_EQ(out.rgb, transfer_luminance(stylized, resize(content, 40, 30)).rgb);
}

TEST(TransferLuminance, GreyContentGivesTheStylisedLumaInGrey) {
  const Image stylized = noise_image(25, 20, 7);
  const Image out = transfer_luminance(stylized, grey_of(correlated_image(25, 20, 8, {128, 128, 128}, kMixA)));
  for (size_t i = 0; i < out.rgb.size(); i += 3) {
    const double y = yuv(&stylized.rgb[i])[0];
    for (int k = 0; k < 3; ++k) EXPECT_LE(std::abs(out.rgb[i + k] - y), 0.5 + 1e-9);
  }
}

// ---------------------------------------------------------------- histogram

TEST(HistogramMatch, MatchingAnImageToItselfIsTheIdentity) {
  for (const Image& img : {noise_image(31, 29, 9), correlated_image(50, 40, 10, {100, 150, 90}, kMixA),
                           skewed_image(37, 11, 11), grey_of(skewed_image(20, 20, 12))}) {
    EXPECT_EQ(match_colors(img, img, ColorTransfer::Histogram).rgb, img.rgb);
  }
}

void expect_channel_distribution_matches(const Image& out, const Image& ref, int tolerance) {
  for (int c = 0; c < 3; ++c) {
    const auto o = channel(out, c), r = channel(ref, c);
    EXPECT_NEAR(mean_of(o), mean_of(r), tolerance) << "channel " << c;
    for (double p : {0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95}) {
      EXPECT_NEAR(quantile(o, p), quantile(r, p), tolerance) << "channel " << c << " quantile " << p;
    }
  }
}

// A map of levels cannot split one source level, so where it stretches the
// source's range k times the output has gaps of ~k levels and a quantile can
// be off by ~k/2 + 1 (a std-31 source onto a std-76 reference misses by 3).
// These pairs stretch little; over 30 seeds each stays within 2 levels.
TEST(HistogramMatch, MeansAndQuantilesBecomeTheReferences) {
  const Image wide = correlated_image(160, 120, 13, {120, 110, 100}, kMixWide);
  const Image skewed = skewed_image(70, 50, 14);
  const Image narrow = correlated_image(90, 70, 15, {100, 130, 150}, kMixB);
  // Larger source than reference, and the reverse.
  expect_channel_distribution_matches(match_colors(wide, skewed, ColorTransfer::Histogram), skewed, 2);
  expect_channel_distribution_matches(match_colors(skewed, narrow, ColorTransfer::Histogram), narrow, 2);
  expect_channel_distribution_matches(match_colors(noise_image(90, 70, 16), skewed, ColorTransfer::Histogram),
                                      skewed, 2);
}

TEST(HistogramMatch, MapIsMonotonePerChannel) {
  const Image src = correlated_image(80, 60, 16, {120, 110, 100}, kMixA);
  const Image out = match_colors(src, skewed_image(50, 50, 17), ColorTransfer::Histogram);
  for (int c = 0; c < 3; ++c) {
    std::array<int, 256> lo, hi;
    lo.fill(256);
    hi.fill(-1);
    for (size_t i = c; i < src.rgb.size(); i += 3) {
      lo[src.rgb[i]] = std::min(lo[src.rgb[i]], int(out.rgb[i]));
      hi[src.rgb[i]] = std::max(hi[src.rgb[i]], int(out.rgb[i]));
    }
    int prev = -1;
    for (int v = 0; v < 256; ++v) {
      if (hi[v] < 0) continue;
      EXPECT_EQ(lo[v], hi[v]) << "level " << v << " split";  // a function of the level
      EXPECT_GE(lo[v], prev) << "level " << v;
      prev = hi[v];
    }
  }
}

TEST(HistogramMatch, GreyReferenceMakesTheSourceGrey) {
  const Image src = correlated_image(90, 60, 18, {120, 110, 100}, kMixA);
  const Image ref = grey_of(skewed_image(60, 40, 19));
  const Image out = match_colors(src, ref, ColorTransfer::Histogram);
  ASSERT_TRUE(same_shape(out, src));
  EXPECT_TRUE(is_grey(out));
  expect_channel_distribution_matches(out, ref, 2);
}

TEST(HistogramMatch, GreySourceTakesTheReferencesColours) {
  const Image src = grey_of(correlated_image(90, 60, 20, {120, 110, 100}, kMixWide));
  const Image ref = skewed_image(60, 40, 21);
  const Image out = match_colors(src, ref, ColorTransfer::Histogram);
  ASSERT_TRUE(same_shape(out, src));
  EXPECT_FALSE(is_grey(out));
  expect_channel_distribution_matches(out, ref, 2);
}

TEST(HistogramMatch, FlatSourceBecomesTheReferenceMedian) {
  Image flat = noise_image(10, 10, 22);
  std::fill(flat.rgb.begin(), flat.rgb.end(), uint8_t(77));
  const Image ref = skewed_image(41, 41, 23);  // odd pixel count: one median sample
  const Image out = match_colors(flat, ref, ColorTransfer::Histogram);
  for (int c = 0; c < 3; ++c) {
    for (int v : channel(out, c)) EXPECT_EQ(v, quantile(channel(ref, c), 0.5));
  }
}

// ------------------------------------------------------------------- linear

void expect_mean_and_cov_match(const Image& out, const Image& ref, double cov_tolerance) {
  const Vec3 mo = colour_mean(out), mr = colour_mean(ref);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(mo[c], mr[c], 0.5) << "channel " << c;
  const Mat3 co = colour_cov(out), cr = colour_cov(ref);
  EXPECT_LT(relative_frobenius(co, cr), cov_tolerance);
  // Entry by entry too, scaled by the channels' spread (correlations).
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      EXPECT_NEAR(co[a][b], cr[a][b], cov_tolerance * std::sqrt(cr[a][a] * cr[b][b])) << a << "," << b;
}

TEST(LinearMatch, MeanAndCovarianceBecomeTheReferences) {
  const Image a = correlated_image(160, 120, 24, {120, 110, 100}, kMixA);
  const Image b = correlated_image(90, 70, 25, {100, 130, 150}, kMixB);
  expect_mean_and_cov_match(match_colors(a, b, ColorTransfer::Linear), b, 0.02);
  expect_mean_and_cov_match(match_colors(b, a, ColorTransfer::Linear), a, 0.02);
  // A non-Gaussian source: only two moments are matched, and they still are.
  // (Not a Gaussian source onto this wide skewed image: its tails would be
  // clamped at 0 and 255, which shrinks the covariance.)
  const Image skewed = skewed_image(100, 80, 26);
  expect_mean_and_cov_match(match_colors(skewed, a, ColorTransfer::Linear), a, 0.02);
}

TEST(LinearMatch, MatchingAnImageToItselfIsTheIdentity) {
  const Image img = correlated_image(60, 50, 27, {120, 110, 100}, kMixA);
  EXPECT_LE(max_abs_diff(match_colors(img, img, ColorTransfer::Linear), img), 1);
}

TEST(LinearMatch, GreyReferenceMakesTheSourceGrey) {
  const Image src = correlated_image(90, 60, 28, {120, 110, 100}, kMixA);
  const Image ref = grey_of(correlated_image(50, 40, 29, {100, 130, 150}, kMixB));
  const Image out = match_colors(src, ref, ColorTransfer::Linear);
  ASSERT_TRUE(same_shape(out, src));
  EXPECT_TRUE(is_grey(out));
  expect_mean_and_cov_match(out, ref, 0.02);
}

TEST(LinearMatch, GreySourceBecomesAColourRamp) {
  const Image src = grey_of(correlated_image(90, 60, 30, {120, 110, 100}, kMixA));
  const Image ref = correlated_image(50, 40, 31, {100, 130, 150}, kMixA);  // positive correlations
  const Image out = match_colors(src, ref, ColorTransfer::Linear);
  ASSERT_TRUE(same_shape(out, src));
  EXPECT_FALSE(is_grey(out));
  const Vec3 mo = colour_mean(out), mr = colour_mean(ref);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(mo[c], mr[c], 0.5);
  // One grey level, one colour; brighter grey, no darker channel.
  std::array<Vec3, 256> at{};
  std::array<bool, 256> seen{};
  for (size_t i = 0; i < src.rgb.size(); i += 3) {
    const int g = src.rgb[i];
    if (seen[g]) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(at[g][c], out.rgb[i + c]);
    }
    seen[g] = true;
    at[g] = {double(out.rgb[i]), double(out.rgb[i + 1]), double(out.rgb[i + 2])};
  }
  int prev = -1;
  for (int g = 0; g < 256; ++g) {
    if (!seen[g]) continue;
    if (prev >= 0) {
      for (int c = 0; c < 3; ++c) EXPECT_GE(at[g][c], at[prev][c]) << "grey " << g;
    }
    prev = g;
  }
}

TEST(LinearMatch, FlatSourceBecomesTheReferenceMean) {
  Image flat = noise_image(10, 10, 32);
  std::fill(flat.rgb.begin(), flat.rgb.end(), uint8_t(200));
  const Image ref = correlated_image(50, 40, 33, {100, 130, 150}, kMixB);
  const Vec3 mr = colour_mean(ref);
  const Image out = match_colors(flat, ref, ColorTransfer::Linear);
  for (size_t i = 0; i < out.rgb.size(); i += 3)
    for (int c = 0; c < 3; ++c) EXPECT_LE(std::abs(out.rgb[i + c] - mr[c]), 0.5 + 1e-9);
}

// ------------------------------------------------------------ both methods

TEST(MatchColors, GreyToGreyStaysGrey) {
  const Image src = grey_of(correlated_image(40, 30, 34, {120, 110, 100}, kMixA));
  const Image ref = grey_of(skewed_image(30, 20, 35));
  for (ColorTransfer how : {ColorTransfer::Histogram, ColorTransfer::Linear}) {
    const Image out = match_colors(src, ref, how);
    ASSERT_TRUE(same_shape(out, src));
    EXPECT_TRUE(is_grey(out));
    EXPECT_NEAR(mean_of(channel(out, 0)), mean_of(channel(ref, 0)), 1.0);
  }
}

TEST(MatchColors, NoneReturnsTheSource) {
  const Image src = noise_image(9, 7, 36);
  EXPECT_EQ(match_colors(src, noise_image(3, 3, 37), ColorTransfer::None).rgb, src.rgb);
}

TEST(MatchColors, EmptyImagesAreRejected) {
  const Image empty, img = noise_image(4, 4, 38);
  EXPECT_THROW(match_colors(empty, img, ColorTransfer::Linear), InvalidArgument);
  EXPECT_THROW(match_colors(img, empty, ColorTransfer::Histogram), InvalidArgument);
  EXPECT_THROW(transfer_luminance(empty, img), InvalidArgument);
  EXPECT_THROW(transfer_luminance(img, empty), InvalidArgument);
}

TEST(ParseColorTransfer, AcceptsTheThreeNames) {
  EXPECT_EQ(parse_color_transfer("none"), ColorTransfer::None);
  EXPECT_EQ(parse_color_transfer("histogram"), ColorTransfer::Histogram);
  EXPECT_EQ(parse_color_transfer("linear"), ColorTransfer::Linear);
}

TEST(ParseColorTransfer, NamesTheBadValue) {
  for (const char* bad : {"Linear", "hist", "", "linear "}) {
    try {
      parse_color_transfer(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("'" + std::string(bad) + "'"), std::string::npos) << e.what();
    }
  }
}

// ------------------------------------------------------------ greyscale I/O

// A 1-channel PNG through load_image: three equal channels, the grey values
// unchanged, and the colour functions accept it.
TEST(GreyscaleFile, LoadsAsThreeEqualChannels) {
  const fs::path dir = fs::temp_directory_path() / ("nst_color_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "grey.png").string();
  const int w = 13, h = 7;
  std::vector<uint8_t> grey(w * h);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<uint8_t>(i * 37 % 256);
  ASSERT_TRUE(stbi_write_png(path.c_str(), w, h, 1, grey.data(), w));
  const Image img = load_image(path);
  fs::remove_all(dir);
  ASSERT_EQ(img.width, w);
  ASSERT_EQ(img.height, h);
  ASSERT_EQ(img.rgb.size(), grey.size() * 3);
  for (size_t i = 0; i < grey.size(); ++i) {
    EXPECT_EQ(img.rgb[3 * i], grey[i]);
    EXPECT_EQ(img.rgb[3 * i + 1], grey[i]);
    EXPECT_EQ(img.rgb[3 * i + 2], grey[i]);
  }
  const Image colour = skewed_image(20, 20, 39);
  EXPECT_TRUE(is_grey(match_colors(colour, img, ColorTransfer::Linear)));
  EXPECT_TRUE(is_grey(match_colors(colour, img, ColorTransfer::Histogram)));
  EXPECT_FALSE(is_grey(match_colors(img, colour, ColorTransfer::Linear)));
}

}  // namespace
}  // namespace nst
