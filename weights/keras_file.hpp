// What every reader of a Keras weights file needs: where the layers are and
// how Keras stores its string-list attributes. Shared by the loader
// (keras_vgg.cpp) and the model detection (keras_detect.cpp). Internal to
// libnst; callers hold h5::library_mutex().
//
// Two layouts:
//   Keras 1 and 2 (.h5): the attribute layer_names lists the layers; each
//     layer group's weight_names lists its datasets (kernel, bias).
//   Keras 3 (.weights.h5, model.save_weights): no layer_names; each layer is
//     a group layers/<class-based name>/vars ("conv2d", "conv2d_1", ...,
//     in model order) holding datasets 0 (kernel, HWIO) and 1 (bias), and,
//     in the Keras 3 versions checked (3.15), a `name` attribute on vars
//     with the layer's name ("block1_conv1").
#pragma once
#include <string>
#include <vector>

#include "weights/hdf5.hpp"

namespace nst::keras {

// Opens a weights file read-only; when it is no HDF5 file but a PyTorch
// .pth, the message says how to convert it (nst-weights import).
h5::File open_weights_file(const std::string& path);

// Throws nst::FileError "weights file '<path>': <what>".
[[noreturn]] void bad_file(const std::string& path, const std::string& what);

// Keras splits an attribute too big for an HDF5 object header (64 KiB)
// into `name0`, `name1`, ...; both forms are read.
bool has_attribute(const h5::Group& g, const std::string& name);
std::vector<std::string> read_attribute(const h5::Group& g, const std::string& name);

// The group holding `layer_names`: the root, or `model_weights` in a file
// written by model.save() rather than save_weights(). Throws FileError if
// neither has it.
h5::Group weights_group(const h5::File& f);

// A Keras 3 file: a `layers` group and no layer_names at the root.
bool is_keras3(const h5::File& f);

struct Keras3Layer {
  std::string name;  // the layer's name ("block1_conv1"), or its group's when vars has none
  std::string vars;  // path of its vars group ("/layers/conv2d/vars")
};

// The layers of a Keras 3 file that hold variables, in the file's group order.
// Where vars carries no `name` attribute (older Keras 3), the conv groups
// conv2d, conv2d_1, ... are named after the VGG table with that many convs
// (13: VGG16, 16: VGG19) in the order of their suffixes: Keras numbers
// them in model order.
std::vector<Keras3Layer> keras3_layers(const h5::File& f);

}  // namespace nst::keras
