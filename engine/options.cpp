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

// Each name (any spelling canonical_layer_name takes) must be a conv of
// the table, and listed once.
void require_conv_layers(const std::vector<std::string>& names, const std::vector<LayerSpec>& layers,
                         const char* option) {
  std::set<std::string> seen;
  for (const auto& name : names) {
    std::string keras;
    try {
      keras = canonical_layer_name(name, layers);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(std::string(option) + ": " + e.what());
    }
    for (const auto& l : layers) {
      if (l.name == keras) {
        require(l.kind == LayerKind::Conv3x3, std::string(option) + ": '" + name + "' is a pool, taps are conv outputs");
      }
    }
    require(seen.insert(keras).second, std::string(option) + ": " + keras + " is listed twice");
  }
}

// The automatic pyramid starts here and doubles (Options::scales).
constexpr int kPyramidBase = 256;

std::vector<int> scale_sizes(const Options& o) {
  std::vector<int> sizes = o.scales;
  if (sizes.empty()) {
    for (int s = kPyramidBase; s < o.image_size; s *= 2) sizes.push_back(s);
  }
  if (sizes.empty() || sizes.back() != o.image_size) sizes.push_back(o.image_size);
  return sizes;
}

}  // namespace

std::vector<Options::Scale> Options::schedule() const {
  const std::vector<int> sizes = scale_sizes(*this);
  std::vector<Scale> out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int its = !scale_iterations.empty() ? scale_iterations[i] : i == 0 ? iterations : (iterations + 2) / 3;
    out.push_back({sizes[i], its});
  }
  return out;
}

const char* version() { return NST_VERSION; }

void set_conv_algo(ComputeOptions& compute, const std::string& name) {
  compute.conv_algo = ConvAlgo::Cudnn;
  compute.cpu_conv_algo = CpuConvAlgo::Auto;
  if (name == "gemm") {
    compute.cpu_conv_algo = CpuConvAlgo::Gemm;
  } else if (name == "winograd") {
    compute.cpu_conv_algo = CpuConvAlgo::Winograd;
  } else if (name == "custom") {
    compute.conv_algo = ConvAlgo::Custom;
  } else if (name != "auto" && name != "cudnn") {
    throw InvalidArgument("unknown convolution algorithm '" + name + "' (use auto, gemm, winograd, cudnn or custom)");
  }
}

void Options::validate(const std::vector<LayerSpec>& layers) const {
  require(image_size > 0 && image_size <= 16384,
          "image size must be in 1..16384 px, got " + std::to_string(image_size));
  require(iterations >= 0, "iterations must be >= 0, got " + std::to_string(iterations));
  require(loss_every >= 1, "loss every must be >= 1 (read the losses every N iterations), got " +
                               std::to_string(loss_every));
  require(tile >= 0 && tile <= 16384, "tile must be in 0..16384 px (0: no tiling), got " + std::to_string(tile));
  require_weight(content_weight, "content weight");
  require_weight(style_weight, "style weight");
  require_weight(tv_weight, "tv weight");
  require(std::isfinite(learning_rate) && learning_rate >= 0.f,
          "learning rate must be a finite number > 0 (or 0 for the optimiser's default), got " +
              std::to_string(learning_rate));
  require(lbfgs_history >= 1 && lbfgs_history <= 10000,
          "L-BFGS history must be in 1..10000, got " + std::to_string(lbfgs_history));
  require(std::isfinite(lbfgs_initial_step) && lbfgs_initial_step >= 0.f,
          "L-BFGS initial step must be a finite number >= 0, got " + std::to_string(lbfgs_initial_step));
  require(std::isfinite(style_scale) && style_scale > 0.f && style_scale <= 16.f,
          "style scale must be in (0, 16], got " + std::to_string(style_scale));
  require(init != Init::Image || init_image.pixels() > 0, "init 'image' needs an init image (--init-image)");
  int previous = 0;
  for (int s : scales) {
    require(s > previous && s <= image_size,
            "scales must increase and not exceed the image size " + std::to_string(image_size) + ", got " +
                std::to_string(s) + " after " + std::to_string(previous));
    previous = s;
  }
  const size_t n_scales = scale_sizes(*this).size();
  require(scale_iterations.empty() || scale_iterations.size() == n_scales,
          "scale iterations: got " + std::to_string(scale_iterations.size()) + " values for " +
              std::to_string(n_scales) + " scales (the image size is the last scale)");
  for (int it : scale_iterations) require(it >= 0, "scale iterations must be >= 0, got " + std::to_string(it));
  require(beta1 >= 0.f && beta1 < 1.f && beta2 >= 0.f && beta2 < 1.f, "Adam betas must be in [0, 1)");
  require(std::isfinite(eps) && eps > 0.f, "Adam eps must be > 0");
  require(compute.threads >= 0, "threads must be >= 0 (0 = all cores), got " + std::to_string(compute.threads));
  require(!content_layers.empty() || !style_layers.empty(), "no content or style layer given");
  require_conv_layers(content_layers, layers, "content layers");
  require_conv_layers(style_layers, layers, "style layers");
  require(content_layer_weights.empty() || content_layer_weights.size() == content_layers.size(),
          "content layer weights: got " + std::to_string(content_layer_weights.size()) + " for " +
              std::to_string(content_layers.size()) + " content layers");
  require(style_layer_weights.empty() || style_layer_weights.size() == style_layers.size(),
          "style layer weights: got " + std::to_string(style_layer_weights.size()) + " for " +
              std::to_string(style_layers.size()) + " style layers");
  for (float w : content_layer_weights) require_weight(w, "content layer weight");
  for (float w : style_layer_weights) require_weight(w, "style layer weight");
  double blend_sum = 0;
  for (float w : style_blend_weights) {
    require(std::isfinite(w) && w >= 0.f, "style blend weights must be finite and >= 0");
    blend_sum += w;
  }
  require(style_blend_weights.empty() || blend_sum > 0, "style blend weights must not all be 0");
  for (size_t i = 0; i < style_masks.size(); ++i) check_mask(style_masks[i], "style mask " + std::to_string(i + 1));
  if (content_mask.pixels() > 0) check_mask(content_mask, "content mask");
}

float Options::effective_learning_rate() const {
  if (learning_rate > 0.f) return learning_rate;
  return optimizer == OptimizerKind::Adam ? 10.f : 1.f;
}

}  // namespace nst
