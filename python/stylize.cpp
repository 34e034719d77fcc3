#include "stylize.hpp"

#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "callbacks.hpp"
#include "nst/nst.hpp"
#include "options.hpp"
#include "values.hpp"
#include "weights.hpp"

namespace nst::python {
namespace {

std::vector<Image> style_images(nb::handle styles) {
  // One array alone is a mistake easy to make; a list of one is meant.
  if (nb::isinstance<nb::ndarray<>>(styles) || PyUnicode_Check(styles.ptr())) {
    throw nb::type_error(("styles expects a list of arrays, got " + describe(styles)).c_str());
  }
  std::vector<Image> out;
  for (nb::handle style : nb::iter(styles)) {
    out.push_back(image_from_array(style, "styles[" + std::to_string(out.size()) + "]"));
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
  const std::vector<Image> styles = style_images(style_arrays);
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
}

}  // namespace nst::python
