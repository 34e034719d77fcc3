#include "nst/montage.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "nst/error.hpp"

namespace nst {

Image montage(const std::vector<Image>& images, int height, int gap) {
  if (images.empty()) throw InvalidArgument("montage: no images");
  if (height < 1 || gap < 0) throw InvalidArgument("montage: height must be >= 1 and gap >= 0");
  std::vector<Image> scaled;
  for (const Image& img : images) {
    if (img.pixels() == 0) throw InvalidArgument("montage: an image is empty");
    const int w = std::max(1, static_cast<int>(std::lround(static_cast<double>(img.width) * height / img.height)));
    scaled.push_back(resize(img, w, height));
  }
  Image out;
  out.height = height;
  out.width = gap * static_cast<int>(scaled.size() - 1);
  for (const Image& s : scaled) out.width += s.width;
  out.rgb.assign(out.pixels() * 3, 255);
  int x0 = 0;
  for (const Image& s : scaled) {
    for (int y = 0; y < height; ++y) {
      std::memcpy(&out.rgb[(static_cast<size_t>(y) * out.width + x0) * 3], &s.rgb[static_cast<size_t>(y) * s.width * 3],
                  static_cast<size_t>(s.width) * 3);
    }
    x0 += s.width + gap;
  }
  return out;
}

}  // namespace nst
