// nst/score.hpp: the edge correlation against a naive float64 reference and
// its invariances; the style ratio on a tiny random VGG16 (channel widths / 8)
// and, when ../shared/weights is present, on real pretrained weights.
#include "nst/score.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "engine/random.hpp"

namespace nst {
namespace {

// ---- test images ----------------------------------------------------------------

// A scene with structure: a few soft blobs, one hard diagonal edge and a
// little noise, each channel in [lo, hi] (so that a contrast change can be
// chosen that does not clip). Not symmetric under a 180-degree turn.
Image scene_image(int width, int height, uint64_t seed, int lo = 0, int hi = 255) {
  Rng rng(seed);
  struct Blob {
    double x, y, r, amp[3];
  };
  std::vector<Blob> blobs(4);
  for (auto& b : blobs) {
    b.x = rng.uniform() * width;
    b.y = rng.uniform() * height;
    b.r = (0.1 + 0.2 * rng.uniform()) * std::max(width, height);
    for (double& a : b.amp) a = rng.uniform();
  }
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(img.pixels() * 3);
  for (int i = 0; i < height; ++i) {
    for (int j = 0; j < width; ++j) {
      for (int c = 0; c < 3; ++c) {
        double v = (j > 0.3 * width + 0.4 * i) ? 0.3 : 0.0;  // the hard edge
        for (const auto& b : blobs) {
          const double d2 = (j - b.x) * (j - b.x) + (i - b.y) * (i - b.y);
          v += 0.5 * b.amp[c] * std::exp(-d2 / (b.r * b.r));
        }
        v += 0.05 * rng.uniform();
        v = std::min(1.0, v / 1.4);
        img.rgb[(static_cast<size_t>(i) * width + j) * 3 + c] = static_cast<uint8_t>(lo + std::lround(v * (hi - lo)));
      }
    }
  }
  return img;
}

Image rotate180(const Image& img) {
  Image out = img;
  const size_t n = img.pixels();
  for (size_t p = 0; p < n; ++p) {
    for (int c = 0; c < 3; ++c) out.rgb[p * 3 + c] = img.rgb[(n - 1 - p) * 3 + c];
  }
  return out;
}

// rgb' = a * rgb + b, exact in bytes (the caller keeps it within 0..255).
Image brightness_contrast(const Image& img, int a, int b) {
  Image out = img;
  for (auto& v : out.rgb) v = static_cast<uint8_t>(a * v + b);
  return out;
}

// ---- the naive float64 reference ------------------------------------------------

// r of the edge maps, written as directly as possible: a full 2-D Gaussian
// (13x13, normalised over its own sum) and the two 3x3 Sobel kernels, each
// a plain loop over the kernel with clamped image coordinates.
double edge_correlation_reference(const Image& a, const Image& b) {
  const int h = a.height, w = a.width;
  const double sigma = 2.0;
  const int r = static_cast<int>(std::ceil(3 * sigma));
  auto edges = [&](const Image& img) {
    auto clamp = [](int i, int n) { return std::min(std::max(i, 0), n - 1); };
    std::vector<double> y(img.pixels()), blurred(img.pixels()), mag(img.pixels());
    for (size_t p = 0; p < y.size(); ++p)
      y[p] = 0.299 * img.rgb[3 * p] + 0.587 * img.rgb[3 * p + 1] + 0.114 * img.rgb[3 * p + 2];
    double norm = 0;
    for (int di = -r; di <= r; ++di)
      for (int dj = -r; dj <= r; ++dj) norm += std::exp(-(di * di + dj * dj) / (2 * sigma * sigma));
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < w; ++j) {
        double s = 0;
        for (int di = -r; di <= r; ++di)
          for (int dj = -r; dj <= r; ++dj)
            s += std::exp(-(di * di + dj * dj) / (2 * sigma * sigma)) / norm *
                 y[clamp(i + di, h) * w + clamp(j + dj, w)];
        blurred[i * w + j] = s;
      }
    const int sx[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};  // [row][col], d/dcol
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < w; ++j) {
        double gx = 0, gy = 0;
        for (int di = -1; di <= 1; ++di)
          for (int dj = -1; dj <= 1; ++dj) {
            const double v = blurred[clamp(i + di, h) * w + clamp(j + dj, w)];
            gx += sx[di + 1][dj + 1] * v;
            gy += sx[dj + 1][di + 1] * v;  // the transpose: d/drow
          }
        mag[i * w + j] = std::sqrt(gx * gx + gy * gy);
      }
    return mag;
  };
  const std::vector<double> ea = edges(a), eb = edges(b);
  const double n = static_cast<double>(ea.size());
  double ma = 0, mb = 0;
  for (size_t p = 0; p < ea.size(); ++p) {
    ma += ea[p];
    mb += eb[p];
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t p = 0; p < ea.size(); ++p) {
    sab += (ea[p] - ma) * (eb[p] - mb);
    saa += (ea[p] - ma) * (ea[p] - ma);
    sbb += (eb[p] - mb) * (eb[p] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// ---- edge correlation -------------------------------------------------------------

TEST(EdgeCorrelation, OfAnImageWithItselfIsOne) {
  const Image img = scene_image(64, 48, 1);
  EXPECT_NEAR(edge_correlation(img, img), 1.0, 1e-12);
}

TEST(EdgeCorrelation, IsInvariantToBrightnessAndContrast) {
  const Image img = scene_image(64, 48, 2, 20, 120);
  const Image other = scene_image(64, 48, 3);
  const Image changed = brightness_contrast(img, 2, 10);  // 20..120 -> 50..250, no clipping
  EXPECT_NEAR(edge_correlation(changed, img), 1.0, 1e-9);
  EXPECT_NEAR(edge_correlation(changed, other), edge_correlation(img, other), 1e-9);
}

TEST(EdgeCorrelation, MatchesTheNaiveFloat64Reference) {
  const Image a = noise_image(37, 29, 4), b = scene_image(37, 29, 5);
  const double got = edge_correlation(a, b), want = edge_correlation_reference(a, b);
  std::printf("edge correlation %.15f, reference %.15f\n", got, want);
  EXPECT_NEAR(got, want, 1e-9);
  EXPECT_GT(std::fabs(want), 1e-3) << "the comparison should not be between two zeros";
}

TEST(EdgeCorrelation, OfIndependentNoiseIsNearZero) {
  // 256x256: after the blur about 1300 independent samples, so |r| ~ 0.03.
  const double r = edge_correlation(noise_image(256, 256, 6), noise_image(256, 256, 7));
  std::printf("edge correlation of independent noise: %.4f\n", r);
  EXPECT_LT(std::fabs(r), 0.2);
}

TEST(EdgeCorrelation, ARotatedImageScoresLowerThanItself) {
  const Image img = scene_image(64, 48, 8);
  const double rotated = edge_correlation(rotate180(img), img);
  std::printf("edge correlation with the 180-degree turn: %.4f\n", rotated);
  EXPECT_LT(rotated, edge_correlation(img, img));
  EXPECT_LT(rotated, 0.9);
}

TEST(EdgeCorrelation, ResizesTheContentToTheOutputSize) {
  const Image big = scene_image(128, 96, 9);
  const Image small = resize(big, 64, 48);
  EXPECT_NEAR(edge_correlation(small, big), 1.0, 1e-12);  // nst::resize gives the same pixels
}

TEST(EdgeCorrelation, OfAFlatImageIsZero) {
  Image flat = scene_image(32, 24, 10);
  std::fill(flat.rgb.begin(), flat.rgb.end(), 128);
  EXPECT_EQ(edge_correlation(flat, scene_image(32, 24, 11)), 0.0);
  EXPECT_EQ(edge_correlation(scene_image(32, 24, 11), flat), 0.0);
}

TEST(EdgeCorrelation, RejectsEmptyOrInconsistentImages) {
  const Image ok = scene_image(32, 24, 12);
  EXPECT_THROW(edge_correlation(Image{}, ok), InvalidArgument);
  Image broken = ok;
  broken.rgb.pop_back();
  EXPECT_THROW(edge_correlation(ok, broken), InvalidArgument);
}

// ---- style ratio on a tiny random network -------------------------------------------

class StyleRatioTest : public ::testing::Test {
 protected:
  std::vector<LayerSpec> layers_ = vgg16_layers(8);
  NetworkWeights weights_ = make_random_weights(layers_, 21);
  Image content_ = scene_image(48, 40, 22);
  Image style_ = noise_image(60, 52, 23);  // another size and aspect: scaled to 48x42 as a target

  Scores score(const Image& output, const std::vector<Image>& styles, const std::vector<float>& blend = {}) {
    return score_image(weights_, output, content_, styles, layers_, blend);
  }
};

TEST_F(StyleRatioTest, IsOneWhenTheOutputIsTheContent) {
  const Scores s = score(content_, {style_});
  EXPECT_NEAR(s.style_ratio, 1.0, 1e-9);
  EXPECT_GT(s.style_loss_content, 0);
  EXPECT_NEAR(s.edge_correlation, 1.0, 1e-12);
}

TEST_F(StyleRatioTest, IsBetweenZeroAndOneWhenTheOutputIsTheStyleImage) {
  const Scores s = score(resize(style_, content_.width, content_.height), {style_});
  std::printf("style ratio %.4g (loss %.4g / %.4g), edge correlation %.3f\n", s.style_ratio, s.style_loss_output,
              s.style_loss_content, s.edge_correlation);
  EXPECT_GT(s.style_ratio, 0);
  EXPECT_LT(s.style_ratio, 1);
  EXPECT_NEAR(s.style_ratio, s.style_loss_output / s.style_loss_content, 1e-15);
}

TEST_F(StyleRatioTest, StyleLossOfAgreesWithScoreImage) {
  const Image out = resize(style_, content_.width, content_.height);
  const Scores s = score(out, {style_});
  EXPECT_NEAR(style_loss_of(weights_, out, {style_}, layers_), s.style_loss_output, 1e-6 * s.style_loss_output);
  EXPECT_NEAR(style_loss_of(weights_, content_, {style_}, layers_), s.style_loss_content, 1e-6 * s.style_loss_content);
}

TEST_F(StyleRatioTest, BlendWeightsSelectTheStyleTargets) {
  const Image other = scene_image(40, 50, 24);
  const Image out = resize(style_, content_.width, content_.height);
  const Scores only = score(out, {style_});
  const Scores blended = score(out, {style_, other}, {1, 0});
  EXPECT_NEAR(blended.style_loss_output, only.style_loss_output, 1e-6 * only.style_loss_output);
  EXPECT_NEAR(blended.style_ratio, only.style_ratio, 1e-6 * only.style_ratio);
}

TEST_F(StyleRatioTest, MismatchedInputsAreRejected) {
  EXPECT_THROW(score(content_, {}), InvalidArgument);                     // no style image
  EXPECT_THROW(score(content_, {style_}, {0.5f, 0.5f}), InvalidArgument);  // two weights, one style
  Image broken = style_;
  broken.rgb.resize(10);
  EXPECT_THROW(score(content_, {broken}), InvalidArgument);
  EXPECT_THROW(score(Image{}, {style_}), InvalidArgument);
  EXPECT_THROW(score_image(weights_, content_, content_, {style_}, vgg16_layers(4)), InvalidArgument)
      << "weights of another width than the layer table";
}

// ---- style ratio on real weights ------------------------------------------------------

// ../shared beside the source tree; $NST_SHARED_DIR overrides it (e.g. for a
// git worktree whose ../shared is elsewhere).
std::filesystem::path shared_dir() {
  const char* env = std::getenv("NST_SHARED_DIR");
  if (env && *env) return env;
  return std::filesystem::path(NST_SOURCE_DIR) / ".." / "shared";
}

class RealWeightsStyleRatioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto weights = shared_dir() / "weights" / "hed_vgg16_notop.h5";
    if (!std::filesystem::exists(weights)) {
      GTEST_SKIP() << "no ../shared/weights: " << weights << " is absent (set NST_SHARED_DIR to its parent)";
    }
    weights_ = load_keras_weights(weights.string(), vgg16_layers());
    content_ = resize_longest_side(load_image((shared_dir() / "images" / "tubingen.jpg").string()), 128);
    style_ = load_image((shared_dir() / "images" / "starry_night.jpg").string());
  }

  NetworkWeights weights_;
  Image content_, style_;
};

TEST_F(RealWeightsStyleRatioTest, TheStyleImageItselfScoresBelowPointTwo) {
  const Scores s = score_image(weights_, resize(style_, content_.width, content_.height), content_, {style_});
  std::printf("starry night vs tubingen at %dx%d: style ratio %.4g, edge correlation %.3f\n", content_.width,
              content_.height, s.style_ratio, s.edge_correlation);
  EXPECT_LT(s.style_ratio, 0.2);
}

TEST_F(RealWeightsStyleRatioTest, TheContentItselfScoresOne) {
  const Scores s = score_image(weights_, content_, content_, {style_});
  EXPECT_NEAR(s.style_ratio, 1.0, 1e-9);
  EXPECT_NEAR(s.edge_correlation, 1.0, 1e-12);
}

}  // namespace
}  // namespace nst
