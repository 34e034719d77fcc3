// Masks as the loss terms use them: a grey image over the output canvas
// (0..255 -> 0..1; RGB is taken as its BT.601 luminance) saying where a
// style, or the content loss, applies. It is resized to the canvas (the
// plan's size) and then area-averaged 2x2 per pooling, floor, down to each
// tapped layer's resolution, so that a mask value lines up with the feature
// pixel it weights, as the network's own pooling lines up the features.
#pragma once
#include <vector>

#include "nst/image.hpp"

namespace nst {

struct MaskMap {  // (H,W) weights in 0..1
  int height = 0, width = 0;
  std::vector<float> values;
  // sum of m^2: the area a masked Gram is normalised by (engine/objective.cpp).
  double area() const;
};

// Grey values in 0..1 at the image's own size.
MaskMap mask_values(const Image& mask);
// Stretched to width x height with a tent filter (no overshoot; clamped to 0..1).
MaskMap mask_at_canvas(const Image& mask, int width, int height);
// 2x2 area averages (floor, the pooling's windows) until the map is
// width x height, which must be the canvas halved (floor) k >= 0 times.
MaskMap mask_at_layer(const MaskMap& canvas, int width, int height);

}  // namespace nst
