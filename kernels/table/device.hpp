// What the table's device variants share: a cudaMalloc'd scratch array,
// freed with its owner (a variant's prepared state).
#pragma once
#include <cstddef>

#include "kernels/cuda/common.cuh"
#include "kernels/table/op_table.hpp"

NST_TABLE_BEGIN

class DeviceScratch {
 public:
  DeviceScratch() = default;
  explicit DeviceScratch(size_t floats) : n_(floats) {
    if (floats > 0) NST_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), floats * sizeof(float)));
  }
  ~DeviceScratch() {
    if (p_ != nullptr) cudaFree(p_);  // no throwing from a destructor
  }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  float* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

inline cudaStream_t stream_of(const Call& c) { return static_cast<cudaStream_t>(c.stream); }

NST_TABLE_END
