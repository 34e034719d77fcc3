// cuBLAS Gram and style-gradient product (see cublas_ops.hpp for the
// column-major bookkeeping).
#include "kernels/cuda/vendor/cublas_ops.hpp"

#include <string>

#include "kernels/cuda/vendor/checks.hpp"
#include "kernels/cuda/vendor/layout.hpp"

NST_CUDA_BEGIN

namespace {

void check_sizes(const char* op, int N, int HW, int C) {
  if (N <= 0 || HW <= 0 || C <= 0)
    throw nst::InvalidArgument(std::string(op) + ": sizes must be positive, got N=" + std::to_string(N) +
                               " HW=" + std::to_string(HW) + " C=" + std::to_string(C));
}

}  // namespace

const char* gram_method_name(GramMethod method) {
  switch (method) {
    case GramMethod::Syrk: return "syrk";
    case GramMethod::Gemm: return "gemm";
  }
  return "?";
}

CublasOps::CublasOps(cudaStream_t stream, const CublasOptions& options) : stream_(stream), options_(options) {
  NST_CUBLAS_CHECK(cublasCreate(&handle_));
  try {
    NST_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
    NST_CUBLAS_CHECK(cublasSetPointerMode(handle_, CUBLAS_POINTER_MODE_HOST));
    NST_CUBLAS_CHECK(cublasSetMathMode(handle_, options_.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    if (options_.workspace_bytes > 0) {
      NST_CUDA_CHECK(cudaMalloc(&workspace_, options_.workspace_bytes));
      NST_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, options_.workspace_bytes));
    }
  } catch (...) {
    NST_VENDOR_CHECK_PRINT(cublasDestroy(handle_));
    if (workspace_ != nullptr) NST_VENDOR_CHECK_PRINT(cudaFree(workspace_));
    throw;
  }
}

CublasOps::~CublasOps() {
  // cublasDestroy synchronises the device, so the workspace is idle after it.
  NST_VENDOR_CHECK_PRINT(cublasDestroy(handle_));
  if (workspace_ != nullptr) NST_VENDOR_CHECK_PRINT(cudaFree(workspace_));
}

void CublasOps::set_stream(cudaStream_t stream) {
  // cublasSetStream also resets the workspace to cuBLAS's default pool;
  // give it ours again.
  NST_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  if (workspace_ != nullptr) NST_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, options_.workspace_bytes));
  stream_ = stream;
}

void CublasOps::gram(float* G, const float* F, int N, int HW, int C, GramMethod method) {
  check_sizes("gram", N, HW, C);
  // G (C,C) = alpha * Fc Fc^T with Fc = F[n] seen column-major (C,HW).
  const float alpha = static_cast<float>(1.0 / (static_cast<double>(C) * HW));
  const float beta = 0.f;
  const long long f_stride = static_cast<long long>(HW) * C;
  const long long g_stride = static_cast<long long>(C) * C;
  if (method == GramMethod::Gemm) {
    NST_CUBLAS_CHECK(cublasSgemmStridedBatched(handle_, CUBLAS_OP_N, CUBLAS_OP_T, C, C, HW, &alpha, F, C, f_stride,
                                               F, C, f_stride, &beta, G, C, g_stride, N));
    return;
  }
  // Column-major lower triangle (row >= col) = row-major upper triangle.
  for (int n = 0; n < N; ++n) {
    NST_CUBLAS_CHECK(cublasSsyrk(handle_, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, C, HW, &alpha, F + n * f_stride, C,
                                 &beta, G + n * g_stride, C));
  }
  vendor::symmetrize_upper_to_lower(G, N, C, stream_);
}

void CublasOps::style_gradient_product(float* dF, const float* F, const float* D, int N, int HW, int C, float scale,
                                       bool d_per_image) {
  check_sizes("style_gradient_product", N, HW, C);
  // dFc (C,HW) += scale * D' (C,C) Fc (C,HW), D' = D^T as stored.
  const float beta = 1.f;
  const long long f_stride = static_cast<long long>(HW) * C;
  const long long d_stride = static_cast<long long>(C) * C;
  if (d_per_image) {
    NST_CUBLAS_CHECK(cublasSgemmStridedBatched(handle_, CUBLAS_OP_N, CUBLAS_OP_N, C, HW, C, &scale, D, C, d_stride, F,
                                               C, f_stride, &beta, dF, C, f_stride, N));
    return;
  }
  // One D for all images: a GEMM each (a zero batch stride is not a
  // documented cuBLAS feature, so it is not relied on).
  for (int n = 0; n < N; ++n) {
    NST_CUBLAS_CHECK(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, C, HW, C, &scale, D, C, F + n * f_stride, C, &beta,
                                 dF + n * f_stride, C));
  }
}

NST_CUDA_END
