// nst.Weights: a network's conv weights and the model they are for, made by
// nst.load_weights(path, model) or nst.random_weights(seed, model) and
// passed to nst.stylize(weights=...). Read-only once made, so one object
// may feed several runs, on several threads at once.
#pragma once
#include <nanobind/nanobind.h>

#include "nst/network.hpp"
#include "nst/weights.hpp"

namespace nst::python {

namespace nb = nanobind;

struct Weights {
  NetworkWeights network;
  ModelKind model = ModelKind::Vgg16;
};

void bind_weights(nb::module_& m);

}  // namespace nst::python
