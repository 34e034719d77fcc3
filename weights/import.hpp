// Every weights file nst accepts, as one call: Keras HDF5 files (Keras 1
// and 2 .h5, Keras 3 .weights.h5) as the loader reads them, and torchvision
// state dicts (.pth, zip or legacy) converted by weights/torchvision_vgg.hpp.
// What `nst-weights import` rewrites in the Keras 1 layout. Internal to
// libnst and its tools.
#pragma once
#include <optional>
#include <string>

#include "nst/network.hpp"
#include "nst/weights.hpp"

namespace nst {

struct ImportedWeights {
  NetworkWeights weights;
  ModelKind model = ModelKind::Vgg16;
  int width_divisor = 1;
  std::string format;  // "torchvision .pth (zip)", "Keras HDF5", ... for messages
};

// Reads `path` whatever its format (told by its first bytes). `model`, when
// given, must be what the file holds. Throws nst::FileError naming the file.
ImportedWeights import_weights(const std::string& path, std::optional<ModelKind> model = std::nullopt);

// The width divisor (1, 2, ... 64) whose block1_conv1 a Keras file holds,
// found by reading that one small layer per guess; 1 when none fits, so that
// a full load then says what is wrong.
int infer_keras_width_divisor(const std::string& path, ModelKind model);

}  // namespace nst
