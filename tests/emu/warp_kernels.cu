// Test kernels: warp shuffles, votes and reductions, __syncwarp, and warp
// intrinsics used wrongly on purpose.
#include "tests/emu/kernels.cuh"

namespace emu_test {

namespace {
constexpr unsigned kFullMask = 0xffffffffu;
}

// ---- CUDA kernels ----

__global__ void warp_reduce_sum_kernel(float* out, const float* in) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  float v = in[g];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(kFullMask, v, offset);
  if (threadIdx.x % 32 == 0) out[g / 32] = v;
}

__global__ void warp_allreduce_kernel(float* out, const float* in) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  float v = in[g];
  for (int mask = 16; mask > 0; mask /= 2) v += __shfl_xor_sync(kFullMask, v, mask);
  out[g] = v;
}

__global__ void warp_broadcast_kernel(float* out, const float* in, int src) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  out[g] = __shfl_sync(kFullMask, in[g], src);
}

__global__ void warp_scan_kernel(float* out, const float* in) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned lane = threadIdx.x % 32;
  float v = in[g];
  for (unsigned offset = 1; offset < 32; offset *= 2) {
    const float before = __shfl_up_sync(kFullMask, v, offset);
    if (lane >= offset) v += before;
  }
  out[g] = v;
}

__global__ void warp_votes_kernel(unsigned* out, const float* in) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  const int positive = in[g] > 0.0f;
  const unsigned ballot = __ballot_sync(kFullMask, positive);
  const int all = __all_sync(kFullMask, positive);
  const int any = __any_sync(kFullMask, positive);
  if (threadIdx.x % 32 == 0) {
    out[3 * (g / 32) + 0] = ballot;
    out[3 * (g / 32) + 1] = static_cast<unsigned>(all);
    out[3 * (g / 32) + 2] = static_cast<unsigned>(any);
  }
}

__global__ void segment_reduce_kernel(float* out, const float* in, int width) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  float v = in[g];
  for (int offset = width / 2; offset > 0; offset /= 2) {
    v += __shfl_down_sync(kFullMask, v, offset, width);
  }
  out[g] = v;
}

__global__ void warp_reduce_int_kernel(int* out, const int* in, int warps) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  const int sum = __reduce_add_sync(kFullMask, in[g]);
  const int biggest = __reduce_max_sync(kFullMask, in[g]);
  if (threadIdx.x % 32 == 0) {
    out[g / 32] = sum;
    out[warps + g / 32] = biggest;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(kFullMask, v, offset);
  return v;
}

template <int kThreads>
__global__ void block_reduce_shuffle_kernel(float* out, const float* in) {
  NST_SHARED(float[kThreads / 32], warp_sums);
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  const unsigned warp = t / 32;
  const float v = warp_sum(in[blockIdx.x * kThreads + t]);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const float s = warp_sum(lane < kThreads / 32 ? warp_sums[lane] : 0.0f);
    if (lane == 0) out[blockIdx.x] = s;
  }
}

__global__ void shuffle_after_exit_kernel(float* out) {
  const unsigned lane = threadIdx.x % 32;
  if (lane >= 16) return;
  out[lane] = __shfl_down_sync(kFullMask, static_cast<float>(lane), 1);
}

__global__ void shuffle_mask_without_self_kernel(float* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, static_cast<float>(threadIdx.x), 0);
}

__global__ void split_syncwarp_kernel(float* out, const float* in) {
  NST_SHARED(float[32], s);
  const unsigned lane = threadIdx.x;
  s[lane] = in[lane];
  if (lane < 16) {
    __syncwarp(0x0000ffffu);
    out[lane] = s[15 - lane];
  } else {
    __syncwarp(0xffff0000u);
    out[lane] = s[47 - lane];
  }
}

__global__ void shuffle_outside_mask_kernel(float* out, const float* in) {
  const unsigned lane = threadIdx.x;
  float v = in[lane];
  if (lane < 16) v = __shfl_down_sync(0x0000ffffu, v, 8);
  out[lane] = v;
}

__global__ void shuffle_bad_width_kernel(float* out) {
  out[threadIdx.x] = __shfl_down_sync(kFullMask, 1.0f, 1, 12);
}

// ---- kernel launchers ----

void warp_reduce_sum(float* out, const float* in, int warps, cudaStream_t stream) {
  NST_LAUNCH(warp_reduce_sum_kernel, warps, 32, 0, stream, out, in);
}

void warp_allreduce(float* out, const float* in, int warps, cudaStream_t stream) {
  NST_LAUNCH(warp_allreduce_kernel, 1, 32 * warps, 0, stream, out, in);
}

void warp_broadcast(float* out, const float* in, int src, int warps, cudaStream_t stream) {
  NST_LAUNCH(warp_broadcast_kernel, warps, 32, 0, stream, out, in, src);
}

void warp_scan(float* out, const float* in, int warps, cudaStream_t stream) {
  NST_LAUNCH(warp_scan_kernel, 1, 32 * warps, 0, stream, out, in);
}

void warp_votes(unsigned* out, const float* in, int warps, cudaStream_t stream) {
  NST_LAUNCH(warp_votes_kernel, 1, 32 * warps, 0, stream, out, in);
}

void segment_reduce(float* out, const float* in, int width, int warps, cudaStream_t stream) {
  NST_LAUNCH(segment_reduce_kernel, warps, 32, 0, stream, out, in, width);
}

void warp_reduce_int(int* out, const int* in, int warps, cudaStream_t stream) {
  NST_LAUNCH(warp_reduce_int_kernel, 1, 32 * warps, 0, stream, out, in, warps);
}

void block_reduce_shuffle(float* out, const float* in, int blocks, int threads, cudaStream_t stream) {
  switch (threads) {
    case 256: NST_LAUNCH(block_reduce_shuffle_kernel<256>, blocks, 256, 0, stream, out, in); break;
    case 1024: NST_LAUNCH(block_reduce_shuffle_kernel<1024>, blocks, 1024, 0, stream, out, in); break;
    default: throw nst::InvalidArgument("block_reduce_shuffle: threads must be 256 or 1024");
  }
}

void shuffle_after_exit(float* out, cudaStream_t stream) {
  NST_LAUNCH(shuffle_after_exit_kernel, 1, 32, 0, stream, out);
}

void shuffle_mask_without_self(float* out, cudaStream_t stream) {
  NST_LAUNCH(shuffle_mask_without_self_kernel, 1, 32, 0, stream, out);
}

void split_syncwarp(float* out, const float* in, cudaStream_t stream) {
  NST_LAUNCH(split_syncwarp_kernel, 1, 32, 0, stream, out, in);
}

void shuffle_outside_mask(float* out, const float* in, cudaStream_t stream) {
  NST_LAUNCH(shuffle_outside_mask_kernel, 1, 32, 0, stream, out, in);
}

void shuffle_bad_width(float* out, cudaStream_t stream) {
  NST_LAUNCH(shuffle_bad_width_kernel, 1, 32, 0, stream, out);
}

}  // namespace emu_test
