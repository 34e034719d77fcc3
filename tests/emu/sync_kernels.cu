// Test kernels: __syncthreads(), static and dynamic shared memory, and
// kernels that are wrong on purpose (divergent barriers, a missing
// barrier, an overflowing shared array, __trap).
#include "tests/emu/kernels.cuh"

namespace emu_test {

// ---- CUDA kernels ----

// Tree reduction in static shared memory; kThreads is a power of two.
template <int kThreads>
__global__ void block_reduce_sum_kernel(float* out, const float* in, int n) {
  NST_SHARED(float[kThreads], partial);
  const int t = threadIdx.x;
  float sum = 0.0f;
  for (int i = blockIdx.x * kThreads + t; i < n; i += gridDim.x * kThreads) sum += in[i];
  partial[t] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

__global__ void neighbour_exchange_kernel(float* out, bool with_barrier) {
  NST_SHARED(float[1024], s);
  const unsigned t = threadIdx.x;
  const unsigned g = blockIdx.x * blockDim.x + t;
  s[t] = static_cast<float>(g + 1);
  if (with_barrier) __syncthreads();
  out[g] = s[(t + 1) % blockDim.x];
}

__global__ void divergent_barrier_kernel(float* out) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  if (threadIdx.x < 16) {
    __syncthreads();
  }
  out[g] = 1.0f;
}

__global__ void early_exit_barrier_kernel(float* out, int n) {
  const int t = threadIdx.x;
  if (t >= n) return;
  out[t] = 1.0f;
  __syncthreads();
  out[t] += 1.0f;
}

__global__ void two_barrier_sites_kernel(float* out) {
  const unsigned t = threadIdx.x;
  if (t % 2 == 0) {
    out[t] = 0.0f;
    __syncthreads();
  } else {
    out[t] = 1.0f;
    __syncthreads();
  }
}

__global__ void fresh_shared_per_block_kernel(int* nan_before) {
  NST_SHARED(float[64], tile);
  const unsigned t = threadIdx.x;
  if (t == 0) {
    int all_nan = 1;
    for (int i = 0; i < 64; ++i) all_nan &= isnan(tile[i]) ? 1 : 0;
    nan_before[blockIdx.x] = all_nan;
  }
  __syncthreads();
  tile[t] = static_cast<float>(blockIdx.x);
}

__global__ void reverse_in_block_kernel(float* out, const float* in) {
  NST_DYNAMIC_SHARED(float, buffer);
  NST_SHARED(float, scale);
  const unsigned t = threadIdx.x;
  const unsigned g = blockIdx.x * blockDim.x + t;
  if (t == 0) scale = 1.0f;
  buffer[t] = in[g];
  __syncthreads();
  out[g] = scale * buffer[blockDim.x - 1 - t];
}

__global__ void dynamic_shared_sum_kernel(float* out, int floats) {
  NST_DYNAMIC_SHARED(float, buffer);
  for (int i = threadIdx.x; i < floats; i += blockDim.x) buffer[i] = 1.0f;
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum = 0.0f;
    for (int i = 0; i < floats; ++i) sum += buffer[i];
    out[blockIdx.x] = sum;
  }
}

__global__ void barrier_votes_kernel(int* out, int k) {
  const int pred = threadIdx.x < static_cast<unsigned>(k);
  const int count = __syncthreads_count(pred);
  const int all = __syncthreads_and(pred);
  const int any = __syncthreads_or(pred);
  if (threadIdx.x == 0) {
    out[0] = count;
    out[1] = all;
    out[2] = any;
  }
}

__global__ void shared_overflow_kernel(float* out) {
  NST_SHARED(float[32], small);
  small[threadIdx.x] = 1.0f;  // 64 threads: half of them write past the end
  __syncthreads();
  if (threadIdx.x == 0) out[0] = small[0];
}

#if defined(NST_EMU)
// nvcc rejects this kernel when it compiles it (ptxas: too much shared
// data); the emulation rejects it when a block first reaches the array.
__global__ void oversized_static_shared_kernel(float* out) {
  NST_SHARED(float[13000], big);  // 52000 bytes > 48 KB
  big[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = big[threadIdx.x];
}
#endif

__global__ void trap_in_block1_kernel(float* out) {
  if (blockIdx.x == 1 && threadIdx.x == 5) __trap();
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1.0f;
}

// ---- kernel launchers ----

void block_reduce_sum(float* out, const float* in, int n, int blocks, int threads,
                      cudaStream_t stream) {
  switch (threads) {
    case 64: NST_LAUNCH(block_reduce_sum_kernel<64>, blocks, 64, 0, stream, out, in, n); break;
    case 256: NST_LAUNCH(block_reduce_sum_kernel<256>, blocks, 256, 0, stream, out, in, n); break;
    case 1024: NST_LAUNCH(block_reduce_sum_kernel<1024>, blocks, 1024, 0, stream, out, in, n); break;
    default: throw nst::InvalidArgument("block_reduce_sum: threads must be 64, 256 or 1024");
  }
}

void neighbour_exchange(float* out, int blocks, int threads, bool with_barrier, cudaStream_t stream) {
  NST_LAUNCH(neighbour_exchange_kernel, blocks, threads, 0, stream, out, with_barrier);
}

void divergent_barrier(float* out, int blocks, int threads, cudaStream_t stream) {
  NST_LAUNCH(divergent_barrier_kernel, blocks, threads, 0, stream, out);
}

void early_exit_barrier(float* out, int n, int threads, cudaStream_t stream) {
  NST_LAUNCH(early_exit_barrier_kernel, 1, threads, 0, stream, out, n);
}

void two_barrier_sites(float* out, int threads, cudaStream_t stream) {
  NST_LAUNCH(two_barrier_sites_kernel, 1, threads, 0, stream, out);
}

void fresh_shared_per_block(int* nan_before, int blocks, cudaStream_t stream) {
  NST_LAUNCH(fresh_shared_per_block_kernel, blocks, 64, 0, stream, nan_before);
}

void reverse_in_block(float* out, const float* in, int blocks, int threads, cudaStream_t stream) {
  NST_LAUNCH(reverse_in_block_kernel, blocks, threads, threads * sizeof(float), stream, out, in);
}

void dynamic_shared_sum(float* out, int floats, cudaStream_t stream) {
  NST_LAUNCH(dynamic_shared_sum_kernel, 2, 128, floats * sizeof(float), stream, out, floats);
}

cudaError_t dynamic_shared_sum_allow(int bytes) {
  return cudaFuncSetAttribute(dynamic_shared_sum_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              bytes);
}

void barrier_votes(int* out, int threads, int k, cudaStream_t stream) {
  NST_LAUNCH(barrier_votes_kernel, 1, threads, 0, stream, out, k);
}

void shared_overflow(float* out, cudaStream_t stream) {
  NST_LAUNCH(shared_overflow_kernel, 1, 64, 0, stream, out);
}

void oversized_static_shared(float* out, cudaStream_t stream) {
#if defined(NST_EMU)
  NST_LAUNCH(oversized_static_shared_kernel, 1, 32, 0, stream, out);
#else
  (void)out;
  (void)stream;
  throw nst::InvalidArgument("oversized_static_shared: emulation only");
#endif
}

void trap_in_block1(float* out, cudaStream_t stream) {
  NST_LAUNCH(trap_in_block1_kernel, 2, 32, 0, stream, out);
}

}  // namespace emu_test
