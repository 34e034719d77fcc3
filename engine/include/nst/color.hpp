// Colour control for style transfer (Gatys, Bethge, Hertzmann, Shechtman
// 2016, "Preserving Color in Neural Artistic Style Transfer"): two ways to
// keep the content photo's colours in the stylised output.
//
//  * After the optimisation: transfer_luminance(output, content) keeps the
//    output's luminance (the brush strokes) and puts the content's
//    chrominance back ("luminance-only transfer", jcjohnson/neural-style's
//    -original_colors 1).
//  * Before it: match_colors(style, content, how) recolours the STYLE image
//    so that its colour distribution is the content's, and the Grams are then
//    taken of that recoloured style. The optimiser then has no reason to move
//    the output away from the content's palette ("colour histogram
//    matching"). Note the direction: source = style, reference = content.
//
// All functions work on nst::Image (8-bit RGB) and round and clamp to 0..255.
// Grey images (R = G = B at every pixel, e.g. a greyscale file read by
// nst::load_image, which always returns 3 equal channels) are valid inputs
// everywhere; see match_colors for what they give.
#pragma once
#include <string>

#include "nst/image.hpp"

namespace nst {

// Luminance of `stylized`, chrominance of `content`, in YUV (BT.601 luma).
// `content` is first resized to `stylized`'s size (nst::resize) when the
// sizes differ. Per pixel, before rounding, Y(out) = Y(stylized) and
// U,V(out) = U,V(content); rounding moves Y by at most 0.5 level, and
// clamping to 0..255 (where a dark-chroma colour is asked to be very bright,
// or the reverse) can move both. Same image twice gives back the image.
// Throws nst::InvalidArgument for an empty image.
Image transfer_luminance(const Image& stylized, const Image& content);

enum class ColorTransfer {
  None,       // return the source unchanged
  Histogram,  // per-channel histogram matching (monotone 256-level map)
  Linear,     // affine map matching mean and 3x3 covariance (Gatys et al. 2016)
};

// Recolours `source` so that its colour distribution matches `reference`'s;
// the two may have different sizes. The intended use in nst is
//     style = match_colors(style, content, how);   // before Grams are taken
// so that the stylised output keeps the content's palette.
//
//  Histogram: each channel c goes through its own monotone map
//    v -> Q_ref,c(F_src,c(v)), F the source's mid-bin CDF and Q the
//    reference's quantile function interpolated between its sorted values.
//    All pixels of one level map together (no tie-breaking by position, so
//    no spatial pattern), which keeps flat areas flat. Matching an image to
//    itself is the identity; channel means and quantiles come within 1-2
//    levels of the reference's, except where the map stretches the source
//    (a spike of one level, or a narrow source onto a wide reference leaves
//    gaps about as wide as the stretch). Channels are mapped independently,
//    so hues can shift a little (pale blues may turn lavender).
//  Linear: x' = A (x - mu_s) + mu_r with A = C_r^(1/2) C_s^(-1/2)
//    (symmetric square roots), so the mean and the covariance become the
//    reference's up to rounding and clamping. A small ridge on C_s keeps
//    flat and grey sources finite.
//
// Grey images: a grey REFERENCE makes the output grey for Histogram and
// Linear (it has no colour to give): Histogram matches the source's luma to
// the reference's grey histogram; Linear's A maps onto the grey axis. A
// grey SOURCE with a colour reference becomes a monotone colour ramp (each
// grey level gets the reference's colour at that quantile for Histogram;
// the grey axis is mapped along C_r^(1/2)(1,1,1) for Linear). Only exactly
// grey references take the grey path; a nearly grey one is treated as colour.
// Throws nst::InvalidArgument for an empty image.
Image match_colors(const Image& source, const Image& reference, ColorTransfer how);

// "none" | "histogram" | "linear" (lower case, as the CLI spells them).
// Throws nst::InvalidArgument naming the value otherwise.
ColorTransfer parse_color_transfer(const std::string& name);

}  // namespace nst
