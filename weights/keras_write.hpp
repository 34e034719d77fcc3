// Writing weights in the Keras notop layout: nst-weights make-random and
// import, and the tests' generated files. Internal to libnst and its tools:
// a caller of the library reads weights, it does not write them.
#pragma once
#include <string>
#include <vector>

#include "nst/weights.hpp"

namespace nst {

// How string attributes are written, to mimic old and new Keras files.
enum class KerasFlavor {
  Keras1,  // fixed-length strings, datasets "<layer>_W_1:0" / "<layer>_b_1:0"
  Keras2   // variable-length strings, datasets "<layer>/kernel:0" / "<layer>/bias:0"
};

// Writes `w` in the Keras notop layout (pools included in layer_names with
// empty weight_names). Written to a temp file and renamed: no partial file.
void save_keras_weights(const std::string& path, const NetworkWeights& w,
                        const std::vector<LayerSpec>& layers, KerasFlavor flavor = KerasFlavor::Keras1);

}  // namespace nst
