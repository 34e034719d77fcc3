#include "weights.hpp"

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/string.h>

#include <filesystem>
#include <string>

#include "nst/error.hpp"
#include "values.hpp"

namespace nst::python {
namespace {

// parse_model names the bad value; the prefix names the argument.
ModelKind model_argument(const std::string& name) {
  try {
    return parse_model(name);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("model: ") + e.what());
  }
}

Weights load_weights(const std::filesystem::path& path, const std::string& model) {
  const ModelKind kind = model_argument(model);
  nb::gil_scoped_release no_gil;  // HDF5 reads of ~60 MB
  return Weights{load_keras_weights(path.string(), model_layers(kind)), kind};
}

Weights random_weights(nb::handle seed, const std::string& model) {
  const ModelKind kind = model_argument(model);
  const uint64_t s = to_seed(seed, "seed");
  nb::gil_scoped_release no_gil;
  return Weights{make_random_weights(model_layers(kind), s), kind};
}

std::string weights_repr(const Weights& w) {
  return std::string("<nst.Weights ") + model_name(w.model) + ", " + std::to_string(w.network.convs.size()) +
         " conv layers: " + w.network.description + ">";
}

}  // namespace

void bind_weights(nb::module_& m) {
  nb::class_<Weights>(m, "Weights",
                      "A network's conv weights and their model; from nst.load_weights or nst.random_weights.")
      .def_prop_ro("model", [](const Weights& w) { return std::string(model_name(w.model)); },
                   "'vgg16' or 'vgg19'")
      .def_prop_ro("description", [](const Weights& w) { return w.network.description; },
                   "where the weights came from (the file, or the random seed)")
      .def("__repr__", &weights_repr);
  m.def("load_weights", &load_weights, nb::arg("path"), nb::arg("model") = "vgg16",
        "Reads a Keras 'notop' HDF5 file (VGG16 or VGG19, as `model` says).\n"
        "Raises nst.FileError naming the file and the layer that is missing or wrong.");
  m.def("random_weights", &random_weights, nb::arg("seed"), nb::arg("model") = "vgg16",
        nb::sig("def random_weights(seed: int, model: str = 'vgg16') -> Weights"),
        "Seeded He-normal weights: an untrained network, the same for a seed on every platform.\n"
        "For tests and trials: the result will not look like the style.");
}

}  // namespace nst::python
