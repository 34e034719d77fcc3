#include <gtest/gtest.h>

#include <cmath>

#include "nst/nst.hpp"

namespace nst {
namespace {

std::string validation_error(const Options& o) {
  try {
    o.validate(vgg16_layers());
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(Options, DefaultsAreTheClassicOnesAndValid) {
  Options o;
  EXPECT_EQ(o.image_size, 512);
  EXPECT_EQ(o.iterations, 1000);
  EXPECT_FLOAT_EQ(o.content_weight, 5.f);
  EXPECT_FLOAT_EQ(o.style_weight, 100.f);
  EXPECT_FLOAT_EQ(o.tv_weight, 1e-3f);
  EXPECT_FLOAT_EQ(o.learning_rate, 10.f);
  EXPECT_EQ(o.content_layers, std::vector<std::string>{"block4_conv2"});
  EXPECT_EQ(o.style_layers.size(), 5u);
  EXPECT_EQ(validation_error(o), "");
}

TEST(Options, EachBadValueIsNamed) {
  Options o;
  o.image_size = -5;
  EXPECT_NE(validation_error(o).find("image size"), std::string::npos);
  o = Options{};
  o.style_weight = NAN;
  EXPECT_NE(validation_error(o).find("style weight"), std::string::npos);
  o = Options{};
  o.learning_rate = 0;
  EXPECT_NE(validation_error(o).find("learning rate"), std::string::npos);
  o = Options{};
  o.content_layers = {"block9_conv1"};
  EXPECT_NE(validation_error(o).find("block9_conv1"), std::string::npos);
  o = Options{};
  o.style_layers = {"block1_pool"};
  EXPECT_NE(validation_error(o).find("pool"), std::string::npos);
  o = Options{};
  o.style_blend_weights = {0, 0};
  EXPECT_NE(validation_error(o).find("blend"), std::string::npos);
}

}  // namespace
}  // namespace nst
