// The engine end to end on a tiny random VGG16 (channel widths / 16):
// losses against the float64 reference network, the gradient w.r.t. the
// image against central finite differences of that reference, Adam
// lowering the loss, determinism and the planning errors.
#include <gtest/gtest.h>

#include <functional>

#include <cmath>

#include "engine/random.hpp"
#include "kernels/cpu/ops.hpp"
#include "nst/nst.hpp"
#include "tests/engine/reference_net.hpp"

namespace nst {
namespace {

constexpr int kH = 18, kW = 21;  // not multiples of 16, just enough for 4 pools

std::vector<double> preprocessed(const Image& img) {
  std::vector<double> x(img.pixels() * 3);
  cpu::preprocess_reference(x.data(), img.rgb.data(), img.pixels());
  return x;
}

using testing::rel_error;

class SessionTest : public ::testing::TestWithParam<Pooling> {
 protected:
  SessionTest() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 11)) {
    opt_.compute.device = Device::Cpu;
    opt_.pooling = GetParam();
  }

  std::unique_ptr<Session> make_session() {
    auto s = std::make_unique<Session>(weights_, opt_, kH, kW, LogFn{}, layers_);
    s->set_content(content_);
    s->set_styles({style_});
    return s;
  }

  testing::ReferenceNet make_reference() {
    testing::ReferenceNet ref(weights_, layers_, opt_);
    ref.set_content(preprocessed(content_), kH, kW);
    ref.set_styles({preprocessed(style_)}, {style_.height}, {style_.width}, {1.0});
    return ref;
  }

  // A moderate random image (preprocessed units), away from ReLU/max ties.
  std::vector<float> random_pixels(uint64_t seed) const {
    Rng rng(seed);
    std::vector<float> x(static_cast<size_t>(kH) * kW * 3);
    for (auto& v : x) v = static_cast<float>(60.0 * (rng.uniform() - 0.5));
    return x;
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
  Options opt_;
  Image content_ = noise_image(kW, kH, 1);
  Image style_ = noise_image(25, 19, 2);  // its own size, as the CLI allows
};

TEST_P(SessionTest, LossesMatchFloat64Reference) {
  auto s = make_session();
  const auto x = random_pixels(5);
  s->set_image(x);
  const Losses got = s->evaluate();
  const Losses want = make_reference().loss(testing::to_double(x), kH, kW);
  EXPECT_NEAR(got.content, want.content, 1e-4 * want.content);
  EXPECT_NEAR(got.style, want.style, 1e-4 * want.style);
  EXPECT_NEAR(got.tv, want.tv, 1e-5 * want.tv);
  EXPECT_NEAR(got.total, want.total, 1e-4 * want.total);
  EXPECT_GT(want.content, 0);
  EXPECT_GT(want.style, 0);
}

TEST_P(SessionTest, GradientMatchesFiniteDifferencesOfReference) {
  auto s = make_session();
  const auto x = random_pixels(6);
  s->set_image(x);
  s->evaluate();
  const auto grad = s->gradient();

  const double err = testing::gradient_error_vs_finite_differences(make_reference(), x, grad, kH, kW);
  std::printf("gradient vs finite differences: relative error %.3e\n", err);
  EXPECT_LT(err, 1e-3);
}

TEST_P(SessionTest, AdamLowersTheLoss) {
  opt_.optimizer = OptimizerKind::Adam;
  auto s = make_session();
  s->init_image(Init::Random, 3);
  const double first = s->step().total;
  double last = first;
  for (int i = 0; i < 30; ++i) last = s->step().total;
  EXPECT_LT(last, 0.5 * first);
}

TEST_P(SessionTest, RunsAreBitwiseReproducible) {
  std::vector<float> images[2];
  for (auto& img : images) {
    auto s = make_session();
    s->init_image(Init::Random, 4);
    for (int i = 0; i < 3; ++i) s->step();
    img = s->image();
  }
  EXPECT_EQ(images[0], images[1]);
}

INSTANTIATE_TEST_SUITE_P(Pooling, SessionTest, ::testing::Values(Pooling::Max, Pooling::Avg),
                         [](const auto& info) { return info.param == Pooling::Max ? "max" : "avg"; });

class SessionPlanTest : public ::testing::Test {
 protected:
  std::vector<LayerSpec> layers_ = vgg16_layers(16);
  NetworkWeights weights_ = make_random_weights(layers_, 11);
  Options opt_ = [] {
    Options o;
    o.compute.device = Device::Cpu;
    return o;
  }();
};

TEST_F(SessionPlanTest, ContentInitStartsFromThePreprocessedContent) {
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  const Image content = noise_image(kW, kH, 1);
  s.set_content(content);
  s.init_image(Init::Content, 0);
  const auto want = preprocessed(content);
  const auto got = s.image();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_FLOAT_EQ(got[i], static_cast<float>(want[i]));
}

TEST_F(SessionPlanTest, BlendWeightsMixStyleGrams) {
  const Image a = noise_image(20, 17, 2), b = noise_image(17, 23, 3);
  opt_.style_blend_weights = {3, 1};
  Session mixed(weights_, opt_, kH, kW, LogFn{}, layers_);
  mixed.set_styles({a, b});
  opt_.style_blend_weights = {};
  Session only_a(weights_, opt_, kH, kW, LogFn{}, layers_), only_b(weights_, opt_, kH, kW, LogFn{}, layers_);
  only_a.set_styles({a});
  only_b.set_styles({b});
  for (const auto& layer : opt_.style_layers) {
    const auto m = mixed.style_target(layer), ga = only_a.style_target(layer), gb = only_b.style_target(layer);
    for (size_t i = 0; i < m.size(); ++i) ASSERT_NEAR(m[i], 0.75f * ga[i] + 0.25f * gb[i], 1e-4f * std::fabs(ga[i]) + 1e-6f);
  }
}

TEST_F(SessionPlanTest, TooSmallImageIsRejectedWithTheMinimumSide) {
  try {
    Session s(weights_, opt_, 15, 40, LogFn{}, layers_);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("16 px"), std::string::npos) << e.what();
  }
}

TEST_F(SessionPlanTest, ContentOfTheWrongSizeIsRejected) {
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  EXPECT_THROW(s.set_content(noise_image(kW + 1, kH, 1)), InvalidArgument);
}

TEST_F(SessionPlanTest, EvaluateBeforeTargetsIsRejected) {
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  s.init_image(Init::Random, 0);
  EXPECT_THROW(s.evaluate(), InvalidArgument);
}

TEST_F(SessionPlanTest, NonFiniteImageIsRejected) {
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  std::vector<float> x(static_cast<size_t>(kH) * kW * 3, 1.f);
  x[7] = NAN;
  EXPECT_THROW(s.set_image(x), InvalidArgument);
}

// The message says whom to blame: the start image's loss overflowing is
// the inputs' fault; a loss that overflows after steps is the step size's.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(SessionPlanTest, ALossThatOverflowsAtTheStartBlamesTheInputs) {
  opt_.style_weight = 3e38f;
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  s.set_content(noise_image(kW, kH, 1));
  s.set_styles({noise_image(20, 20, 2)});
  s.init_image(Init::Random, 0);
  const std::string what = error_of([&] { s.step(); });
  EXPECT_NE(what.find("not finite at the start image"), std::string::npos) << what;
  EXPECT_EQ(what.find("learning rate"), std::string::npos) << what;
}

TEST_F(SessionPlanTest, ADivergedLastStepIsCaughtByFinish) {
  opt_.optimizer = OptimizerKind::Adam;
  opt_.learning_rate = 1e30f;
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  s.set_content(noise_image(kW, kH, 1));
  s.set_styles({noise_image(20, 20, 2)});
  s.init_image(Init::Content, 0);
  EXPECT_TRUE(std::isfinite(s.step().total)) << "the first evaluation is at the content image";
  const std::string what = error_of([&] { s.finish(); });
  EXPECT_NE(what.find("not finite after 1 steps"), std::string::npos) << what;
  EXPECT_NE(what.find("learning rate"), std::string::npos) << what;
}

TEST_F(SessionPlanTest, FinishReportsTheLossOfTheImageOutputGives) {
  opt_.optimizer = OptimizerKind::Adam;
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  s.set_content(noise_image(kW, kH, 1));
  s.set_styles({noise_image(20, 20, 2)});
  s.init_image(Init::Content, 0);
  for (int k = 0; k < 3; ++k) s.step();
  const double reported = s.finish().total;
  EXPECT_DOUBLE_EQ(reported, s.evaluate().total);
}

TEST_F(SessionPlanTest, ActivationsHaveTheLayerShapes) {
  Session s(weights_, opt_, kH, kW, LogFn{}, layers_);
  s.set_content(noise_image(kW, kH, 1));
  EXPECT_EQ(s.activation("block1_conv1").size(), static_cast<size_t>(kH) * kW * 4);
  EXPECT_EQ(s.activation("block2_conv1").size(), static_cast<size_t>(kH / 2) * (kW / 2) * 8);
  EXPECT_EQ(s.activation("block5_conv1").size(), static_cast<size_t>(1) * 1 * 32);
  EXPECT_THROW(s.activation("block5_conv2"), InvalidArgument);  // deeper than any tap
}

}  // namespace
}  // namespace nst
