// Status checks for the vendor libraries, the counterparts of NST_CUDA_CHECK
// (kernels/cuda/common.cuh): each throws nst::DeviceError naming the call
// as written, file:line and the library's name and text for the status.
//   NST_CUBLAS_CHECK(cublasSgemm(...));
//   NST_CUDNN_CHECK(cudnnConvolutionForward(...));   // only with NST_HAVE_CUDNN
// NST_VENDOR_CHECK_PRINT(expr) is for destructors and cleanup paths, which
// must not throw: it prints the same message to stderr and goes on.
#pragma once
#include <cublas_v2.h>

#include <cstdio>
#include <string>

#include "kernels/cuda/common.cuh"

#if NST_HAVE_CUDNN
#include <cudnn.h>
#endif

NST_CUDA_BEGIN
namespace vendor {

inline std::string where(const char* expr, const char* file, int line) {
  return std::string(file) + ":" + std::to_string(line) + ": " + expr + " failed: ";
}

inline std::string describe(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

inline std::string describe(cublasStatus_t status) {
  return std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")";
}

#if NST_HAVE_CUDNN
// cuDNN 9 keeps a thread-local message for the last failure, which often
// names the unsupported parameter; it is appended when present.
inline std::string describe(cudnnStatus_t status) {
  std::string msg = std::string(cudnnGetErrorString(status)) + " (" + std::to_string(static_cast<int>(status)) + ")";
  char last[512] = {0};
  cudnnGetLastErrorString(last, sizeof(last));
  if (last[0] != '\0') msg += ": " + std::string(last);
  return msg;
}
inline bool succeeded(cudnnStatus_t status) { return status == CUDNN_STATUS_SUCCESS; }
#endif

inline bool succeeded(cudaError_t status) { return status == cudaSuccess; }
inline bool succeeded(cublasStatus_t status) { return status == CUBLAS_STATUS_SUCCESS; }

template <typename Status>
void check(Status status, const char* expr, const char* file, int line) {
  if (succeeded(status)) return;
  throw nst::DeviceError(where(expr, file, line) + describe(status));
}

template <typename Status>
void check_print(Status status, const char* expr, const char* file, int line) {
  if (succeeded(status)) return;
  std::fprintf(stderr, "nst: %s\n", (where(expr, file, line) + describe(status)).c_str());
}

}  // namespace vendor
NST_CUDA_END

#define NST_CUBLAS_CHECK(expr) ::nst::cuda::vendor::check<cublasStatus_t>((expr), #expr, __FILE__, __LINE__)
#if NST_HAVE_CUDNN
#define NST_CUDNN_CHECK(expr) ::nst::cuda::vendor::check<cudnnStatus_t>((expr), #expr, __FILE__, __LINE__)
#endif
// Any of cudaError_t, cublasStatus_t, cudnnStatus_t; never throws.
#define NST_VENDOR_CHECK_PRINT(expr) ::nst::cuda::vendor::check_print((expr), #expr, __FILE__, __LINE__)
