// nst: stylise a content image with one or more style images.
#include <unistd.h>

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nst/memory.hpp"
#include "nst/montage.hpp"
#include "nst/nst.hpp"
#include "tools/cli_common.hpp"
#include "tools/interrupt.hpp"
#include "tools/progress.hpp"

namespace {

const char* kDefaultWeightsName = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";

struct CliOptions {
  std::string output, output_dir, weights, log_json, init_image, progress_image, content_mask;
  // --content as given (a list), then the files; and one output per file.
  std::vector<std::string> contents, outputs;
  // Choices as typed; empty = the library's default.
  std::string device = "auto", init, pooling = "max", conv_algo = "auto", gram_algo = "cublas", optimizer,
              color_transfer = "none", model = "auto";
  std::vector<std::string> styles, content_layers, style_layers, style_masks;
  std::vector<float> blend;
  int print_every = 10, save_every = 0;
  uint64_t max_pixels = nst::ImageLimits::kDefaultMaxPixels;
  bool dry_run = false;
  bool tile_given = false;  // --tile on the command line (else automatic)
  uint64_t max_memory = 0;  // bytes; 0 = what the system has available
  nst::Options opt;
};

std::string default_weights_path() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string dir = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.cache";
  return dir + "/nst/" + kDefaultWeightsName;
}

bool file_exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// --weights, then $NST_WEIGHTS, then the cache path the fetch script uses;
// "" for random weights.
std::string weights_path(const std::string& flag) {
  if (flag == "random" || flag.rfind("random:", 0) == 0) return "";
  if (!flag.empty()) return flag;
  const char* env = std::getenv("NST_WEIGHTS");
  if (env && *env) return env;
  if (file_exists(default_weights_path())) return default_weights_path();
  throw nst::FileError(
      "no VGG weights found: no --weights, $NST_WEIGHTS is unset, and " + default_weights_path() +
      " does not exist.\n  Fetch the official Keras VGG16 file (58 MB) with: weights/fetch_vgg16.sh\n"
      "  or pass --weights FILE: a Keras 1/2 .h5 (" + std::string(kDefaultWeightsName) +
      ", vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5) or a Keras 3 .weights.h5 of "
      "keras.applications.VGG16/VGG19 works as is;\n"
      "  torchvision's vgg16-397923af.pth or vgg19-dcbb9e9d.pth converts once with: nst-weights import FILE OUT.h5\n"
      "  --weights random[:SEED] runs an untrained network for trials");
}

// --model auto: the file's layers say (random weights: VGG16).
nst::ModelKind resolve_model(const std::string& flag, const std::string& path) {
  if (flag != "auto") return nst::parse_model(flag);
  return path.empty() ? nst::ModelKind::Vgg16 : nst::detect_keras_model(path);
}

nst::NetworkWeights resolve_weights(const std::string& flag, const std::string& path,
                                    const std::vector<nst::LayerSpec>& layers, nst::ModelKind model,
                                    std::string& description) {
  if (path.empty()) {
    uint64_t seed = 0;
    if (flag.size() > 6) {
      if (flag[6] != ':') throw nst::InvalidArgument("--weights: expected random or random:SEED, got '" + flag + "'");
      seed = nst::tools::parse_seed(flag.substr(7), "--weights " + flag);
    }
    description = std::string("RANDOM untrained ") + nst::model_name(model) + " (seed " + std::to_string(seed) +
                  "): for trials only, the result will not look like the style";
    return nst::make_random_weights(layers, seed);
  }
  description = path + " (" + nst::model_name(model) + ")";
  return nst::load_keras_weights(path, layers);
}

std::string checkpoint_path(const std::string& output, const nst::IterationStats& st);

// Every output must be writable before hours of compute: the image, the
// longest checkpoint name, the log. The log is created only when its first
// line is written, so an early error leaves no empty log behind.
void check_outputs(const CliOptions& c, const nst::Options& o) {
  for (const std::string& output : c.outputs) {
    nst::check_output_writable(output);
    if (c.save_every > 0) {
      nst::IterationStats longest;
      longest.iteration = 99999;
      longest.scales = static_cast<int>(o.schedule().size());
      nst::check_output_writable(checkpoint_path(output, longest));
    }
  }
  if (!c.log_json.empty()) nst::check_writable(c.log_json, "--log-json");
  if (!c.progress_image.empty()) nst::check_output_writable(c.progress_image);
}

// Same file (or the same name, for files that do not exist yet).
bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

using FlagFiles = std::vector<std::pair<std::string, std::string>>;  // (flag, file)

// --progress-image and --log-json are one file each, beside the outputs.
void refuse_same_file(const std::string& flag, const std::string& file, const FlagFiles& outputs) {
  for (const auto& [out_flag, out] : outputs) {
    if (same_file(file, out)) throw nst::InvalidArgument(flag + " and " + out_flag + " are the same file '" + out + "'");
  }
}

// An output that is also an input would be destroyed by the run.
void refuse_overwriting_inputs(const CliOptions& c, const std::vector<std::string>& styles,
                               const std::string& weights) {
  FlagFiles inputs;
  for (const auto& f : c.contents) inputs.push_back({"--content", f});
  for (const auto& s : styles) inputs.push_back({"--style", s});
  for (const auto& m : c.style_masks) inputs.push_back({"--style-mask", m});
  if (!c.content_mask.empty()) inputs.push_back({"--content-mask", c.content_mask});
  if (!c.init_image.empty()) inputs.push_back({"--init-image", c.init_image});
  if (!weights.empty()) inputs.push_back({"--weights", weights});
  FlagFiles outputs;
  for (const auto& f : c.outputs) outputs.push_back({c.output_dir.empty() ? "--output" : "--output-dir", f});
  const FlagFiles images = outputs;
  if (!c.progress_image.empty()) {
    refuse_same_file("--progress-image", c.progress_image, images);
    outputs.push_back({"--progress-image", c.progress_image});
  }
  if (!c.log_json.empty()) {
    refuse_same_file("--log-json", c.log_json, images);
    outputs.push_back({"--log-json", c.log_json});
  }
  for (const auto& [out_flag, out] : outputs) {
    for (const auto& [in_flag, in] : inputs) {
      if (same_file(out, in)) {
        throw nst::InvalidArgument(out_flag + " '" + out + "' is the " + in_flag + " file: it would be overwritten; "
                                   "choose another " + out_flag);
      }
    }
  }
}

// --output-dir must be there already: the run creates nothing but its
// outputs, so a failed run leaves no empty directory behind.
void check_output_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    throw nst::FileError("--output-dir '" + dir + "': no such directory (create it first: mkdir -p '" + dir + "')");
  }
  if (!fs::is_directory(dir, ec)) throw nst::FileError("--output-dir '" + dir + "': not a directory");
}

// One output per content image: --output for a single one; with
// --output-dir, DIR/<the content's file name without its extension>.png.
// Two contents of one name would write one file: refused before any work.
std::vector<std::string> output_paths(const CliOptions& c) {
  const size_t n = c.contents.size();
  if (!c.output.empty()) {
    if (n > 1) {
      throw nst::InvalidArgument("--output names one file, but " + std::to_string(n) + " --content images were given: "
                                 "use --output-dir DIR (each result is DIR/<content name>.png)");
    }
    return {c.output};
  }
  check_output_dir(c.output_dir);
  std::vector<std::string> outputs;
  for (size_t i = 0; i < n; ++i) {
    const std::filesystem::path name = std::filesystem::path(c.contents[i]).stem().string() + ".png";
    outputs.push_back((std::filesystem::path(c.output_dir) / name).string());
    for (size_t j = 0; j < i; ++j) {
      if (outputs[j] != outputs[i]) continue;
      throw nst::InvalidArgument("--content '" + c.contents[j] + "' and '" + c.contents[i] + "' would both be written "
                                 "to '" + outputs[i] + "' (--output-dir names each result after its content): "
                                 "rename one, or run them apart");
    }
  }
  return outputs;
}

// The JSON log, opened at its first line.
class JsonLog {
 public:
  explicit JsonLog(std::string path) : path_(std::move(path)) {}
  void write(const nlohmann::json& line) {
    if (path_.empty()) return;
    if (!out_) {
      out_ = std::make_unique<std::ofstream>(path_);
      if (!*out_) throw nst::FileError("--log-json: cannot write '" + path_ + "'");
    }
    *out_ << line.dump() << '\n' << std::flush;
    // A full disk (or /dev/full) fails here, not at open.
    if (!*out_) throw nst::FileError("--log-json: cannot write '" + path_ + "' (disk full?)");
  }

 private:
  std::string path_;
  std::unique_ptr<std::ofstream> out_;
};

// OUTPUT_<iter>.ext; with several scales OUTPUT_s<scale>_<iter>.ext, as the
// iterations count again at each scale.
std::string checkpoint_path(const std::string& output, const nst::IterationStats& st) {
  const auto dot = output.find_last_of('.');
  char num[32];
  if (st.scales > 1) {
    std::snprintf(num, sizeof num, "_s%d_%05d", st.scale + 1, st.iteration);
  } else {
    std::snprintf(num, sizeof num, "_%05d", st.iteration);
  }
  return output.substr(0, dot) + num + output.substr(dot);
}

void add_flags(CLI::App& app, CliOptions& c) {
  nst::Options& o = c.opt;
  // A repeated flag overrides the earlier one, as in most tools (scripts
  // append overrides to a base command line); lists accumulate.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--content", c.contents, "Content image(s) (JPEG, PNG, BMP, TGA, ...): repeat the flag, or give a comma separated list (as --style); several share the loaded network and the style targets and run one after another, into --output-dir")->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--style", c.styles, "Style image(s): repeat the flag, or give a comma separated list (a value that names an existing file is that file, commas and all)")->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  CLI::Option* output = app.add_option("--output", c.output, "Output image, .png or .jpg (written atomically); for one --content");
  CLI::Option* output_dir = app.add_option("--output-dir", c.output_dir, "Existing directory for the results of several --content images (or one): DIR/<content name>.png each, e.g. DIR/photo.png for photo.jpg, written atomically as each image finishes");
  output->excludes(output_dir);
  app.callback([&c] {
    if (c.output.empty() && c.output_dir.empty()) throw CLI::RequiredError("--output FILE or --output-dir DIR");
  });
  app.add_option("--weights", c.weights,
                 "VGG16 or VGG19 Keras HDF5 weights file (default: $NST_WEIGHTS, then ~/.cache/nst/" +
                     std::string(kDefaultWeightsName) + "); 'random[:SEED]' for an untrained network");
  app.add_option("--image-size", o.image_size, "Longest side of the output in pixels")->capture_default_str()->check(CLI::Range(1, 16384));
  app.add_option("--iterations", o.iterations, "Iterations (objective evaluations) at the first scale; a third of it at each finer one")->capture_default_str()->check(nst::tools::whole_number_at_least(0));
  app.add_option("--scales", o.scales, "Multi-scale: longest sides coarse to fine, e.g. 256; each starts from the previous result upsampled; --image-size is the last. Default: 256 doubling up to --image-size (when larger); --scales N with N = --image-size for one scale")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->check(nst::tools::whole_number_at_least(1));
  app.add_option("--scale-iterations", o.scale_iterations, "Iterations per scale, one number per scale (--image-size's included)")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->check(nst::tools::whole_number_at_least(0));
  app.add_option("--content-weight", o.content_weight, "Content loss weight (losses are means: weights do not depend on the image size)")->capture_default_str()->check(nst::tools::number_at_least(0));
  app.add_option("--style-weight", o.style_weight, "Style loss weight")->capture_default_str()->check(nst::tools::number_at_least(0));
  app.add_option("--tv-weight", o.tv_weight, "Total-variation weight (on the mean squared neighbour difference)")->capture_default_str()->check(nst::tools::number_at_least(0));
  app.add_option("--content-layers", c.content_layers, "Content layers, comma separated, each optionally LAYER:WEIGHT (block4_conv2 or relu4_2)")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--style-layers", c.style_layers, "Style layers, comma separated, each optionally LAYER:WEIGHT")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--style-blend-weights", c.blend, "One weight per style image, comma separated (default: equal)")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->check(nst::tools::number_at_least(0));
  app.add_option("--style-mask", c.style_masks, "Regional style: one grey mask per --style, in the same order, over the output (white: that style applies there, black: it does not, greys between); of about the content's aspect ratio, stretched to the image. Where every mask is black the output is unstyled")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->check(CLI::ExistingFile);
  app.add_option("--content-mask", c.content_mask, "Grey mask of where the content loss applies (white: keep the photo's structure, black: free to take the style alone)")->check(CLI::ExistingFile);
  app.add_option("--style-scale", o.style_scale, "Style images' longest side, relative to the output's")->capture_default_str()->check(nst::tools::number_above(0));
  app.add_flag("--original-colors", o.original_colors, "Keep the content's colours: the result's luminance on the content's chrominance (YUV)");
  app.add_option("--color-transfer", c.color_transfer, "Recolour the style image(s) to the content's palette before taking their Grams: none, histogram (per channel) or linear (mean and covariance)")->capture_default_str()->check(CLI::IsMember({"none", "histogram", "linear"}));
  app.add_option("--optimizer", c.optimizer, "lbfgs (default) or adam")->check(CLI::IsMember({"lbfgs", "adam"}));
  app.add_option("--lbfgs-history", o.lbfgs_history, "L-BFGS correction pairs kept")->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--lbfgs-initial-step", o.lbfgs_initial_step, "L-BFGS first step: RMS pixel change (0: PyTorch's min(1, 1/|g|_1) rule)")->capture_default_str()->check(nst::tools::number_at_least(0));
  app.add_option("--learning-rate", o.learning_rate, "Step size (default: L-BFGS 1, Adam 10 pixel units)")->check(nst::tools::number_above(0));
  app.add_option("--init", c.init, "Start image: content (default), random (N(0, 0.001^2) noise) or image (--init-image)")->check(CLI::IsMember({"content", "random", "image"}));
  app.add_option("--init-image", c.init_image, "Start image for --init image (resized to each scale)")->check(CLI::ExistingFile);
  app.add_option("--seed", o.seed, "Seed for the random init, 0 to 2^64-1; --weights random:SEED seeds the weights")->capture_default_str()->check(nst::tools::seed_number());
  app.add_option("--max-pixels", c.max_pixels, "Refuse input images with more pixels than this, checked from the file's header before decoding")->capture_default_str()->check(nst::tools::whole_number_in(1, 1LL << 40));
  app.add_option("--model", c.model, "Network: auto (from the weights file's layers), vgg16 or vgg19")->capture_default_str()->check(CLI::IsMember({"auto", "vgg16", "vgg19"}));
  app.add_option("--pooling", c.pooling, "Pooling in the network")->capture_default_str()->check(CLI::IsMember({"max", "avg"}));
  app.add_option("--print-every", c.print_every, "Progress line every N iterations (0: never)")->capture_default_str()->check(nst::tools::whole_number_at_least(0));
  app.add_option("--tile", o.tile, "Exact tiling: at a scale with a side longer than N px, run the network on tiles that own at most NxN pixels (rounded up to a multiple of 16) plus a halo of the deepest layer's receptive field (64 px for VGG16), with the style Grams gathered over the whole image, so the result is the untiled one up to float rounding while the memory grows with N, not the image; each iteration runs the tiles forward twice. 0: never tile. Default: untiled when the memory estimate fits --max-memory or the memory available (the host's, or the cuda device's free memory), else the largest tile that fits (logged)")->check(nst::tools::whole_number_at_least(0))->each([&c](const std::string&) { c.tile_given = true; });
  app.add_option("--loss-every", o.loss_every, "Read the losses back every N iterations and at the last of each scale; with Adam on a GPU the iterations between run without waiting for the device. Progress lines and --log-json show only iterations whose losses were read")->capture_default_str()->check(nst::tools::whole_number_at_least(1));
  app.add_option("--save-every", c.save_every, "Also save OUTPUT_<iter>.ext (OUTPUT_s<scale>_<iter>.ext with several scales) every N iterations (0: never)")->capture_default_str()->check(nst::tools::whole_number_at_least(0));
  app.add_option("--device", c.device, "auto: CUDA when available, else CPU")->capture_default_str()->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--conv-algo", c.conv_algo, "Convolutions. CPU: gemm (im2col + SGEMM), winograd (F(4x4,3x3): about 2x faster, ~1e-6 relative error instead of ~2e-7), auto (per layer, whichever ran faster when both were timed on its first call; the choices are logged). CUDA: cudnn, or custom (nst's implicit-GEMM kernels); auto is cudnn. A value of one device leaves the other at auto")->capture_default_str()->check(CLI::IsMember({"auto", "gemm", "winograd", "cudnn", "custom"}));
  app.add_option("--gram-algo", c.gram_algo, "CUDA Gram matrices and style gradients: cuBLAS, or nst's tiled kernels")->capture_default_str()->check(CLI::IsMember({"cublas", "custom"}));
  app.add_flag("--tf32", o.compute.allow_tf32, "Let cuDNN/cuBLAS use TF32 tensor cores (faster, ~1e-3 relative error)");
  app.add_option("--progress-image", c.progress_image, "Also keep FILE (.png/.jpg) as one picture of content, style(s) and the current result side by side, rewritten atomically every --save-every iterations (every 10 when --save-every is 0) and at the end");
  app.add_option("--log-json", c.log_json, "Write one JSON object per iteration to this file (created at the first iteration)");
  app.add_flag("--dry-run", c.dry_run, "Read and check the inputs, print the memory each part of the run will need (weights, activations and gradients, targets, optimiser state, style passes, workspaces; per scale) and whether it fits --max-memory or the memory available, then exit 0 without computing. Host memory for the cpu backend; device memory for cuda (arena, scratch, cuDNN/cuBLAS workspaces; not the CUDA context)");
  app.add_option("--max-memory", c.max_memory, "Memory the run may use, e.g. 8G or 512M (default: what the system has available); a run that the estimate says needs more is refused before it starts (cpu backend)")->transform(CLI::AsSizeValue(false));
  app.add_option("--threads", o.compute.threads, "CPU threads (0: all cores)")->capture_default_str()->check(nst::tools::whole_number_at_least(0));
}

// "block4_conv2" or "block4_conv2:0.5" -> name and weight.
void split_layer_weights(const std::vector<std::string>& specs, const char* flag, std::vector<std::string>& names,
                         std::vector<float>& weights) {
  names.clear();
  weights.clear();
  bool any_weight = false;
  for (const auto& spec : specs) {
    const auto colon = spec.find(':');
    names.push_back(spec.substr(0, colon));
    float w = 1.f;
    if (colon != std::string::npos) {
      any_weight = true;
      size_t used = 0;
      try {
        w = std::stof(spec.substr(colon + 1), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != spec.size() - colon - 1 || !std::isfinite(w) || w < 0) {
        throw nst::InvalidArgument(std::string(flag) + ": bad weight in '" + spec + "' (expected LAYER:WEIGHT, WEIGHT >= 0)");
      }
    }
    weights.push_back(w);
  }
  if (!any_weight) weights.clear();
}

nst::Options finish_options(CliOptions& c) {
  nst::Options o = c.opt;
  if (!c.init.empty()) o.init = c.init == "content" ? nst::Init::Content : c.init == "image" ? nst::Init::Image : nst::Init::Random;
  if (!c.init_image.empty()) {
    if (c.init.empty()) o.init = nst::Init::Image;
    if (o.init != nst::Init::Image) throw nst::InvalidArgument("--init-image needs --init image (or no --init)");
    o.init_image = nst::load_image(c.init_image, nst::ImageLimits{c.max_pixels});
  }
  o.color_transfer = nst::parse_color_transfer(c.color_transfer);
  if (!c.optimizer.empty()) o.optimizer = c.optimizer == "adam" ? nst::OptimizerKind::Adam : nst::OptimizerKind::Lbfgs;
  if (!c.content_layers.empty()) split_layer_weights(c.content_layers, "--content-layers", o.content_layers, o.content_layer_weights);
  if (!c.style_layers.empty()) split_layer_weights(c.style_layers, "--style-layers", o.style_layers, o.style_layer_weights);
  o.pooling = c.pooling == "avg" ? nst::Pooling::Avg : nst::Pooling::Max;
  o.compute.device = c.device == "cpu" ? nst::Device::Cpu : c.device == "cuda" ? nst::Device::Cuda : nst::Device::Auto;
  nst::set_conv_algo(o.compute, c.conv_algo);
  o.compute.gram_algo = c.gram_algo == "custom" ? nst::GramAlgo::Custom : nst::GramAlgo::Cublas;
  o.style_blend_weights = c.blend;
  if (!c.blend.empty() && c.blend.size() != c.styles.size()) {
    throw nst::InvalidArgument("--style-blend-weights: got " + std::to_string(c.blend.size()) + " weights for " +
                               std::to_string(c.styles.size()) + " style images");
  }
  if (!c.style_masks.empty() && c.style_masks.size() != c.styles.size()) {
    throw nst::InvalidArgument("--style-mask: got " + std::to_string(c.style_masks.size()) + " masks for " +
                               std::to_string(c.styles.size()) + " style images; give one per --style, in the same "
                               "order, or none");
  }
  return o;
}

// The image the run has reached, as the output would be: at the final size
// (a coarser scale's image upsampled) and with --original-colors applied.
nst::Image current_result(const nst::IterationStats& st, const nst::Image& content, const nst::Options& o) {
  const nst::Image final_size = nst::resize_longest_side(content, o.image_size);
  const nst::Image now = nst::resize(st.session->output(), final_size.width, final_size.height);
  return o.original_colors ? nst::transfer_luminance(now, content) : now;
}

// Content, style(s) and the result, side by side at the result's height.
nst::Image progress_picture(const nst::Image& content, const std::vector<nst::Image>& styles,
                            const nst::Image& result) {
  std::vector<nst::Image> row = {content};
  row.insert(row.end(), styles.begin(), styles.end());
  row.push_back(result);
  return nst::montage(row, result.height);
}

std::string megabytes(uint64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1 << 20)); }

// --dry-run: the estimate, part by part, on stdout; 0 whether it fits or not.
int print_memory_estimate(const nst::Image& content, const std::vector<nst::Image>& styles, const nst::Options& opt,
                          uint64_t max_memory) {
  const nst::MemoryEstimate e = nst::estimate_memory(content, styles, opt);
  std::printf("memory estimate (%s backend, %s):\n", e.backend.c_str(), nst::model_name(opt.model));
  for (const auto& p : e.model) std::printf("  %-44s %12s\n", p.name.c_str(), megabytes(p.bytes).c_str());
  for (size_t k = 0; k < e.scales.size(); ++k) {
    const auto& s = e.scales[k];
    std::printf("  scale %zu/%zu, %dx%d:\n", k + 1, e.scales.size(), s.width, s.height);
    for (const auto& p : s.parts) std::printf("    %-42s %12s\n", p.name.c_str(), megabytes(p.bytes).c_str());
    std::printf("    %-42s %12s\n", "peak with the weights", megabytes(s.peak).c_str());
  }
  if (!e.bounds.empty()) std::printf("  (an upper bound: %s)\n", e.bounds.c_str());
  const uint64_t limit = max_memory > 0 ? max_memory : nst::available_memory(opt.compute);
  const char* against = max_memory > 0 ? "--max-memory" : e.backend == "cuda" ? "free on the device now" : "available now";
  std::printf("peak %s (%llu bytes); %s %s: %s\n", megabytes(e.peak).c_str(), static_cast<unsigned long long>(e.peak),
              against, limit > 0 ? megabytes(limit).c_str() : "unknown",
              limit == 0 ? "cannot tell whether it fits" : e.peak <= limit ? "fits" : "does NOT fit");
  return 0;
}

void refuse_if_too_big(const nst::Image& content, const std::vector<nst::Image>& styles, const nst::Options& opt,
                       uint64_t max_memory, const nst::NetworkWeights* weights) {
  const nst::MemoryEstimate e = nst::estimate_memory(content, styles, opt, true, weights);
  if (e.peak <= max_memory) return;
  throw nst::InvalidArgument("the run needs about " + megabytes(e.peak) + " (nst --dry-run shows the parts), more "
                             "than --max-memory " + megabytes(max_memory) + "; lower --image-size, use Adam "
                             "(L-BFGS keeps 2 x --lbfgs-history image-sized vectors) or raise --max-memory");
}

// --style-mask and --content-mask into the options, each read and checked
// against every content's shape, errors naming the files.
void load_masks(const CliOptions& c, const std::vector<nst::Image>& contents, const nst::ImageLimits& limits,
                nst::Options& opt) {
  auto load = [&](const char* flag, const std::string& path) {
    nst::Image mask = nst::load_image(path, limits);
    for (size_t i = 0; i < contents.size(); ++i) {
      const std::string on = contents.size() > 1 ? " on --content '" + c.contents[i] + "'" : "";
      nst::check_mask(mask, std::string(flag) + " '" + path + "'" + on, contents[i].width, contents[i].height);
    }
    return mask;
  };
  for (const auto& m : c.style_masks) opt.style_masks.push_back(load("--style-mask", m));
  if (!c.content_mask.empty()) opt.content_mask = load("--content-mask", c.content_mask);
}

// "[2/3] " before what concerns the second of three content images; ""
// for a single one, whose lines stay as they were.
std::string image_tag(size_t i, size_t n) {
  return n > 1 ? "[" + std::to_string(i + 1) + "/" + std::to_string(n) + "] " : "";
}

// Without --tile, a run whose estimate does not fit (--max-memory, else
// the memory available: the host's, or the cuda device's free memory) is tiled at the largest tile that fits every
// content image; a run that fits stays untiled.
// `weights`: the loaded ones, whose shapes the estimates take (null for a
// dry run, which loads none).
void choose_tiling(const CliOptions& c, const std::vector<nst::Image>& contents,
                   const std::vector<nst::Image>& styles, nst::Options& opt, const nst::LogFn& log,
                   const nst::NetworkWeights* weights) {
  if (c.tile_given) return;
  const uint64_t limit = c.max_memory > 0 ? c.max_memory : nst::available_memory(opt.compute);
  if (limit == 0) return;
  const char* against = c.max_memory > 0                 ? "--max-memory"
                        : nst::runs_on_cuda(opt.compute) ? "the device's free memory"
                                                         : "the memory available";
  for (size_t i = 0; i < contents.size(); ++i) {
    const nst::TileChoice t = nst::choose_tile(contents[i], styles, opt, limit, weights);
    if (t.tile == 0 || (opt.tile != 0 && opt.tile <= t.tile)) continue;
    opt.tile = t.tile;
    log(image_tag(i, contents.size()) + "tiling at " + std::to_string(t.tile) + " px: the untiled run needs about " +
        megabytes(t.untiled_peak) + ", more than " + against + ", " + megabytes(limit) + "; tiled about " +
        megabytes(t.peak) + (t.fits ? "" : ", which does not fit either") + "; --tile 0 turns this off");
  }
}

// --dry-run and --max-memory, for each content image (each has its plans).
void check_memory(const CliOptions& c, const std::vector<nst::Image>& contents, const std::vector<nst::Image>& styles,
                  const nst::Options& opt, const nst::NetworkWeights* weights) {
  for (size_t i = 0; i < contents.size(); ++i) {
    if (c.dry_run) {
      if (contents.size() > 1) std::printf("%s%s\n", image_tag(i, contents.size()).c_str(), c.contents[i].c_str());
      print_memory_estimate(contents[i], styles, opt, c.max_memory);
    } else if (c.max_memory > 0) {
      refuse_if_too_big(contents[i], styles, opt, c.max_memory, weights);
    }
  }
}

// What every iteration does beside the optimisation: progress line, JSON
// log, checkpoints, progress picture, and the interrupt, for the content
// image `at` (set before each runs).
struct IterationHook {
  const CliOptions& c;
  const nst::Options& opt;
  const std::vector<nst::Image>& contents;
  const std::vector<nst::Image>& styles;
  nst::tools::ProgressPrinter& printer;
  const nst::LogFn& log;
  JsonLog json;
  size_t at = 0;

  void operator()(const nst::IterationStats& st) {
    const nst::Image& content = contents[at];
    const std::string& output = c.outputs[at];
    printer.update(st);
    if (st.losses_read) {
      nlohmann::json line = {{"iter", st.iteration}, {"loss", st.losses.total}, {"content", st.losses.content},
                             {"style", st.losses.style},  {"tv", st.losses.tv},     {"ms", st.ms},
                             {"scale", st.scale}};
      if (contents.size() > 1) line["image"] = at + 1;
      json.write(line);
    }
    if (const int sig = nst::tools::pending_interrupt()) {
      nst::save_image(output, current_result(st, content, opt));
      log(image_tag(at, contents.size()) + "interrupted by " + nst::tools::signal_name(sig) + " at iteration " +
          std::to_string(st.iteration) + "/" + std::to_string(st.iterations) +
          (st.scales > 1 ? " of scale " + std::to_string(st.scale + 1) + "/" + std::to_string(st.scales) : "") +
          ": wrote the current image to " + output);
      throw nst::tools::Interrupted{sig};
    }
    if (c.save_every > 0 && st.iteration % c.save_every == 0 && st.iteration < st.iterations) {
      nst::save_image(checkpoint_path(output, st), st.session->output());
    }
    const int progress_every = c.save_every > 0 ? c.save_every : 10;
    if (!c.progress_image.empty() && st.iteration % progress_every == 0 && st.iteration < st.iterations) {
      nst::save_image(c.progress_image, progress_picture(content, styles, st.session->output()));
    }
  }
};

int run(CliOptions& c, nst::tools::ProgressPrinter& printer) {
  nst::tools::install_interrupt_handlers("nst");
  c.contents = nst::tools::style_files(c.contents, "--content");
  c.styles = nst::tools::style_files(c.styles, "--style");
  c.outputs = output_paths(c);
  nst::Options opt = finish_options(c);
  const std::string path = weights_path(c.weights);
  opt.model = resolve_model(c.model, path);
  const auto layers = nst::model_layers(opt.model);
  opt.validate(layers);
  refuse_overwriting_inputs(c, c.styles, path);
  check_outputs(c, opt);
  const nst::LogFn log = [&printer](const std::string& line) {
    printer.finish();
    std::fprintf(stderr, "nst: %s\n", line.c_str());
  };

  // Every input is read and checked before anything is written: a bad
  // second content image fails before the first is computed.
  const nst::ImageLimits limits{c.max_pixels};
  std::vector<nst::Image> contents, styles;
  for (const auto& f : c.contents) contents.push_back(nst::load_image(f, limits));
  for (const auto& s : c.styles) styles.push_back(nst::load_image(s, limits));
  load_masks(c, contents, limits, opt);
  if (c.dry_run) {
    choose_tiling(c, contents, styles, opt, log, nullptr);
    check_memory(c, contents, styles, opt, nullptr);
    return 0;
  }
  std::string weights_desc;
  const nst::NetworkWeights weights = resolve_weights(c.weights, path, layers, opt.model, weights_desc);
  log("weights: " + weights_desc);
  // The estimates plan with the loaded weights' shapes: no second copy.
  choose_tiling(c, contents, styles, opt, log, &weights);
  check_memory(c, contents, styles, opt, &weights);

  // One network on the backend and one set of style targets per scale for
  // every content image; the images run one after another.
  IterationHook hook{c, opt, contents, styles, printer, log, JsonLog(c.log_json)};
  try {
    nst::Stylizer stylizer(weights, styles, opt, log);
    for (size_t i = 0; i < contents.size(); ++i) {
      hook.at = i;
      const std::string tag = image_tag(i, contents.size());
      if (!tag.empty()) log(tag + c.contents[i]);
      printer.set_prefix(tag);
      const nst::Image out = stylizer.run(contents[i], std::ref(hook));
      nst::save_image(c.outputs[i], out);
      if (!c.progress_image.empty()) nst::save_image(c.progress_image, progress_picture(contents[i], styles, out));
      log(tag + "wrote " + c.outputs[i]);
      // A signal after an image's last iteration: that result is whole, the
      // rest are not started, and the status says the run was interrupted.
      if (const int sig = nst::tools::pending_interrupt()) return 128 + sig;
    }
  } catch (const nst::tools::Interrupted& i) {
    return 128 + i.signal;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nst " + std::string(nst::version()) +
               ": neural style transfer (Gatys et al.) on VGG16 or VGG19.\n"
               "Optimises the output's pixels (L-BFGS or Adam) so that its deep features match the content image\n"
               "and its feature correlations (Gram matrices) match the style image(s).\n"
               "Example: nst --content photo.jpg --style painting.jpg --output out.png --image-size 256\n"
               "Several photos, one painting: nst --content a.jpg,b.jpg --style painting.jpg --output-dir out/\n"
               "  (writes out/a.png and out/b.png)"};
  app.set_version_flag("--version", std::string("nst ") + nst::version());
  app.get_formatter()->column_width(36);
  CliOptions c;
  add_flags(app, c);
  return nst::tools::run_main(app, argc, argv, "nst", [&c] {
    nst::tools::ProgressPrinter printer(c.print_every, ::isatty(STDERR_FILENO) != 0);
    try {
      return run(c, printer);
    } catch (...) {
      printer.finish();  // the message starts on a line of its own
      throw;
    }
  });
}
