// nst-score: two quality numbers for a stylised picture (see nst/score.hpp).
//   nst-score --output out.png --content photo.jpg --style painting.jpg --weights FILE.h5 [--json]
// Exit status: 0 scored, 1 bad input (unreadable image or weights), 2 bad flags.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "nst/nst.hpp"
#include "nst/score.hpp"
#include "tools/cli_common.hpp"

namespace {

const int kDivisors[] = {1, 2, 4, 8, 16, 32, 64};  // as nst-weights: those that keep VGG16's widths whole

struct Args {
  std::string output, content, weights, device = "auto";
  std::vector<std::string> styles;
  std::vector<float> blend;
  int image_size = 0;  // 0: score at the output's own size
  bool json = false;
};

const char* kDescription =
    "nst-score: how well a stylised picture took on the style and kept the content.\n"
    "\n"
    "  style ratio       style loss of the output / style loss of the content photo, against the\n"
    "                    same (blended) style targets. The style loss is the classic one of nst:\n"
    "                    sum over block1_conv1..block5_conv1 of mean((G - A)^2), G = F^T F / (C*H*W)\n"
    "                    the Gram matrix of the picture's VGG16 features, A the style image's.\n"
    "                    1 = no style transferred, 0 = the style's statistics matched; lower is better.\n"
    "  edge correlation  Pearson correlation between the edge maps of output and content: Sobel\n"
    "                    gradient magnitude of the luminance (Rec.601) blurred with a Gaussian of\n"
    "                    sigma 2 px. 1 = the same edges, ~0 = unrelated; higher is better.\n"
    "\n"
    "Both are measured at the output's size: the content is resized to it and each style image's\n"
    "longest side is scaled to the output's longest side, as nst does.\n"
    "Example: nst-score --output out.png --content photo.jpg --style painting.jpg --weights vgg16.h5";

void add_flags(CLI::App& app, Args& a) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // No CLI::ExistingFile: a missing image is bad input (exit 1, the loader
  // names the path), not a bad flag.
  app.add_option("--output", a.output, "The stylised picture to score")->required();
  app.add_option("--content", a.content, "The content photo it was made from")->required();
  app.add_option("--style", a.styles, "Style image(s): repeat the flag, or give a comma separated list (a value that names an existing file is that file)")->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--weights", a.weights, "VGG16 Keras HDF5 weights file (any width divisor nst-weights writes)")->required();
  app.add_option("--style-blend-weights", a.blend, "One weight per style image, comma separated (default: equal)")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--image-size", a.image_size, "Score at this longest side instead of the output's own size (0: as is)")->capture_default_str()->check(CLI::Range(0, 16384));
  app.add_option("--device", a.device, "Where the style losses run; auto: CUDA when available")->capture_default_str()->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("--json", a.json, "Print one JSON object: style_ratio, edge_correlation, style_loss_output, style_loss_content");
}

// The width divisor whose block1_conv1 the file holds (one small layer read
// per guess), so that test files from `nst-weights make-random
// --width-divisor D` score too; 1 when none fits, so the full load says why.
int infer_width_divisor(const std::string& file) {
  for (int d : kDivisors) {
    try {
      nst::load_keras_weights(file, {nst::vgg16_layers(d).front()});
      return d;
    } catch (const nst::Error&) {
    }
  }
  return 1;
}

nst::Device device_of(const std::string& name) {
  return name == "auto" ? nst::Device::Auto : name == "cuda" ? nst::Device::Cuda : nst::Device::Cpu;
}

// 1234.5 -> "1.2e3", 0.00042 -> "4.2e-4": short, and readable across scales.
std::string short_sci(double v) {
  if (v == 0 || !std::isfinite(v)) return fmt::format("{}", v);
  int exponent = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  double mantissa = v / std::pow(10.0, exponent);
  if (std::fabs(std::round(mantissa * 10) / 10) >= 10) {  // 9.96 rounds to 10.0
    mantissa /= 10;
    ++exponent;
  }
  return fmt::format("{:.1f}e{}", mantissa, exponent);
}

void print_scores(const nst::Scores& s, bool json) {
  if (json) {
    // Keys in the documented order, not sorted.
    const nlohmann::ordered_json j = {{"style_ratio", s.style_ratio},
                                      {"edge_correlation", s.edge_correlation},
                                      {"style_loss_output", s.style_loss_output},
                                      {"style_loss_content", s.style_loss_content}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("style ratio {:.3g}  edge correlation {:.3f}  (style loss output {} / content {})\n", s.style_ratio,
               s.edge_correlation, short_sci(s.style_loss_output), short_sci(s.style_loss_content));
  }
}

int run(const Args& a) {
  const std::vector<std::string> style_files = nst::tools::style_files(a.styles, "--style");
  if (!a.blend.empty() && a.blend.size() != style_files.size()) {
    throw nst::InvalidArgument("--style-blend-weights: got " + std::to_string(a.blend.size()) + " weights for " +
                               std::to_string(style_files.size()) + " style images");
  }
  nst::Image output = nst::load_image(a.output);
  const nst::Image content = nst::load_image(a.content);
  std::vector<nst::Image> styles;
  for (const auto& s : style_files) styles.push_back(nst::load_image(s));
  if (a.image_size > 0) output = nst::resize_longest_side(output, a.image_size);

  const auto layers = nst::vgg16_layers(infer_width_divisor(a.weights));
  const nst::NetworkWeights weights = nst::load_keras_weights(a.weights, layers);
  print_scores(nst::score_image(weights, output, content, styles, layers, a.blend, device_of(a.device)), a.json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  app.set_version_flag("--version", std::string("nst-score ") + nst::version());
  app.get_formatter()->column_width(30);
  Args a;
  add_flags(app, a);
  return nst::tools::run_main(app, argc, argv, "nst-score", [&a] { return run(a); });
}
