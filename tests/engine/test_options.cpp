#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

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

// The defaults measured on real weights (bench/RESULTS.md, "Defaults"); a
// change here is a change of the pictures and must be measured again.
TEST(Options, DefaultsAreTheMeasuredOnesAndValid) {
  Options o;
  EXPECT_EQ(o.image_size, 512);
  EXPECT_EQ(o.iterations, 300);
  EXPECT_FLOAT_EQ(o.content_weight, 30.f);
  EXPECT_FLOAT_EQ(o.style_weight, 100.f);
  EXPECT_FLOAT_EQ(o.tv_weight, 0.3f);
  EXPECT_EQ(o.optimizer, OptimizerKind::Lbfgs);
  EXPECT_EQ(o.init, Init::Content);
  EXPECT_EQ(o.lbfgs_history, 100);
  EXPECT_FLOAT_EQ(o.lbfgs_initial_step, 1.f);
  EXPECT_FLOAT_EQ(o.effective_learning_rate(), 1.f);
  o.optimizer = OptimizerKind::Adam;
  EXPECT_FLOAT_EQ(o.effective_learning_rate(), 10.f);
  o.optimizer = OptimizerKind::Lbfgs;
  EXPECT_EQ(o.content_layers, std::vector<std::string>{"block4_conv2"});
  EXPECT_EQ(o.style_layers.size(), 5u);
  EXPECT_EQ(validation_error(o), "");
}

std::vector<std::pair<int, int>> schedule_of(const Options& o) {
  std::vector<std::pair<int, int>> out;
  for (const auto& s : o.schedule()) out.emplace_back(s.size, s.iterations);
  return out;
}

TEST(Options, LargeImagesGetAPyramidFrom256WithAThirdOfTheIterationsAbove) {
  Options o;  // 512 px, 300 iterations
  EXPECT_EQ(schedule_of(o), (std::vector<std::pair<int, int>>{{256, 300}, {512, 100}}));
  o.image_size = 1500;
  EXPECT_EQ(schedule_of(o), (std::vector<std::pair<int, int>>{{256, 300}, {512, 100}, {1024, 100}, {1500, 100}}));
  o.image_size = 256;
  EXPECT_EQ(schedule_of(o), (std::vector<std::pair<int, int>>{{256, 300}}));
  o.image_size = 128;
  EXPECT_EQ(schedule_of(o), (std::vector<std::pair<int, int>>{{128, 300}}));
}

TEST(Options, ExplicitScalesAndIterationsOverrideThePyramid) {
  Options o;
  o.scales = {512};  // the image size alone: one scale
  EXPECT_EQ(schedule_of(o), (std::vector<std::pair<int, int>>{{512, 300}}));
  o.scales = {200};
  o.scale_iterations = {50, 7};
  EXPECT_EQ(schedule_of(o), (std::vector<std::pair<int, int>>{{200, 50}, {512, 7}}));
  EXPECT_EQ(validation_error(o), "");
  o.scale_iterations = {50};  // two scales, one count
  EXPECT_NE(validation_error(o).find("scale iterations"), std::string::npos);
}

// One bad value on top of the defaults; the message must name it.
std::string error_with(const std::function<void(Options&)>& spoil) {
  Options o;
  spoil(o);
  return validation_error(o);
}

TEST(Options, EachBadValueIsNamed) {
  const std::vector<std::pair<std::function<void(Options&)>, const char*>> cases = {
      {[](Options& o) { o.image_size = -5; }, "image size"},
      {[](Options& o) { o.style_weight = NAN; }, "style weight"},
      {[](Options& o) { o.learning_rate = -1; }, "learning rate"},
      {[](Options& o) { o.scales = {256, 128}; }, "scales"},
      {[](Options& o) {
         o.scales = {256};
         o.scale_iterations = {10};
       },
       "scale iterations"},
      {[](Options& o) { o.style_layer_weights = {1, 2}; }, "style layer weights"},
      {[](Options& o) { o.init = Init::Image; }, "init image"},
      {[](Options& o) { o.lbfgs_history = 0; }, "L-BFGS history"},
      {[](Options& o) { o.style_scale = 0; }, "style scale"},
      {[](Options& o) { o.style_layers = {"relu1_1", "block1_conv1"}; }, "twice"},
      {[](Options& o) { o.content_layers = {"block9_conv1"}; }, "block9_conv1"},
      {[](Options& o) { o.style_layers = {"block1_pool"}; }, "pool"},
      {[](Options& o) { o.style_blend_weights = {0, 0}; }, "blend"},
      {[](Options& o) { o.tile = -16; }, "tile"},
  };
  for (const auto& [spoil, name] : cases) EXPECT_NE(error_with(spoil).find(name), std::string::npos) << name;
}

// --conv-algo's values, each setting one backend's algorithm and leaving
// the other's default.
TEST(ConvAlgoNames, EachNameSetsItsBackendsAlgorithm) {
  struct Row {
    const char* name;
    ConvAlgo cuda;
    CpuConvAlgo cpu;
  };
  const Row rows[] = {{"auto", ConvAlgo::Cudnn, CpuConvAlgo::Auto},
                      {"gemm", ConvAlgo::Cudnn, CpuConvAlgo::Gemm},
                      {"winograd", ConvAlgo::Cudnn, CpuConvAlgo::Winograd},
                      {"cudnn", ConvAlgo::Cudnn, CpuConvAlgo::Auto},
                      {"custom", ConvAlgo::Custom, CpuConvAlgo::Auto}};
  for (const Row& r : rows) {
    // From either starting value: each field is set, not left as it was.
    for (bool flip : {false, true}) {
      ComputeOptions c;
      c.conv_algo = flip ? ConvAlgo::Custom : ConvAlgo::Cudnn;
      c.cpu_conv_algo = flip ? CpuConvAlgo::Gemm : CpuConvAlgo::Winograd;
      set_conv_algo(c, r.name);
      EXPECT_EQ(c.conv_algo, r.cuda) << r.name;
      EXPECT_EQ(c.cpu_conv_algo, r.cpu) << r.name;
    }
  }
  ComputeOptions c;
  try {
    set_conv_algo(c, "fft");
    FAIL() << "fft was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("winograd"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nst
