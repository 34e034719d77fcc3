#include "image_io.hpp"

#include <nanobind/stl/filesystem.h>

#include <filesystem>

#include "arrays.hpp"
#include "nst/error.hpp"
#include "nst/image.hpp"
#include "values.hpp"

namespace nst::python {
namespace {

ImageArray load(const std::filesystem::path& path, nb::handle max_pixels) {
  ImageLimits limits;
  if (!max_pixels.is_none()) {
    const uint64_t n = to_seed(max_pixels, "max_pixels");
    if (n == 0) throw InvalidArgument("max_pixels must be >= 1");
    limits.max_pixels = n;
  }
  Image img;
  {
    nb::gil_scoped_release no_gil;
    img = load_image(path.string(), limits);
  }
  return array_from_image(std::move(img));
}

void save(const std::filesystem::path& path, nb::handle array) {
  const Image img = image_from_array(array, "image");
  nb::gil_scoped_release no_gil;
  save_image(path.string(), img);
}

}  // namespace

void bind_image_io(nb::module_& m) {
  m.def("load_image", &load, nb::arg("path"), nb::arg("max_pixels") = nb::none(),
        nb::sig("def load_image(path: str | os.PathLike, max_pixels: int | None = None) -> numpy.ndarray"),
        "Reads JPEG, PNG, GIF, BMP, TGA or binary PNM as a uint8 array (H, W, 3), upright.\n"
        "Files declaring more than max_pixels (default 64 Mpx) are refused before decoding.\n"
        "Raises nst.FileError (an OSError) naming the file and what is wrong with it.");
  m.def("save_image", &save, nb::arg("path"), nb::arg("image"),
        nb::sig("def save_image(path: str | os.PathLike, image: numpy.ndarray) -> None"),
        "Writes a uint8 array (H, W, 3) as PNG (.png) or JPEG (.jpg, .jpeg; quality 95).\n"
        "Atomic: a temporary file renamed over `path`, so a failure leaves no partial file.");
}

}  // namespace nst::python
