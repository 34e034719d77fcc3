// The VGG layer tables and the spellings of their layer names.
#include <array>
#include <cctype>

#include "nst/error.hpp"
#include "nst/network.hpp"

namespace nst {
namespace {

using ConvsPerBlock = std::array<int, 5>;

constexpr int kWidths[5] = {64, 128, 256, 512, 512};
constexpr ConvsPerBlock kVgg16Convs = {2, 2, 3, 3, 3};
constexpr ConvsPerBlock kVgg19Convs = {2, 2, 4, 4, 4};

// The VGG family shares its five blocks and widths; only the number of
// convs per block differs, so every model is this one builder.
std::vector<LayerSpec> vgg_layers(const ConvsPerBlock& convs_per_block, int width_divisor) {
  if (width_divisor < 1) throw InvalidArgument("width divisor must be >= 1, got " + std::to_string(width_divisor));
  std::vector<LayerSpec> layers;
  int cin = 3;
  for (int b = 0; b < 5; ++b) {
    const std::string block = "block" + std::to_string(b + 1);
    const int cout = kWidths[b] / width_divisor;
    for (int i = 0; i < convs_per_block[b]; ++i) {
      layers.push_back({block + "_conv" + std::to_string(i + 1), LayerKind::Conv3x3, cin, cout});
      cin = cout;
    }
    layers.push_back({block + "_pool", LayerKind::Pool2x2, 0, 0});
  }
  return layers;
}

// --- layer names --------------------------------------------------------------

// Consumes one or more digits of `s` from `pos` into `out`.
bool take_digits(const std::string& s, size_t& pos, std::string& out) {
  const size_t start = pos;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
  out = s.substr(start, pos - start);
  return !out.empty();
}

// The Keras spelling of a Caffe/Torch name ("relu4_2", "conv4_2" ->
// "block4_conv2"; "pool4" -> "block4_pool"); any other name unchanged, so
// that the table lookup decides whether it exists.
std::string keras_spelling(const std::string& name) {
  const std::string prefix = name.substr(0, 4);
  size_t pos = 4;
  std::string block, conv;
  if ((prefix == "conv" || prefix == "relu") && take_digits(name, pos, block) && pos < name.size() &&
      name[pos++] == '_' && take_digits(name, pos, conv) && pos == name.size())
    return "block" + block + "_conv" + conv;
  if (prefix == "pool" && take_digits(name, pos, block) && pos == name.size()) return "block" + block + "_pool";
  return name;
}

std::vector<std::string> names_of(const std::vector<LayerSpec>& layers) {
  std::vector<std::string> names;
  for (const LayerSpec& l : layers) names.push_back(l.name);
  return names;
}

// "VGG16" / "VGG19" when `layers` is one of their tables, for messages.
std::string table_name(const std::vector<LayerSpec>& layers) {
  const std::vector<std::string> names = names_of(layers);
  if (names == names_of(vgg16_layers())) return "VGG16";
  if (names == names_of(vgg19_layers())) return "VGG19";
  return "the network";
}

// "first..last", or the one name.
std::string span(const std::vector<std::string>& names) {
  return names.size() == 1 ? names.front() : names.front() + ".." + names.back();
}

// "VGG16 has block1_conv1..block5_conv3 (2,2,3,3,3 per block) and
// block1_pool..block5_pool; relu5_3, conv5_3 and pool5 also work": enough
// to see which block has how many convs without listing all of them.
std::string describe_layers(const std::vector<LayerSpec>& layers) {
  std::vector<std::string> convs, pools;
  std::string per_block;
  int in_block = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::Conv3x3) {
      convs.push_back(l.name);
      ++in_block;
    } else {
      pools.push_back(l.name);
      per_block += (per_block.empty() ? "" : ",") + std::to_string(in_block);
      in_block = 0;
    }
  }
  if (convs.empty()) return table_name(layers) + " has no conv layers";
  std::string s = table_name(layers) + " has " + span(convs);
  if (!per_block.empty()) s += " (" + per_block + " per block)";
  if (!pools.empty()) s += " and " + span(pools);
  // The last conv, "blockB_convI", spelled the Caffe way shows the pattern.
  const std::string& last = convs.back();
  const size_t underscore = last.find('_'), conv = last.rfind("_conv");
  if (last.compare(0, 5, "block") != 0 || conv == std::string::npos) return s;
  const std::string b = last.substr(5, underscore - 5), i = last.substr(conv + 5);
  return s + "; relu" + b + "_" + i + ", conv" + b + "_" + i + " and pool" + b + " also work";
}

}  // namespace

std::vector<LayerSpec> vgg16_layers(int width_divisor) { return vgg_layers(kVgg16Convs, width_divisor); }
std::vector<LayerSpec> vgg19_layers(int width_divisor) { return vgg_layers(kVgg19Convs, width_divisor); }

std::vector<LayerSpec> model_layers(ModelKind model, int width_divisor) {
  return model == ModelKind::Vgg19 ? vgg19_layers(width_divisor) : vgg16_layers(width_divisor);
}

const char* model_name(ModelKind model) { return model == ModelKind::Vgg19 ? "vgg19" : "vgg16"; }

ModelKind parse_model(const std::string& name) {
  for (ModelKind m : {ModelKind::Vgg16, ModelKind::Vgg19})
    if (name == model_name(m)) return m;
  throw InvalidArgument("unknown model '" + name + "' (expected vgg16 or vgg19)");
}

std::string canonical_layer_name(const std::string& name, const std::vector<LayerSpec>& layers) {
  const std::string keras = keras_spelling(name);
  for (const LayerSpec& l : layers)
    if (l.name == keras) return keras;
  throw InvalidArgument("unknown layer '" + name + "' (" + describe_layers(layers) + ")");
}

}  // namespace nst
