// A backend that allocates nothing and counts what a real one would hold:
// the memory estimate plans a run on it (engine/memory_estimate.cpp). Each
// real backend has its sizing twin beside it, following the same rules:
// the cpu's in memory_estimate.cpp, the cuda's in cuda_backend.cpp (which
// shares the arena and scratch code of engine/arena.hpp with the backend).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "nst/memory.hpp"
#include "nst/network.hpp"

namespace nst {

// Bytes held and their peak; the pointers it hands out lie in an address
// range no process maps (every op of a sizing backend is a no-op, so none
// is ever dereferenced; one that were would fault at once rather than
// scribble on memory).
class CountedMemory {
 public:
  void* get(size_t bytes) {
    void* p = reinterpret_cast<void*>(kBase + next_);
    next_ += bytes + 256;
    held_ += bytes;
    peak_ = std::max(peak_, held_);
    return p;
  }
  void put(void*, size_t bytes) { held_ -= bytes; }
  uint64_t held() const { return held_; }
  uint64_t peak() const { return peak_; }
  void restart_peak() { peak_ = held_; }

 private:
  static constexpr uintptr_t kBase = uintptr_t{1} << 46;  // above x86-64 user space's usual maps
  uintptr_t next_ = 0;
  uint64_t held_ = 0, peak_ = 0;
};

class SizingBackend : public Backend {
 public:
  // What the backend's part of the Model is called in the estimate.
  virtual std::string weights_label() const = 0;
  // Bytes the engine's allocations hold now (the arena's mark), the
  // workspaces kept for the run, and the peak of everything since
  // restart_peak().
  virtual uint64_t held_bytes() const = 0;
  virtual uint64_t workspace_bytes() const = 0;
  virtual uint64_t peak_bytes() const = 0;
  virtual void restart_peak() = 0;
  // What is counted at an upper bound (MemoryEstimate::bounds).
  virtual std::string bounds() const { return {}; }

  // Every op is a no-op; a sizing twin overrides what allocates.
  void upload(float*, const float*, size_t) override {}
  // The host reads what it downloads (the style Grams): zeros, defined.
  void download(float* dst, const float*, size_t n) override { std::fill(dst, dst + n, 0.f); }
  void fill(float*, float, size_t) override {}
  void conv2d_fprop(float*, const float*, const Shape&, const float*, const float*, int, bool) override {}
  void conv2d_dgrad(float*, float*, const float*, const Shape&, const float*, const float*, int) override {}
  void pool2x2_forward(float*, const float*, const Shape&, bool) override {}
  void pool2x2_backward(float*, const float*, const float*, const Shape&, bool) override {}
  void gram(float*, const float*, const Shape&) override {}
  void content_loss(float*, float*, const float*, const float*, size_t, float) override {}
  void style_loss(float*, float*, const float*, const float*, const float*, const Shape&, float) override {}
  void tv_loss(float*, float*, const float*, const Shape&, float) override {}
  void pixel_scale(float*, const float*, const float*, const Shape&, bool) override {}
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
};

// The cuda backend's twin, with the device build's rules (64 MB arena
// chunks, the vendor libraries' workspaces). Defined in cuda_backend.cpp;
// nullptr in a build without CUDA. Throws nst::DeviceError for an algorithm
// the build lacks, as the backend would.
std::unique_ptr<SizingBackend> make_cuda_sizing_backend(const ComputeOptions& options);
// The emulated cuda backend's twin (its arena gives each allocation a
// chunk of its own). Defined only in the test library nst_cuda_backend_emu.
std::unique_ptr<SizingBackend> make_emulated_cuda_sizing_backend(const ComputeOptions& options);

// estimate_memory on `counter`, for a network of `layers` with `weights`
// (whose values are not read).
MemoryEstimate estimate_memory_on(std::unique_ptr<SizingBackend> counter, const std::vector<LayerSpec>& layers,
                                  const NetworkWeights& weights, const Image& content,
                                  const std::vector<Image>& styles, const Options& options, bool host_weights);

}  // namespace nst
