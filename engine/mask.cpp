#include "engine/mask.hpp"

#include <stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "nst/error.hpp"
#include "nst/nst.hpp"

namespace nst {

double MaskMap::area() const {
  double s = 0;
  for (float v : values) s += static_cast<double>(v) * v;
  return s;
}

MaskMap mask_values(const Image& mask) {
  MaskMap m;
  m.width = mask.width;
  m.height = mask.height;
  m.values.resize(mask.pixels());
  for (size_t p = 0; p < mask.pixels(); ++p) {
    const uint8_t* px = &mask.rgb[3 * p];
    // BT.601 luma, as nst's colour code uses: a grey file (R = G = B) gives its grey.
    const double y = 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
    m.values[p] = static_cast<float>(std::min(1.0, y / 255.0));
  }
  return m;
}

MaskMap mask_at_canvas(const Image& mask, int width, int height) {
  MaskMap src = mask_values(mask);
  if (src.width == width && src.height == height) return src;
  MaskMap out;
  out.width = width;
  out.height = height;
  out.values.resize(static_cast<size_t>(width) * height);
  // Linear values (not sRGB: a mask is a weight, not a colour); the tent
  // filter has no negative lobes, so a 0/1 mask stays within 0..1 but for
  // rounding, which the clamp takes off.
  if (!stbir_resize_float_generic(src.values.data(), src.width, src.height, 0, out.values.data(), width, height, 0, 1,
                                  STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                  STBIR_COLORSPACE_LINEAR, nullptr)) {
    throw Error("mask resize to " + std::to_string(width) + "x" + std::to_string(height) + " failed");
  }
  for (float& v : out.values) v = std::clamp(v, 0.f, 1.f);
  return out;
}

namespace {

// One 2x2 average pool, floor: the window of output (i, j) is input rows
// 2i, 2i+1 and columns 2j, 2j+1, as in the network's pools.
MaskMap halved(const MaskMap& m) {
  MaskMap out;
  out.width = m.width / 2;
  out.height = m.height / 2;
  out.values.resize(static_cast<size_t>(out.width) * out.height);
  auto at = [&m](int i, int j) { return static_cast<double>(m.values[static_cast<size_t>(i) * m.width + j]); };
  for (int i = 0; i < out.height; ++i)
    for (int j = 0; j < out.width; ++j) {
      const double s = at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1);
      out.values[static_cast<size_t>(i) * out.width + j] = static_cast<float>(s / 4);
    }
  return out;
}

}  // namespace

MaskMap mask_at_layer(const MaskMap& canvas, int width, int height) {
  MaskMap m = canvas;
  while (m.width > width || m.height > height) {
    if (m.width < 2 || m.height < 2) break;
    m = halved(m);
  }
  if (m.width != width || m.height != height) {
    throw InvalidArgument("a " + std::to_string(canvas.width) + "x" + std::to_string(canvas.height) +
                          " mask does not pool to " + std::to_string(width) + "x" + std::to_string(height));
  }
  return m;
}

void check_mask(const Image& mask, const std::string& what, int width, int height) {
  if (mask.pixels() == 0 || mask.rgb.size() != mask.pixels() * 3) {
    throw InvalidArgument(what + " is empty");
  }
  const bool all_black = std::all_of(mask.rgb.begin(), mask.rgb.end(), [](uint8_t v) { return v == 0; });
  if (all_black) {
    throw InvalidArgument(what + " is black everywhere (0): it selects no pixel; white (255) is where it applies");
  }
  if (width <= 0 || height <= 0) return;
  // Stretched to the canvas, the mask must keep its shape: a few percent,
  // plus a pixel of rounding (scaled sizes round), else it is another
  // picture's mask or a rotated one.
  const double stretched_height = static_cast<double>(mask.height) * width / mask.width;
  if (std::abs(stretched_height - height) > 0.05 * height + 1.0) {
    throw InvalidArgument(what + " is " + std::to_string(mask.width) + "x" + std::to_string(mask.height) +
                          ", the image " + std::to_string(width) + "x" + std::to_string(height) +
                          ": their aspect ratios differ by more than 5%; a mask is stretched to the image, so "
                          "give one of the image's shape");
  }
}

}  // namespace nst
