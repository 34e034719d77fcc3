// The `nst` Python module: libnst's public API (engine/include/nst) for
// numpy arrays. Each concern has its file: errors, arrays, options,
// callbacks, weights, image_io, stylize.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "callbacks.hpp"
#include "errors.hpp"
#include "image_io.hpp"
#include "nst/nst.hpp"
#include "stylize.hpp"
#include "weights.hpp"

namespace nb = nanobind;

NB_MODULE(nst, m) {
  m.doc() =
      "nst: neural style transfer (Gatys et al.) on VGG16 or VGG19.\n\n"
      "    weights = nst.random_weights(0)          # or nst.load_weights(path)\n"
      "    out = nst.stylize(content, [style], weights=weights, image_size=256)\n\n"
      "Images are uint8 numpy arrays (H, W, 3); see help(nst.stylize) for the options.";
  m.attr("__version__") = nst::version();
  nst::python::bind_errors(m);
  nst::python::bind_progress(m);
  nst::python::bind_weights(m);
  nst::python::bind_image_io(m);
  nst::python::bind_stylize(m);
  m.def("version", [] { return std::string(nst::version()); }, "The library's version, e.g. '0.1.0'.");
  m.def("cuda_available", [] { return nst::cuda_available(); },
        "Whether device='cuda' can be used (this build has the CUDA backend and a GPU is present).");
}
