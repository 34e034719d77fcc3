// cuBLAS paths of the cuda backend: Gram matrices and the style-loss
// gradient product, NHWC features viewed per image as a row-major (HW,C)
// matrix F. All pointers are device memory; work is queued on the stream
// the object is bound to. Same numerics as nst::cpu::gram and the product
// inside nst::cpu::style_loss (kernels/cpu/ops.hpp).
//
// cuBLAS is column-major: a row-major (HW,C) F is, unchanged in memory, the
// column-major (C,HW) matrix Fc = F^T (leading dimension C). So
//   G  = F^T F  = Fc Fc^T         SYRK "N" (or GEMM N,T) on Fc, ldc C
//   dF += s F D  <=>  dFc += s D' Fc, where D' is the column-major view of
//                  the row-major D, i.e. D^T: GEMM N,N, any D (no symmetry
//                  needed for the product; D = G - A is symmetric anyway).
#pragma once
#include <cublas_v2.h>

#include <cstddef>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN

// How gram() forms F^T F:
//   Syrk  one cublasSsyrk per image fills one triangle (half the flops),
//         then a small kernel mirrors it: G exactly symmetric (default)
//   Gemm  one cublasSgemmStridedBatched over all images computes every
//         entry (twice the flops, one call); G[i][j] and G[j][i] are
//         computed by separate dot products and may differ in the last bit
enum class GramMethod { Syrk, Gemm };
const char* gram_method_name(GramMethod method);

struct CublasOptions {
  // TF32 tensor cores for the fp32 products (CUBLAS_TF32_TENSOR_OP_MATH):
  // about 1e-3 relative error instead of 1e-6. Off: CUBLAS_DEFAULT_MATH,
  // which keeps fp32 inputs and accumulation. NVIDIA_TF32_OVERRIDE=0 in the
  // environment turns TF32 off whatever is set here.
  bool allow_tf32 = false;
  // Workspace given to cuBLAS (cublasSetWorkspace), allocated once by the
  // constructor, so that no call allocates and the calls can be captured
  // in a CUDA graph. NVIDIA recommends 32 MiB on Hopper; 0 keeps cuBLAS's
  // own default pool.
  size_t workspace_bytes = size_t{32} << 20;
};

class CublasOps {
 public:
  // Creates the handle (throws nst::DeviceError when there is no device)
  // bound to `stream`, with host pointer mode and the options' math mode.
  explicit CublasOps(cudaStream_t stream, const CublasOptions& options = {});
  ~CublasOps();
  CublasOps(const CublasOps&) = delete;
  CublasOps& operator=(const CublasOps&) = delete;

  // Later calls are queued on `stream`.
  void set_stream(cudaStream_t stream);
  cudaStream_t stream() const { return stream_; }
  const CublasOptions& options() const { return options_; }
  cublasHandle_t handle() const { return handle_; }

  // For each image n: G[n] (C,C) = F[n]^T F[n] / (C*HW), F (N,HW,C).
  // G is overwritten.
  void gram(float* G, const float* F, int N, int HW, int C, GramMethod method = GramMethod::Syrk);

  // For each image n: dF[n] (HW,C) += scale * F[n] (HW,C) D[n] (C,C).
  // D holds N matrices one after another (stride C*C), or a single matrix
  // used for every image when d_per_image is false.
  // The style loss uses D = G - A and scale = 4*weight / (N*C^2 * C*HW).
  void style_gradient_product(float* dF, const float* F, const float* D, int N, int HW, int C,
                              float scale, bool d_per_image = true);

 private:
  cudaStream_t stream_ = nullptr;
  CublasOptions options_;
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
};

NST_CUDA_END
