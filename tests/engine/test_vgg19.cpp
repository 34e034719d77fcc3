// The engine end to end on a tiny random VGG19 (channel widths / 8): the
// same Session as VGG16, given the VGG19 table, taps a VGG19 style layer
// and lowers the loss.
#include <gtest/gtest.h>

#include <cmath>

#include "nst/nst.hpp"

namespace nst {
namespace {

constexpr int kH = 40, kW = 48;  // block5_conv1 sits behind 4 pools: 2x3 there

class Vgg19SessionTest : public ::testing::Test {
 protected:
  Vgg19SessionTest() {
    opt_.compute.device = Device::Cpu;
    // Caffe spellings, as users of the VGG19 papers write them.
    opt_.style_layers = {canonical_layer_name("relu5_1", layers_)};
    opt_.content_layers = {canonical_layer_name("relu4_2", layers_)};
  }

  std::unique_ptr<Session> make_session() {
    auto s = std::make_unique<Session>(weights_, opt_, kH, kW, LogFn{}, layers_);
    s->set_content(noise_image(kW, kH, 1));
    s->set_styles({noise_image(37, 29, 2)});
    s->init_image(Init::Random, 3);
    return s;
  }

  std::vector<LayerSpec> layers_ = vgg19_layers(8);
  NetworkWeights weights_ = make_random_weights(layers_, 19);
  Options opt_;
};

TEST_F(Vgg19SessionTest, TapsTheLayersNamedInCaffeSpelling) {
  EXPECT_EQ(opt_.style_layers, std::vector<std::string>{"block5_conv1"});
  EXPECT_EQ(opt_.content_layers, std::vector<std::string>{"block4_conv2"});
}

TEST_F(Vgg19SessionTest, EvaluateGivesFinitePositiveLosses) {
  const Losses l = make_session()->evaluate();
  for (double v : {l.content, l.style, l.tv, l.total}) {
    EXPECT_TRUE(std::isfinite(v)) << v;
    EXPECT_GT(v, 0) << v;
  }
}

TEST_F(Vgg19SessionTest, AdamLowersTheLoss) {
  auto s = make_session();
  const double first = s->evaluate().total;
  double last = first;
  for (int i = 0; i < 20; ++i) last = s->step().total;
  std::printf("VGG19 loss: %.6g -> %.6g after 20 steps\n", first, last);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, 0.5 * first);
}

TEST_F(Vgg19SessionTest, Vgg16WeightsDoNotFitTheVgg19Table) {
  const NetworkWeights vgg16 = make_random_weights(vgg16_layers(8), 19);
  try {
    Session s(vgg16, opt_, kH, kW, LogFn{}, layers_);
    FAIL() << "expected nst::InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("block3_conv4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nst
