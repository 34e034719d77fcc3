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
#include <optional>
#include <string>
#include <vector>

#include "nst/color.hpp"
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
// Start image: the content, N(0, 0.001^2) noise (preprocessed units), or
// Options::init_image.
enum class Init { Content, Random, Image };
enum class OptimizerKind { Lbfgs, Adam };
enum class Pooling { Max, Avg };
// Algorithms of the cuda backend.
enum class ConvAlgo { Cudnn, Custom };  // cuDNN, or nst's implicit-GEMM kernels
enum class GramAlgo { Cublas, Custom };  // cuBLAS SYRK/GEMM, or nst's tiled kernels
// Convolutions of the cpu backend: im2col + SGEMM, Winograd F(4x4,3x3)
// (2.25x fewer multiplications, ~1e-6 relative error instead of ~2e-7), or
// Auto: per layer, whichever of the two ran faster when timed once at
// planning time (README, "Convolution algorithms"). Winograd and Auto keep
// both transformed forms of each kernel (8x its size). A direction that
// sums over fewer than 16 channels (VGG's first layer forward) runs GEMM.
enum class CpuConvAlgo { Auto, Gemm, Winograd };

// Where and how the engine computes, apart from what it computes: a
// result differs between these settings only by summation order and the
// precision of the vendor paths (README, "Reproducibility").
struct ComputeOptions {
  Device device = Device::Auto;
  int threads = 0;  // CPU threads; 0 = all cores
  ConvAlgo conv_algo = ConvAlgo::Cudnn;  // cuda backend
  CpuConvAlgo cpu_conv_algo = CpuConvAlgo::Auto;  // cpu backend
  GramAlgo gram_algo = GramAlgo::Cublas;
  // Let cuDNN/cuBLAS use TF32 tensor cores (faster, ~1e-3 relative error).
  bool allow_tf32 = false;
};

// The values of --conv-algo: auto, gemm and winograd set the cpu backend's
// algorithm (and leave the cuda backend at cudnn), cudnn and custom the cuda
// backend's (and leave the cpu backend at auto). Throws nst::InvalidArgument
// naming the valid values for anything else.
void set_conv_algo(ComputeOptions& compute, const std::string& name);

// What is computed: the objective, the schedule, the optimiser, the
// network; and, in `compute`, where.
struct Options {
  // Longest side of the stylised image; the content image is scaled to it
  // and each style image's longest side to style_scale times it.
  int image_size = 512;
  // Iterations (objective evaluations) at the first scale (see scales).
  // The defaults below were chosen on real weights (bench/RESULTS.md,
  // "Defaults").
  int iterations = 300;
  // Multi-scale: longest sides, coarse to fine, each scale starting from
  // the previous result upsampled; image_size is the last scale (added if
  // missing). Empty: automatic, 256 doubling up to image_size when it is
  // larger than 256 (a coarse scale paints bigger strokes; measured in
  // bench/RESULTS.md), else image_size alone; {image_size} turns it off.
  // Iterations: `iterations` at the first scale and a third of that at each
  // finer one, unless scale_iterations gives one number per scale.
  std::vector<int> scales;
  std::vector<int> scale_iterations;
  struct Scale {
    int size, iterations;
  };
  std::vector<Scale> schedule() const;  // the scales the rules above give
  // Every loss is a mean, so the weights do not depend on the image size:
  //   content = content_weight * sum_l wl * mean((F_l - P_l)^2)
  //   style   = style_weight * sum_l wl * mean((G_l - A_l)^2)
  //   tv      = tv_weight * sum((x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2) / (H*W*3)
  float content_weight = 30.f;
  float style_weight = 100.f;
  float tv_weight = 0.3f;
  OptimizerKind optimizer = OptimizerKind::Lbfgs;
  // Step size; 0 = the optimiser's default (L-BFGS 1, Adam 10 pixel units).
  float learning_rate = 0.f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam
  int lbfgs_history = 100;                           // L-BFGS correction pairs kept
  // L-BFGS's first step, as the RMS change of the image in pixel units;
  // 0 = PyTorch's rule, min(1, 1/|g|_1) * lr (see engine/optimizer.hpp).
  float lbfgs_initial_step = 1.f;
  Init init = Init::Content;
  nst::Image init_image;  // for Init::Image; resized to each scale
  uint64_t seed = 0;
  // The network (its layer table); weights must be of this model.
  ModelKind model = ModelKind::Vgg16;
  Pooling pooling = Pooling::Max;
  // Keras names (block4_conv2) or Caffe/Torch ones (relu4_2, conv4_2).
  std::vector<std::string> content_layers = {"block4_conv2"};
  std::vector<std::string> style_layers = {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1",
                                           "block5_conv1"};
  // One weight per content / style layer (empty: all 1).
  std::vector<float> content_layer_weights, style_layer_weights;
  float style_scale = 1.f;
  // Colour: recolour each style image to the content's palette before its
  // Grams are taken (match_colors(style, content)); and/or keep the
  // content's colours in the output (its chrominance, the result's
  // luminance: transfer_luminance).
  ColorTransfer color_transfer = ColorTransfer::None;
  bool original_colors = false;
  // One weight per style image (empty: equal); normalised to sum to 1.
  // With style masks they weight each style's own term instead, normalised
  // to a mean of 1 (equal weights: each style at style_weight in its region).
  std::vector<float> style_blend_weights;
  // Regional style: one grey mask per style image (or none), over the
  // output: 255 where that style applies, 0 where it does not, greys
  // between (RGB is taken as its luminance). Any size of about the content's
  // aspect ratio (within 5%): each is stretched to every scale's image and
  // area-averaged down to each style layer. Each style then has its own
  // term per layer, comparing the masked Gram of the image,
  //   G = (m F)^T (m F) / (C * sum(m^2)),
  // with that style's plain Gram; where every mask is 0 the image is
  // unstyled. A mask black everywhere is an error.
  std::vector<Image> style_masks;
  // Where the content loss applies, in the same form (empty: everywhere):
  // each content layer's loss becomes mean((m F - m P)^2), so a region at 0
  // is free to take the style alone.
  Image content_mask;
  // stylize() reads the losses back every loss_every iterations and at the
  // last of each scale (IterationStats::losses_read). Reading them waits for
  // the device; Adam does not need them, so on a GPU the iterations between
  // are only queued and the host runs ahead. L-BFGS reads them every
  // iteration whatever this says. A loss that is not finite is caught at
  // the next read.
  int loss_every = 1;
  // Exact tiling (README, "Large images"): at a scale with a side longer
  // than `tile` px the network runs on tiles that own at most tile x tile
  // pixels (rounded up to a multiple of 2^pools, 16 for VGG) plus a halo as
  // wide as the deepest tapped layer's receptive field (64 px for VGG16 to
  // block5_conv1). Losses and gradient are the untiled ones up to float
  // rounding, and the activations' memory grows with the tile, not the
  // image; each evaluation runs every tile forward twice (the style Grams
  // are over the whole image). Masks tile too. 0: never tile.
  int tile = 0;
  // Where and how it is computed (separate from what is computed).
  ComputeOptions compute;

  // Throws nst::InvalidArgument naming the first bad option.
  void validate(const std::vector<LayerSpec>& layers) const;
  float effective_learning_rate() const;
};

struct Losses {
  double total = 0, content = 0, style = 0, tv = 0;
};

struct IterationStats {
  int iteration = 0;   // 1-based, within the scale
  int iterations = 0;  // planned at this scale
  int scale = 0;       // 0-based index into the scales
  int scales = 1;
  int width = 0, height = 0;  // of this scale
  // Evaluated at this iteration's image, before its update; when
  // losses_read is false (Options::loss_every) they were not read back and
  // are NaN.
  Losses losses;
  bool losses_read = true;
  // Wall time of this iteration; of queueing it only, on a device, when the
  // losses were not read.
  double ms = 0;
  const class Session* session = nullptr;  // e.g. to save a checkpoint image
  // Which content image, in stylize_many (0-based, of `images`).
  int image = 0;
  int images = 1;
};

using ProgressFn = std::function<void(const IterationStats&)>;
using LogFn = std::function<void(const std::string&)>;

// One image size on one network: the plan (every buffer allocated once),
// the objective and the optimiser. stylize() makes one per scale.
//
// Threads: a Session is used by one thread at a time; distinct Sessions
// (and stylize() calls) keep no global state, so they may run on different
// threads at once, each giving the bits it gives alone
// (tests/engine/test_concurrency.cpp). The one shared thing is the cpu
// backend's Auto choice of convolution algorithm per layer shape, timed
// once per process (under a lock) and then the same for every Session; a
// new process times again, so for the same bits across processes pin
// cpu_conv_algo to Gemm or Winograd. NetworkWeights are only read, so one
// copy may feed them all. A CPU Session sets options.compute.threads OpenMP
// threads for the thread that makes it (make and use it on one thread), so
// running several at once wants threads set so that they add up to the cores.
class Session {
 public:
  // Puts the network on the backend options.compute.device asks for (weights
  // uploaded and prepared once) and plans a (height, width) image on it.
  // `log` is kept: the cpu backend's Auto timing reports from the first
  // step that runs a layer shape.
  Session(const NetworkWeights& weights, const Options& options, int height, int width, LogFn log = {},
          std::vector<LayerSpec> layers = vgg16_layers());
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

  // The image being optimised, (H,W,3) preprocessed BGR. Resets the
  // optimiser.
  void init_image(Init init, uint64_t seed);
  void set_image(const std::vector<float>& x);
  void set_image(const Image& img);  // preprocessed; must be height x width

  // Forward, losses and backward at the current image; the gradient is
  // then available from gradient(). A loss that is not finite throws
  // nst::Error, saying whether the start image or the steps are at fault.
  Losses evaluate();
  // One optimiser iteration (one evaluation, then the update); returns the
  // losses before the update.
  Losses step();
  // The same iteration, its losses read back only if `read_losses` or the
  // optimiser needs them (L-BFGS does, Adam does not); unread, nothing waits
  // for the device. Returns the losses when they were read.
  std::optional<Losses> step(bool read_losses);
  // After the last step: evaluates the image the last update made, which no
  // step has seen (throws if it diverged; L-BFGS takes back a last step
  // that raised the loss). Returns the losses of the image output() gives.
  Losses finish();
  // L-BFGS found no descent direction any more: further steps change nothing.
  bool converged() const;

  std::vector<float> image() const;
  std::vector<float> gradient() const;
  // Post-ReLU output of a conv layer (or a pool) from the last forward.
  std::vector<float> activation(const std::string& layer) const;
  std::vector<float> content_target(const std::string& layer) const;
  std::vector<float> style_target(const std::string& layer) const;  // (C,C) blended Gram
  // (C,C) Gram of style image `style` (0-based) alone, as set_styles took it.
  std::vector<float> style_target(const std::string& layer, int style) const;
  Image output() const;  // current image, deprocessed

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  // Sessions on the engine's internal types (engine/session_maker.hpp).
  friend class SessionMaker;
  explicit Session(std::unique_ptr<Impl> impl);
};

// Throws nst::InvalidArgument naming `what` (e.g. "--style-mask 'a.png'")
// when `mask` cannot be a mask: empty, or black everywhere; and, given the
// image's width and height, when its aspect ratio differs from the image's
// by more than 5% (plus a pixel of rounding).
void check_mask(const Image& mask, const std::string& what, int width = 0, int height = 0);

// The Schedule: for each scale (options.scales, then image_size), scales
// the content and style images, plans a Session on one Model (weights
// uploaded once), starts from the init (first scale) or the previous
// result upsampled, runs the scale's iterations and returns the final
// image. `progress` is called after every iteration.
Image stylize(const NetworkWeights& weights, const Image& content, const std::vector<Image>& styles,
              const Options& options, const ProgressFn& progress = {}, const LogFn& log = {});

// Several content images against the same style images and options: the
// network is put on the backend once (weights uploaded and prepared once,
// in the constructor) and the style images' Grams are taken once per scale
// size, then reused for every content image (unless
// Options::color_transfer recolours the styles to each content). The
// images run one after another, each on plans of its own size; each result
// is the image stylize() gives for that content alone, bit for bit.
// (One batched plan of N > 1 images is not what this does: L-BFGS over a
// batch would share one history and one step size between the images,
// so a batch member's result would not be its single-image result.)
// Used by one thread at a time, like a Session.
class Stylizer {
 public:
  // Throws nst::InvalidArgument for bad options or no style image.
  Stylizer(const NetworkWeights& weights, std::vector<Image> styles, const Options& options, const LogFn& log = {});
  ~Stylizer();
  Stylizer(const Stylizer&) = delete;
  Stylizer& operator=(const Stylizer&) = delete;

  std::string backend_name() const;
  // stylize(weights, content, styles, options, progress, log) on the shared
  // network and style targets.
  Image run(const Image& content, const ProgressFn& progress = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One call for several content images (a Stylizer, run on each in turn):
// results in the order of `contents`. Every content image, and every mask
// against every content's shape, is checked before the first is computed.
// IterationStats::image says which image an iteration belongs to.
std::vector<Image> stylize_many(const NetworkWeights& weights, const std::vector<Image>& contents,
                                const std::vector<Image>& styles, const Options& options,
                                const ProgressFn& progress = {}, const LogFn& log = {});

}  // namespace nst
