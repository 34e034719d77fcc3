// cuDNN conv2d 3x3 fprop / dgrad (see cudnn_conv.hpp). Uses cuDNN's legacy
// convolution API (cudnn_cnn.h), still present in cuDNN 9.
//
// Descriptors, per plan:
//   x   CUDNN_TENSOR_NHWC float (N,Cin,H,W)     y, dy  NHWC (N,Cout,H,W)
//   w   CUDNN_TENSOR_NHWC filter (K=Cout,C=Cin,3,3), i.e. memory (Cout,3,3,Cin)
//   b   (1,Cout,1,1)                            conv  pad 1, stride 1,
//                                                     CROSS_CORRELATION (as Keras)
// Algorithm choice, once per distinct shape:
//   1. candidates from cuDNN's heuristics (or its timed search), best first;
//   2. drop those cuDNN marks unsupported, non-deterministic (if asked),
//      FFT/Winograd (unless allowed), or with a math type the TF32 setting
//      forbids;
//   3. the first whose workspace (queried for the chosen math type) fits
//      options.workspace_limit_bytes wins;
//   4. if none is left and determinism was asked for, steps 2-3 again
//      without that rule (the plan's info says so); else an error listing
//      every candidate and why it was dropped.
#include "kernels/cuda/vendor/cudnn_conv.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <sstream>
#include <vector>

#include "kernels/cuda/vendor/checks.hpp"
#include "kernels/cuda/vendor/layout.hpp"

#if !NST_HAVE_CUDNN
#error "cudnn_conv.cpp needs cuDNN (NST_HAVE_CUDNN=1); CMake leaves it out when cuDNN is missing"
#endif
#if CUDNN_MAJOR < 8
#error "cudnn_conv.cpp needs cuDNN 8 or newer (CUDNN_FMA_MATH, *_v7 heuristics)"
#endif

NST_CUDA_BEGIN

namespace {

// ---- RAII for descriptors and scratch memory -------------------------------

template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { NST_CUDNN_CHECK(Create(&desc_)); }
  ~Descriptor() { NST_VENDOR_CHECK_PRINT(Destroy(desc_)); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  T get() const { return desc_; }

 private:
  T desc_ = nullptr;
};

using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using ActivationDesc =
    Descriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor>;

class DeviceBytes {
 public:
  DeviceBytes() = default;
  explicit DeviceBytes(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) NST_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
  }
  ~DeviceBytes() {
    if (ptr_ != nullptr) NST_VENDOR_CHECK_PRINT(cudaFree(ptr_));
  }
  DeviceBytes(DeviceBytes&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr, o.bytes_ = 0; }
  DeviceBytes& operator=(DeviceBytes&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  // An empty buffer instead of an error when the device is out of memory.
  static DeviceBytes try_allocate(size_t bytes) {
    DeviceBytes b;
    if (cudaMalloc(&b.ptr_, bytes) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the allocation failure
      b.ptr_ = nullptr;
      return b;
    }
    b.bytes_ = bytes;
    return b;
  }
  void* get() const { return ptr_; }
  float* floats() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Up to `limit` bytes of device scratch for a timed search, halving on
// failure (the search skips algorithms that need more than it is given).
DeviceBytes scratch_up_to(size_t limit) {
  for (size_t bytes = limit; bytes >= (size_t{1} << 20); bytes /= 2) {
    DeviceBytes b = DeviceBytes::try_allocate(bytes);
    if (b.get() != nullptr) return b;
  }
  return DeviceBytes();
}

// ---- names -------------------------------------------------------------------

const char* fwd_algo_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "UNKNOWN";
  }
}

const char* bwd_algo_name(cudnnConvolutionBwdDataAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0: return "ALGO_0";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1: return "ALGO_1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return "UNKNOWN";
  }
}

const char* math_name(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH: return "DEFAULT";
    case CUDNN_TENSOR_OP_MATH: return "TENSOR_OP";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "TENSOR_OP_ALLOW_CONVERSION";
    case CUDNN_FMA_MATH: return "FMA";
    default: return "UNKNOWN";
  }
}

bool is_fft_or_winograd(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
bool is_fft_or_winograd(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}

std::string shape_text(const ConvShape& s) {
  return "conv3x3 x (" + std::to_string(s.N) + "," + std::to_string(s.H) + "," + std::to_string(s.W) + "," +
         std::to_string(s.Cin) + ") -> " + std::to_string(s.Cout) + " channels";
}

bool is_not_supported(cudnnStatus_t s) { return CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_NOT_SUPPORTED; }

// ---- the choice for one shape ----------------------------------------------

struct AlgoChoice {
  cudnnConvolutionFwdAlgo_t fwd = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnMathType_t fwd_math = CUDNN_FMA_MATH;
  size_t fwd_ws = 0;
  float fwd_ms = -1.f;
  bool fwd_deterministic = true;
  cudnnConvolutionBwdDataAlgo_t bwd = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  cudnnMathType_t bwd_math = CUDNN_FMA_MATH;
  size_t bwd_ws = 0;
  float bwd_ms = -1.f;
  bool bwd_deterministic = true;
  bool fused_probed = false;  // tried once (needs a plan with a bias)
  bool fused = false;
  size_t fused_ws = 0;
  std::string fused_note;
};

using ShapeKey = std::array<int, 5>;
ShapeKey key_of(const ConvShape& s) { return {s.N, s.H, s.W, s.Cin, s.Cout}; }

}  // namespace

// ---- plans and the object ------------------------------------------------------

struct CudnnConvPlanState {
  ConvShape shape{};
  const float* w_source = nullptr;  // the arguments it was planned from
  const float* bias_source = nullptr;
  bool has_bias = false;
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc conv_fwd, conv_bwd, conv_fused;  // the chosen math type differs per call
  DeviceBytes w_krsc, bias_copy;
  AlgoChoice choice;
};

struct CudnnConv::Impl {
  cudaStream_t stream = nullptr;
  CudnnConvOptions options;
  cudnnHandle_t handle = nullptr;
  ActivationDesc relu;
  std::vector<std::unique_ptr<CudnnConvPlanState>> plans;
  std::map<ShapeKey, AlgoChoice> choices;
  DeviceBytes owned_workspace;
  void* workspace = nullptr;
  size_t workspace_size = 0;

  cudnnMathType_t base_math() const { return options.allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

  // Math types a candidate may run with. Without TF32 only FMA (cuDNN
  // returns FMA candidates for an FMA descriptor; anything else would let
  // tensor cores in). With TF32 anything but a down-conversion to fp16.
  bool math_allowed(cudnnMathType_t m) const {
    if (!options.allow_tf32) return m == CUDNN_FMA_MATH;
    return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  }

  const CudnnConvPlanState& at(int id) const {
    if (id < 0 || id >= static_cast<int>(plans.size()))
      throw nst::InvalidArgument("CudnnConv: no plan " + std::to_string(id) + " (" + std::to_string(plans.size()) +
                                 " planned)");
    return *plans[id];
  }

  void require_workspace(size_t need, int id) const {
    if (need > workspace_size)
      throw nst::InvalidArgument("CudnnConv: plan " + std::to_string(id) + " (" + shape_text(plans[id]->shape) +
                                 ") needs " + std::to_string(need) + " bytes of workspace, " +
                                 std::to_string(workspace_size) +
                                 " available: call allocate_workspace() or set_workspace() after planning");
  }

  void describe_plan(CudnnConvPlanState& p) const {
    const ConvShape& s = p.shape;
    NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.x.get(), CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s.N, s.Cin, s.H, s.W));
    NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.y.get(), CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, s.N, s.Cout, s.H, s.W));
    NST_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p.bias.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, s.Cout, 1, 1));
    // An NHWC filter of K output and C input channels is stored (K,R,S,C).
    NST_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p.w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, s.Cout, s.Cin, 3, 3));
    for (const ConvDesc* c : {&p.conv_fwd, &p.conv_bwd, &p.conv_fused}) {
      NST_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(c->get(), /*pad*/ 1, 1, /*stride*/ 1, 1, /*dilation*/ 1, 1,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
      NST_CUDNN_CHECK(cudnnSetConvolutionMathType(c->get(), base_math()));
    }
    int n = 0, c = 0, h = 0, w = 0;
    NST_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p.conv_fwd.get(), p.x.get(), p.w.get(), &n, &c, &h, &w));
    if (n != s.N || c != s.Cout || h != s.H || w != s.W)
      throw nst::DeviceError("CudnnConv: cuDNN gives output (" + std::to_string(n) + "," + std::to_string(c) + "," +
                             std::to_string(h) + "," + std::to_string(w) + ") for " + shape_text(s));
  }

  // Candidates best first, from the heuristics or a timed run.
  std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd_candidates(CudnnConvPlanState& p, float* xs, float* ys,
                                                            DeviceBytes& ws) const {
    int max_count = 0;
    NST_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(std::max(max_count, 1)));
    int returned = 0;
    if (options.search == CudnnAlgoSearch::Timed) {
      NST_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(handle, p.x.get(), xs, p.w.get(), p.w_krsc.get(),
                                                             p.conv_fwd.get(), p.y.get(), ys, max_count, &returned,
                                                             perf.data(), ws.get(), ws.bytes()));
    } else {
      NST_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, p.x.get(), p.w.get(), p.conv_fwd.get(),
                                                             p.y.get(), max_count, &returned, perf.data()));
    }
    perf.resize(static_cast<size_t>(returned));
    return perf;
  }

  std::vector<cudnnConvolutionBwdDataAlgoPerf_t> bwd_candidates(CudnnConvPlanState& p, float* dxs, float* dys,
                                                                DeviceBytes& ws) const {
    int max_count = 0;
    NST_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(std::max(max_count, 1)));
    int returned = 0;
    if (options.search == CudnnAlgoSearch::Timed) {
      NST_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(handle, p.w.get(), p.w_krsc.get(), p.y.get(), dys,
                                                                  p.conv_bwd.get(), p.x.get(), dxs, max_count,
                                                                  &returned, perf.data(), ws.get(), ws.bytes()));
    } else {
      NST_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, p.w.get(), p.y.get(), p.conv_bwd.get(),
                                                                  p.x.get(), max_count, &returned, perf.data()));
    }
    perf.resize(static_cast<size_t>(returned));
    return perf;
  }

  // Applies the selection rule (top of file) to a candidate list; Perf is
  // the fwd or bwd-data perf struct, WsQuery asks the workspace of an algo
  // under the descriptor's current math type.
  template <typename Perf, typename WsQuery, typename NameOf>
  bool select(const std::vector<Perf>& perf, bool need_deterministic, cudnnConvolutionDescriptor_t conv,
              WsQuery ws_query, NameOf name_of, decltype(Perf{}.algo)* algo, cudnnMathType_t* math, size_t* ws,
              float* ms, bool* deterministic, std::string* log) const {
    std::ostringstream why;
    for (const Perf& c : perf) {
      why << "\n  " << name_of(c.algo) << " (" << math_name(c.mathType) << "): ";
      if (c.status != CUDNN_STATUS_SUCCESS) {
        why << cudnnGetErrorString(c.status);
        continue;
      }
      if (need_deterministic && c.determinism != CUDNN_DETERMINISTIC) {
        why << "non-deterministic";
        continue;
      }
      if (!options.allow_fft_winograd && is_fft_or_winograd(c.algo)) {
        why << "FFT/Winograd not allowed";
        continue;
      }
      if (!math_allowed(c.mathType)) {
        why << "math type not allowed (allow_tf32=" << options.allow_tf32 << ")";
        continue;
      }
      NST_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, c.mathType));
      size_t bytes = 0;
      const cudnnStatus_t st = ws_query(c.algo, &bytes);
      if (st != CUDNN_STATUS_SUCCESS) {
        why << "workspace query: " << cudnnGetErrorString(st);
        continue;
      }
      if (bytes > options.workspace_limit_bytes) {
        why << "workspace " << bytes << " bytes over the limit";
        continue;
      }
      *algo = c.algo;
      *math = c.mathType;
      *ws = bytes;
      *ms = options.search == CudnnAlgoSearch::Timed ? c.time : -1.f;
      *deterministic = c.determinism == CUDNN_DETERMINISTIC;
      return true;
    }
    NST_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, base_math()));
    *log = why.str();
    return false;
  }

  // Rule 4 at the top of the file: deterministic first if asked, then any.
  template <typename Perf, typename WsQuery, typename NameOf>
  void select_or_throw(const char* what, const CudnnConvPlanState& p, const std::vector<Perf>& perf,
                       cudnnConvolutionDescriptor_t conv, WsQuery ws_query, NameOf name_of,
                       decltype(Perf{}.algo)* algo, cudnnMathType_t* math, size_t* ws, float* ms,
                       bool* deterministic) const {
    std::string log, relaxed_log;
    if (select(perf, options.deterministic, conv, ws_query, name_of, algo, math, ws, ms, deterministic, &log)) return;
    if (options.deterministic &&
        select(perf, false, conv, ws_query, name_of, algo, math, ws, ms, deterministic, &relaxed_log))
      return;
    throw nst::DeviceError(std::string("CudnnConv: no usable ") + what + " algorithm for " + shape_text(p.shape) +
                           " (allow_tf32=" + std::to_string(options.allow_tf32) +
                           ", allow_fft_winograd=" + std::to_string(options.allow_fft_winograd) +
                           ", workspace_limit_bytes=" + std::to_string(options.workspace_limit_bytes) +
                           "); candidates:" + log);
  }

  void choose_algorithms(CudnnConvPlanState& p, float* xs, float* ys, DeviceBytes& search_ws, AlgoChoice* out) const {
    select_or_throw(
        "forward", p, fwd_candidates(p, xs, ys, search_ws), p.conv_fwd.get(),
        [&](cudnnConvolutionFwdAlgo_t a, size_t* b) {
          return cudnnGetConvolutionForwardWorkspaceSize(handle, p.x.get(), p.w.get(), p.conv_fwd.get(), p.y.get(), a,
                                                         b);
        },
        [](cudnnConvolutionFwdAlgo_t a) { return fwd_algo_name(a); }, &out->fwd, &out->fwd_math, &out->fwd_ws,
        &out->fwd_ms, &out->fwd_deterministic);
    select_or_throw(
        "backward-data", p, bwd_candidates(p, xs, ys, search_ws), p.conv_bwd.get(),
        [&](cudnnConvolutionBwdDataAlgo_t a, size_t* b) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(handle, p.w.get(), p.y.get(), p.conv_bwd.get(),
                                                              p.x.get(), a, b);
        },
        [](cudnnConvolutionBwdDataAlgo_t a) { return bwd_algo_name(a); }, &out->bwd, &out->bwd_math, &out->bwd_ws,
        &out->bwd_ms, &out->bwd_deterministic);
  }

  // Runs the fused conv+bias+ReLU once on scratch buffers: cuDNN decides
  // support only when called. NOT_SUPPORTED* means "use the separate path";
  // any other failure is an error.
  void probe_fused(CudnnConvPlanState& p, float* xs, float* ys, AlgoChoice* c) const {
    c->fused_probed = true;
    const cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    size_t bytes = 0;
    cudnnStatus_t st = cudnnGetConvolutionForwardWorkspaceSize(handle, p.x.get(), p.w.get(), p.conv_fused.get(),
                                                               p.y.get(), algo, &bytes);
    if (st != CUDNN_STATUS_SUCCESS) {
      if (!is_not_supported(st)) NST_CUDNN_CHECK(st);
      c->fused_note = std::string("IMPLICIT_PRECOMP_GEMM workspace query: ") + vendor::describe(st);
      return;
    }
    if (bytes > options.workspace_limit_bytes) {
      c->fused_note = "IMPLICIT_PRECOMP_GEMM needs " + std::to_string(bytes) + " bytes of workspace, over the limit";
      return;
    }
    DeviceBytes ws(bytes);
    const float one = 1.f, zero = 0.f;
    st = cudnnConvolutionBiasActivationForward(handle, &one, p.x.get(), xs, p.w.get(), p.w_krsc.get(),
                                               p.conv_fused.get(), algo, ws.get(), bytes, &zero, p.y.get(), ys,
                                               p.bias.get(), p.bias_copy.get(), relu.get(), p.y.get(), ys);
    if (st != CUDNN_STATUS_SUCCESS) {
      if (!is_not_supported(st)) NST_CUDNN_CHECK(st);
      c->fused_note = std::string("cudnnConvolutionBiasActivationForward: ") + vendor::describe(st);
      return;
    }
    NST_CUDA_CHECK(cudaStreamSynchronize(stream));
    c->fused = true;
    c->fused_ws = bytes;
  }
};

CudnnConv::CudnnConv(cudaStream_t stream, const CudnnConvOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->stream = stream;
  impl_->options = options;
  const size_t version = cudnnGetVersion();
  if (version / 10000 != CUDNN_MAJOR)
    throw nst::DeviceError("CudnnConv: cuDNN library " + std::to_string(version) + " does not match the headers (" +
                           std::to_string(CUDNN_VERSION) + ") nst was built with");
  NST_CUDNN_CHECK(cudnnCreate(&impl_->handle));
  const cudnnStatus_t st = cudnnSetStream(impl_->handle, stream);
  if (st != CUDNN_STATUS_SUCCESS) {
    NST_VENDOR_CHECK_PRINT(cudnnDestroy(impl_->handle));
    NST_CUDNN_CHECK(st);
  }
  // relu(v) = max(v, 0), NaN kept NaN so that a bad input stays visible.
  try {
    NST_CUDNN_CHECK(cudnnSetActivationDescriptor(impl_->relu.get(), CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
  } catch (...) {
    NST_VENDOR_CHECK_PRINT(cudnnDestroy(impl_->handle));
    throw;
  }
}

CudnnConv::~CudnnConv() {
  // Finish queued work before the weights and workspace are freed.
  NST_VENDOR_CHECK_PRINT(cudaStreamSynchronize(impl_->stream));
  impl_->plans.clear();
  NST_VENDOR_CHECK_PRINT(cudnnDestroy(impl_->handle));
}

int CudnnConv::plan(const ConvShape& s, const float* w_hwio, const float* bias) {
  if (s.N <= 0 || s.H <= 0 || s.W <= 0 || s.Cin <= 0 || s.Cout <= 0)
    throw nst::InvalidArgument("CudnnConv::plan: sizes must be positive, got " + shape_text(s));
  if (w_hwio == nullptr) throw nst::InvalidArgument("CudnnConv::plan: no weights for " + shape_text(s));
  Impl& m = *impl_;
  auto p = std::make_unique<CudnnConvPlanState>();
  p->shape = s;
  p->w_source = w_hwio;
  p->bias_source = bias;
  p->has_bias = bias != nullptr;
  m.describe_plan(*p);

  // Weights HWIO (9*Cin, Cout) -> KRSC (Cout, 9*Cin): one transpose.
  const size_t w_count = static_cast<size_t>(9) * s.Cin * s.Cout;
  p->w_krsc = DeviceBytes(w_count * sizeof(float));
  vendor::transpose_rows_cols(p->w_krsc.floats(), w_hwio, 9 * s.Cin, s.Cout, m.stream);
  if (p->has_bias) {
    p->bias_copy = DeviceBytes(static_cast<size_t>(s.Cout) * sizeof(float));
    NST_CUDA_CHECK(cudaMemcpyAsync(p->bias_copy.get(), bias, s.Cout * sizeof(float), cudaMemcpyDeviceToDevice, m.stream));
  }

  const ShapeKey key = key_of(s);
  auto found = m.choices.find(key);
  const bool need_choice = found == m.choices.end();
  const bool need_probe = m.options.fused_bias_relu && p->has_bias && (need_choice || !found->second.fused_probed);
  if (need_choice || need_probe) {
    // Scratch tensors for the timed search and the fused probe; zeros, so
    // nothing reads uninitialised memory.
    const bool timed = need_choice && m.options.search == CudnnAlgoSearch::Timed;
    DeviceBytes xs, ys, search_ws;
    if (timed || need_probe) {
      xs = DeviceBytes(static_cast<size_t>(s.N) * s.H * s.W * s.Cin * sizeof(float));
      ys = DeviceBytes(static_cast<size_t>(s.N) * s.H * s.W * s.Cout * sizeof(float));
      NST_CUDA_CHECK(cudaMemsetAsync(xs.get(), 0, xs.bytes(), m.stream));
      NST_CUDA_CHECK(cudaMemsetAsync(ys.get(), 0, ys.bytes(), m.stream));
    }
    if (timed) search_ws = scratch_up_to(m.options.workspace_limit_bytes);
    NST_CUDA_CHECK(cudaStreamSynchronize(m.stream));  // weights ready for the search
    AlgoChoice choice = need_choice ? AlgoChoice{} : found->second;
    if (need_choice) m.choose_algorithms(*p, xs.floats(), ys.floats(), search_ws, &choice);
    if (need_probe) m.probe_fused(*p, xs.floats(), ys.floats(), &choice);
    found = m.choices.insert_or_assign(key, choice).first;
  }
  p->choice = found->second;
  NST_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv_fwd.get(), p->choice.fwd_math));
  NST_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv_bwd.get(), p->choice.bwd_math));
  if (!m.options.fused_bias_relu) {
    p->choice.fused_note = "not requested";
  } else if (!p->has_bias) {
    p->choice.fused = false;
    p->choice.fused_note = "plan has no bias";
  }
  NST_CUDA_CHECK(cudaStreamSynchronize(m.stream));  // the caller may free w_hwio and bias now
  m.plans.push_back(std::move(p));
  return static_cast<int>(m.plans.size()) - 1;
}

int CudnnConv::find_plan(const ConvShape& s, const float* w_hwio, const float* bias) const {
  const auto& plans = impl_->plans;
  for (size_t i = 0; i < plans.size(); ++i) {
    const CudnnConvPlanState& p = *plans[i];
    if (key_of(p.shape) == key_of(s) && p.w_source == w_hwio && p.bias_source == bias) return static_cast<int>(i);
  }
  return -1;
}

int CudnnConv::num_plans() const { return static_cast<int>(impl_->plans.size()); }

CudnnConvPlanInfo CudnnConv::info(int id) const {
  const CudnnConvPlanState& p = impl_->at(id);
  const AlgoChoice& c = p.choice;
  CudnnConvPlanInfo info;
  info.shape = p.shape;
  info.has_bias = p.has_bias;
  info.fprop_algo = static_cast<int>(c.fwd);
  info.dgrad_algo = static_cast<int>(c.bwd);
  info.fprop_algo_name = fwd_algo_name(c.fwd);
  info.dgrad_algo_name = bwd_algo_name(c.bwd);
  info.fprop_math = math_name(c.fwd_math);
  info.dgrad_math = math_name(c.bwd_math);
  info.fprop_workspace_bytes = c.fwd_ws;
  info.dgrad_workspace_bytes = c.bwd_ws;
  info.fused = c.fused;
  info.fused_workspace_bytes = c.fused ? c.fused_ws : 0;
  info.fused_note = c.fused_note;
  info.fprop_time_ms = c.fwd_ms;
  info.dgrad_time_ms = c.bwd_ms;
  info.fprop_deterministic = c.fwd_deterministic;
  info.dgrad_deterministic = c.bwd_deterministic;
  return info;
}

size_t CudnnConv::workspace_bytes() const {
  size_t bytes = 0;
  for (const auto& p : impl_->plans) {
    const AlgoChoice& c = p->choice;
    bytes = std::max({bytes, c.fwd_ws, c.bwd_ws, c.fused ? c.fused_ws : size_t{0}});
  }
  return bytes;
}

void CudnnConv::set_workspace(void* workspace, size_t bytes) {
  if (bytes < workspace_bytes())
    throw nst::InvalidArgument("CudnnConv::set_workspace: " + std::to_string(bytes) + " bytes given, the plans need " +
                               std::to_string(workspace_bytes()));
  if (bytes > 0 && workspace == nullptr) throw nst::InvalidArgument("CudnnConv::set_workspace: null workspace");
  NST_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));  // the old one may be in use
  impl_->owned_workspace = DeviceBytes();
  impl_->workspace = workspace;
  impl_->workspace_size = bytes;
}

void CudnnConv::allocate_workspace() {
  const size_t need = workspace_bytes();
  if (impl_->owned_workspace.get() != nullptr && impl_->workspace_size >= need) return;
  NST_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
  impl_->owned_workspace = DeviceBytes();
  impl_->owned_workspace = DeviceBytes(need);
  impl_->workspace = impl_->owned_workspace.get();
  impl_->workspace_size = need;
}

void CudnnConv::fprop(int id, float* y, const float* x, bool relu) {
  Impl& m = *impl_;
  const CudnnConvPlanState& p = m.at(id);
  const AlgoChoice& c = p.choice;
  const float one = 1.f, zero = 0.f;
  if (relu && p.has_bias && c.fused) {
    m.require_workspace(c.fused_ws, id);
    // y = relu(1 * conv(x) + 0 * z + bias), z = y (alpha2 = 0 ignores it).
    NST_CUDNN_CHECK(cudnnConvolutionBiasActivationForward(
        m.handle, &one, p.x.get(), x, p.w.get(), p.w_krsc.get(), p.conv_fused.get(),
        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, m.workspace, m.workspace_size, &zero, p.y.get(), y,
        p.bias.get(), p.bias_copy.get(), m.relu.get(), p.y.get(), y));
    return;
  }
  m.require_workspace(c.fwd_ws, id);
  NST_CUDNN_CHECK(cudnnConvolutionForward(m.handle, &one, p.x.get(), x, p.w.get(), p.w_krsc.get(), p.conv_fwd.get(),
                                          c.fwd, m.workspace, m.workspace_size, &zero, p.y.get(), y));
  // y = 1 * b + 1 * y, b broadcast over N, H, W.
  if (p.has_bias) NST_CUDNN_CHECK(cudnnAddTensor(m.handle, &one, p.bias.get(), p.bias_copy.get(), &one, p.y.get(), y));
  // In place: y = relu(y).
  if (relu) NST_CUDNN_CHECK(cudnnActivationForward(m.handle, m.relu.get(), &one, p.y.get(), y, &zero, p.y.get(), y));
}

void CudnnConv::dgrad(int id, float* dx, const float* dy) {
  Impl& m = *impl_;
  const CudnnConvPlanState& p = m.at(id);
  const AlgoChoice& c = p.choice;
  m.require_workspace(c.bwd_ws, id);
  const float one = 1.f, zero = 0.f;
  NST_CUDNN_CHECK(cudnnConvolutionBackwardData(m.handle, &one, p.w.get(), p.w_krsc.get(), p.y.get(), dy,
                                               p.conv_bwd.get(), c.bwd, m.workspace, m.workspace_size, &zero,
                                               p.x.get(), dx));
}

void CudnnConv::set_stream(cudaStream_t stream) {
  NST_CUDNN_CHECK(cudnnSetStream(impl_->handle, stream));
  impl_->stream = stream;
}

cudaStream_t CudnnConv::stream() const { return impl_->stream; }

const CudnnConvOptions& CudnnConv::options() const { return impl_->options; }

size_t CudnnConv::library_version() { return cudnnGetVersion(); }

NST_CUDA_END
