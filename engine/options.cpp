#include <cmath>
#include <set>

#include "nst/nst.hpp"

namespace nst {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InvalidArgument(message);
}

void require_weight(float w, const char* option) {
  require(std::isfinite(w) && w >= 0.f,
          std::string(option) + " must be a finite number >= 0, got " + std::to_string(w));
}

void require_conv_layers(const std::vector<std::string>& names, const std::vector<LayerSpec>& layers,
                         const char* option) {
  for (const auto& name : names) {
    bool found = false;
    for (const auto& l : layers) {
      if (l.name != name) continue;
      found = true;
      require(l.kind == LayerKind::Conv3x3, std::string(option) + ": '" + name + "' is a pool, taps are conv outputs");
    }
    require(found, std::string(option) + ": unknown layer '" + name + "' (layers are named like block4_conv2)");
  }
}

}  // namespace

const char* version() { return NST_VERSION; }

void Options::validate(const std::vector<LayerSpec>& layers) const {
  require(image_size > 0 && image_size <= 16384,
          "image size must be in 1..16384 px, got " + std::to_string(image_size));
  require(iterations >= 0, "iterations must be >= 0, got " + std::to_string(iterations));
  require_weight(content_weight, "content weight");
  require_weight(style_weight, "style weight");
  require_weight(tv_weight, "tv weight");
  require(std::isfinite(learning_rate) && learning_rate > 0.f,
          "learning rate must be a finite number > 0, got " + std::to_string(learning_rate));
  require(beta1 >= 0.f && beta1 < 1.f && beta2 >= 0.f && beta2 < 1.f, "Adam betas must be in [0, 1)");
  require(std::isfinite(eps) && eps > 0.f, "Adam eps must be > 0");
  require(threads >= 0, "threads must be >= 0 (0 = all cores), got " + std::to_string(threads));
  require(!content_layers.empty() || !style_layers.empty(), "no content or style layer given");
  require_conv_layers(content_layers, layers, "content layers");
  require_conv_layers(style_layers, layers, "style layers");
  require(std::set<std::string>(content_layers.begin(), content_layers.end()).size() == content_layers.size(),
          "content layers: a layer is listed twice");
  require(std::set<std::string>(style_layers.begin(), style_layers.end()).size() == style_layers.size(),
          "style layers: a layer is listed twice");
  double blend_sum = 0;
  for (float w : style_blend_weights) {
    require(std::isfinite(w) && w >= 0.f, "style blend weights must be finite and >= 0");
    blend_sum += w;
  }
  require(style_blend_weights.empty() || blend_sum > 0, "style blend weights must not all be 0");
}

}  // namespace nst
