// nst-weights: look inside VGG16/VGG19 weights files, convert the ones
// people have, and write random ones.
//   nst-weights inspect FILE            model, layers, shapes, statistics; OK or what is wrong
//   nst-weights import IN OUT [--model vgg16|vgg19]
//                                       torchvision .pth or any Keras .h5 -> Keras 1 notop layout
//   nst-weights make-random --out FILE --seed S [--model vgg16|vgg19] [--width-divisor D]
//                           [--flavor keras1|keras2]
// Exit status: 0 done (inspect: the file is valid), 1 invalid file or other
// error, 2 bad flags.
// inspect uses the public loader and model detection as its validators, so
// it says OK exactly when `nst --weights FILE` would accept the file; import
// and make-random write through the internal weights/ headers.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <optional>
#include <string>

#include "tools/cli_common.hpp"
#include "nst/error.hpp"
#include "nst/network.hpp"
#include "nst/weights.hpp"
#include "weights/import.hpp"
#include "weights/keras_write.hpp"

namespace {

const int kDivisors[] = {1, 2, 4, 8, 16, 32, 64};  // those that keep VGG's widths (64..512) whole

struct Args {
  std::string file, out, flavor = "keras1", model = "vgg16";
  std::string import_model;  // empty: import detects the model
  uint64_t seed = 0;
  int width_divisor = 0;  // 0: inspect infers it from block1_conv1
};

void check_divisor(int d) {
  if (std::find(std::begin(kDivisors), std::end(kDivisors), d) == std::end(kDivisors))
    throw nst::InvalidArgument("--width-divisor: got " + std::to_string(d) + ", expected one of 1 2 4 8 16 32 64");
}

// 14714688 -> "14,714,688"
std::string with_commas(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

uint64_t params(const nst::ConvWeights& c) { return c.kernel.size() + c.bias.size(); }

// "VGG16" for people; nst::model_name's "vgg16" is what flags take.
std::string display_name(nst::ModelKind m) {
  std::string name = nst::model_name(m);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// --- make-random ------------------------------------------------------------

int make_random(const Args& a) {
  const int d = a.width_divisor ? a.width_divisor : 1;
  check_divisor(d);
  const nst::ModelKind model = nst::parse_model(a.model);
  const auto layers = nst::model_layers(model, d);
  const nst::NetworkWeights w = nst::make_random_weights(layers, a.seed);
  const auto flavor = a.flavor == "keras2" ? nst::KerasFlavor::Keras2 : nst::KerasFlavor::Keras1;
  nst::save_keras_weights(a.out, w, layers, flavor);
  uint64_t total = 0;
  for (const auto& c : w.convs) total += params(c);
  fmt::print("wrote {}: {} notop, width divisor {}, {} conv layers, {} parameters, He-normal seed {}, {} layout\n",
             a.out, display_name(model), d, w.convs.size(), with_commas(total), a.seed, a.flavor);
  return 0;
}

// --- import -----------------------------------------------------------------

// Reads IN in any accepted format and writes it as the official file's
// layout; nothing is written unless IN is valid (and then atomically).
int import_file(const Args& a) {
  std::optional<nst::ModelKind> model;
  if (!a.import_model.empty()) model = nst::parse_model(a.import_model);
  const nst::ImportedWeights in = nst::import_weights(a.file, model);
  nst::save_keras_weights(a.out, in.weights, nst::model_layers(in.model, in.width_divisor));
  uint64_t total = 0;
  for (const auto& c : in.weights.convs) total += params(c);
  fmt::print("wrote {}: {} notop, width divisor {}, {} conv layers, {} parameters, from {} {}\n", a.out,
             display_name(in.model), in.width_divisor, in.weights.convs.size(), with_commas(total), in.format,
             a.file);
  if (in.format.rfind("torchvision", 0) == 0)
    fmt::print("block1_conv1 now takes nst's caffe input (BGR, 0..255 minus the mean) in place of torchvision's "
               "normalised RGB: exact inside the image, slightly different at its border (README)\n");
  return 0;
}

// --- inspect ----------------------------------------------------------------

void print_header() {
  fmt::print("{:<14} {:<14} {:>5} {:>12} {:>10} {:>10} {:>10} {:>10}\n", "layer", "kernel(HWIO)", "bias", "params",
             "k.min", "k.max", "k.mean", "b.mean");
}

void print_conv(const nst::ConvWeights& c) {
  const auto [lo, hi] = std::minmax_element(c.kernel.begin(), c.kernel.end());
  const double kmean = std::accumulate(c.kernel.begin(), c.kernel.end(), 0.0) / c.kernel.size();
  const double bmean = std::accumulate(c.bias.begin(), c.bias.end(), 0.0) / c.bias.size();
  fmt::print("{:<14} {:<14} {:>5} {:>12} {:>10.4g} {:>10.4g} {:>10.4g} {:>10.4g}\n", c.name,
             fmt::format("3x3x{}x{}", c.cin, c.cout), c.cout, with_commas(params(c)), *lo, *hi, kmean, bmean);
}

// One row per layer of the table: its weights, "(no weights)" for a pool,
// or "INVALID" when the loader rejects it.
using ConvsByName = std::map<std::string, const nst::ConvWeights*>;

void print_table(const std::vector<nst::LayerSpec>& layers, const ConvsByName& good) {
  print_header();
  for (const auto& l : layers) {
    if (l.kind != nst::LayerKind::Conv3x3)
      fmt::print("{:<14} (no weights)\n", l.name);
    else if (auto it = good.find(l.name); it != good.end())
      print_conv(*it->second);
    else
      fmt::print("{:<14} INVALID\n", l.name);
  }
}

// The model the file's layer names say, or VGG16 with the reason in `why`
// when they say none: its table still shows which layers are fine.
nst::ModelKind detect_model(const std::string& file, std::string& why) {
  try {
    return nst::detect_keras_model(file);
  } catch (const nst::FileError& e) {
    why = e.what();
    return nst::ModelKind::Vgg16;
  }
}

int inspect(const Args& a) {
  std::string not_detected;
  const nst::ModelKind model = detect_model(a.file, not_detected);
  const int d = a.width_divisor ? a.width_divisor : nst::infer_keras_width_divisor(a.file, model);
  check_divisor(d);
  const auto layers = nst::model_layers(model, d);
  fmt::print("file: {}\n", a.file);
  if (not_detected.empty())
    fmt::print("model: {} (detected from layer_names)\n", nst::model_name(model));
  else
    fmt::print("model: not detected, checked as {}\n", nst::model_name(model));
  const std::string network = fmt::format("network: {} notop (Keras layout), width divisor {}{}\n\n",
                                          display_name(model), d, a.width_divisor ? "" : " (inferred)");
  try {
    const nst::NetworkWeights w = nst::load_keras_weights(a.file, layers);
    ConvsByName good;
    uint64_t total = 0;
    for (const auto& c : w.convs) {
      total += params(c);
      good[c.name] = &c;
    }
    fmt::print("{}", network);
    print_table(layers, good);
    fmt::print("\ntotal: {} conv layers, {} parameters\nOK\n", w.convs.size(), with_commas(total));
    return 0;
  } catch (const nst::FileError& e) {
    // Check layer by layer to show what is fine and what is not, unless the
    // file as a whole is unreadable (then every layer fails alike).
    std::vector<nst::ConvWeights> readable;
    readable.reserve(layers.size());  // no reallocation: `good` points into it
    ConvsByName good;
    for (const auto& l : layers) {
      if (l.kind != nst::LayerKind::Conv3x3) continue;
      try {
        readable.push_back(std::move(nst::load_keras_weights(a.file, {l}).convs.front()));
        good[l.name] = &readable.back();
      } catch (const nst::FileError&) {
      }
    }
    if (!good.empty()) {
      fmt::print("{}", network);
      print_table(layers, good);
      fmt::print("\n");
    }
    std::fflush(stdout);  // the table first, then the verdict
    // An unrecognised file fails the VGG16 check too; what it lists says more.
    fmt::print(stderr, "INVALID: {}\n", not_detected.empty() ? e.what() : not_detected);
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nst-weights: inspect VGG16/VGG19 weights files in the Keras HDF5 layout, import torchvision and Keras 3\n"
      "files into it, and write random ones.\n"
      "The official files are vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (weights/fetch_vgg16.sh)\n"
      "and vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5."};
  app.require_subcommand(1);
  Args a;

  CLI::App* ins = app.add_subcommand("inspect",
                                     "Detect the model of FILE (vgg16 or vgg19, from its layer names), list its "
                                     "layers (kernel and bias shapes, parameters, min/max/mean) and validate it as "
                                     "the loader does: prints OK, or says exactly what is wrong and exits 1");
  ins->add_option("file", a.file, "Weights file (.h5)")->required();
  ins->add_option("--width-divisor", a.width_divisor,
                  "Expect channel widths divided by D (default: inferred from block1_conv1)");

  CLI::App* imp = app.add_subcommand(
      "import",
      "Convert IN to the Keras 1 notop layout nst reads (like the official file): a torchvision VGG16/VGG19 "
      "state dict (.pth, zip or legacy format, e.g. vgg16-397923af.pth, vgg19-dcbb9e9d.pth; its input "
      "normalisation is folded into block1_conv1), a Keras 3 .weights.h5 or a Keras 1/2 .h5. Exits 1 and "
      "writes nothing when IN is not valid");
  imp->add_option("in", a.file, "Weights file to convert (.pth, .weights.h5, .h5)")->required();
  imp->add_option("out", a.out, "Output file (.h5); written to a temp file, then renamed")->required();
  imp->add_option("--model", a.import_model, "vgg16 or vgg19: check that IN holds it (default: detected)")
      ->check(CLI::IsMember({"vgg16", "vgg19"}));

  CLI::App* mk = app.add_subcommand("make-random",
                                    "Write seeded He-normal VGG16 or VGG19 weights (std sqrt(2/(9*cin)), biases "
                                    "N(0, 0.01^2)) in the Keras layout, for tests and trials without the official "
                                    "file");
  mk->add_option("--model", a.model, "vgg16 (13 convs) or vgg19 (16 convs)")
      ->check(CLI::IsMember({"vgg16", "vgg19"}))
      ->capture_default_str();
  mk->add_option("--out", a.out, "Output file (.h5); written to a temp file, then renamed")->required();
  mk->add_option("--seed", a.seed, "Random seed, 0 to 2^64-1; the same seed gives the same file on every platform")->required()->check(nst::tools::seed_number());
  mk->add_option("--width-divisor", a.width_divisor, "Divide every channel width by D (1 2 4 8 16 32 64; default 1)");
  mk->add_option("--flavor", a.flavor,
                 "keras1: fixed-length strings, datasets <layer>_W_1:0 (like the official file); "
                 "keras2: variable-length strings, datasets <layer>/kernel:0")
      ->check(CLI::IsMember({"keras1", "keras2"}))
      ->capture_default_str();

  return nst::tools::run_main(app, argc, argv, "nst-weights",
                              [&] { return ins->parsed() ? inspect(a) : imp->parsed() ? import_file(a) : make_random(a); });
}
