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
template <class Parse>
auto parse_named(Parse parse, nb::handle value, const std::string& what) {
  const std::string text = to_string(value, what);
  try {
    return parse(text);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(what + ": " + e.what());
  }
}

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> table = {
      // What is computed.
      {"image_size", "int", "longest side of the output in pixels",
       [](Options& o, nb::handle v, const std::string& w) { o.image_size = to_int(v, w); }},
      {"iterations", "int", "iterations at the first scale (a third of it at each finer one)",
       [](Options& o, nb::handle v, const std::string& w) { o.iterations = to_int(v, w); }},
      {"scales", "list of int",
       "longest sides, coarse to fine (image_size is the last); [] = 256 doubling up to image_size",
       [](Options& o, nb::handle v, const std::string& w) { o.scales = to_int_list(v, w); }},
      {"scale_iterations", "list of int", "iterations per scale, one per scale (overrides iterations)",
       [](Options& o, nb::handle v, const std::string& w) { o.scale_iterations = to_int_list(v, w); }},
      {"content_weight", "float", "content loss weight",
       [](Options& o, nb::handle v, const std::string& w) { o.content_weight = to_float(v, w); }},
      {"style_weight", "float", "style loss weight",
       [](Options& o, nb::handle v, const std::string& w) { o.style_weight = to_float(v, w); }},
      {"tv_weight", "float", "total-variation weight",
       [](Options& o, nb::handle v, const std::string& w) { o.tv_weight = to_float(v, w); }},
      {"optimizer", choice_list(kOptimizers), "the optimiser",
       [](Options& o, nb::handle v, const std::string& w) { o.optimizer = choose(kOptimizers, v, w); }},
      {"learning_rate", "float", "step size; 0 = the optimiser's default (L-BFGS 1, Adam 10)",
       [](Options& o, nb::handle v, const std::string& w) { o.learning_rate = to_float(v, w); }},
      {"beta1", "float", "Adam's first-moment decay",
       [](Options& o, nb::handle v, const std::string& w) { o.beta1 = to_float(v, w); }},
      {"beta2", "float", "Adam's second-moment decay",
       [](Options& o, nb::handle v, const std::string& w) { o.beta2 = to_float(v, w); }},
      {"eps", "float", "Adam's epsilon",
       [](Options& o, nb::handle v, const std::string& w) { o.eps = to_float(v, w); }},
      {"lbfgs_history", "int", "L-BFGS correction pairs kept",
       [](Options& o, nb::handle v, const std::string& w) { o.lbfgs_history = to_int(v, w); }},
      {"lbfgs_initial_step", "float", "L-BFGS first step as an RMS pixel change (0: PyTorch's rule)",
       [](Options& o, nb::handle v, const std::string& w) { o.lbfgs_initial_step = to_float(v, w); }},
      {"init", choice_list(kInits), "start image: the content, noise, or init_image",
       [](Options& o, nb::handle v, const std::string& w) { o.init = choose(kInits, v, w); }},
      {"init_image", "uint8 array (H, W, 3)", "start image for init='image' (resized to each scale)",
       [](Options& o, nb::handle v, const std::string& w) { o.init_image = image_from_array(v, w); }},
      {"seed", "int", "seed of the random init, 0 to 2**64-1",
       [](Options& o, nb::handle v, const std::string& w) { o.seed = to_seed(v, w); }},
      {"model", "'vgg16' or 'vgg19'", "the network; must be the weights' model (the default)",
       [](Options& o, nb::handle v, const std::string& w) { o.model = parse_named(parse_model, v, w); }},
      {"pooling", choice_list(kPoolings), "pooling in the network",
       [](Options& o, nb::handle v, const std::string& w) { o.pooling = choose(kPoolings, v, w); }},
      {"content_layers", "list of str", "content layers (block4_conv2 or relu4_2)",
       [](Options& o, nb::handle v, const std::string& w) { o.content_layers = to_string_list(v, w); }},
      {"style_layers", "list of str", "style layers",
       [](Options& o, nb::handle v, const std::string& w) { o.style_layers = to_string_list(v, w); }},
      {"content_layer_weights", "list of float", "one weight per content layer ([] = all 1)",
       [](Options& o, nb::handle v, const std::string& w) { o.content_layer_weights = to_float_list(v, w); }},
      {"style_layer_weights", "list of float", "one weight per style layer ([] = all 1)",
       [](Options& o, nb::handle v, const std::string& w) { o.style_layer_weights = to_float_list(v, w); }},
      {"style_scale", "float", "style images' longest side relative to the output's",
       [](Options& o, nb::handle v, const std::string& w) { o.style_scale = to_float(v, w); }},
      {"color_transfer", "'none', 'histogram' or 'linear'",
       "recolour the styles to the content's palette before taking their Grams",
       [](Options& o, nb::handle v, const std::string& w) {
         o.color_transfer = parse_named(parse_color_transfer, v, w);
       }},
      {"original_colors", "bool", "keep the content's colours (its chrominance, the result's luminance)",
       [](Options& o, nb::handle v, const std::string& w) { o.original_colors = to_bool(v, w); }},
      {"style_blend_weights", "list of float", "one weight per style image ([] = equal)",
       [](Options& o, nb::handle v, const std::string& w) { o.style_blend_weights = to_float_list(v, w); }},
      // Where it is computed (Options::compute).
      {"device", choice_list(kDevices), "'auto': CUDA when available, else the CPU",
       [](Options& o, nb::handle v, const std::string& w) { o.compute.device = choose(kDevices, v, w); }},
      {"threads", "int", "CPU threads (0: all cores)",
       [](Options& o, nb::handle v, const std::string& w) { o.compute.threads = to_int(v, w); }},
      {"conv_algo", choice_list(kConvAlgos), "CUDA convolutions: cuDNN or nst's kernels",
       [](Options& o, nb::handle v, const std::string& w) { o.compute.conv_algo = choose(kConvAlgos, v, w); }},
      {"gram_algo", choice_list(kGramAlgos), "CUDA Gram matrices: cuBLAS or nst's kernels",
       [](Options& o, nb::handle v, const std::string& w) { o.compute.gram_algo = choose(kGramAlgos, v, w); }},
      {"allow_tf32", "bool", "let cuDNN/cuBLAS use TF32 tensor cores (~1e-3 relative error)",
       [](Options& o, nb::handle v, const std::string& w) { o.compute.allow_tf32 = to_bool(v, w); }},
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
