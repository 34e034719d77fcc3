// cuDNN paths of the cuda backend: conv2d 3x3, stride 1, zero padding 1,
// NHWC float32, with bias and ReLU on the forward pass and backward-data
// for the gradient to the input (weights are frozen: no weight gradient).
// Same numerics as nst::cpu::conv2d_fprop / conv2d_dgrad (kernels/cpu/ops.hpp).
//
// Usage, once per image size (all allocation happens here):
//   CudnnConv conv(stream, options);
//   int l1 = conv.plan({N, H, W, 3, 64}, w1_hwio, b1);   // per layer
//   int l2 = conv.plan({N, H, W, 64, 64}, w2_hwio, b2);
//   conv.allocate_workspace();          // or set_workspace(arena, bytes)
// then in the iteration loop (no allocation, capturable in a CUDA graph):
//   conv.fprop(l1, y, x, /*relu=*/true);
//   conv.dgrad(l1, dx, dy_masked);      // dy already multiplied by (y > 0)
//
// The cuDNN types stay in cudnn_conv.cpp (this header needs no cudnn.h).
// Only built when CMake finds cuDNN (NST_HAVE_CUDNN=1).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN

struct ConvShape {
  int N, H, W, Cin, Cout;  // x (N,H,W,Cin), y (N,H,W,Cout), w (3,3,Cin,Cout)
};

// How a plan picks its algorithms (once per distinct shape; plans of equal
// shape share the choice):
//   Heuristic  cuDNN's heuristics (cudnnGetConvolution*Algorithm_v7): no
//              device work, instant
//   Timed      cuDNN runs every candidate on scratch buffers and returns
//              them sorted by measured time (cudnnFind*AlgorithmEx); costs
//              tens of milliseconds per shape, usually picks faster kernels
enum class CudnnAlgoSearch { Heuristic, Timed };

struct CudnnConvOptions {
  // TF32 tensor cores for fp32: CUDNN_DEFAULT_MATH, which on sm_80+ lets
  // cuDNN use TF32 (about 1e-3 relative error). Off: CUDNN_FMA_MATH, the
  // only math type that rules TF32 out for fp32 (CUDNN_DEFAULT_MATH does
  // not). Algorithms whose math type would break the choice are skipped.
  // NVIDIA_TF32_OVERRIDE=0 in the environment turns TF32 off regardless.
  bool allow_tf32 = false;
  CudnnAlgoSearch search = CudnnAlgoSearch::Heuristic;
  // Prefer algorithms whose results do not vary from run to run (backward-
  // data ALGO_0 adds with atomics), so that runs are bitwise repeatable.
  // Should no deterministic algorithm be usable for a shape, the best other
  // one is taken and the plan's info says so.
  bool deterministic = true;
  // FFT and Winograd algorithms round differently (larger errors than a
  // direct sum); off keeps results within 1e-5 of the float64 reference.
  bool allow_fft_winograd = false;
  // Forward with bias and ReLU in one call (cudnnConvolutionBiasActivation-
  // Forward), which cuDNN supports with ReLU only for the IMPLICIT_PRECOMP_GEMM
  // algorithm. Tried once at planning on scratch buffers; if cuDNN refuses
  // the configuration the plan uses the separate path (conv, then
  // cudnnAddTensor, then cudnnActivationForward) and says so in its info.
  // Used for fprop(relu = true) of plans with a bias.
  bool fused_bias_relu = false;
  // Algorithms needing more workspace than this are skipped.
  size_t workspace_limit_bytes = size_t{256} << 20;
};

// What a plan chose, for logs, benchmarks and tests.
struct CudnnConvPlanInfo {
  ConvShape shape;
  bool has_bias = false;
  int fprop_algo = -1;             // cudnnConvolutionFwdAlgo_t
  int dgrad_algo = -1;             // cudnnConvolutionBwdDataAlgo_t
  std::string fprop_algo_name;     // e.g. "IMPLICIT_PRECOMP_GEMM"
  std::string dgrad_algo_name;     // e.g. "ALGO_1"
  std::string fprop_math, dgrad_math;  // "FMA", "DEFAULT" (TF32 allowed), ...
  size_t fprop_workspace_bytes = 0;
  size_t dgrad_workspace_bytes = 0;
  bool fused = false;              // fprop(relu) uses the fused call
  size_t fused_workspace_bytes = 0;
  std::string fused_note;          // why the fused call is not used, if asked for
  float fprop_time_ms = -1.f;      // measured by a Timed search, else -1
  float dgrad_time_ms = -1.f;
  bool fprop_deterministic = true;  // bitwise repeatable (see the option)
  bool dgrad_deterministic = true;
};

class CudnnConv {
 public:
  // Creates the cuDNN handle (throws nst::DeviceError when there is no
  // device) bound to `stream`.
  explicit CudnnConv(cudaStream_t stream, const CudnnConvOptions& options = {});
  ~CudnnConv();
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  // Plans one layer and returns its id: descriptors, a copy of the weights
  // transposed from Keras HWIO (3,3,Cin,Cout) to cuDNN's KRSC (Cout,3,3,Cin)
  // by a tiled transpose kernel, a copy of the bias (Cout; may be null: no
  // bias), and the fprop and dgrad algorithms with their workspace sizes.
  // w_hwio and bias are device pointers, read on the stream before this
  // returns (the caller may free them afterwards). Synchronises the stream.
  int plan(const ConvShape& shape, const float* w_hwio, const float* bias);
  // The plan made earlier for exactly these arguments (same shape, same
  // weight and bias pointers), or -1. For callers that meet the weights
  // only at their first call: plan on a miss, before any graph capture.
  // Weights are frozen: a plan never re-reads w_hwio or bias.
  int find_plan(const ConvShape& shape, const float* w_hwio, const float* bias) const;
  int num_plans() const;
  CudnnConvPlanInfo info(int plan) const;

  // Workspace every plan fits in: the maximum over the plans made so far.
  size_t workspace_bytes() const;
  // Either the caller lends a device buffer of at least workspace_bytes()
  // (it must outlive the calls; plans made later may need more)...
  void set_workspace(void* workspace, size_t bytes);
  // ...or the object allocates (or grows) its own. Call after planning.
  void allocate_workspace();

  // y (N,H,W,Cout) = conv(x (N,H,W,Cin), w) + bias, then ReLU if `relu`.
  // Overwrites y; x and y must not overlap.
  void fprop(int plan, float* y, const float* x, bool relu);
  // dx (N,H,W,Cin) = conv_transpose(dy, w): the gradient with respect to x
  // of the linear conv output, given dy (N,H,W,Cout) = dL/d(conv(x) + b)
  // with the ReLU mask already applied. Overwrites dx.
  void dgrad(int plan, float* dx, const float* dy);

  // Later calls are queued on `stream`.
  void set_stream(cudaStream_t stream);
  cudaStream_t stream() const;
  const CudnnConvOptions& options() const;

  // The cuDNN library version, e.g. 91900 for 9.19.0.
  static size_t library_version();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

NST_CUDA_END
