// nst.load_image(path) -> array and nst.save_image(path, array): the
// library's decoders (checked structure, EXIF orientation) and its atomic
// PNG/JPEG writer.
#pragma once
#include <nanobind/nanobind.h>

namespace nst::python {

namespace nb = nanobind;

void bind_image_io(nb::module_& m);

}  // namespace nst::python
