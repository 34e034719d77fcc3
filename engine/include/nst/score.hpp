// Two numbers that say how well a stylised picture did, to print beside it:
//
//   style ratio       how much of the style it took on: the style loss of
//                     the output divided by that of the content photo
//                     (1 = no style transferred, 0 = the style's Gram
//                     matrices matched exactly; lower is better);
//   edge correlation  how much of the content's structure it kept: the
//                     Pearson correlation of the two images' edge maps
//                     (1 = the same edges, ~0 = unrelated; higher is better).
//
//   nst::Scores s = nst::score_image(weights, out, content, {style});
//
// Both are measured at the output's size: the content is resized to it, and
// each style image's longest side is scaled to the output's longest side, as
// nst::stylize does.
#pragma once
#include <vector>

#include "nst/image.hpp"
#include "nst/network.hpp"
#include "nst/nst.hpp"
#include "nst/weights.hpp"

namespace nst {

// Edge maps are the Sobel gradient magnitudes of the luminance (Rec.601
// Y = 0.299 R + 0.587 G + 0.114 B, 0..255) after a Gaussian blur of this
// sigma, so that JPEG noise and brush texture do not count as structure.
inline constexpr double kEdgeBlurSigma = 2.0;  // px; kernel radius ceil(3 sigma) = 6

// Pearson correlation in [-1, 1] between the edge maps of `output` and
// `content` (both blurred and differentiated with edge-clamped borders).
// When the sizes differ the content is resized to the output's size. Returns
// 0 when either edge map is constant (zero variance: a flat image has no
// structure to keep or to match). Throws InvalidArgument for an empty image
// or one whose buffer does not match its size.
double edge_correlation(const Image& output, const Image& content);

struct Scores {
  double style_ratio = 0;         // style_loss_output / style_loss_content
  double edge_correlation = 0;    // see edge_correlation()
  double style_loss_output = 0;   // style loss of the output
  double style_loss_content = 0;  // style loss of the content, resized to the output's size
};

// The classic style loss of `image` against the (blended) Gram matrices of
// `styles`: sum over the layers block1_conv1 .. block5_conv1 (taps after
// ReLU) of mean((G - A)^2), G = F^T F / (C*H*W) of the image and A the
// blended target, style weight 1. Each style image's longest side is scaled
// to the image's longest side first. `blend` has one weight per style image
// (empty: equal). Computed by an nst::Session on `device`.
double style_loss_of(const NetworkWeights& weights, const Image& image, const std::vector<Image>& styles,
                     const std::vector<LayerSpec>& layers = vgg16_layers(), const std::vector<float>& blend = {},
                     Device device = Device::Cpu);

// Both scores of `output`. style_ratio = style_loss_of(output) /
// style_loss_of(content resized to the output's size), against the same
// style targets (one session computes both). If the content's own loss is 0
// (it already has the style's statistics) the ratio is 1 when the output's
// loss is 0 too, else +infinity. Throws InvalidArgument for an empty or
// inconsistent image, no style image, or a blend of the wrong length.
Scores score_image(const NetworkWeights& weights, const Image& output, const Image& content,
                   const std::vector<Image>& styles, const std::vector<LayerSpec>& layers = vgg16_layers(),
                   const std::vector<float>& blend = {}, Device device = Device::Cpu);

}  // namespace nst
