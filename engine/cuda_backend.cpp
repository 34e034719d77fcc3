// The cuda backend: the op interface on one device and one stream. Memory
// comes from an arena filled while planning; scratch for conv and the
// losses is sized by the reserve_* calls; the evaluation is captured in a
// CUDA graph on its second run and replayed after that. Conv and Gram have
// a vendor algorithm (cuDNN, cuBLAS) and a custom one (kernels/cuda);
// everything else is a custom kernel.
#include "engine/cuda_backend.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/arena.hpp"
#include "kernels/cuda/blas1.hpp"
#include "kernels/cuda/conv2d.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/losses.hpp"
#include "nst/error.hpp"
#if defined(NST_HAVE_CUDA_VENDOR)
#include "kernels/cuda/vendor/cublas_ops.hpp"
#include "kernels/cuda/vendor/cudnn_conv.hpp"
#endif
// cuDNN is used only by the device build, and only when it was found.
#if defined(NST_HAVE_CUDA_VENDOR) && defined(NST_HAVE_CUDNN) && NST_HAVE_CUDNN
#define NST_BACKEND_CUDNN 1
#else
#define NST_BACKEND_CUDNN 0
#endif

NST_CUDA_BEGIN
namespace {

// cudaMalloc for the arena and the scratch buffers (engine/arena.hpp).
struct DeviceMemory {
  void* get(size_t bytes) {
    void* p = nullptr;
    const cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it, the device is still usable
      return nullptr;
    }
    NST_CUDA_CHECK(status);
    return p;
  }
  void put(void* p, size_t) { NST_CUDA_CHECK(cudaFree(p)); }
};

// On a GPU chunks are large (few cudaMalloc calls, all at planning time);
// under emulation every allocation gets its own chunk so that the
// emulator's guard regions sit right after each buffer.
#if defined(NST_EMU)
constexpr size_t kArenaChunkBytes = 0;
#else
constexpr size_t kArenaChunkBytes = size_t{64} << 20;
#endif

// The scratch buffers of the losses, vector ops and pixel transfers, and
// the rules that size them: one set for the backend and its sizing twin.
template <class Memory>
struct ScratchBuffers {
  explicit ScratchBuffers(Memory& m) : gram(m), loss(m), vector(m), bytes(m) {}
  // Each returns whether a buffer moved.
  bool reserve_conv2d(const Shape& x, int cout) {
    // Every conv output may be a style tap, of the image or of a style image.
    return gram.reserve(gram_workspace_floats(x.n, x.h * x.w, cout));
  }
  bool reserve_style_loss(const Shape& f) { return loss.reserve(style_loss_workspace_floats(f.n, f.h * f.w, f.c)); }
  bool reserve_content_loss(size_t n) { return loss.reserve(content_loss_workspace_floats(n)); }
  bool reserve_tv_loss(const Shape& x) { return loss.reserve(tv_loss_workspace_floats(x.n, x.h, x.w, x.c)); }
  bool reserve_vector_ops(size_t n) { return vector.reserve(blas1_workspace_floats(n)); }
  // Staging for 8-bit RGB pixels, at preprocess/deprocess.
  void reserve_pixels(size_t pixels) { bytes.reserve(pixels * 3); }
  uint64_t held() const { return gram.bytes() + loss.bytes() + vector.bytes() + bytes.bytes(); }

  Scratch<Memory, float> gram, loss, vector;
  Scratch<Memory, uint8_t> bytes;
};

const char* conv_algo_name(ConvAlgo a) { return a == ConvAlgo::Cudnn ? "cudnn" : "custom"; }
const char* gram_algo_name(GramAlgo a) { return a == GramAlgo::Cublas ? "cublas" : "custom"; }

const char* build_name() {
#if defined(NST_EMU)
  return "emulated on the CPU";
#else
  return "device 0";
#endif
}

// Throws nst::DeviceError for an algorithm this build lacks.
void check_algorithms_built(const ComputeOptions& o) {
#if !defined(NST_HAVE_CUDA_VENDOR)
  if (o.conv_algo == ConvAlgo::Cudnn || o.gram_algo == GramAlgo::Cublas) {
    throw DeviceError(std::string("this cuda backend (") + build_name() +
                      ") has no cuDNN/cuBLAS; use conv algo 'custom' and gram algo 'custom'");
  }
#elif !NST_BACKEND_CUDNN
  if (o.conv_algo == ConvAlgo::Cudnn) {
    throw DeviceError("this build of nst found no cuDNN; use --conv-algo custom (or install cuDNN and rebuild)");
  }
#else
  (void)o;
#endif
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const ComputeOptions& o)
      : conv_algo_(o.conv_algo), gram_algo_(o.gram_algo), arena_(memory_, kArenaChunkBytes), scratch_(memory_) {
    check_algorithms_built(o);
    NST_CUDA_CHECK(cudaSetDevice(0));
    NST_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    NST_CUDA_CHECK(cudaMalloc(&step_, sizeof(int)));
    NST_CUDA_CHECK(cudaMallocHost(&host_step_, sizeof(int)));
#if defined(NST_HAVE_CUDA_VENDOR)
#if NST_BACKEND_CUDNN
    if (conv_algo_ == ConvAlgo::Cudnn) {
      CudnnConvOptions co;
      co.allow_tf32 = o.allow_tf32;
      cudnn_ = std::make_unique<CudnnConv>(stream_, co);
    }
#endif
    if (gram_algo_ == GramAlgo::Cublas) {
      CublasOptions bo;
      bo.allow_tf32 = o.allow_tf32;
      cublas_ = std::make_unique<CublasOps>(stream_, bo);
    }
#else
    (void)o;
#endif
  }

  ~CudaBackend() override {
    // Destructors must not throw: statuses here are deliberately ignored.
#if !defined(NST_EMU)
    if (graph_exec_ != nullptr) cudaGraphExecDestroy(graph_exec_);
#endif
    cudaStreamSynchronize(stream_);
    // The library handles are bound to the stream: they go before it does.
#if NST_BACKEND_CUDNN
    cudnn_.reset();
#endif
#if defined(NST_HAVE_CUDA_VENDOR)
    cublas_.reset();
#endif
    cudaFreeHost(host_step_);
    cudaFree(step_);
    cudaStreamDestroy(stream_);
  }

  std::string name() const override {
    return std::string("cuda (") + build_name() + ", conv " + conv_algo_name(conv_algo_) + ", gram " +
           gram_algo_name(gram_algo_) + ")";
  }

  // ---- memory ------------------------------------------------------------------
  float* allocate(size_t floats) override { return static_cast<float*>(arena_.allocate(floats * sizeof(float))); }
  size_t mark() const override { return arena_.mark(); }
  void release(size_t mark) override {
    synchronize();  // queued work may still read what is being released
    arena_.release(mark);
    // A capture may point into what was released (a Plan of another scale
    // comes next): it is dropped and made again on the next evaluation.
    moved(true);
  }
  void reserve_conv2d(const Shape& x, int cout) override { moved(scratch_.reserve_conv2d(x, cout)); }
  void reserve_style_loss(const Shape& f) override { moved(scratch_.reserve_style_loss(f)); }
  void reserve_content_loss(size_t n) override { moved(scratch_.reserve_content_loss(n)); }
  void reserve_tv_loss(const Shape& x) override { moved(scratch_.reserve_tv_loss(x)); }
  void reserve_vector_ops(size_t n) override { moved(scratch_.reserve_vector_ops(n)); }

  void upload(float* dst, const float* src, size_t n) override {
    NST_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, stream_));
    synchronize();  // the caller may reuse `src` as soon as this returns
  }
  void download(float* dst, const float* src, size_t n) override {
    NST_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    synchronize();
  }
  void fill(float* dst, float value, size_t n) override {
    if (value == 0.f && !std::signbit(value)) {
      NST_CUDA_CHECK(cudaMemsetAsync(dst, 0, n * sizeof(float), stream_));
    } else {  // planning time only: the engine fills nothing else in the loop
      const std::vector<float> host(n, value);
      upload(dst, host.data(), n);
    }
  }

  // ---- network ops ---------------------------------------------------------------
  void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b, int cout,
                    bool relu) override {
#if NST_BACKEND_CUDNN
    if (cudnn_) return cudnn_->fprop(cudnn_plan(xs, cout, w, b), y, x, relu);
#endif
    cuda::conv2d_fprop(y, x, w, b, xs.n, xs.h, xs.w, xs.c, cout, relu, stream_);
  }
  const float* prepare_conv2d_dgrad(const float* w, int cin, int cout) override {
    float* wt = allocate(conv2d_dgrad_workspace_floats(cin, cout));
    conv2d_dgrad_weights(wt, w, cin, cout, stream_);
    synchronize();
    return wt;
  }
  void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* w,
                    const float* w_dgrad, int cout) override {
#if NST_BACKEND_CUDNN
    if (cudnn_) {
      if (relu_y) relu_backward(dy, dy, relu_y, xs.pixels() * cout, stream_);
      return cudnn_->dgrad(cudnn_plan(xs, cout, w, nullptr), dx, dy);
    }
#endif
    (void)w;  // the custom path convolves with the prepared copy
    cuda::conv2d_dgrad_prepared(dx, dy, relu_y, w_dgrad, xs.n, xs.h, xs.w, xs.c, cout, stream_);
  }
  void pool2x2_forward(float* y, const float* x, const Shape& xs, bool max) override {
    if (max) {
      maxpool2x2_forward(y, x, xs.n, xs.h, xs.w, xs.c, stream_);
    } else {
      avgpool2x2_forward(y, x, xs.n, xs.h, xs.w, xs.c, stream_);
    }
  }
  void pool2x2_backward(float* dx, const float* dy, const float* x, const Shape& xs, bool max) override {
    if (max) {
      maxpool2x2_backward(dx, dy, x, xs.n, xs.h, xs.w, xs.c, stream_);
    } else {
      avgpool2x2_backward(dx, dy, xs.n, xs.h, xs.w, xs.c, stream_);
    }
  }

  // ---- losses --------------------------------------------------------------------
  void gram(float* G, const float* F, const Shape& fs) override {
#if defined(NST_HAVE_CUDA_VENDOR)
    if (cublas_) return cublas_->gram(G, F, fs.n, fs.h * fs.w, fs.c, GramMethod::Syrk);
#endif
    const int hw = fs.h * fs.w;
    cuda::gram(G, F, fs.n, hw, fs.c, scratch_.gram.get(gram_workspace_floats(fs.n, hw, fs.c), "gram"), stream_);
  }
  void content_loss(float* loss, float* dF, const float* F, const float* P, size_t n, float weight) override {
    cuda::content_loss(loss, dF, F, P, n, weight, scratch_.loss.get(content_loss_workspace_floats(n), "content loss"),
                       stream_);
  }
  void style_loss(float* loss, float* dF, const float* F, const float* G, const float* A, const Shape& fs,
                  float weight) override {
    const int hw = fs.h * fs.w;
    float* ws = scratch_.loss.get(style_loss_workspace_floats(fs.n, hw, fs.c), "style loss");
#if defined(NST_HAVE_CUDA_VENDOR)
    if (cublas_) {
      // D = G - A goes first in the workspace, the loss partials after it.
      float* D = ws;
      style_loss_diff(loss, D, G, A, fs.n, fs.c, weight, ws + static_cast<size_t>(fs.n) * fs.c * fs.c, stream_);
      return cublas_->style_gradient_product(dF, F, D, fs.n, hw, fs.c, style_gradient_scale(fs.n, hw, fs.c, weight));
    }
#endif
    cuda::style_loss(loss, dF, F, G, A, fs.n, hw, fs.c, weight, ws, stream_);
  }
  void tv_loss(float* loss, float* dx, const float* x, const Shape& xs, float weight) override {
    cuda::tv_loss(loss, dx, x, xs.n, xs.h, xs.w, xs.c, weight,
                  scratch_.loss.get(tv_loss_workspace_floats(xs.n, xs.h, xs.w, xs.c), "tv loss"), stream_);
  }
  void pixel_scale(float* y, const float* x, const float* m, const Shape& xs, bool accumulate) override {
    cuda::pixel_scale(y, x, m, xs.pixels(), xs.c, accumulate, stream_);
  }
  void copy_window(float* dst, const float* src, const Shape& xs, const Window& win) override {
    cuda::copy_window(dst, src, xs.n, xs.h, xs.w, xs.c, win, stream_);
  }
  void add_window(float* dst, const Shape& xs, const Window& win, const float* src) override {
    cuda::add_window(dst, src, xs.n, xs.h, xs.w, xs.c, win, stream_);
  }

  // ---- optimiser and pixels ---------------------------------------------------------
  void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamSettings& s, int t) override {
    // The step number goes through device memory so that the kernel's
    // arguments stay the same from step to step.
    *host_step_ = t;
    NST_CUDA_CHECK(cudaMemcpyAsync(step_, host_step_, sizeof(int), cudaMemcpyHostToDevice, stream_));
    cuda::adam_step(x, m, v, g, n, AdamParams{s.lr, s.beta1, s.beta2, s.eps}, step_, stream_);
    // host_step_ is rewritten next step; the copy must have happened by then.
    synchronize();
  }
  void preprocess(float* x, const uint8_t* rgb, size_t pixels) override {
    scratch_.reserve_pixels(pixels);
    uint8_t* d = scratch_.bytes.get(pixels * 3, "pixel");
    NST_CUDA_CHECK(cudaMemcpyAsync(d, rgb, pixels * 3, cudaMemcpyHostToDevice, stream_));
    cuda::preprocess(x, d, pixels, stream_);
    synchronize();
  }
  void deprocess(uint8_t* rgb, const float* x, size_t pixels) override {
    scratch_.reserve_pixels(pixels);
    uint8_t* d = scratch_.bytes.get(pixels * 3, "pixel");
    cuda::deprocess(d, x, pixels, stream_);
    NST_CUDA_CHECK(cudaMemcpyAsync(rgb, d, pixels * 3, cudaMemcpyDeviceToHost, stream_));
    synchronize();
  }

  // ---- vector ops --------------------------------------------------------------------
  // Queued on the stream like every op: results stay on the device.
  void dot(float* result, const float* a, const float* b, size_t n) override {
    cuda::dot(result, a, b, n, scratch_.vector.get(blas1_workspace_floats(n), "vector op"), stream_);
  }
  void asum(float* result, const float* a, size_t n) override {
    cuda::asum(result, a, n, scratch_.vector.get(blas1_workspace_floats(n), "vector op"), stream_);
  }
  void axpy(float* y, float alpha, const float* scale, const float* x, size_t n) override {
    cuda::axpy(y, alpha, scale, x, n, stream_);
  }
  void scale(float* x, float alpha, size_t n) override { cuda::scal(x, alpha, n, stream_); }
  void copy(float* dst, const float* src, size_t n) override {
    if (n == 0) return;
    NST_CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream_));
  }

  void synchronize() override { NST_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

  void run_captured(const std::function<void()>& record) override {
#if defined(NST_EMU)
    record();  // the emulator has no graphs; it runs every launch eagerly
#else
    // The first run is eager: cuDNN/cuBLAS settle their lazy set-up there,
    // which must not happen inside a capture.
    if (runs_++ == 0) return record();
    if (graph_exec_ == nullptr) {
      cudaGraph_t graph = nullptr;
      NST_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      try {
        record();
      } catch (...) {
        cudaStreamEndCapture(stream_, &graph);
        if (graph != nullptr) cudaGraphDestroy(graph);
        throw;
      }
      NST_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
      const cudaError_t status = cudaGraphInstantiate(&graph_exec_, graph, 0);
      cudaGraphDestroy(graph);
      NST_CUDA_CHECK(status);
    }
    NST_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream_));
#endif
  }

 private:
  // A scratch buffer that moves (e.g. set_styles() with a larger style
  // image after the capture) would leave the graph pointing at freed
  // memory: the capture is dropped and made again.
  void moved(bool buffer_moved) {
#if !defined(NST_EMU)
    if (!buffer_moved || graph_exec_ == nullptr) return;
    NST_CUDA_CHECK(cudaGraphExecDestroy(graph_exec_));
    graph_exec_ = nullptr;
    runs_ = 0;
#else
    (void)buffer_moved;
#endif
  }


#if NST_BACKEND_CUDNN
  // The cuDNN plan of a layer: made at the layer's first call (set_content
  // runs every layer eagerly before any capture), found after that. The
  // plan keeps its own transposed copy of the frozen weights; dgrad looks
  // the plan up by shape and weights, as it has no bias to hand.
  int cudnn_plan(const Shape& xs, int cout, const float* w, const float* b) {
    const auto key = std::make_tuple(xs.n, xs.h, xs.w, xs.c, cout, w);
    const auto found = cudnn_plans_.find(key);
    if (found != cudnn_plans_.end()) return found->second;
    const int id = cudnn_->plan(ConvShape{xs.n, xs.h, xs.w, xs.c, cout}, w, b);
    cudnn_->allocate_workspace();  // grows to the largest plan's need
    moved(true);
    cudnn_plans_.emplace(key, id);
    return id;
  }
#endif

  ConvAlgo conv_algo_;
  GramAlgo gram_algo_;
  cudaStream_t stream_ = nullptr;
  int* step_ = nullptr;       // device: Adam's step number
  int* host_step_ = nullptr;  // pinned staging for it
  DeviceMemory memory_;
  Arena<DeviceMemory> arena_;
  ScratchBuffers<DeviceMemory> scratch_;
#if NST_BACKEND_CUDNN
  std::unique_ptr<CudnnConv> cudnn_;
  std::map<std::tuple<int, int, int, int, int, const float*>, int> cudnn_plans_;
#endif
#if defined(NST_HAVE_CUDA_VENDOR)
  std::unique_ptr<CublasOps> cublas_;
#endif
#if !defined(NST_EMU)
  int runs_ = 0;
  cudaGraphExec_t graph_exec_ = nullptr;
#endif
};


// The cuda backend's twin for the memory estimate: the same arena, scratch
// buffers and rules on counted memory, and what the vendor libraries hold.
class CudaSizingBackend final : public SizingBackend {
 public:
  explicit CudaSizingBackend(const ComputeOptions& o)
      : options_(o), arena_(memory_, kArenaChunkBytes), scratch_(memory_) {
    check_algorithms_built(o);
    memory_.get(sizeof(int));  // Adam's step number
#if defined(NST_HAVE_CUDA_VENDOR)
    if (o.gram_algo == GramAlgo::Cublas) vendor_ += take(CublasOptions{}.workspace_bytes);
#endif
  }

  std::string name() const override { return "cuda"; }
  std::string weights_label() const override { return "device: weights and dgrad kernels"; }
  std::string bounds() const override {
    if (options_.conv_algo != ConvAlgo::Cudnn) return {};
    return "cuDNN's workspace is counted at its limit (" + std::to_string(cudnn_workspace_limit() >> 20) +
           " MB): cuDNN chooses its algorithms, and their workspace, on the device";
  }

  float* allocate(size_t floats) override { return static_cast<float*>(arena_.allocate(floats * sizeof(float))); }
  size_t mark() const override { return arena_.mark(); }
  void release(size_t mark) override { arena_.release(mark); }
  void reserve_conv2d(const Shape& x, int cout) override { scratch_.reserve_conv2d(x, cout); }
  void reserve_style_loss(const Shape& f) override { scratch_.reserve_style_loss(f); }
  void reserve_content_loss(size_t n) override { scratch_.reserve_content_loss(n); }
  void reserve_tv_loss(const Shape& x) override { scratch_.reserve_tv_loss(x); }
  void reserve_vector_ops(size_t n) override { scratch_.reserve_vector_ops(n); }
  const float* prepare_conv2d_dgrad(const float*, int cin, int cout) override {
    return allocate(conv2d_dgrad_workspace_floats(cin, cout));
  }
  // As CudaBackend::cudnn_plan: a plan per layer shape and weights, each
  // with its own copy of the weights and bias, made at the first call; the
  // workspace grows to the largest plan's need, at most the limit. (The
  // backend asks for cuDNN's heuristic choice: no timed search and its
  // scratch.)
  void conv2d_fprop(float*, const float*, const Shape& xs, const float* w, const float* b, int cout,
                    bool) override {
    if (options_.conv_algo != ConvAlgo::Cudnn) return;
    if (!cudnn_plans_.insert(std::make_tuple(xs.n, xs.h, xs.w, xs.c, cout, w)).second) return;
    vendor_ += take(static_cast<size_t>(9) * xs.c * cout * sizeof(float));
    if (b != nullptr) vendor_ += take(static_cast<size_t>(cout) * sizeof(float));
    if (!cudnn_workspace_) vendor_ += take(cudnn_workspace_limit());
    cudnn_workspace_ = true;
  }
  void preprocess(float*, const uint8_t*, size_t pixels) override { scratch_.reserve_pixels(pixels); }
  void deprocess(uint8_t*, const float*, size_t pixels) override { scratch_.reserve_pixels(pixels); }

  uint64_t held_bytes() const override { return arena_.mark(); }
  uint64_t workspace_bytes() const override { return scratch_.held() + vendor_; }
  uint64_t peak_bytes() const override { return memory_.peak(); }
  void restart_peak() override { memory_.restart_peak(); }

 private:
  size_t take(size_t bytes) {
    memory_.get(bytes);
    return bytes;
  }
  static size_t cudnn_workspace_limit() {
#if NST_BACKEND_CUDNN
    return CudnnConvOptions{}.workspace_limit_bytes;
#else
    return 0;
#endif
  }

  ComputeOptions options_;
  CountedMemory memory_;
  Arena<CountedMemory> arena_;
  ScratchBuffers<CountedMemory> scratch_;
  std::set<std::tuple<int, int, int, int, int, const float*>> cudnn_plans_;
  bool cudnn_workspace_ = false;
  uint64_t vendor_ = 0;  // cuBLAS's workspace, cuDNN's plans and workspace
};

}  // namespace

int device_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string("no CUDA device is usable (cudaGetDeviceCount: ") + cudaGetErrorName(status) + ": " +
                    cudaGetErrorString(status) + ")";
    cudaGetLastError();  // clear it, so later calls do not report it again
    return 0;
  }
  if (count == 0 && why) *why = "no CUDA device is present";
  return count;
}

std::unique_ptr<SizingBackend> make_sizing_backend(const ComputeOptions& options) {
  return std::make_unique<CudaSizingBackend>(options);
}

uint64_t free_memory() {
  size_t free_bytes = 0, total_bytes = 0;
  NST_CUDA_CHECK(cudaSetDevice(0));
  NST_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

std::unique_ptr<Backend> make_backend(const ComputeOptions& options, const LogFn& log) {
  std::string why;
  if (device_count(&why) == 0) throw DeviceError("cuda backend: " + why);
  auto backend = std::make_unique<CudaBackend>(options);
  if (log) log("device: " + backend->name());
  return backend;
}

NST_CUDA_END

#if defined(NST_EMU)
namespace nst {
std::unique_ptr<Backend> make_emulated_cuda_backend(const ComputeOptions& options) {
  return std::make_unique<cuda::CudaBackend>(options);
}
std::unique_ptr<SizingBackend> make_emulated_cuda_sizing_backend(const ComputeOptions& options) {
  return std::make_unique<cuda::CudaSizingBackend>(options);
}
}  // namespace nst
#endif
