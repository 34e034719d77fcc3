// Which VGG a Keras weights file holds, told by its layer names alone:
// widths vary with the width divisor and are the loader's to check.
// VGG19 is the one with a fourth conv in blocks 3 to 5.
#include <algorithm>

#include "nst/weights.hpp"
#include "weights/hdf5.hpp"
#include "weights/keras_file.hpp"

namespace nst {
namespace {

bool lists(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "a, b, c, ... (7 more)": a file may list hundreds of layers.
std::string join_some(const std::vector<std::string>& names, size_t shown = 8) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < shown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > shown) s += ", ... (" + std::to_string(names.size() - shown) + " more)";
  return s;
}

std::vector<std::string> vgg16_convs_missing(const std::vector<std::string>& names) {
  std::vector<std::string> missing;
  for (const LayerSpec& l : vgg16_layers())
    if (l.kind == LayerKind::Conv3x3 && !lists(names, l.name)) missing.push_back(l.name);
  return missing;
}

// `names` are the layer names of `path`, which `source` says where it keeps
// ("the attribute layer_names of '/'").
ModelKind model_from_layer_names(const std::string& path, const std::string& source,
                                 const std::vector<std::string>& names) {
  for (const char* vgg19_only : {"block3_conv4", "block4_conv4", "block5_conv4"})
    if (lists(names, vgg19_only)) return ModelKind::Vgg19;
  const std::vector<std::string> missing = vgg16_convs_missing(names);
  if (missing.empty()) return ModelKind::Vgg16;
  keras::bad_file(path, "neither a VGG16 nor a VGG19 notop file: " + source + " lists " +
                            std::to_string(names.size()) + " layer(s) (" + join_some(names) + "), without " +
                            std::to_string(missing.size()) + " of VGG16's 13 convs (" + join_some(missing) +
                            ") and without VGG19's block3_conv4..block5_conv4");
}

}  // namespace

ModelKind detect_keras_model(const std::string& path) {
  const std::lock_guard<std::mutex> lock(h5::library_mutex());
  const h5::File f = keras::open_weights_file(path);
  if (keras::is_keras3(f)) {
    std::vector<std::string> names;
    for (const keras::Keras3Layer& l : keras::keras3_layers(f)) names.push_back(l.name);
    return model_from_layer_names(path, "the vars groups under '/layers' (Keras 3 layout)", names);
  }
  const h5::Group root = keras::weights_group(f);
  return model_from_layer_names(path, "the attribute layer_names of '" + root.path() + "'",
                                keras::read_attribute(root, "layer_names"));
}

}  // namespace nst
