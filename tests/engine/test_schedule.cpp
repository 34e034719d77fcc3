// The Schedule (nst::stylize's loop) on a tiny random VGG16: scales run
// coarse to fine on one Model, each from the previous result upsampled;
// the emulated cuda backend runs the same schedule to the same picture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "engine/schedule.hpp"
#include "engine/session_maker.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

class ScheduleTest : public ::testing::Test {
 protected:
  ScheduleTest() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 11)) {
    opt_.compute.device = Device::Cpu;
    opt_.content_weight = 20;
    opt_.style_weight = 0.02f;
    opt_.tv_weight = 4;
    opt_.image_size = 48;
    opt_.scales = {32};
    opt_.scale_iterations = {4, 3};
  }

  std::shared_ptr<Model> cpu_model() const {
    return std::make_shared<Model>(weights_, layers_, opt_.pooling, make_cpu_backend(1));
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
  Options opt_;
  // Smooth pictures, so that a coarse scale's result means something at
  // the finer one (resized noise would be another image at each size).
  Image content_ = pattern(48, 36, false);
  Image style_ = pattern(30, 40, true);

  static Image pattern(int w, int h, bool stripes) {
    Image img;
    img.width = w;
    img.height = h;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const bool mark = stripes ? ((x + 2 * y) / 6) % 2 == 0 : (x - w / 2) * (x - w / 2) + (y - h / 3) * (y - h / 3) < 80;
        img.rgb.push_back(static_cast<uint8_t>(255 * x / (w - 1)));
        img.rgb.push_back(static_cast<uint8_t>(mark ? 230 : 255 * y / (h - 1)));
        img.rgb.push_back(static_cast<uint8_t>(mark ? 40 : 128));
      }
    return img;
  }
};

TEST_F(ScheduleTest, RunsEachScaleCoarseToFineWithItsIterations) {
  std::vector<IterationStats> seen;
  const Image out = run_schedule(cpu_model(), content_, {style_}, opt_,
                                 [&](const IterationStats& st) { seen.push_back(st); });
  EXPECT_EQ(out.width, 48);
  EXPECT_EQ(out.height, 36);
  ASSERT_EQ(seen.size(), 7u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(seen[i].scale, 0);
    EXPECT_EQ(seen[i].width, 32);
    EXPECT_EQ(seen[i].height, 24);
    EXPECT_EQ(seen[i].iteration, i + 1);
    EXPECT_EQ(seen[i].iterations, 4);
  }
  for (int i = 4; i < 7; ++i) {
    EXPECT_EQ(seen[i].scale, 1);
    EXPECT_EQ(seen[i].scales, 2);
    EXPECT_EQ(seen[i].width, 48);
    EXPECT_EQ(seen[i].iterations, 3);
  }
}

// The second scale starts from the first one's result, upsampled: its
// first loss is that of the coarse result (a run at the coarse size alone)
// resized to the fine size, with the fine size's targets.
TEST_F(ScheduleTest, AFinerScaleStartsFromTheUpsampledCoarseResult) {
  opt_.scale_iterations = {8, 1};
  std::vector<double> losses;
  const auto model = cpu_model();
  run_schedule(model, content_, {style_}, opt_, [&](const IterationStats& st) { losses.push_back(st.losses.total); });
  ASSERT_EQ(losses.size(), 9u);

  Options coarse = opt_;
  coarse.image_size = 32;
  coarse.scales.clear();
  coarse.scale_iterations.clear();
  coarse.iterations = 8;
  const Image coarse_result = run_schedule(model, content_, {style_}, coarse);
  const auto fine = SessionMaker::on_model(model, opt_, 36, 48);
  fine->set_content(content_);
  fine->set_styles({resize_longest_side(style_, 48)});
  fine->set_image(resize(coarse_result, 48, 36));
  EXPECT_DOUBLE_EQ(losses[8], fine->evaluate().total);
}

TEST_F(ScheduleTest, OneModelServesEveryScaleAndRunsAgain) {
  // Plans come and go on the same Model: a second run on it gives the same
  // picture as the first (nothing of the first run's plans is left over).
  const auto model = cpu_model();
  const Image a = run_schedule(model, content_, {style_}, opt_);
  const Image b = run_schedule(model, content_, {style_}, opt_);
  EXPECT_EQ(a.rgb, b.rgb);
}

TEST_F(ScheduleTest, ASecondLiveSessionOnOneModelIsRefused) {
  const auto model = cpu_model();
  const auto first = SessionMaker::on_model(model, opt_, 24, 32);
  try {
    SessionMaker::on_model(model, opt_, 36, 48);
    FAIL() << "two live plans on one Model";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("live Plan"), std::string::npos) << e.what();
  }
}

TEST_F(ScheduleTest, TheEmulatedCudaBackendPaintsTheSamePicture) {
  Options o = opt_;
  o.compute.conv_algo = ConvAlgo::Custom;
  o.compute.gram_algo = GramAlgo::Custom;
  o.scale_iterations = {2, 2};
  const Image cpu = run_schedule(cpu_model(), content_, {style_}, o);
  const Image emu = run_schedule(std::make_shared<Model>(weights_, layers_, o.pooling, make_emulated_cuda_backend(o.compute)),
                                 content_, {style_}, o);
  ASSERT_EQ(cpu.rgb.size(), emu.rgb.size());
  int worst = 0;
  for (size_t i = 0; i < cpu.rgb.size(); ++i) worst = std::max(worst, std::abs(int(cpu.rgb[i]) - int(emu.rgb[i])));
  EXPECT_LE(worst, 1) << "pixels differ by more than rounding";
}

// --original-colors is the plain result with transfer_luminance applied to
// it and the full-size content (the schedule is deterministic).
TEST_F(ScheduleTest, OriginalColorsAreTheLuminanceTransferOfThePlainResult) {
  const Image plain = run_schedule(cpu_model(), content_, {style_}, opt_);
  opt_.original_colors = true;
  const Image kept = run_schedule(cpu_model(), content_, {style_}, opt_);
  EXPECT_EQ(kept.rgb, transfer_luminance(plain, content_).rgb);
  EXPECT_NE(kept.rgb, plain.rgb);
}

}  // namespace
}  // namespace nst
