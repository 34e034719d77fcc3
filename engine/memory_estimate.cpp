// The memory estimate: the run planned on a backend that allocates nothing.
// The engine's own Model, the Session the run would make (SessionMaker) and
// the Schedule's plan_finest_first do the planning, so the estimate cannot
// drift from what a run allocates; only each backend's private rules are
// mirrored by its sizing twin: the cpu's here (one block per allocate(),
// workspaces that grow to the largest reserve, from the same kernels/cpu
// sizing functions the cpu backend calls), the cuda's in cuda_backend.cpp.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/cpu_conv.hpp"
#include "engine/device.hpp"
#include "engine/model.hpp"
#include "engine/objective.hpp"
#include "engine/schedule.hpp"
#include "engine/session_maker.hpp"
#include "engine/sizing_backend.hpp"
#include "kernels/cpu/ops.hpp"
#include "nst/error.hpp"
#include "nst/memory.hpp"

namespace nst {
namespace {

// Counts what the cpu backend would hold: one block per allocate(), and
// workspaces that grow to the largest reserve (the cpu backend's rules, from
// the kernels/cpu sizing functions it calls).
class CpuSizingBackend final : public SizingBackend {
 public:
  // Winograd's workspace is sized for `threads` (the run's thread count).
  CpuSizingBackend(CpuConvAlgo algo, int threads) : algo_(algo), threads_(threads) {}

  std::string name() const override { return "cpu"; }
  std::string weights_label() const override {
    return algo_ == CpuConvAlgo::Gemm ? "weights and dgrad kernels on the backend"
                                      : "backend: weights, dgrad, Winograd kernels";
  }

  float* allocate(size_t floats) override {
    blocks_.push_back(floats * sizeof(float));
    return static_cast<float*>(memory_.get(blocks_.back()));
  }
  size_t mark() const override { return blocks_.size(); }
  void release(size_t mark) override {
    while (blocks_.size() > mark) {
      memory_.put(nullptr, blocks_.back());
      blocks_.pop_back();
    }
  }
  void reserve_conv2d(const Shape& x, int cout) override {
    grow(conv_ws_, cpu::conv2d_workspace_floats(x.n, x.h, x.w, x.c, cout));
    if (needs_winograd_workspace(algo_, x, cout)) grow(winograd_ws_, cpu::winograd_workspace_floats(x.c, cout, threads_));
  }
  void reserve_style_loss(const Shape& f) override {
    grow(style_ws_, std::max(cpu::style_loss_workspace_floats(f.n, f.h * f.w, f.c),
                             cpu::gram_workspace_floats(f.c, threads_)));
  }
  const float* prepare_conv2d_dgrad(const float*, int cin, int cout) override {
    // As the cpu backend does: the GEMM path's kernel, then Winograd's two.
    const float* wt = allocate(static_cast<size_t>(9) * cin * cout);
    for (ConvDirection d : {ConvDirection::Fprop, ConvDirection::Dgrad}) {
      if (keeps_winograd_kernel(algo_, d, cin, cout)) allocate(cpu::winograd_kernel_floats(cin, cout));
    }
    return wt;
  }

  uint64_t held_bytes() const override { return memory_.held() - workspace_bytes(); }
  uint64_t workspace_bytes() const override { return (conv_ws_ + style_ws_ + winograd_ws_) * sizeof(float); }
  uint64_t peak_bytes() const override { return memory_.peak(); }
  void restart_peak() override { memory_.restart_peak(); }

 private:
  // A workspace that grows: the cpu backend's std::vector resize (the old
  // block goes as the new one comes; counted as the new size alone).
  void grow(size_t& ws, size_t floats) {
    if (floats <= ws) return;
    memory_.put(nullptr, ws * sizeof(float));
    ws = floats;
    memory_.get(ws * sizeof(float));
  }

  CpuConvAlgo algo_;
  int threads_;
  CountedMemory memory_;
  std::vector<size_t> blocks_;  // bytes of each allocate(), in order
  size_t conv_ws_ = 0, style_ws_ = 0, winograd_ws_ = 0;
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
  const uint64_t kept_before_styles = counter.workspace_bytes();
  session->set_styles(scaled_styles(styles, scaled, size, options));
  // What the passes keep (workspaces grown for a larger style image, a
  // cuDNN plan per style shape) is a workspace, not a pass's.
  const uint64_t kept = counter.workspace_bytes() - kept_before_styles;
  const uint64_t passes = counter.peak_bytes() - before_styles;
  s.parts = {{"image, activations and gradients", planned - before},
             {"loss targets", targets - planned},
             {"optimiser state", optimised - targets},
             {"style image passes (freed after)", passes > kept ? passes - kept : 0},
             {"workspaces (kept for the run)", counter.workspace_bytes()}};
  s.peak = counter.peak_bytes();
  return s;
}

}  // namespace

bool runs_on_cuda(const ComputeOptions& c) {
  return c.device == Device::Cuda || (c.device == Device::Auto && cuda_available());
}

MemoryEstimate estimate_memory_on(std::unique_ptr<SizingBackend> backend, const std::vector<LayerSpec>& layers,
                                  const NetworkWeights& weights, const Image& content,
                                  const std::vector<Image>& styles, const Options& options, bool host_weights) {
  options.validate(layers);
  SizingBackend& counter = *backend;
  const auto model = std::make_shared<Model>(weights, layers, options.pooling, std::move(backend));
  // The backward forms of the layers the run reaches, as its first plan
  // makes them: held for the whole run, so counted with the weights.
  model->prepare(deepest_tap(model->network(), options));

  MemoryEstimate e;
  e.backend = counter.name();
  const uint64_t host = host_weights ? weight_bytes(weights) : 0;
  if (host_weights) e.model.push_back({"weights as read (host)", host});
  e.model.push_back({counter.weights_label(), counter.held_bytes()});
  const std::vector<Options::Scale> scales = options.schedule();
  if (scales.size() > 1) plan_finest_first(model, content, scales.back().size, options);
  for (const Options::Scale& sc : scales) {
    MemoryEstimate::Scale s = estimate_scale(model, counter, content, styles, sc.size, options);
    s.peak += host;  // the backend's peak holds its own copy of the weights, not the caller's
    e.peak = std::max(e.peak, s.peak);
    e.scales.push_back(std::move(s));
  }
  e.bounds = counter.bounds();
  return e;
}

MemoryEstimate estimate_memory(const Image& content, const std::vector<Image>& styles, const Options& options,
                               bool host_weights, const NetworkWeights* shapes_from) {
  const std::vector<LayerSpec> layers = model_layers(options.model);
  options.validate(layers);
  std::unique_ptr<SizingBackend> counter;
  if (runs_on_cuda(options.compute)) {
    counter = make_cuda_sizing_backend(options.compute);
    if (!counter) throw DeviceError("memory estimate: this build of nst has no cuda backend (use --device cpu)");
    host_weights = false;  // in host memory, not the device's
  } else {
    const int threads = options.compute.threads > 0 ? options.compute.threads : cpu::num_threads();
    counter = std::make_unique<CpuSizingBackend>(options.compute.cpu_conv_algo, threads);
  }
  const NetworkWeights zeros = shapes_from ? NetworkWeights{} : zero_weights(layers);
  return estimate_memory_on(std::move(counter), layers, shapes_from ? *shapes_from : zeros, content, styles, options,
                            host_weights);
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

uint64_t available_memory(const ComputeOptions& compute) {
  return runs_on_cuda(compute) ? cuda_free_memory() : available_host_memory();
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
