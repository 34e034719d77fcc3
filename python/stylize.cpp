#include "stylize.hpp"

#include <string>
#include <utility>
#include <vector>

#include <nanobind/stl/vector.h>

#include "arrays.hpp"
#include "callbacks.hpp"
#include "nst/nst.hpp"
#include "options.hpp"
#include "values.hpp"
#include "weights.hpp"

namespace nst::python {
namespace {

// `what` ("styles", "contents"): a list of arrays, each named by its index.
std::vector<Image> image_list(nb::handle images, const std::string& what) {
  // One array alone is a mistake easy to make; a list of one is meant.
  if (nb::isinstance<nb::ndarray<>>(images) || PyUnicode_Check(images.ptr())) {
    throw nb::type_error((what + " expects a list of arrays, got " + describe(images)).c_str());
  }
  std::vector<Image> out;
  for (nb::handle image : nb::iter(images)) {
    out.push_back(image_from_array(image, what + "[" + std::to_string(out.size()) + "]"));
  }
  return out;
}

// The keywords on top of the library's defaults; the model is the weights'
// unless a keyword says otherwise, which must then agree with them. The
// other rules are Options::validate's, which nst::stylize applies.
Options run_options(const nb::kwargs& kwargs, const Weights& weights) {
  Options options;
  options.model = weights.model;
  apply_options(kwargs, options);
  if (options.model != weights.model) {
    throw InvalidArgument(std::string("option 'model' is '") + model_name(options.model) + "' but the weights are " +
                          model_name(weights.model));
  }
  return options;
}

ImageArray stylize(nb::handle content_array, nb::handle style_arrays, const Weights& weights, nb::handle progress,
                   nb::handle log, const nb::kwargs& kwargs) {
  // Everything Python is read before the GIL is released.
  const Image content = image_from_array(content_array, "content");
  const std::vector<Image> styles = image_list(style_arrays, "styles");
  const Options options = run_options(kwargs, weights);
  RunCallbacks callbacks(progress, log);
  Image result;
  try {
    nb::gil_scoped_release no_gil;
    result = nst::stylize(weights.network, content, styles, options, callbacks.progress_fn(), callbacks.log_fn());
  } catch (const CallbackRaised&) {
    callbacks.rethrow_raised();
  }
  return array_from_image(std::move(result));
}

std::vector<ImageArray> stylize_many(nb::handle content_arrays, nb::handle style_arrays, const Weights& weights,
                                     nb::handle progress, nb::handle log, const nb::kwargs& kwargs) {
  const std::vector<Image> contents = image_list(content_arrays, "contents");
  const std::vector<Image> styles = image_list(style_arrays, "styles");
  const Options options = run_options(kwargs, weights);
  RunCallbacks callbacks(progress, log);
  std::vector<Image> results;
  try {
    nb::gil_scoped_release no_gil;
    results = nst::stylize_many(weights.network, contents, styles, options, callbacks.progress_fn(),
                                callbacks.log_fn());
  } catch (const CallbackRaised&) {
    callbacks.rethrow_raised();
  }
  std::vector<ImageArray> arrays;
  for (Image& r : results) arrays.push_back(array_from_image(std::move(r)));
  return arrays;
}

std::string stylize_doc() {
  return "Stylises `content` (uint8 array (H, W, 3)) with the style images `styles` (a list of such\n"
         "arrays) and returns a new uint8 array (h, w, 3), h and w scaled so that the longer is\n"
         "image_size. The GIL is released during the run: other Python threads go on.\n\n"
         "    weights (nst.Weights): from nst.load_weights(path) or nst.random_weights(seed)\n"
         "    progress (callable): called after each iteration with an nst.Progress; an exception\n"
         "        it raises stops the run and is raised by stylize\n"
         "    log (callable): called with each line the library logs (str)\n\n"
         "Options (defaults: those of nst::Options, engine/include/nst/nst.hpp):\n" +
         options_doc() +
         "\nRaises TypeError for an unknown keyword or a value of the wrong type, nst.InvalidArgument\n"
         "(a ValueError) for a bad value, nst.OutOfMemory (a MemoryError), nst.DeviceError.";
}

}  // namespace

void bind_stylize(nb::module_& m) {
  static const std::string doc = stylize_doc();
  m.def("stylize", &stylize, nb::arg("content"), nb::arg("styles"), nb::kw_only(), nb::arg("weights"),
        nb::arg("progress") = nb::none(), nb::arg("log") = nb::none(), nb::arg("options"),
        nb::sig("def stylize(content: numpy.ndarray, styles: collections.abc.Sequence[numpy.ndarray], *, "
                "weights: Weights, progress: collections.abc.Callable[[Progress], None] | None = None, "
                "log: collections.abc.Callable[[str], None] | None = None, **options) -> numpy.ndarray"),
        doc.c_str());
  m.def("stylize_many", &stylize_many, nb::arg("contents"), nb::arg("styles"), nb::kw_only(), nb::arg("weights"),
        nb::arg("progress") = nb::none(), nb::arg("log") = nb::none(), nb::arg("options"),
        nb::sig("def stylize_many(contents: collections.abc.Sequence[numpy.ndarray], "
                "styles: collections.abc.Sequence[numpy.ndarray], *, weights: Weights, "
                "progress: collections.abc.Callable[[Progress], None] | None = None, "
                "log: collections.abc.Callable[[str], None] | None = None, **options) -> list[numpy.ndarray]"),
        "stylize() for each of `contents` (a list of uint8 arrays (H, W, 3)) with the same styles and\n"
        "options, on one network and one set of style targets; returns the results in order, each\n"
        "the array stylize() gives for that content alone. Every content is checked before the\n"
        "first runs; Progress.image says which one an iteration belongs to. Keywords as stylize's.");
}

}  // namespace nst::python
