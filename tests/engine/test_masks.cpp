// Masks (regional style, Options::style_masks and content_mask) on a tiny
// random VGG16 (channel widths / 16):
//   - the mask maps: luminance, stretching to the canvas, 2x2 area averages
//     per pool, and the checks on a mask image;
//   - masked losses against the float64 reference, the gradient against its
//     central finite differences, an all-white mask being the unmasked run;
//   - the test, cheap: with a left/right mask and two styles, each
//     half's masked Gram ends up nearer its own style's Gram than the other's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/mask.hpp"
#include "tests/engine/masked_gram.hpp"
#include "engine/random.hpp"
#include "kernels/cpu/ops.hpp"
#include "nst/nst.hpp"
#include "tests/engine/reference_net.hpp"

namespace nst {
namespace {

constexpr int kH = 18, kW = 21;  // as test_session: odd sizes, just enough for 4 pools

// A grey image: value(x, y) in 0..255 at each pixel.
template <typename F>
Image grey_image(int w, int h, F value) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(img.pixels() * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>(value(x, y));
  return img;
}

// White on the left half (x < w/2), or on the right half.
Image half_mask(int w, int h, bool left) {
  return grey_image(w, h, [w, left](int x, int) { return (x < w / 2) == left ? 255 : 0; });
}

std::vector<double> values_of(const Image& mask) {
  const MaskMap m = mask_values(mask);
  return {m.values.begin(), m.values.end()};
}

std::vector<double> preprocessed(const Image& img) {
  std::vector<double> x(img.pixels() * 3);
  cpu::preprocess_reference(x.data(), img.rgb.data(), img.pixels());
  return x;
}

using testing::rel_error;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "(no InvalidArgument)";
}

// ---- the mask maps ---------------------------------------------------------------

TEST(MaskMap, GreyLevelsBecomeWeightsAndColourItsLuminance) {
  Image img = grey_image(2, 1, [](int x, int) { return x == 0 ? 255 : 51; });
  EXPECT_FLOAT_EQ(mask_values(img).values[0], 1.f);
  EXPECT_FLOAT_EQ(mask_values(img).values[1], 0.2f);
  img.rgb = {255, 0, 0, 0, 0, 255};  // red, blue: BT.601 luma
  EXPECT_NEAR(mask_values(img).values[0], 0.299, 1e-6);
  EXPECT_NEAR(mask_values(img).values[1], 0.114, 1e-6);
}

TEST(MaskMap, StretchingAHalfMaskKeepsItsHalvesAndRange) {
  const MaskMap m = mask_at_canvas(half_mask(40, 30, true), 21, 18);
  ASSERT_EQ(m.width, 21);
  ASSERT_EQ(m.height, 18);
  for (int y = 0; y < 18; ++y) {
    EXPECT_FLOAT_EQ(m.values[static_cast<size_t>(y) * 21 + 0], 1.f);
    EXPECT_FLOAT_EQ(m.values[static_cast<size_t>(y) * 21 + 20], 0.f);
  }
  for (float v : m.values) {
    EXPECT_GE(v, 0.f);
    EXPECT_LE(v, 1.f);
  }
  // At the canvas size already: the values as they are.
  EXPECT_EQ(mask_at_canvas(half_mask(21, 18, true), 21, 18).values, mask_values(half_mask(21, 18, true)).values);
}

TEST(MaskMap, LayersGetTheNetworksPoolingWindowsAveraged) {
  MaskMap m;
  m.width = 5;
  m.height = 3;  // floor: the last row and column fall outside every window
  m.values = {1, 0, 0, 0, 9, 1, 0, 1, 1, 9, 9, 9, 9, 9, 9};
  const MaskMap half = mask_at_layer(m, 2, 1);
  EXPECT_EQ(half.values, (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(mask_at_layer(m, 5, 3).values, m.values);
  EXPECT_THROW(mask_at_layer(m, 3, 1), InvalidArgument);
  EXPECT_DOUBLE_EQ(half.area(), 0.5);  // sum of squares
}

TEST(MaskChecks, BlackEverywhereIsRefusedByName) {
  const std::string what = error_of([] { check_mask(grey_image(4, 4, [](int, int) { return 0; }), "--style-mask 'm.png'"); });
  EXPECT_NE(what.find("--style-mask 'm.png'"), std::string::npos) << what;
  EXPECT_NE(what.find("black everywhere"), std::string::npos) << what;
  EXPECT_THROW(check_mask(Image{}, "content mask"), InvalidArgument);
}

TEST(MaskChecks, AnotherAspectRatioIsRefusedAndRoundingIsNot) {
  const Image m = half_mask(40, 30, true);
  EXPECT_NO_THROW(check_mask(m, "style mask 1", 400, 300));
  EXPECT_NO_THROW(check_mask(m, "style mask 1", 21, 16));  // 15.75 rounds to 16
  const std::string what = error_of([&] { check_mask(m, "style mask 1", 300, 400); });
  EXPECT_NE(what.find("style mask 1 is 40x30, the image 300x400"), std::string::npos) << what;
}

// ---- masked terms on a session ------------------------------------------------------

class MaskedSession : public ::testing::Test {
 protected:
  MaskedSession() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 11)) {
    opt_.compute.device = Device::Cpu;
    opt_.compute.threads = 1;  // tiny shapes: more threads only add barriers, slow on a busy machine
  }

  std::unique_ptr<Session> make_session(const std::vector<Image>& styles) {
    auto s = std::make_unique<Session>(weights_, opt_, kH, kW, LogFn{}, layers_);
    s->set_content(content_);
    s->set_styles(styles);
    return s;
  }

  testing::ReferenceNet make_reference(const std::vector<Image>& styles) {
    testing::ReferenceNet ref(weights_, layers_, opt_);
    std::vector<std::vector<double>> masks;
    for (const Image& m : opt_.style_masks) masks.push_back(values_of(m));
    ref.set_masks(masks, opt_.content_mask.pixels() ? values_of(opt_.content_mask) : std::vector<double>{}, kH, kW);
    ref.set_content(preprocessed(content_), kH, kW);
    std::vector<std::vector<double>> xs;
    std::vector<int> hs, ws;
    std::vector<double> blend;
    for (const Image& s : styles) {
      xs.push_back(preprocessed(s));
      hs.push_back(s.height);
      ws.push_back(s.width);
      blend.push_back(1.0 / static_cast<double>(styles.size()));
    }
    ref.set_styles(xs, hs, ws, blend);
    return ref;
  }

  std::vector<float> random_pixels(uint64_t seed) const {
    Rng rng(seed);
    std::vector<float> x(static_cast<size_t>(kH) * kW * 3);
    for (auto& v : x) v = static_cast<float>(60.0 * (rng.uniform() - 0.5));
    return x;
  }

  // Soft masks: a left-to-right ramp and its complement, a top-to-bottom
  // ramp for the content (greys everywhere, so the weighting is exercised).
  void use_soft_masks() {
    opt_.style_masks = {grey_image(kW, kH, [](int x, int) { return 255 * x / (kW - 1); }),
                        grey_image(kW, kH, [](int x, int) { return 255 - 255 * x / (kW - 1); })};
    opt_.content_mask = grey_image(kW, kH, [](int, int y) { return 40 + 200 * y / (kH - 1); });
  }

  void expect_gradient_matches_finite_differences(const std::vector<Image>& styles) {
    auto s = make_session(styles);
    const auto x = random_pixels(6);
    s->set_image(x);
    s->evaluate();
    const auto grad = s->gradient();
    const double err = testing::gradient_error_vs_finite_differences(make_reference(styles), x, grad, kH, kW);
    std::printf("masked gradient vs finite differences: relative error %.3e\n", err);
    EXPECT_LT(err, 1e-3);
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
  Options opt_;
  Image content_ = noise_image(kW, kH, 1);
  Image style_a_ = noise_image(25, 19, 2), style_b_ = noise_image(17, 20, 3);
};

TEST_F(MaskedSession, LossesMatchFloat64Reference) {
  use_soft_masks();
  auto s = make_session({style_a_, style_b_});
  const auto x = random_pixels(5);
  s->set_image(x);
  const Losses got = s->evaluate();
  const Losses want = make_reference({style_a_, style_b_}).loss(testing::to_double(x), kH, kW);
  EXPECT_NEAR(got.content, want.content, 1e-4 * want.content);
  EXPECT_NEAR(got.style, want.style, 1e-4 * want.style);
  EXPECT_NEAR(got.total, want.total, 1e-4 * want.total);
  EXPECT_GT(want.style, 0);
}

TEST_F(MaskedSession, StyleGradientMatchesFiniteDifferences) {
  use_soft_masks();
  opt_.content_mask = {};
  opt_.content_weight = 0;  // the style terms alone
  expect_gradient_matches_finite_differences({style_a_, style_b_});
}

TEST_F(MaskedSession, ContentGradientMatchesFiniteDifferences) {
  use_soft_masks();
  opt_.style_masks = {};
  opt_.style_weight = 0;  // the content term alone
  expect_gradient_matches_finite_differences({style_a_});
}

// m = 1: m F = F exactly, area = HW, so the scaled weight and target are the
// unmasked ones and the style terms run the same ops on the same values.
TEST_F(MaskedSession, AllWhiteStyleMaskIsTheUnmaskedRunBitForBit) {
  opt_.content_weight = 0;
  auto plain = make_session({style_a_});
  opt_.style_masks = {grey_image(kW, kH, [](int, int) { return 255; })};
  auto masked = make_session({style_a_});
  const auto x = random_pixels(7);
  plain->set_image(x);
  masked->set_image(x);
  EXPECT_EQ(plain->evaluate().style, masked->evaluate().style);
  EXPECT_EQ(plain->gradient(), masked->gradient());
  EXPECT_EQ(plain->style_target("block3_conv1"), masked->style_target("block3_conv1"));
}

// The content's gradient goes through one more rounding (m dM added to dF).
TEST_F(MaskedSession, AllWhiteContentMaskIsTheUnmaskedRun) {
  auto plain = make_session({style_a_});
  opt_.content_mask = grey_image(kW, kH, [](int, int) { return 255; });
  auto masked = make_session({style_a_});
  const auto x = random_pixels(8);
  plain->set_image(x);
  masked->set_image(x);
  EXPECT_EQ(plain->evaluate().content, masked->evaluate().content);
  const auto a = plain->gradient(), b = masked->gradient();
  EXPECT_LT(rel_error(testing::to_double(b), testing::to_double(a)), 1e-6);
}

TEST_F(MaskedSession, MaskCountMustMatchTheStyles) {
  opt_.style_masks = {half_mask(kW, kH, true)};
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  const std::string what = error_of([&] { s.set_styles({style_a_, style_b_}); });
  EXPECT_NE(what.find("got 1 style masks for 2 style images"), std::string::npos) << what;
}

TEST_F(MaskedSession, BadMasksAreRefusedBeforeAnyWork) {
  opt_.style_masks = {grey_image(4, 4, [](int, int) { return 0; })};
  std::string what = error_of([&] { Session(weights_, opt_, kH, kW, LogFn{}, layers_); });
  EXPECT_NE(what.find("style mask 1 is black everywhere"), std::string::npos) << what;
  opt_.style_masks = {half_mask(kH, kW * 2, true)};  // portrait for a landscape image
  what = error_of([&] { Session(weights_, opt_, kH, kW, LogFn{}, layers_); });
  EXPECT_NE(what.find("aspect ratios differ"), std::string::npos) << what;
}

TEST_F(MaskedSession, StyleTargetsAreEachStylesOwnGramAndTheirBlend) {
  opt_.style_masks = {half_mask(kW, kH, true), half_mask(kW, kH, false)};
  auto s = make_session({style_a_, style_b_});
  opt_.style_masks = {};
  auto only_a = make_session({style_a_}), only_b = make_session({style_b_});
  for (const auto& layer : opt_.style_layers) {
    EXPECT_EQ(s->style_target(layer, 0), only_a->style_target(layer));
    EXPECT_EQ(s->style_target(layer, 1), only_b->style_target(layer));
    const auto blend = s->style_target(layer), a = only_a->style_target(layer), b = only_b->style_target(layer);
    for (size_t i = 0; i < blend.size(); ++i) ASSERT_NEAR(blend[i], 0.5f * a[i] + 0.5f * b[i], 1e-5f * std::fabs(a[i]) + 1e-7f);
  }
}

// ---- the test, on random weights ------------------------------------------

using testing::gram_distance;
using testing::masked_gram;

// Two styles that differ in every layer: per-pixel noise, and smooth
// diagonal colour bands.
Image banded(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(img.pixels() * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double t = std::sin(0.35 * (x + y));
      uint8_t* px = &img.rgb[(static_cast<size_t>(y) * w + x) * 3];
      px[0] = static_cast<uint8_t>(128 + 120 * t);
      px[1] = static_cast<uint8_t>(128 - 100 * t);
      px[2] = 90;
    }
  return img;
}

TEST_F(MaskedSession, EachHalfTakesItsOwnStyle) {
  constexpr int h = 64, w = 64;
  const Image a = noise_image(48, 48, 5), b = banded(48, 48);
  const Image left = half_mask(w, h, true), right = half_mask(w, h, false);
  opt_.style_masks = {left, right};
  Session s(weights_, opt_, h, w, LogFn{}, layers_);
  s.set_content(noise_image(w, h, 6));
  s.set_styles({a, b});
  s.init_image(Init::Content, 0);
  for (int i = 0; i < 100 && !s.converged(); ++i) s.step();
  s.finish();
  // Distances in units of ||A - B|| (see testing::gram_distance()); measured here (64 px,
  // L-BFGS, 100 iterations, default weights), left half to A / to B and
  // right half to A / to B:
  //   block1_conv1  0.001 / 1.000   0.986 / 0.038
  //   block3_conv1  0.008 / 1.000   0.999 / 0.010
  //   block5_conv1  0.204 / 0.952   0.864 / 0.256  (4x4 pixels, one receptive field)
  // The bound asks each half to be at most half as far from its own style
  // as from the other, at every style layer.
  const MaskMap ml = mask_at_canvas(left, w, h), mr = mask_at_canvas(right, w, h);
  for (const auto& layer : opt_.style_layers) {
    int C = 0;
    for (const auto& l : layers_)
      if (l.name == layer) C = l.cout;
    const std::vector<float> f = s.activation(layer);
    const auto gl = masked_gram(f, C, ml), gr = masked_gram(f, C, mr);
    const auto ga = s.style_target(layer, 0), gb = s.style_target(layer, 1);
    const double la = gram_distance(gl, ga, ga, gb), lb = gram_distance(gl, gb, ga, gb);
    const double ra = gram_distance(gr, ga, ga, gb), rb = gram_distance(gr, gb, ga, gb);
    std::printf("  %-13s left: to A %.3f, to B %.3f   right: to A %.3f, to B %.3f\n", layer.c_str(), la, lb, ra, rb);
    EXPECT_LT(la, 0.5 * lb) << layer << ": the left half is not nearer its own style (A)";
    EXPECT_LT(rb, 0.5 * ra) << layer << ": the right half is not nearer its own style (B)";
  }
}

}  // namespace
}  // namespace nst
