// Test kernels: atomics under contention, constant memory, intrinsics,
// vector loads, and out-of-bounds accesses on purpose.
#include "tests/emu/kernels.cuh"

namespace emu_test {

__constant__ float kScale[4];

// ---- CUDA kernels ----

__global__ void histogram_kernel(unsigned* bins, const int* in, int n, int nbins) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    atomicAdd(&bins[in[i] % nbins], 1u);
  }
}

__global__ void histogram_shared_kernel(unsigned* bins, const int* in, int n) {
  NST_SHARED(unsigned[16], local);
  if (threadIdx.x < 16) local[threadIdx.x] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    atomicAdd(&local[in[i] % 16], 1u);
  }
  __syncthreads();
  if (threadIdx.x < 16) atomicAdd(&bins[threadIdx.x], local[threadIdx.x]);
}

__global__ void atomic_sum_kernel(float* total, const float* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) atomicAdd(total, in[i]);
}

__global__ void atomic_min_max_kernel(int* lo, int* hi, const int* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    atomicMin(lo, in[i]);
    atomicMax(hi, in[i]);
  }
}

__global__ void cas_tickets_kernel(int* tickets, int* counter, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int seen = *counter;
  for (;;) {
    const int old = atomicCAS(counter, seen, seen + 1);
    if (old == seen) break;
    seen = old;
  }
  tickets[i] = seen;
}

__global__ void write_past_end_kernel(float* out, int count) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) out[i] = 1.0f;
}

__global__ void read_past_end_kernel(float* out, const float* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i + 1];
}

__global__ void constant_scale_kernel(float* out, const float* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * kScale[i % 4];
}

__global__ void math_intrinsics_kernel(float* out, const float* in, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float x = in[i];
  float* r = out + 8 * i;
  r[0] = __expf(x);
  r[1] = rsqrtf(x);
  r[2] = fmaf(x, x, 1.0f);
  r[3] = __fdividef(1.0f, x);
  r[4] = sqrtf(x);
  r[5] = fmaxf(x, 0.5f);
  r[6] = __saturatef(x);
  r[7] = __int_as_float(__float_as_int(x));
}

__global__ void scale_float4_kernel(float4* out, const float4* in, int n4) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n4) return;
  const float4 v = __ldg(&in[i]);
  out[i] = make_float4(2.0f * v.x, 2.0f * v.y, 2.0f * v.z, 2.0f * v.w);
}

// ---- kernel launchers ----

void histogram(unsigned* bins, const int* in, int n, int nbins, cudaStream_t stream) {
  NST_LAUNCH(histogram_kernel, 4, 256, 0, stream, bins, in, n, nbins);
}

void histogram_shared(unsigned* bins, const int* in, int n, cudaStream_t stream) {
  NST_LAUNCH(histogram_shared_kernel, 3, 128, 0, stream, bins, in, n);
}

void atomic_sum(float* total, const float* in, int n, cudaStream_t stream) {
  NST_LAUNCH(atomic_sum_kernel, nst::cuda::ceil_div(n, 256), 256, 0, stream, total, in, n);
}

void atomic_min_max(int* lo, int* hi, const int* in, int n, cudaStream_t stream) {
  NST_LAUNCH(atomic_min_max_kernel, nst::cuda::ceil_div(n, 256), 256, 0, stream, lo, hi, in, n);
}

void cas_tickets(int* tickets, int* counter, int n, cudaStream_t stream) {
  NST_LAUNCH(cas_tickets_kernel, nst::cuda::ceil_div(n, 128), 128, 0, stream, tickets, counter, n);
}

void write_past_end(float* out, int n, int extra, cudaStream_t stream) {
  const int count = n + extra;
  NST_LAUNCH(write_past_end_kernel, nst::cuda::ceil_div(count, 64), 64, 0, stream, out, count);
}

void read_past_end(float* out, const float* in, int n, cudaStream_t stream) {
  NST_LAUNCH(read_past_end_kernel, nst::cuda::ceil_div(n, 64), 64, 0, stream, out, in, n);
}

cudaError_t set_constant_scale(const float scale[4]) {
  return cudaMemcpyToSymbol(kScale, scale, 4 * sizeof(float));
}

void constant_scale(float* out, const float* in, int n, cudaStream_t stream) {
  NST_LAUNCH(constant_scale_kernel, nst::cuda::ceil_div(n, 64), 64, 0, stream, out, in, n);
}

void math_intrinsics(float* out, const float* in, int n, cudaStream_t stream) {
  NST_LAUNCH(math_intrinsics_kernel, nst::cuda::ceil_div(n, 64), 64, 0, stream, out, in, n);
}

void scale_float4(float4* out, const float4* in, int n4, cudaStream_t stream) {
  NST_LAUNCH(scale_float4_kernel, nst::cuda::ceil_div(n4, 64), 64, 0, stream, out, in, n4);
}

}  // namespace emu_test
