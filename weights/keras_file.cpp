#include "weights/keras_file.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>

#include "nst/error.hpp"
#include "nst/network.hpp"
#include "weights/torch_pth.hpp"

namespace nst::keras {

namespace {

bool is_torch_file(const std::string& path) {
  const std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  uint8_t head[4];
  return f && std::fread(head, 1, sizeof head, f.get()) == sizeof head && torch::looks_like_torch_file(head, sizeof head);
}

}  // namespace

h5::File open_weights_file(const std::string& path) {
  try {
    return h5::File::open(path, h5::File::Mode::ReadOnly, "weights file");
  } catch (const FileError& e) {
    if (!is_torch_file(path)) throw;
    throw FileError(std::string(e.what()) + "\n  It is a PyTorch .pth file (torchvision's VGG state dict?): convert it " +
                    "once with: nst-weights import " + path + " OUT.h5, then use OUT.h5");
  }
}

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

bool is_keras3(const h5::File& f) {
  return !has_attribute(f.root(), "layer_names") && f.root().has_group("layers");
}

namespace {

// "conv2d" -> 0, "conv2d_12" -> 12; -1 for any other name.
int conv2d_number(const std::string& group) {
  if (group == "conv2d") return 0;
  const std::string prefix = "conv2d_";
  if (group.compare(0, prefix.size(), prefix) != 0 || group.size() == prefix.size() || group.size() > prefix.size() + 4)
    return -1;
  for (size_t i = prefix.size(); i < group.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(group[i]))) return -1;
  return std::stoi(group.substr(prefix.size()));
}

// Names the unnamed conv2d groups after the VGG table with as many convs.
void name_convs_by_order(std::vector<Keras3Layer>& layers, std::vector<std::string>& groups) {
  std::vector<std::pair<int, size_t>> convs;  // (number, index into layers)
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == groups[i] && conv2d_number(groups[i]) >= 0) convs.emplace_back(conv2d_number(groups[i]), i);
  std::sort(convs.begin(), convs.end());
  for (ModelKind m : {ModelKind::Vgg16, ModelKind::Vgg19}) {
    std::vector<std::string> names;
    for (const LayerSpec& l : model_layers(m))
      if (l.kind == LayerKind::Conv3x3) names.push_back(l.name);
    if (names.size() != convs.size()) continue;
    for (size_t k = 0; k < convs.size(); ++k) layers[convs[k].second].name = names[k];
  }
}

}  // namespace

std::vector<Keras3Layer> keras3_layers(const h5::File& f) {
  const h5::Group top = f.root().open_group("layers");
  std::vector<Keras3Layer> layers;
  std::vector<std::string> groups;
  for (const std::string& g : top.children()) {
    if (!top.has_group(g + "/vars")) continue;
    const h5::Group vars = top.open_group(g + "/vars");
    std::string name = g;
    if (vars.has_attribute("name")) {
      const std::vector<std::string> n = vars.read_strings("name");
      if (n.size() == 1) name = n[0];
    }
    layers.push_back({name, vars.path()});
    groups.push_back(g);
  }
  name_convs_by_order(layers, groups);
  return layers;
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
