// What a run will hold in memory, known before any work: the run is planned
// (Model, then for each scale its Plan, Objective and Optimizer and the
// style images' passes) on a backend that counts what the run's backend
// (cpu or cuda) would allocate and allocates nothing (`nst --dry-run`).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nst/nst.hpp"

namespace nst {

struct MemoryEstimate {
  struct Part {
    std::string name;  // e.g. "activations and gradients"
    uint64_t bytes = 0;
  };
  struct Scale {
    int width = 0, height = 0;
    std::vector<Part> parts;  // what this scale's Session holds while it is alive
    uint64_t peak = 0;        // the weights' parts and this scale's, at its highest
  };
  std::string backend;      // "cpu" or "cuda"
  // Parts the estimate cannot know before the run, counted at their upper
  // bound (cuDNN's workspace: at most its limit); empty when exact.
  std::string bounds;
  std::vector<Part> model;  // held for the whole run: the weights in each form
  std::vector<Scale> scales;
  uint64_t peak = 0;        // the largest scale's peak
};

// The estimate for stylize(weights, content, styles, options): the same
// scales, style sizes and planning order, on the backend the run would use
// (options.compute.device; auto takes cuda when a device is usable).
// cpu: the process's allocations; `host_weights` counts the NetworkWeights
// the caller holds as read from the file, which a CPU run keeps beside the
// backend's copy. cuda: device memory (the arena, the scratch buffers and
// the cuDNN/cuBLAS workspaces and weight copies; not the CUDA context);
// `host_weights` is ignored. Throws nst::DeviceError for cuda in a build
// without it. `shapes_from`: weights of options.model already loaded,
// whose shapes the planning takes (their values are not read); without
// them the estimate makes zero weights of its own, 56 MB for VGG16 for
// the time it runs.
MemoryEstimate estimate_memory(const Image& content, const std::vector<Image>& styles, const Options& options,
                               bool host_weights = true, const NetworkWeights* shapes_from = nullptr);

// Whether a run with `compute` would use the cuda backend, so that its
// estimate is of device memory.
bool runs_on_cuda(const ComputeOptions& compute);

// Options::tile for a run that must fit in `limit` bytes: none (0) when
// the untiled estimate fits, else the largest of 2048, 1536, 1024, 768, 512,
// 384 and 256 px whose estimate fits, else the smallest of them (with
// fits false). `peak` is the
// estimate at the chosen tile, `untiled_peak` without tiles.
struct TileChoice {
  int tile = 0;
  uint64_t peak = 0, untiled_peak = 0;
  bool fits = false;
};
// Each candidate is one estimate_memory (planning only: milliseconds at
// 512 px, about a second at 4096 px, where the image resizes dominate).
TileChoice choose_tile(const Image& content, const std::vector<Image>& styles, const Options& options,
                       uint64_t limit, const NetworkWeights* shapes_from = nullptr);

// Memory the system could give this process now (Linux: MemAvailable of
// /proc/meminfo); 0 when unknown.
uint64_t available_host_memory();
// What a run with `compute` can have: the host's (available_host_memory)
// or the cuda device's free memory (cudaMemGetInfo); 0 when unknown.
uint64_t available_memory(const ComputeOptions& compute);

}  // namespace nst
