// numpy arrays <-> nst::Image: uint8 (H, W, 3), row-major RGB.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <string>
#include <vector>

#include "nst/image.hpp"

namespace nst::python {

namespace nb = nanobind;

using ImageArray = nb::ndarray<nb::numpy, uint8_t, nb::shape<-1, -1, 3>, nb::c_contig>;

// A copy of `value`, which must be a uint8 array of shape (H, W, 3) on the
// CPU (any strides: a slice or a transposed view is copied in order).
// Anything else raises TypeError (not an array) or nst.InvalidArgument
// (wrong dtype or shape), the message naming `what` and what it got.
Image image_from_array(nb::handle value, const std::string& what);

// A mask: a uint8 array of shape (H, W) (grey) or (H, W, 3) (taken as its
// luminance by the library), as image_from_array otherwise.
Image mask_from_array(nb::handle value, const std::string& what);
// A list (or tuple) of masks; one array alone is refused, as for styles.
std::vector<Image> masks_from_list(nb::handle value, const std::string& what);

// A new numpy array that owns the image's pixels (moved, not copied).
ImageArray array_from_image(Image&& image);

}  // namespace nst::python
