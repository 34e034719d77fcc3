#include "weights/keras_file.hpp"

#include "nst/error.hpp"

namespace nst::keras {

void bad_file(const std::string& path, const std::string& what) {
  throw FileError("weights file '" + path + "': " + what);
}

bool has_attribute(const h5::Group& g, const std::string& name) {
  return g.has_attribute(name) || g.has_attribute(name + "0");
}

std::vector<std::string> read_attribute(const h5::Group& g, const std::string& name) {
  if (g.has_attribute(name)) return g.read_strings(name);
  std::vector<std::string> all;
  for (int i = 0; g.has_attribute(name + std::to_string(i)); ++i) {
    const std::vector<std::string> chunk = g.read_strings(name + std::to_string(i));
    all.insert(all.end(), chunk.begin(), chunk.end());
  }
  return all;
}

h5::Group weights_group(const h5::File& f) {
  const h5::Group& root = f.root();
  if (!has_attribute(root, "layer_names") && root.has_group("model_weights")) {
    h5::Group g = root.open_group("model_weights");
    if (has_attribute(g, "layer_names")) return g;
  }
  if (!has_attribute(root, "layer_names"))
    bad_file(f.path(), "no 'layer_names' attribute at the root '/' (not a Keras weights file?)");
  return root.duplicate();
}

}  // namespace nst::keras
