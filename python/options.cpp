#include "options.hpp"

#include <nanobind/stl/string.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "values.hpp"

namespace nst::python {
namespace {

// `what` is "option 'NAME'", for the messages.
using Setter = void (*)(Options& o, nb::handle value, const std::string& what);

struct OptionSpec {
  std::string name, type, doc;
  Setter set;
};

// The names of an enum's values, as the CLI spells them. The library has
// public parsers for the model and the colour transfer only (parse_model,
// parse_color_transfer), which are used for those two.
template <class E>
struct Choice {
  const char* name;
  E value;
};
constexpr Choice<OptimizerKind> kOptimizers[] = {{"lbfgs", OptimizerKind::Lbfgs}, {"adam", OptimizerKind::Adam}};
constexpr Choice<Init> kInits[] = {{"content", Init::Content}, {"random", Init::Random}, {"image", Init::Image}};
constexpr Choice<Pooling> kPoolings[] = {{"max", Pooling::Max}, {"avg", Pooling::Avg}};
constexpr Choice<Device> kDevices[] = {{"auto", Device::Auto}, {"cpu", Device::Cpu}, {"cuda", Device::Cuda}};
constexpr Choice<ConvAlgo> kConvAlgos[] = {{"cudnn", ConvAlgo::Cudnn}, {"custom", ConvAlgo::Custom}};
constexpr Choice<CpuConvAlgo> kCpuConvAlgos[] = {
    {"auto", CpuConvAlgo::Auto}, {"gemm", CpuConvAlgo::Gemm}, {"winograd", CpuConvAlgo::Winograd}};
constexpr Choice<GramAlgo> kGramAlgos[] = {{"cublas", GramAlgo::Cublas}, {"custom", GramAlgo::Custom}};

// "'lbfgs' or 'adam'", "'auto', 'cpu' or 'cuda'".
template <class E, size_t N>
std::string choice_list(const Choice<E> (&choices)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string("'") + choices[i].name + "'";
  }
  return out;
}

template <class E, size_t N>
E choose(const Choice<E> (&choices)[N], nb::handle value, const std::string& what) {
  const std::string name = to_string(value, what);
  for (const auto& c : choices) {
    if (name == c.name) return c.value;
  }
  throw InvalidArgument(what + " must be " + choice_list(choices) + ", got '" + name + "'");
}

// A library parser's message, prefixed with the option it came from.
template <auto Parse>
auto parsed(nb::handle value, const std::string& what) {
  const std::string text = to_string(value, what);
  try {
    return Parse(text);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(what + ": " + e.what());
  }
}

template <const auto& Table>
auto chosen(nb::handle value, const std::string& what) {
  return choose(Table, value, what);
}

// The setter of a field of Options, or of Options::compute, converting with
// `Convert` (a function of the value and the option's name).
template <auto Field, auto Convert>
void set(Options& o, nb::handle value, const std::string& what) {
  o.*Field = Convert(value, what);
}
template <auto Field, auto Convert>
void set_compute(Options& o, nb::handle value, const std::string& what) {
  o.compute.*Field = Convert(value, what);
}

// None for no mask, as the default.
void set_content_mask(Options& o, nb::handle value, const std::string& what) {
  o.content_mask = value.is_none() ? Image{} : mask_from_array(value, what);
}

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> table = {
    // What is computed.
    {"image_size", "int", "longest side of the output in pixels", set<&Options::image_size, to_int>},
    {"iterations", "int", "iterations at the first scale (a third of it at each finer one)",
     set<&Options::iterations, to_int>},
    {"scales", "list of int", "longest sides, coarse to fine (image_size is the last); [] = 256 doubling up to image_size",
     set<&Options::scales, to_int_list>},
    {"scale_iterations", "list of int", "iterations per scale, one per scale (overrides iterations)",
     set<&Options::scale_iterations, to_int_list>},
    {"content_weight", "float", "content loss weight", set<&Options::content_weight, to_float>},
    {"style_weight", "float", "style loss weight", set<&Options::style_weight, to_float>},
    {"tv_weight", "float", "total-variation weight", set<&Options::tv_weight, to_float>},
    {"optimizer", choice_list(kOptimizers), "the optimiser", set<&Options::optimizer, chosen<kOptimizers>>},
    {"learning_rate", "float", "step size; 0 = the optimiser's default (L-BFGS 1, Adam 10)",
     set<&Options::learning_rate, to_float>},
    {"beta1", "float", "Adam's first-moment decay", set<&Options::beta1, to_float>},
    {"beta2", "float", "Adam's second-moment decay", set<&Options::beta2, to_float>},
    {"eps", "float", "Adam's epsilon", set<&Options::eps, to_float>},
    {"lbfgs_history", "int", "L-BFGS correction pairs kept", set<&Options::lbfgs_history, to_int>},
    {"lbfgs_initial_step", "float", "L-BFGS first step as an RMS pixel change (0: PyTorch's rule)",
     set<&Options::lbfgs_initial_step, to_float>},
    {"init", choice_list(kInits), "start image: the content, noise, or init_image", set<&Options::init, chosen<kInits>>},
    {"init_image", "uint8 array (H, W, 3)", "start image for init='image' (resized to each scale)",
     set<&Options::init_image, image_from_array>},
    {"seed", "int", "seed of the random init, 0 to 2**64-1", set<&Options::seed, to_seed>},
    {"model", "'vgg16' or 'vgg19'", "the network; must be the weights' model (the default)",
     set<&Options::model, parsed<parse_model>>},
    {"pooling", choice_list(kPoolings), "pooling in the network", set<&Options::pooling, chosen<kPoolings>>},
    {"content_layers", "list of str", "content layers (block4_conv2 or relu4_2)",
     set<&Options::content_layers, to_string_list>},
    {"style_layers", "list of str", "style layers", set<&Options::style_layers, to_string_list>},
    {"content_layer_weights", "list of float", "one weight per content layer ([] = all 1)",
     set<&Options::content_layer_weights, to_float_list>},
    {"style_layer_weights", "list of float", "one weight per style layer ([] = all 1)",
     set<&Options::style_layer_weights, to_float_list>},
    {"style_scale", "float", "style images' longest side relative to the output's", set<&Options::style_scale, to_float>},
    {"color_transfer", "'none', 'histogram' or 'linear'",
     "recolour the styles to the content's palette before taking their Grams",
     set<&Options::color_transfer, parsed<parse_color_transfer>>},
    {"original_colors", "bool", "keep the content's colours (its chrominance, the result's luminance)",
     set<&Options::original_colors, to_bool>},
    {"style_blend_weights", "list of float", "one weight per style image ([] = equal)",
     set<&Options::style_blend_weights, to_float_list>},
    {"style_masks", "list of uint8 arrays (H, W) or (H, W, 3)",
     "one grey mask per style image, over the output: 255 where that style applies, 0 where not ([] = none)",
     set<&Options::style_masks, masks_from_list>},
    {"content_mask", "uint8 array (H, W) or (H, W, 3)",
     "where the content loss applies: 255 keeps the photo, 0 leaves the style alone (None = everywhere)",
     set_content_mask},
    {"tile", "int",
     "exact tiling: tiles owning at most N x N px (plus the receptive field's halo) at scales with a longer side; 0 = never",
     set<&Options::tile, to_int>},
    {"loss_every", "int",
     "read the losses back every N iterations and at each scale's last (Adam; L-BFGS reads them always)",
     set<&Options::loss_every, to_int>},
    // Where it is computed (Options::compute).
    {"device", choice_list(kDevices), "'auto': CUDA when available, else the CPU",
     set_compute<&ComputeOptions::device, chosen<kDevices>>},
    {"threads", "int", "CPU threads (0: all cores)", set_compute<&ComputeOptions::threads, to_int>},
    {"conv_algo", choice_list(kConvAlgos), "CUDA convolutions: cuDNN or nst's kernels",
     set_compute<&ComputeOptions::conv_algo, chosen<kConvAlgos>>},
    {"cpu_conv_algo", choice_list(kCpuConvAlgos),
     "CPU convolutions: gemm, winograd (~2x faster, ~1e-6 relative error) or auto (per layer, timed)",
     set_compute<&ComputeOptions::cpu_conv_algo, chosen<kCpuConvAlgos>>},
    {"gram_algo", choice_list(kGramAlgos), "CUDA Gram matrices: cuBLAS or nst's kernels",
     set_compute<&ComputeOptions::gram_algo, chosen<kGramAlgos>>},
    {"allow_tf32", "bool", "let cuDNN/cuBLAS use TF32 tensor cores (~1e-3 relative error)",
     set_compute<&ComputeOptions::allow_tf32, to_bool>},
  };
  return table;
}

const OptionSpec* find_option(const std::string& name) {
  for (const auto& spec : option_table()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string option_names() {
  std::string out;
  for (const auto& spec : option_table()) out += (out.empty() ? "" : ", ") + spec.name;
  return out;
}

}  // namespace

void apply_options(const nb::kwargs& kwargs, Options& options) {
  for (auto [key, value] : kwargs) {
    const std::string name = nb::cast<std::string>(key);
    const OptionSpec* spec = find_option(name);
    if (!spec) {
      throw nb::type_error(("stylize() got an unexpected keyword argument '" + name + "'; the options are " +
                            option_names() + " (and weights, progress, log)")
                               .c_str());
    }
    spec->set(options, value, "option '" + name + "'");
  }
  // The CLI's rule: an init image is only used, and so only accepted, with
  // init='image'.
  if (options.init_image.pixels() > 0 && options.init != Init::Image) {
    throw InvalidArgument("option 'init_image' needs init='image'");
  }
}

std::string options_doc() {
  std::string out;
  for (const auto& spec : option_table()) out += "    " + spec.name + " (" + spec.type + "): " + spec.doc + "\n";
  return out;
}

}  // namespace nst::python
