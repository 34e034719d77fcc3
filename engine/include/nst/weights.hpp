// Pretrained (or random) conv weights for a layer table, read from or
// written to HDF5 files in the Keras "notop" layout. Implemented in weights/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nst/network.hpp"

namespace nst {

struct ConvWeights {
  std::string name;          // e.g. "block1_conv1"
  int cin = 0, cout = 0;     // kernel is 3x3
  std::vector<float> kernel;  // (3,3,cin,cout) HWIO, cross-correlation
  std::vector<float> bias;    // (cout)
};

struct NetworkWeights {
  std::vector<ConvWeights> convs;  // in layer-table order, convs only
  std::string description;         // e.g. the file path, or "random (seed 7)"

  // Throws nst::InvalidArgument naming the layer if it is absent.
  const ConvWeights& conv(const std::string& name) const;
};

// Reads every conv layer of `layers` from a Keras-layout HDF5 file (Keras
// 1 or 2 .h5 with layer_names, or Keras 3 .weights.h5 as written by
// model.save_weights) and validates presence, dtype (float32) and shape. Throws nst::FileError
// naming the file and the exact layer/dataset/attribute that is wrong.
NetworkWeights load_keras_weights(const std::string& path, const std::vector<LayerSpec>& layers);

// Which model a Keras-layout file holds, from its layer names: Vgg19 when
// a fourth conv of block 3, 4 or 5 is listed, Vgg16 when all 13 VGG16
// convs are and none of those. Only names are read; load_keras_weights with
// model_layers(result, ...) then validates the weights themselves. Throws
// nst::FileError naming the file and what it lists when it is neither (or
// is unreadable, or has no layer_names).
ModelKind detect_keras_model(const std::string& path);

// Seeded He-normal weights (std = sqrt(2 / (9*cin))) and small random
// biases for `layers`; deterministic for a given seed on every platform.
NetworkWeights make_random_weights(const std::vector<LayerSpec>& layers, uint64_t seed);

}  // namespace nst
