// A cudaMalloc'd array for the emu tests: filled from and read back into
// std::vector.
#pragma once
#include <cstddef>
#include <vector>

#include "kernels/cuda/common.cuh"

namespace emu_test {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) { NST_CUDA_CHECK(cudaMalloc(&ptr_, n * sizeof(T))); }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return ptr_; }
  std::size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    NST_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  void zero() { NST_CUDA_CHECK(cudaMemset(ptr_, 0, n_ * sizeof(T))); }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    NST_CUDA_CHECK(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* ptr_ = nullptr;
  std::size_t n_;
};

// 0, 1, 2, ... n-1 as T.
template <typename T>
std::vector<T> iota(std::size_t n, T start = T(0)) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + static_cast<T>(i);
  return v;
}

}  // namespace emu_test
