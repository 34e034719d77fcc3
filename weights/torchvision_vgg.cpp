#include "weights/torchvision_vgg.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "nst/error.hpp"

namespace nst {
namespace {

// The caffe mean nst subtracts, in B,G,R order (DESIGN.md).
constexpr double kCaffeMeanBgr[3] = {103.939, 116.779, 123.68};
constexpr int kWidthDivisors[] = {1, 2, 4, 8, 16, 32, 64};

[[noreturn]] void bad(const std::string& name, const std::string& what) { throw FileError(name + ": " + what); }

std::string key_of(int index, const char* what) { return "features." + std::to_string(index) + "." + what; }

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int i : v) s += (s.empty() ? "" : ",") + std::to_string(i);
  return s;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return shape.empty() ? "scalar" : s;
}

// features.* tensors by key; `conv_indices` gets every N of a
// features.N.weight. A features key that is not a conv weight or bias
// (vgg16_bn's running_mean, ...) is refused: nst has no batch norm.
std::map<std::string, const torch::Tensor*> features_by_key(const torch::StateDict& dict, const std::string& name,
                                                            std::set<int>& conv_indices) {
  std::map<std::string, const torch::Tensor*> by_key;
  for (const auto& [key, t] : dict) {
    if (key.rfind("features.", 0) != 0) continue;
    const size_t dot = key.find('.', 9);
    const std::string index = key.substr(9, dot == std::string::npos ? std::string::npos : dot - 9);
    const std::string param = dot == std::string::npos ? "" : key.substr(dot + 1);
    const bool numeric = !index.empty() && index.size() < 5 &&
                         std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric || (param != "weight" && param != "bias"))
      bad(name, "has '" + key + "', which a plain torchvision VGG does not (batch-norm VGGs are not supported)");
    if (param == "weight") conv_indices.insert(std::stoi(index));
    by_key[key] = &t;
  }
  return by_key;
}

// The model whose conv indices the file holds, or `given` once checked.
ModelKind choose_model(const std::set<int>& found, const std::string& name, std::optional<ModelKind> given) {
  std::vector<int> have(found.begin(), found.end());
  for (ModelKind m : {ModelKind::Vgg16, ModelKind::Vgg19}) {
    if (given && *given != m) continue;
    const std::vector<int> want = torchvision_conv_indices(model_layers(m));
    if (have == want) return m;
    if (given) {
      for (int i : want)
        if (!found.count(i))
          bad(name, "'" + key_of(i, "weight") + "' is missing (" + model_name(m) + " has convs at features." +
                        join(want) + "; the file at " + join(have) + ")");
      bad(name, "has convs at features." + join(have) + ", not those of " + model_name(m) + " (" + join(want) + ")");
    }
  }
  bad(name, "has convs at features." + join(have) + ", neither torchvision's VGG16 (" +
                join(torchvision_conv_indices(vgg16_layers())) + ") nor VGG19 (" +
                join(torchvision_conv_indices(vgg19_layers())) + ")");
}

const torch::Tensor& tensor_at(const std::map<std::string, const torch::Tensor*>& by_key, const std::string& name,
                               const std::string& key, const std::vector<int64_t>& shape, const LayerSpec& l) {
  const auto it = by_key.find(key);
  if (it == by_key.end()) bad(name, "'" + key + "' (" + l.name + ") is missing");
  if (it->second->shape != shape)
    bad(name, "'" + key + "' has shape " + shape_string(it->second->shape) + ", expected " + shape_string(shape) +
                  " (" + l.name + ")");
  for (float v : it->second->values)
    if (!std::isfinite(v)) bad(name, "'" + key + "' (" + l.name + ") contains a non-finite value");
  return *it->second;
}

// The divisor whose block1_conv1 width features.0 has.
int width_divisor_of(const std::map<std::string, const torch::Tensor*>& by_key, const std::string& name) {
  const auto it = by_key.find(key_of(0, "weight"));
  if (it == by_key.end()) bad(name, "'features.0.weight' is missing");
  const std::vector<int64_t>& s = it->second->shape;
  for (int d : kWidthDivisors)
    if (!s.empty() && s[0] == 64 / d) return d;
  bad(name, "'features.0.weight' has shape " + shape_string(s) + ": its width is not 64 divided by 1, 2, 4, ... 64");
}

// OIHW (PyTorch) -> HWIO (Keras, nst): both are cross-correlation kernels.
std::vector<float> oihw_to_hwio(const std::vector<float>& w, int cout, int cin) {
  std::vector<float> out(w.size());
  for (int o = 0; o < cout; ++o)
    for (int i = 0; i < cin; ++i)
      for (int k = 0; k < 9; ++k) out[(static_cast<size_t>(k) * cin + i) * cout + o] = w[(static_cast<size_t>(o) * cin + i) * 9 + k];
  return out;
}

}  // namespace


std::vector<int> torchvision_conv_indices(const std::vector<LayerSpec>& layers) {
  std::vector<int> indices;
  int n = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind == LayerKind::Conv3x3) {
      indices.push_back(n);
      n += 2;  // Conv2d, ReLU
    } else {
      n += 1;  // MaxPool2d
    }
  }
  return indices;
}

void fold_torchvision_input(ConvWeights& first) {
  if (first.cin != 3) throw InvalidArgument("the input fold needs a 3-channel first conv, " + first.name + " has " + std::to_string(first.cin));
  const auto& mean = TorchvisionNormalisation::kMean;
  const auto& std_ = TorchvisionNormalisation::kStd;
  std::vector<float> kernel(first.kernel.size());
  std::vector<double> bias(first.bias.begin(), first.bias.end());
  for (int k = 0; k < 9; ++k)
    for (int c = 0; c < 3; ++c) {  // c: torch's RGB channel; 2 - c: nst's BGR one
      const double shift = (kCaffeMeanBgr[2 - c] / 255.0 - mean[c]) / std_[c];
      for (int o = 0; o < first.cout; ++o) {
        const double w = first.kernel[(static_cast<size_t>(k) * 3 + c) * first.cout + o];
        kernel[(static_cast<size_t>(k) * 3 + (2 - c)) * first.cout + o] = static_cast<float>(w / (255.0 * std_[c]));
        bias[o] += w * shift;
      }
    }
  first.kernel = std::move(kernel);
  for (int o = 0; o < first.cout; ++o) first.bias[o] = static_cast<float>(bias[o]);
}

ImportedWeights torchvision_vgg(const torch::StateDict& dict, const std::string& name, std::optional<ModelKind> model) {
  std::set<int> found;
  const auto by_key = features_by_key(dict, name, found);
  if (found.empty()) bad(name, "has no features.N.weight: not a torchvision VGG state dict");
  ImportedWeights out;
  out.model = choose_model(found, name, model);
  out.width_divisor = width_divisor_of(by_key, name);
  const std::vector<LayerSpec> layers = model_layers(out.model, out.width_divisor);
  const std::vector<int> indices = torchvision_conv_indices(layers);
  out.weights.description = name;
  size_t k = 0;
  for (const LayerSpec& l : layers) {
    if (l.kind != LayerKind::Conv3x3) continue;
    const int index = indices[k++];
    const torch::Tensor& w = tensor_at(by_key, name, key_of(index, "weight"), {l.cout, l.cin, 3, 3}, l);
    const torch::Tensor& b = tensor_at(by_key, name, key_of(index, "bias"), {l.cout}, l);
    ConvWeights cw;
    cw.name = l.name;
    cw.cin = l.cin;
    cw.cout = l.cout;
    cw.kernel = oihw_to_hwio(w.values, l.cout, l.cin);
    cw.bias = b.values;
    out.weights.convs.push_back(std::move(cw));
  }
  // Every features tensor must have been one of those convs: a bias at an
  // index with no conv (or a second model's keys) is not silently dropped.
  if (by_key.size() != 2 * out.weights.convs.size())
    for (const auto& entry : by_key) {
      const size_t dot = entry.first.find('.', 9);
      const int index = std::stoi(entry.first.substr(9, dot - 9));
      if (std::find(indices.begin(), indices.end(), index) == indices.end())
        bad(name, "has '" + entry.first + "', which " + model_name(out.model) + " has no conv for (features." +
                      join(indices) + ")");
    }
  fold_torchvision_input(out.weights.convs.front());
  return out;
}

ImportedWeights import_torchvision_vgg(const std::string& path, std::optional<ModelKind> model) {
  const torch::StateDict dict =
      torch::read_state_dict(path, [](const std::string& key) { return key.rfind("features.", 0) == 0; });
  return torchvision_vgg(dict, "weights file '" + path + "'", model);
}

}  // namespace nst
