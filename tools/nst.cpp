// nst: stylise a content image with one or more style images.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nst/nst.hpp"
#include "tools/progress.hpp"

namespace {

const char* kDefaultWeightsName = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";

struct CliOptions {
  std::string content, output, weights, log_json, device = "auto", init = "random", pooling = "max",
              conv_algo = "cudnn", gram_algo = "cublas";
  std::vector<std::string> styles;
  std::vector<float> blend;
  int print_every = 10, save_every = 0;
  nst::Options opt;
};

std::string default_weights_path() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string dir = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.cache";
  return dir + "/nst/" + kDefaultWeightsName;
}

bool file_exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// --weights, then $NST_WEIGHTS, then the cache path the fetch script uses.
nst::NetworkWeights resolve_weights(const std::string& flag, const std::vector<nst::LayerSpec>& layers,
                                    std::string& description) {
  if (flag.rfind("random", 0) == 0) {
    uint64_t seed = 0;
    if (flag.size() > 6) {
      if (flag[6] != ':') throw nst::InvalidArgument("--weights: expected random or random:SEED, got '" + flag + "'");
      try {
        seed = std::stoull(flag.substr(7));
      } catch (const std::exception&) {
        throw nst::InvalidArgument("--weights: bad seed in '" + flag + "'");
      }
    }
    description = "RANDOM untrained VGG16 (seed " + std::to_string(seed) +
                  "): for trials only, the result will not look like the style";
    return nst::make_random_weights(layers, seed);
  }
  std::string path = flag;
  if (path.empty()) {
    const char* env = std::getenv("NST_WEIGHTS");
    if (env && *env) {
      path = env;
    } else if (file_exists(default_weights_path())) {
      path = default_weights_path();
    } else {
      throw nst::FileError(
          "no VGG16 weights found: no --weights, $NST_WEIGHTS is unset, and " + default_weights_path() +
          " does not exist.\n  Fetch the official Keras file (58 MB) with: weights/fetch_vgg16.sh\n"
          "  or pass --weights FILE; --weights random[:SEED] runs an untrained network for trials");
    }
  }
  description = path;
  return nst::load_keras_weights(path, layers);
}

// The directory must exist and be writable before hours of compute.
void check_output_path(const std::string& path) {
  if (!nst::is_supported_output(path)) {
    throw nst::InvalidArgument("--output '" + path + "': unsupported extension (use .png, .jpg or .jpeg)");
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (::access(dir.c_str(), W_OK) != 0) {
    throw nst::FileError("--output '" + path + "': directory '" + dir + "' does not exist or is not writable");
  }
}

std::string checkpoint_path(const std::string& output, int iteration) {
  const auto dot = output.find_last_of('.');
  char num[16];
  std::snprintf(num, sizeof num, "_%05d", iteration);
  return output.substr(0, dot) + num + output.substr(dot);
}

void add_flags(CLI::App& app, CliOptions& c) {
  nst::Options& o = c.opt;
  // A repeated flag overrides the earlier one, as in most tools (scripts
  // append overrides to a base command line); lists accumulate.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--content", c.content, "Content image (JPEG, PNG, BMP, TGA, ...)")->required()->check(CLI::ExistingFile);
  app.add_option("--style", c.styles, "Style image(s), comma separated")->required()->delimiter(',')->check(CLI::ExistingFile)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--output", c.output, "Output image, .png or .jpg (written atomically)")->required();
  app.add_option("--weights", c.weights,
                 "VGG16 Keras HDF5 weights file (default: $NST_WEIGHTS, then ~/.cache/nst/" +
                     std::string(kDefaultWeightsName) + "); 'random[:SEED]' for an untrained network");
  app.add_option("--image-size", o.image_size, "Longest side of the output in pixels")->capture_default_str()->check(CLI::Range(1, 16384));
  app.add_option("--iterations", o.iterations, "Adam iterations")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--content-weight", o.content_weight, "Content loss weight")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--style-weight", o.style_weight, "Style loss weight")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--tv-weight", o.tv_weight, "Total-variation loss weight")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--style-blend-weights", c.blend, "One weight per style image, comma separated (default: equal)")->delimiter(',')->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--learning-rate", o.learning_rate, "Adam learning rate (pixel units)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--init", c.init, "Start from the content image or from noise")->capture_default_str()->check(CLI::IsMember({"content", "random"}));
  app.add_option("--seed", o.seed, "Seed for the random init (and random weights)")->capture_default_str();
  app.add_option("--pooling", c.pooling, "Pooling in the network")->capture_default_str()->check(CLI::IsMember({"max", "avg"}));
  app.add_option("--print-every", c.print_every, "Progress line every N iterations (0: never)")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--save-every", c.save_every, "Also save OUTPUT_<iter>.ext every N iterations (0: never)")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--device", c.device, "auto: CUDA when available, else CPU")->capture_default_str()->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--conv-algo", c.conv_algo, "CUDA convolutions: cuDNN, or nst's implicit-GEMM kernels")->capture_default_str()->check(CLI::IsMember({"cudnn", "custom"}));
  app.add_option("--gram-algo", c.gram_algo, "CUDA Gram matrices and style gradients: cuBLAS, or nst's tiled kernels")->capture_default_str()->check(CLI::IsMember({"cublas", "custom"}));
  app.add_flag("--tf32", o.allow_tf32, "Let cuDNN/cuBLAS use TF32 tensor cores (faster, ~1e-3 relative error)");
  app.add_option("--log-json", c.log_json, "Write one JSON object per iteration to this file");
  app.add_option("--threads", o.threads, "CPU threads (0: all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
}

nst::Options finish_options(CliOptions& c) {
  nst::Options o = c.opt;
  o.init = c.init == "content" ? nst::Init::Content : nst::Init::Random;
  o.pooling = c.pooling == "avg" ? nst::Pooling::Avg : nst::Pooling::Max;
  o.device = c.device == "cpu" ? nst::Device::Cpu : c.device == "cuda" ? nst::Device::Cuda : nst::Device::Auto;
  o.conv_algo = c.conv_algo == "custom" ? nst::ConvAlgo::Custom : nst::ConvAlgo::Cudnn;
  o.gram_algo = c.gram_algo == "custom" ? nst::GramAlgo::Custom : nst::GramAlgo::Cublas;
  o.style_blend_weights = c.blend;
  if (!c.blend.empty() && c.blend.size() != c.styles.size()) {
    throw nst::InvalidArgument("--style-blend-weights: got " + std::to_string(c.blend.size()) + " weights for " +
                               std::to_string(c.styles.size()) + " style images");
  }
  return o;
}

int run(CliOptions& c) {
  const nst::Options opt = finish_options(c);
  const auto layers = nst::vgg16_layers();
  opt.validate(layers);
  check_output_path(c.output);
  auto log = [](const std::string& line) { std::fprintf(stderr, "nst: %s\n", line.c_str()); };

  // Every input is read and checked before anything is written.
  const nst::Image content = nst::load_image(c.content);
  std::vector<nst::Image> styles;
  for (const auto& s : c.styles) styles.push_back(nst::load_image(s));
  std::string weights_desc;
  const nst::NetworkWeights weights = resolve_weights(c.weights, layers, weights_desc);
  log("weights: " + weights_desc);

  std::unique_ptr<std::ofstream> json;
  if (!c.log_json.empty()) {
    json = std::make_unique<std::ofstream>(c.log_json);
    if (!*json) throw nst::FileError("--log-json: cannot write '" + c.log_json + "'");
  }
  nst::tools::ProgressPrinter printer(c.print_every, ::isatty(STDERR_FILENO) != 0);
  auto on_progress = [&](const nst::IterationStats& st) {
    printer.update(st);
    if (json) {
      nlohmann::json line = {{"iter", st.iteration}, {"loss", st.losses.total}, {"content", st.losses.content},
                             {"style", st.losses.style},  {"tv", st.losses.tv},     {"ms", st.ms}};
      *json << line.dump() << '\n' << std::flush;
    }
    if (c.save_every > 0 && st.iteration % c.save_every == 0 && st.iteration < st.iterations) {
      nst::save_image(checkpoint_path(c.output, st.iteration), st.session->output());
    }
  };

  const nst::Image out = nst::stylize(weights, content, styles, opt, on_progress, log);
  printer.finish();
  nst::save_image(c.output, out);
  log("wrote " + c.output);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nst " + std::string(nst::version()) +
               ": neural style transfer (Gatys et al.) on VGG16.\n"
               "Optimises the output's pixels with Adam so that its deep features match the content image\n"
               "and its feature correlations (Gram matrices) match the style image(s).\n"
               "Example: nst --content photo.jpg --style painting.jpg --output out.png --image-size 256"};
  app.set_version_flag("--version", std::string("nst ") + nst::version());
  app.get_formatter()->column_width(36);
  CliOptions c;
  add_flags(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    return run(c);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nnst: error: %s\n", e.what());
    return 1;
  }
}
