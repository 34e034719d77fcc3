// Several images side by side in one: a contact sheet to follow a run at a
// glance (content, style(s), current result).
#pragma once
#include <vector>

#include "nst/image.hpp"

namespace nst {

// Each image scaled to `height` rows (aspect kept, at least 1 px wide),
// left to right, `gap` white columns between them. Throws
// nst::InvalidArgument for no images, an empty image or height < 1.
Image montage(const std::vector<Image>& images, int height, int gap = 4);

}  // namespace nst
