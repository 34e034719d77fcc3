// VGG weights in the Keras HDF5 "notop" layout, read the way Keras reads
// them: the root attribute `layer_names` lists the layers; each layer group's
// `weight_names` lists its datasets relative to the group, kernel first,
// bias second. Keras 3 files (keras_file.hpp) keep each layer's kernel and
// bias as datasets 0 and 1 of its vars group instead. Kernels are HWIO float32 for cross-correlation (tf ordering),
// so nothing is flipped or transposed.
//
//   Keras 1 (the official file): fixed-length strings,
//     /block1_conv1/block1_conv1_W_1:0  (3,3,3,64)   /block1_conv1/block1_conv1_b_1:0  (64)
//   Keras 2 / h5py >= 3: variable-length strings,
//     /block1_conv1/block1_conv1/kernel:0            /block1_conv1/block1_conv1/bias:0
//   Keras 3 (.weights.h5): /layers/conv2d/vars (name "block1_conv1") /0 and /1
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/random.hpp"
#include "nst/error.hpp"
#include "nst/weights.hpp"
#include "weights/keras_write.hpp"
#include "weights/hdf5.hpp"
#include "weights/keras_file.hpp"

namespace nst {
namespace {

using keras::bad_file;
using keras::weights_group;

std::vector<hsize_t> kernel_shape(const LayerSpec& l) {
  return {3, 3, static_cast<hsize_t>(l.cin), static_cast<hsize_t>(l.cout)};
}

// "(h,w,i,o)" for the flat index `i` of a row-major array of `shape`.
std::string index_string(size_t i, const std::vector<hsize_t>& shape) {
  std::vector<size_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  std::string s = "(";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? "," : "") + std::to_string(idx[d]);
  return s + ")";
}

// Reads one weight ("block3_conv2 kernel") after checking that it exists,
// is float32, has `expected` shape, and holds finite values only.
std::vector<float> read_weight(const h5::Group& layer, const std::string& dataset, const std::string& what,
                               const std::vector<hsize_t>& expected) {
  const std::string& file = layer.file();
  const std::string where = " (dataset '" + layer.child_path(dataset) + "')";
  if (!layer.has(dataset)) bad_file(file, what + " is missing: no dataset '" + layer.child_path(dataset) + "'");
  const h5::Dataset ds = layer.open_dataset(dataset);
  if (!ds.is_float32()) bad_file(file, what + " has dtype " + ds.dtype() + ", expected float32" + where);
  const std::vector<hsize_t> shape = ds.shape();
  if (shape != expected)
    bad_file(file, what + " has shape " + h5::shape_string(shape) + ", expected " + h5::shape_string(expected) + where);
  std::vector<float> values = ds.read_floats();
  const auto first_bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  if (first_bad != values.end()) {
    const size_t count = std::count_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    bad_file(file, what + " contains " + std::to_string(count) + " non-finite value(s), the first (" +
                       (std::isnan(*first_bad) ? "NaN" : "Inf") + ") at " +
                       index_string(first_bad - values.begin(), shape) + where);
  }
  return values;
}

ConvWeights read_conv_datasets(const h5::Group& g, const std::string& kernel, const std::string& bias,
                               const LayerSpec& l) {
  ConvWeights cw;
  cw.name = l.name;
  cw.cin = l.cin;
  cw.cout = l.cout;
  cw.kernel = read_weight(g, kernel, l.name + " kernel", kernel_shape(l));
  cw.bias = read_weight(g, bias, l.name + " bias", {static_cast<hsize_t>(l.cout)});
  return cw;
}

ConvWeights read_conv(const h5::Group& root, const std::vector<std::string>& layer_names, const LayerSpec& l) {
  const std::string& file = root.file();
  if (std::find(layer_names.begin(), layer_names.end(), l.name) == layer_names.end())
    bad_file(file,
             "layer '" + l.name + "' is missing (not listed in the attribute layer_names of '" + root.path() + "')");
  if (!root.has_group(l.name))
    bad_file(file, "layer '" + l.name + "' is listed in layer_names but its group '" + root.child_path(l.name) +
                       "' is missing");
  const h5::Group g = root.open_group(l.name);
  if (!keras::has_attribute(g, "weight_names"))
    bad_file(file, "layer '" + l.name + "' has no attribute weight_names (group '" + g.path() + "')");
  const std::vector<std::string> names = keras::read_attribute(g, "weight_names");
  if (names.size() != 2)
    bad_file(file, "layer '" + l.name + "' lists " + std::to_string(names.size()) +
                       " weight(s) in weight_names, expected 2 (kernel, bias)");

  return read_conv_datasets(g, names[0], names[1], l);
}

// Keras 3: the layer's vars group, found by its name, holds 0 and 1.
ConvWeights read_keras3_conv(const h5::File& f, const std::vector<keras::Keras3Layer>& layers, const LayerSpec& l) {
  const auto it = std::find_if(layers.begin(), layers.end(),
                               [&](const keras::Keras3Layer& k) { return k.name == l.name; });
  if (it == layers.end())
    bad_file(f.path(), "layer '" + l.name + "' is missing (no group under '/layers' has vars named " + l.name +
                           "; Keras 3 layout)");
  return read_conv_datasets(f.root().open_group(it->vars), "0", "1", l);
}

// Throws InvalidArgument unless `w` has every conv of `layers` at its size.
void check_matches(const NetworkWeights& w, const std::vector<LayerSpec>& layers) {
  for (const LayerSpec& l : layers) {
    if (l.kind != LayerKind::Conv3x3) continue;
    const ConvWeights& cw = w.conv(l.name);
    const size_t want = size_t{9} * l.cin * l.cout;
    if (cw.cin != l.cin || cw.cout != l.cout || cw.kernel.size() != want || cw.bias.size() != size_t(l.cout))
      throw InvalidArgument("weights for " + l.name + " are " + std::to_string(cw.cin) + "->" +
                            std::to_string(cw.cout) + " with " + std::to_string(cw.kernel.size()) +
                            " kernel values, the layer table wants " + std::to_string(l.cin) + "->" +
                            std::to_string(l.cout) + " (" + std::to_string(want) + ")");
  }
}

// The file layout for `flavor`: dataset names and how strings are stored.
struct Layout {
  h5::StringKind strings;
  std::string keras_version, kernel_suffix, bias_suffix;
};

Layout layout_for(KerasFlavor flavor) {
  if (flavor == KerasFlavor::Keras1) return {h5::StringKind::Fixed, "1.2.2", "_W_1:0", "_b_1:0"};
  return {h5::StringKind::Variable, "2.15.0", "/kernel:0", "/bias:0"};
}

void write_keras_file(const std::string& path, const NetworkWeights& w, const std::vector<LayerSpec>& layers,
                      KerasFlavor flavor) {
  const Layout lay = layout_for(flavor);
  h5::File f = h5::File::create(path);
  h5::Group& root = f.root();
  std::vector<std::string> names;
  for (const LayerSpec& l : layers) names.push_back(l.name);
  root.write_strings("layer_names", names, lay.strings);
  root.write_string("backend", "tensorflow", lay.strings);
  root.write_string("keras_version", lay.keras_version, lay.strings);

  for (const LayerSpec& l : layers) {
    h5::Group g = root.create_group(l.name);
    if (l.kind != LayerKind::Conv3x3) {
      g.write_empty_array("weight_names");  // what Keras writes for an empty list
      continue;
    }
    const ConvWeights& cw = w.conv(l.name);
    const std::string kernel = l.name + lay.kernel_suffix, bias = l.name + lay.bias_suffix;
    g.write_strings("weight_names", {kernel, bias}, lay.strings);
    g.write_dataset(kernel, kernel_shape(l), cw.kernel);
    g.write_dataset(bias, {static_cast<hsize_t>(l.cout)}, cw.bias);
  }
}

}  // namespace

const ConvWeights& NetworkWeights::conv(const std::string& name) const {
  for (const ConvWeights& c : convs)
    if (c.name == name) return c;
  throw InvalidArgument("no weights for layer '" + name + "' in " +
                        (description.empty() ? "the weights" : description));
}

NetworkWeights load_keras_weights(const std::string& path, const std::vector<LayerSpec>& layers) {
  const std::lock_guard<std::mutex> lock(h5::library_mutex());
  const h5::File f = keras::open_weights_file(path);
  NetworkWeights w;
  w.description = path;
  if (keras::is_keras3(f)) {
    const std::vector<keras::Keras3Layer> k3 = keras::keras3_layers(f);
    for (const LayerSpec& l : layers)
      if (l.kind == LayerKind::Conv3x3) w.convs.push_back(read_keras3_conv(f, k3, l));
    return w;
  }
  const h5::Group root = weights_group(f);
  const std::vector<std::string> layer_names = keras::read_attribute(root, "layer_names");
  for (const LayerSpec& l : layers)
    if (l.kind == LayerKind::Conv3x3) w.convs.push_back(read_conv(root, layer_names, l));
  return w;
}

NetworkWeights make_random_weights(const std::vector<LayerSpec>& layers, uint64_t seed) {
  Rng rng(seed);
  NetworkWeights w;
  w.description = "random (seed " + std::to_string(seed) + ")";
  for (const LayerSpec& l : layers) {
    if (l.kind != LayerKind::Conv3x3) continue;
    if (l.cin < 1 || l.cout < 1)
      throw InvalidArgument("layer " + l.name + " has " + std::to_string(l.cin) + "->" + std::to_string(l.cout) +
                            " channels; both must be >= 1");
    ConvWeights cw;
    cw.name = l.name;
    cw.cin = l.cin;
    cw.cout = l.cout;
    // He-normal: keeps activation variance roughly constant through ReLUs.
    const double kernel_std = std::sqrt(2.0 / (9.0 * l.cin)), bias_std = 0.01;
    cw.kernel.resize(size_t{9} * l.cin * l.cout);
    for (float& v : cw.kernel) v = static_cast<float>(kernel_std * rng.normal());
    cw.bias.resize(l.cout);
    for (float& v : cw.bias) v = static_cast<float>(bias_std * rng.normal());
    w.convs.push_back(std::move(cw));
  }
  return w;
}

void save_keras_weights(const std::string& path, const NetworkWeights& w, const std::vector<LayerSpec>& layers,
                        KerasFlavor flavor) {
  check_matches(w, layers);
  // Written beside the target and renamed: readers see the old file or the
  // whole new one, never a partial one.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const std::lock_guard<std::mutex> lock(h5::library_mutex());
  try {
    write_keras_file(tmp, w, layers, flavor);
  } catch (const Error& e) {
    std::remove(tmp.c_str());
    throw FileError("cannot write weights file '" + path + "': " + e.what());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw FileError("cannot write weights file '" + path + "': rename from '" + tmp + "' failed: " + why);
  }
}

}  // namespace nst
