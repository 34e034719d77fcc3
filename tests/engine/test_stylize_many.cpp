// Several content images in one run (nst::Stylizer, nst::stylize_many):
// one Model and one set of style targets per scale size serve every
// image, and each result is the one stylize() gives for that image alone.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/schedule.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

// A picture of `w` x `h` with a smooth ramp and a disc at (cx, cy), so
// that the images differ and a coarse scale means something at a finer one.
Image picture(int w, int h, int cx, int cy) {
  Image img;
  img.width = w;
  img.height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool disc = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 60;
      img.rgb.push_back(static_cast<uint8_t>(255 * x / (w - 1)));
      img.rgb.push_back(static_cast<uint8_t>(disc ? 220 : 255 * y / (h - 1)));
      img.rgb.push_back(static_cast<uint8_t>(disc ? 30 : 120));
    }
  return img;
}

class StylizeManyTest : public ::testing::Test {
 protected:
  StylizeManyTest() : weights_(make_random_weights(vgg16_layers(), 5)) {
    opt_.compute.device = Device::Cpu;
    opt_.compute.threads = 1;  // ctest runs tests side by side
    opt_.image_size = 48;
    opt_.scales = {32};  // two scales: targets are shared per scale size
    opt_.scale_iterations = {3, 2};
    opt_.style_weight = 1e3f;
  }

  // Two of one size (different pictures) and one of another shape.
  std::vector<Image> contents_ = {picture(48, 36, 20, 12), picture(48, 36, 30, 25), picture(36, 48, 10, 30)};
  std::vector<Image> styles_ = {noise_image(40, 40, 2), noise_image(30, 44, 3)};
  NetworkWeights weights_;
  Options opt_;

  void expect_each_equals_its_single_run(const std::vector<Image>& results) const {
    ASSERT_EQ(results.size(), contents_.size());
    for (size_t i = 0; i < contents_.size(); ++i) {
      const Image alone = stylize(weights_, contents_[i], styles_, opt_);
      EXPECT_EQ(results[i].width, alone.width) << "image " << i;
      EXPECT_EQ(results[i].height, alone.height) << "image " << i;
      EXPECT_TRUE(results[i].rgb == alone.rgb) << "image " << i << " differs from its single-image run";
    }
  }

  // The message of the InvalidArgument stylize_many throws, having run no
  // iteration; "" (a failure) if it runs.
  std::string error_before_any_iteration() const {
    int iterations = 0;
    try {
      stylize_many(weights_, contents_, styles_, opt_, [&](const IterationStats&) { ++iterations; });
      ADD_FAILURE() << "stylize_many took bad input";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(iterations, 0) << e.what();
      return e.what();
    }
    return "";
  }
};

TEST_F(StylizeManyTest, EachResultIsBitIdenticalToItsSingleImageRun) {
  const std::vector<Image> results = stylize_many(weights_, contents_, styles_, opt_);
  expect_each_equals_its_single_run(results);
  // Not all equal by accident: the images' results differ.
  EXPECT_FALSE(results[0].rgb == results[1].rgb);
}

TEST_F(StylizeManyTest, AdamWithStyleMasksAndAContentMaskToo) {
  opt_.optimizer = OptimizerKind::Adam;
  contents_.pop_back();  // masks are about the contents' aspect ratio: the two of one shape
  Image left = picture(16, 12, 0, 0), right = left;
  for (size_t p = 0; p < left.pixels(); ++p) {
    const bool is_left = static_cast<int>(p % 16) < 8;
    for (int c = 0; c < 3; ++c) {
      left.rgb[3 * p + c] = is_left ? 255 : 0;
      right.rgb[3 * p + c] = is_left ? 0 : 255;
    }
  }
  opt_.style_masks = {left, right};
  opt_.content_mask = right;
  expect_each_equals_its_single_run(stylize_many(weights_, contents_, styles_, opt_));
}

TEST_F(StylizeManyTest, ColourTransferRecoloursTheStylesForEachImage) {
  // The style targets then depend on the content: each image takes its own.
  opt_.color_transfer = ColorTransfer::Linear;
  expect_each_equals_its_single_run(stylize_many(weights_, contents_, styles_, opt_));
}

TEST_F(StylizeManyTest, ProgressSaysWhichImageEachIterationBelongsTo) {
  std::vector<int> images;
  stylize_many(weights_, contents_, styles_, opt_, [&](const IterationStats& st) {
    EXPECT_EQ(st.images, 3);
    images.push_back(st.image);
  });
  // 3 + 2 iterations for each image, in order.
  const std::vector<int> expected = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2};
  EXPECT_EQ(images, expected);
}

TEST_F(StylizeManyTest, AnEmptySecondImageFailsBeforeTheFirstIsComputed) {
  contents_[1] = Image{};
  EXPECT_NE(error_before_any_iteration().find("content image 2/3 is empty"), std::string::npos);
}

TEST_F(StylizeManyTest, AMaskOfAnotherShapeThanTheThirdImageFailsBeforeTheFirstIsComputed) {
  opt_.content_mask = picture(48, 36, 0, 0);  // fits the first two (48x36), not the third (36x48)
  EXPECT_NE(error_before_any_iteration().find("content mask on content image 3/3"), std::string::npos);
}

TEST_F(StylizeManyTest, NoContentOrNoStyleIsAnError) {
  EXPECT_THROW(stylize_many(weights_, {}, styles_, opt_), InvalidArgument);
  EXPECT_THROW(stylize_many(weights_, contents_, {}, opt_), InvalidArgument);
}

TEST_F(StylizeManyTest, AStylizerRunsAgainToTheSamePicture) {
  Stylizer stylizer(weights_, styles_, opt_);
  EXPECT_EQ(stylizer.backend_name().rfind("cpu", 0), 0u) << stylizer.backend_name();  // "cpu (conv auto)"
  const Image first = stylizer.run(contents_[0]);
  stylizer.run(contents_[2]);
  EXPECT_TRUE(stylizer.run(contents_[0]).rgb == first.rgb);
}

// The sharing itself, on a tiny network: the style images go through the
// network once per scale size for the whole run, not once per image.
class StyleTargetCacheTest : public StylizeManyTest {
 protected:
  StyleTargetCacheTest() : layers_(vgg16_layers(16)), tiny_(make_random_weights(layers_, 7)) {}
  std::shared_ptr<Model> model() const {
    return std::make_shared<Model>(tiny_, layers_, opt_.pooling, make_cpu_backend(1));
  }
  int style_passes_for_all_images() {
    const auto m = model();
    StyleTargetCache cache;
    for (const Image& c : contents_) run_schedule(m, c, styles_, opt_, {}, {}, &cache);
    return cache.style_passes();
  }
  std::vector<LayerSpec> layers_;
  NetworkWeights tiny_;
};

TEST_F(StyleTargetCacheTest, StyleImagesRunOncePerScaleForAllImages) {
  EXPECT_EQ(style_passes_for_all_images(), 2 /* scales */ * 2 /* styles */);
}

TEST_F(StyleTargetCacheTest, WithColourTransferEachImageTakesItsOwn) {
  opt_.color_transfer = ColorTransfer::Histogram;
  EXPECT_EQ(style_passes_for_all_images(), 3 /* images */ * 2 /* scales */ * 2 /* styles */);
}

TEST_F(StyleTargetCacheTest, SharedTargetsAreTheOnesEachImageWouldTake) {
  // The third image (another shape) on shared targets and on its own.
  const auto m = model();
  StyleTargetCache cache;
  run_schedule(m, contents_[0], styles_, opt_, {}, {}, &cache);
  const Image shared = run_schedule(m, contents_[2], styles_, opt_, {}, {}, &cache);
  const Image own = run_schedule(m, contents_[2], styles_, opt_);
  EXPECT_EQ(cache.style_passes(), 4);
  EXPECT_TRUE(shared.rgb == own.rgb);
}

}  // namespace
}  // namespace nst
