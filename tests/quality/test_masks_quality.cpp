// The mask test on real VGG16 weights: Tübingen with Starry Night
// on the left half and The Scream on the right (a half/half mask); after
// the run, each half's masked Gram must be nearer its own style's Gram than
// the other's at the layers whose receptive field fits in a half. Skips with
// a message without ../shared.
//
// Measured at 96x72 px, 100 L-BFGS iterations, defaults (distances in units
// of ||A - B||; left to starry / to scream, right to starry / to scream):
//   block1_conv1  0.025 / 1.000   0.988 / 0.040
//   block2_conv1  0.061 / 0.996   0.997 / 0.069
//   block3_conv1  0.462 / 0.770   0.934 / 0.312
//   block4_conv1  0.917 / 0.606   0.988 / 0.669
//   block5_conv1  1.207 / 1.111   1.303 / 1.347
// block4_conv1 sees 60 px and block5_conv1 132 px of the image, more than a
// 48 px half: there each half's features mix both halves (and the content
// loss at block4_conv2 holds them), so at this size they are printed, not
// asserted. At 256 px the picture (README, docs/gallery) shows both halves
// in their own style.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/mask.hpp"
#include "tests/engine/masked_gram.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

const std::string kShared = NST_SHARED_DIR;
const std::string kWeights = kShared + "/weights/hed_vgg16_notop.h5";

Image half_mask(int w, int h, bool left) {
  Image m;
  m.width = w;
  m.height = h;
  m.rgb.resize(m.pixels() * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) m.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = (x < w / 2) == left ? 255 : 0;
  return m;
}

using testing::gram_distance;
using testing::masked_gram;

TEST(MaskQuality, EachHalfOfTubingenTakesItsOwnStyle) {
  for (const std::string& f : {kWeights, kShared + "/images/tubingen.jpg", kShared + "/images/starry_night.jpg",
                               kShared + "/images/the_scream.jpg"}) {
    if (!std::filesystem::exists(f)) GTEST_SKIP() << "no " << f << ": the mask quality test needs ../shared (real weights)";
  }
  const NetworkWeights weights = load_keras_weights(kWeights, vgg16_layers());
  // 96 px, 100 iterations: about half a minute on 2 cores.
  const Image content = resize_longest_side(load_image(kShared + "/images/tubingen.jpg"), 96);
  const Image starry = resize_longest_side(load_image(kShared + "/images/starry_night.jpg"), 96);
  const Image scream = resize_longest_side(load_image(kShared + "/images/the_scream.jpg"), 96);
  const int w = content.width, h = content.height;
  Options o;
  o.compute.device = Device::Cpu;
  o.style_masks = {half_mask(w, h, true), half_mask(w, h, false)};
  Session s(weights, o, h, w);
  s.set_content(content);
  s.set_styles({starry, scream});
  s.init_image(Init::Content, 0);
  for (int i = 0; i < 100 && !s.converged(); ++i) s.step();
  s.finish();
  const MaskMap left = mask_at_canvas(o.style_masks[0], w, h), right = mask_at_canvas(o.style_masks[1], w, h);
  for (const auto& layer : o.style_layers) {
    int C = 0;
    for (const auto& l : vgg16_layers())
      if (l.name == layer) C = l.cout;
    const std::vector<float> f = s.activation(layer);
    const auto a = s.style_target(layer, 0), b = s.style_target(layer, 1);
    const auto gl = masked_gram(f, C, left), gr = masked_gram(f, C, right);
    const double la = gram_distance(gl, a, a, b), lb = gram_distance(gl, b, a, b);
    const double ra = gram_distance(gr, a, a, b), rb = gram_distance(gr, b, a, b);
    std::printf("  %-13s left: to starry %.3f, to scream %.3f   right: to starry %.3f, to scream %.3f\n",
                layer.c_str(), la, lb, ra, rb);
    if (layer == "block4_conv1" || layer == "block5_conv1") continue;  // wider than a half (above)
    EXPECT_LT(la, lb) << layer << ": the left half is not nearer Starry Night";
    EXPECT_LT(rb, ra) << layer << ": the right half is not nearer The Scream";
  }
}

}  // namespace
}  // namespace nst
