#include "weights/import.hpp"

#include <cstdio>
#include <memory>

#include "nst/error.hpp"
#include "weights/torch_pth.hpp"
#include "weights/torchvision_vgg.hpp"

namespace nst {
namespace {

const int kWidthDivisors[] = {1, 2, 4, 8, 16, 32, 64};

// The first bytes of `path`: enough to tell a .pth from an HDF5 file.
std::string file_start(const std::string& path, size_t n) {
  const std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) throw FileError("cannot open weights file '" + path + "': no such file or not readable");
  std::string head(n, '\0');
  head.resize(std::fread(&head[0], 1, n, f.get()));
  return head;
}

ImportedWeights from_keras(const std::string& path, std::optional<ModelKind> model) {
  ImportedWeights out;
  const ModelKind detected = detect_keras_model(path);
  if (model && *model != detected)
    throw FileError("weights file '" + path + "': holds " + model_name(detected) + ", not the " +
                    model_name(*model) + " asked for");
  out.model = detected;
  out.width_divisor = infer_keras_width_divisor(path, detected);
  out.weights = load_keras_weights(path, model_layers(detected, out.width_divisor));
  out.format = "Keras HDF5";
  return out;
}

}  // namespace

int infer_keras_width_divisor(const std::string& path, ModelKind model) {
  for (int d : kWidthDivisors) {
    try {
      load_keras_weights(path, {model_layers(model, d).front()});
      return d;
    } catch (const Error&) {
    }
  }
  return 1;
}

ImportedWeights import_weights(const std::string& path, std::optional<ModelKind> model) {
  const std::string head = file_start(path, 4);
  const auto* bytes = reinterpret_cast<const uint8_t*>(head.data());
  if (!torch::looks_like_torch_file(bytes, head.size())) return from_keras(path, model);
  ImportedWeights out = import_torchvision_vgg(path, model);
  out.format = head[0] == 'P' ? "torchvision .pth (zip)" : "torchvision .pth (legacy)";
  return out;
}

}  // namespace nst
