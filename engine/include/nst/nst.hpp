// libnst: optimisation-based neural style transfer (Gatys et al.).
//
//   auto weights = nst::load_keras_weights(path, nst::vgg16_layers());
//   nst::Options opt;                         // classic defaults
//   nst::Image out = nst::stylize(weights, content, {style}, opt, on_progress);
//
// Session is the lower level: one image size, buffers planned once, and
// access to losses, gradients and activations for tests and tools.
// No global state; logging and progress go to caller-provided callbacks.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nst/error.hpp"
#include "nst/image.hpp"
#include "nst/network.hpp"
#include "nst/weights.hpp"

namespace nst {

const char* version();

// Whether Device::Cuda can be used here (this build has the cuda backend
// and a device is present); if not, `why` says why.
bool cuda_available(std::string* why = nullptr);

enum class Device { Auto, Cpu, Cuda };
enum class Init { Content, Random };
enum class Pooling { Max, Avg };
// Algorithms of the cuda backend (the cpu backend has one of each).
enum class ConvAlgo { Cudnn, Custom };  // cuDNN, or nst's implicit-GEMM kernels
enum class GramAlgo { Cublas, Custom };  // cuBLAS SYRK/GEMM, or nst's tiled kernels

struct Options {
  // Longest side of the stylised image; the content image is scaled to it
  // and each style image's longest side is scaled to it too.
  int image_size = 512;
  int iterations = 1000;
  float content_weight = 5.f;
  float style_weight = 100.f;
  float tv_weight = 1e-3f;
  float learning_rate = 10.f;  // Adam, in preprocessed pixel units (0..255)
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  Init init = Init::Random;  // random: N(0, 0.001^2) in preprocessed units
  uint64_t seed = 0;
  Pooling pooling = Pooling::Max;
  std::vector<std::string> content_layers = {"block4_conv2"};
  std::vector<std::string> style_layers = {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1",
                                           "block5_conv1"};
  // One weight per style image (empty: equal); normalised to sum to 1.
  std::vector<float> style_blend_weights;
  Device device = Device::Auto;
  int threads = 0;  // CPU threads; 0 = all cores
  ConvAlgo conv_algo = ConvAlgo::Cudnn;
  GramAlgo gram_algo = GramAlgo::Cublas;
  // Let cuDNN/cuBLAS use TF32 tensor cores (faster, ~1e-3 relative error).
  bool allow_tf32 = false;

  // Throws nst::InvalidArgument naming the first bad option.
  void validate(const std::vector<LayerSpec>& layers) const;
};

struct Losses {
  double total = 0, content = 0, style = 0, tv = 0;
};

struct IterationStats {
  int iteration = 0;   // 1-based
  int iterations = 0;  // total planned
  Losses losses;       // evaluated at this iteration's image, before its update
  double ms = 0;       // wall time of this iteration
  const class Session* session = nullptr;  // e.g. to save a checkpoint image
};

using ProgressFn = std::function<void(const IterationStats&)>;
using LogFn = std::function<void(const std::string&)>;

class Backend;

class Session {
 public:
  // Plans every buffer for a (height, width) image on the chosen device.
  Session(const NetworkWeights& weights, const Options& options, int height, int width, LogFn log = {},
          std::vector<LayerSpec> layers = vgg16_layers());
  // The same on a backend the caller made (tests run the emulated cuda
  // backend this way); options.device is then ignored.
  Session(const NetworkWeights& weights, const Options& options, int height, int width,
          std::unique_ptr<Backend> backend, LogFn log = {}, std::vector<LayerSpec> layers = vgg16_layers());
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::string backend_name() const;
  int height() const;
  int width() const;

  // Targets. The content image must be height x width; style images may be
  // any size (each is run through the network at its own size).
  void set_content(const Image& content);
  void set_styles(const std::vector<Image>& styles);

  // The image being optimised, (H,W,3) preprocessed BGR. Resets Adam.
  void init_image(Init init, uint64_t seed);
  void set_image(const std::vector<float>& x);

  // Forward, losses and backward at the current image; the gradient is
  // then available from gradient().
  Losses evaluate();
  // evaluate() then one Adam step; returns the losses before the step.
  Losses step();

  std::vector<float> image() const;
  std::vector<float> gradient() const;
  // Post-ReLU output of a conv layer (or a pool) from the last forward.
  std::vector<float> activation(const std::string& layer) const;
  std::vector<float> content_target(const std::string& layer) const;
  std::vector<float> style_target(const std::string& layer) const;  // (C,C) blended Gram
  Image output() const;  // current image, deprocessed

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Scales the content image to options.image_size, runs options.iterations
// Adam steps and returns the stylised image. `progress` is called after
// every iteration.
Image stylize(const NetworkWeights& weights, const Image& content, const std::vector<Image>& styles,
              const Options& options, const ProgressFn& progress = {}, const LogFn& log = {});

}  // namespace nst
