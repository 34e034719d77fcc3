// Test kernels: built-in index variables and simple grid-stride loops.
#include "tests/emu/kernels.cuh"

namespace emu_test {

// ---- CUDA kernels ----

__global__ void record_indices_kernel(int* out) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned g = block * (blockDim.x * blockDim.y * blockDim.z) + thread;
  int* r = out + 12 * g;
  r[0] = threadIdx.x;
  r[1] = threadIdx.y;
  r[2] = threadIdx.z;
  r[3] = blockIdx.x;
  r[4] = blockIdx.y;
  r[5] = blockIdx.z;
  r[6] = blockDim.x;
  r[7] = blockDim.y;
  r[8] = blockDim.z;
  r[9] = gridDim.x;
  r[10] = gridDim.y;
  r[11] = gridDim.z;
}

__global__ void saxpy_kernel(float* __restrict__ out, const float* __restrict__ x,
                             const float* __restrict__ y, float a, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    out[i] = a * x[i] + y[i];
  }
}

__global__ void scale2_kernel(float* out, const float* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = 2.0f * in[i];
}

// ---- kernel launchers ----

void record_indices(int* out, dim3 grid, dim3 block, cudaStream_t stream) {
  NST_LAUNCH(record_indices_kernel, grid, block, 0, stream, out);
}

void saxpy(float* out, const float* x, const float* y, float a, int n, cudaStream_t stream) {
  NST_LAUNCH(saxpy_kernel, 7, 64, 0, stream, out, x, y, a, n);
}

void scale2(float* out, const float* in, int n, cudaStream_t stream) {
  NST_LAUNCH(scale2_kernel, nst::cuda::ceil_div(n, 128), 128, 0, stream, out, in, n);
}

void scale2_config(float* out, const float* in, int n, dim3 grid, dim3 block,
                   std::size_t shared_bytes, cudaStream_t stream) {
  NST_LAUNCH(scale2_kernel, grid, block, shared_bytes, stream, out, in, n);
}

}  // namespace emu_test
