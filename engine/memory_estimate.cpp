// The memory estimate: the run planned on a backend that allocates nothing.
// The engine's own Model, the Session the run would make (SessionMaker) and
// the Schedule's plan_finest_first do the planning, so the estimate cannot
// drift from what a run allocates; only the cpu
// backend's private rules (one block per allocate(), workspaces that grow
// to the largest reserve) are mirrored here, from the same kernels/cpu
// sizing functions the cpu backend calls.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/cpu_conv.hpp"
#include "engine/model.hpp"
#include "engine/objective.hpp"
#include "engine/schedule.hpp"
#include "engine/session_maker.hpp"
#include "kernels/cpu/ops.hpp"
#include "nst/error.hpp"
#include "nst/memory.hpp"

namespace nst {
namespace {

// Counts floats as the cpu backend would hold them. Pointers it hands out
// lie in an address range no process maps (each op here is a no-op, so
// none is ever dereferenced; one that were would fault at once rather than
// scribble on memory).
class SizingBackend final : public Backend {
 public:
  // Winograd's workspace is sized for `threads` (the run's thread count).
  SizingBackend(CpuConvAlgo algo, int threads) : algo_(algo), threads_(threads) {}

  std::string name() const override { return "cpu"; }

  float* allocate(size_t floats) override {
    float* p = reinterpret_cast<float*>(kBase + next_ * sizeof(float));
    next_ += floats + 16;
    blocks_.push_back(floats);
    held_ += floats;
    note_peak();
    return p;
  }
  size_t mark() const override { return blocks_.size(); }
  void release(size_t mark) override {
    while (blocks_.size() > mark) {
      held_ -= blocks_.back();
      blocks_.pop_back();
    }
  }
  void reserve_conv2d(const Shape& x, int cout) override {
    grow(conv_ws_, cpu::conv2d_workspace_floats(x.n, x.h, x.w, x.c, cout));
    if (needs_winograd_workspace(algo_, x, cout)) grow(winograd_ws_, cpu::winograd_workspace_floats(x.c, cout, threads_));
  }
  void reserve_style_loss(const Shape& f) override {
    grow(style_ws_, cpu::style_loss_workspace_floats(f.n, f.h * f.w, f.c));
  }
  void upload(float*, const float*, size_t) override {}
  // The host reads what it downloads (the style Grams): zeros, defined.
  void download(float* dst, const float*, size_t n) override { std::fill(dst, dst + n, 0.f); }
  void fill(float*, float, size_t) override {}
  void conv2d_fprop(float*, const float*, const Shape&, const float*, const float*, int, bool) override {}
  const float* prepare_conv2d_dgrad(const float*, int cin, int cout) override {
    // As the cpu backend does: the GEMM path's kernel, then Winograd's two.
    const float* wt = allocate(static_cast<size_t>(9) * cin * cout);
    for (ConvDirection d : {ConvDirection::Fprop, ConvDirection::Dgrad}) {
      if (keeps_winograd_kernel(algo_, d, cin, cout)) allocate(cpu::winograd_kernel_floats(cin, cout));
    }
    return wt;
  }
  void conv2d_dgrad(float*, float*, const float*, const Shape&, const float*, const float*, int) override {}
  void pool2x2_forward(float*, const float*, const Shape&, bool) override {}
  void pool2x2_backward(float*, const float*, const float*, const Shape&, bool) override {}
  void gram(float*, const float*, const Shape&) override {}
  void content_loss(float*, float*, const float*, const float*, size_t, float) override {}
  void style_loss(float*, float*, const float*, const float*, const float*, const Shape&, float) override {}
  void tv_loss(float*, float*, const float*, const Shape&, float) override {}
  void pixel_scale(float*, const float*, const float*, const Shape&, bool) override {}  // no scratch of its own
  void copy_window(float*, const float*, const Shape&, const Window&) override {}
  void add_window(float*, const Shape&, const Window&, const float*) override {}
  void adam_step(float*, float*, float*, const float*, size_t, const AdamSettings&, int) override {}
  void preprocess(float*, const uint8_t*, size_t) override {}
  void deprocess(uint8_t*, const float*, size_t) override {}
  void dot(float*, const float*, const float*, size_t) override {}
  void asum(float*, const float*, size_t) override {}
  void axpy(float*, float, const float*, const float*, size_t) override {}
  void scale(float*, float, size_t) override {}
  void copy(float*, const float*, size_t) override {}

  uint64_t held_bytes() const { return held_ * sizeof(float); }
  uint64_t workspace_bytes() const { return workspaces() * sizeof(float); }
  uint64_t peak_bytes() const { return peak_ * sizeof(float); }
  void restart_peak() { peak_ = held_ + workspaces(); }

 private:
  static constexpr uintptr_t kBase = uintptr_t{1} << 46;  // above x86-64 user space's usual maps

  void grow(size_t& ws, size_t floats) {
    ws = std::max(ws, floats);
    note_peak();
  }
  size_t workspaces() const { return conv_ws_ + style_ws_ + winograd_ws_; }
  void note_peak() { peak_ = std::max(peak_, held_ + workspaces()); }

  CpuConvAlgo algo_;
  int threads_;
  std::vector<size_t> blocks_;
  size_t next_ = 0, held_ = 0, conv_ws_ = 0, style_ws_ = 0, winograd_ws_ = 0, peak_ = 0;
};

// Weights of the right shapes; their values do not change what is planned.
NetworkWeights zero_weights(const std::vector<LayerSpec>& layers) {
  NetworkWeights w;
  for (const LayerSpec& l : layers) {
    if (l.kind != LayerKind::Conv3x3) continue;
    ConvWeights c;
    c.name = l.name;
    c.cin = l.cin;
    c.cout = l.cout;
    c.kernel.assign(static_cast<size_t>(9) * l.cin * l.cout, 0.f);
    c.bias.assign(static_cast<size_t>(l.cout), 0.f);
    w.convs.push_back(std::move(c));
  }
  w.description = "zeros (memory estimate)";
  return w;
}

uint64_t weight_bytes(const NetworkWeights& w) {
  uint64_t floats = 0;
  for (const ConvWeights& c : w.convs) floats += c.kernel.size() + c.bias.size();
  return floats * sizeof(float);
}

// One scale, planned by the Session the run would make (SessionMaker tells
// after each part it allocates), then its targets: each style image's pass
// allocates scratch and frees it.
MemoryEstimate::Scale estimate_scale(const std::shared_ptr<Model>& model, SizingBackend& counter,
                                     const Image& content, const std::vector<Image>& styles, int size,
                                     const Options& options) {
  const Image scaled = resize_longest_side(content, size);
  MemoryEstimate::Scale s;
  s.width = scaled.width;
  s.height = scaled.height;
  counter.restart_peak();
  const uint64_t before = counter.held_bytes();
  uint64_t held_after[3] = {before, before, before};  // indexed by PlanPart
  const std::unique_ptr<Session> session =
      SessionMaker::on_model(model, options, scaled.height, scaled.width,
                             [&](PlanPart done) { held_after[static_cast<int>(done)] = counter.held_bytes(); });
  const uint64_t planned = held_after[static_cast<int>(PlanPart::Activations)];
  const uint64_t targets = held_after[static_cast<int>(PlanPart::LossTargets)];
  const uint64_t optimised = held_after[static_cast<int>(PlanPart::OptimizerState)];
  session->set_content(scaled);
  const uint64_t before_styles = counter.peak_bytes();
  session->set_styles(scaled_styles(styles, scaled, size, options));
  s.parts = {{"image, activations and gradients", planned - before},
             {"loss targets", targets - planned},
             {"optimiser state", optimised - targets},
             {"style image passes (freed after)", counter.peak_bytes() - before_styles},
             {"workspaces (kept for the run)", counter.workspace_bytes()}};
  s.peak = counter.peak_bytes();
  return s;
}

}  // namespace

bool memory_estimate_covers(const ComputeOptions& c) {
  return !(c.device == Device::Cuda || (c.device == Device::Auto && cuda_available()));
}

MemoryEstimate estimate_memory(const Image& content, const std::vector<Image>& styles, const Options& options,
                               bool host_weights, const NetworkWeights* shapes_from) {
  if (!memory_estimate_covers(options.compute)) {
    throw InvalidArgument("memory estimate: only the cpu backend's memory is estimated so far, and this run would "
                          "use cuda; ask for --device cpu");
  }
  const std::vector<LayerSpec> layers = model_layers(options.model);
  options.validate(layers);
  const NetworkWeights zeros = shapes_from ? NetworkWeights{} : zero_weights(layers);
  const NetworkWeights& weights = shapes_from ? *shapes_from : zeros;
  const int threads = options.compute.threads > 0 ? options.compute.threads : cpu::num_threads();
  auto backend = std::make_unique<SizingBackend>(options.compute.cpu_conv_algo, threads);
  SizingBackend& counter = *backend;
  const auto model = std::make_shared<Model>(weights, layers, options.pooling, std::move(backend));
  // The backward forms of the layers the run reaches, as its first plan
  // makes them: held for the whole run, so counted with the weights.
  model->prepare(deepest_tap(model->network(), options));

  MemoryEstimate e;
  e.backend = counter.name();
  const uint64_t host = host_weights ? weight_bytes(weights) : 0;
  if (host_weights) e.model.push_back({"weights as read (host)", host});
  e.model.push_back({options.compute.cpu_conv_algo == CpuConvAlgo::Gemm
                         ? "weights and dgrad kernels on the backend"
                         : "backend: weights, dgrad, Winograd kernels",
                     counter.held_bytes()});
  const std::vector<Options::Scale> scales = options.schedule();
  if (scales.size() > 1) plan_finest_first(model, content, scales.back().size, options);
  for (const Options::Scale& sc : scales) {
    MemoryEstimate::Scale s = estimate_scale(model, counter, content, styles, sc.size, options);
    s.peak += host;  // the backend's peak holds its own copy of the weights, not the caller's
    e.peak = std::max(e.peak, s.peak);
    e.scales.push_back(std::move(s));
  }
  return e;
}

TileChoice choose_tile(const Image& content, const std::vector<Image>& styles, const Options& options,
                       uint64_t limit, const NetworkWeights* shapes_from) {
  Options o = options;
  o.tile = 0;
  TileChoice choice;
  choice.untiled_peak = choice.peak = estimate_memory(content, styles, o, true, shapes_from).peak;
  choice.fits = choice.peak <= limit;
  if (choice.fits) return choice;
  // The finest scale's longest side: a tile at least that long tiles nothing.
  const int longest = o.schedule().back().size;
  for (int tile : {2048, 1536, 1024, 768, 512, 384, 256}) {
    if (tile >= longest) continue;
    o.tile = tile;
    choice.tile = tile;
    choice.peak = estimate_memory(content, styles, o, true, shapes_from).peak;
    choice.fits = choice.peak <= limit;
    if (choice.fits) break;
  }
  return choice;
}

uint64_t available_host_memory() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    std::istringstream in(line);
    std::string key;
    uint64_t kb = 0;
    if (in >> key >> kb && key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

}  // namespace nst
