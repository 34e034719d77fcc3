// Launchers of the test kernels (tests/emu/*.cu). The kernels are plain
// CUDA: the emu tests run them on the CPU, and with CUDA present nvcc
// compiles the same files, so both compilers accept the one source.
// Pointers are device pointers; every launcher takes its stream last.
#pragma once
#include "kernels/cuda/common.cuh"

namespace emu_test {

// ---- indexing_kernels.cu ----
// out[12*g + 0..11] = threadIdx, blockIdx, blockDim, gridDim (x,y,z each) of
// the thread with global linear index g (blocks x-fastest, then threads).
void record_indices(int* out, dim3 grid, dim3 block, cudaStream_t stream = nullptr);
// out[i] = a * x[i] + y[i], grid-stride loop.
void saxpy(float* out, const float* x, const float* y, float a, int n, cudaStream_t stream = nullptr);
// out[i] = in[i] * 2; used for streams and events.
void scale2(float* out, const float* in, int n, cudaStream_t stream = nullptr);
// Launched as written: lets tests pick any configuration.
void scale2_config(float* out, const float* in, int n, dim3 grid, dim3 block, std::size_t shared_bytes,
                   cudaStream_t stream = nullptr);

// ---- sync_kernels.cu ----
// out[b] = sum of in over block b's grid-stride share; static shared tree
// reduction with kThreads threads per block (64, 256 or 1024).
void block_reduce_sum(float* out, const float* in, int n, int blocks, int threads,
                      cudaStream_t stream = nullptr);
// out[g] = s[(t + 1) % blockDim.x] after every thread wrote s[t] = g + 1;
// racy without the barrier.
void neighbour_exchange(float* out, int blocks, int threads, bool with_barrier,
                        cudaStream_t stream = nullptr);
// Only threads with threadIdx.x < 16 reach __syncthreads().
void divergent_barrier(float* out, int blocks, int threads, cudaStream_t stream = nullptr);
// Threads with threadIdx.x >= n return before the barrier.
void early_exit_barrier(float* out, int n, int threads, cudaStream_t stream = nullptr);
// Even and odd threads wait at two different __syncthreads().
void two_barrier_sites(float* out, int threads, cudaStream_t stream = nullptr);
// nan_before[b] = 1 if block b found all of its static shared tile NaN
// before writing it; then every block writes its own index into the tile.
void fresh_shared_per_block(int* nan_before, int blocks, cudaStream_t stream = nullptr);
// out[g] = in[block reversed]: each block reverses its slice through
// dynamic shared memory (threads * 4 bytes) and a static shared scale.
void reverse_in_block(float* out, const float* in, int blocks, int threads,
                      cudaStream_t stream = nullptr);
// out[b] = sum of floats * 1.0 over `floats` dynamic shared floats, after
// each thread filled its share with 1.0f.
void dynamic_shared_sum(float* out, int floats, cudaStream_t stream = nullptr);
// Lets tests opt dynamic_shared_sum in to large dynamic shared memory.
cudaError_t dynamic_shared_sum_allow(int bytes);
// out[0..2] = __syncthreads_count/and/or of (threadIdx.x < k).
void barrier_votes(int* out, int threads, int k, cudaStream_t stream = nullptr);
// Writes 32 floats past the end of a 32-float static shared array.
void shared_overflow(float* out, cudaStream_t stream = nullptr);
// A static shared array of `kBytes` bytes: over the 48 KB limit.
void oversized_static_shared(float* out, cudaStream_t stream = nullptr);
// Thread 5 of block 1 calls __trap().
void trap_in_block1(float* out, cudaStream_t stream = nullptr);

// ---- warp_kernels.cu ----
// out[w] = sum over warp w of in (shfl_down tree), lane 0 writes.
void warp_reduce_sum(float* out, const float* in, int warps, cudaStream_t stream = nullptr);
// out[g] = sum over the warp (shfl_xor butterfly, every lane).
void warp_allreduce(float* out, const float* in, int warps, cudaStream_t stream = nullptr);
// out[g] = in of lane src of the same warp.
void warp_broadcast(float* out, const float* in, int src, int warps, cudaStream_t stream = nullptr);
// out[g] = inclusive prefix sum within the warp (shfl_up).
void warp_scan(float* out, const float* in, int warps, cudaStream_t stream = nullptr);
// out[3*w + 0..2] = ballot, all, any of (in > 0) over warp w.
void warp_votes(unsigned* out, const float* in, int warps, cudaStream_t stream = nullptr);
// out[g] = sum over segments of `width` lanes (shfl_down with width).
void segment_reduce(float* out, const float* in, int width, int warps, cudaStream_t stream = nullptr);
// out[w] = __reduce_add_sync and out[warps + w] = __reduce_max_sync of int in.
void warp_reduce_int(int* out, const int* in, int warps, cudaStream_t stream = nullptr);
// out[b] = sum of the block's in: warp shuffles, then one warp over the warp
// sums in static shared memory.
void block_reduce_shuffle(float* out, const float* in, int blocks, int threads,
                          cudaStream_t stream = nullptr);
// Lanes >= 16 exit; the others shuffle with the full mask.
void shuffle_after_exit(float* out, cudaStream_t stream = nullptr);
// Every lane shuffles with mask 0x1 (lane 0 only).
void shuffle_mask_without_self(float* out, cudaStream_t stream = nullptr);
// Lanes 0-15 sync on 0x0000ffff, lanes 16-31 on 0xffff0000, at different
// sites, then exchange through shared memory.
void split_syncwarp(float* out, const float* in, cudaStream_t stream = nullptr);
// Lanes 0-15 shuffle down by 8 with mask 0x0000ffff: lanes 8-15 read outside it.
void shuffle_outside_mask(float* out, const float* in, cudaStream_t stream = nullptr);
// A shuffle with width 12 (not a power of two).
void shuffle_bad_width(float* out, cudaStream_t stream = nullptr);

// ---- memory_kernels.cu ----
// bins[in[i] % nbins] += 1 with atomicAdd; every thread hits few bins.
void histogram(unsigned* bins, const int* in, int n, int nbins, cudaStream_t stream = nullptr);
// Same, through a shared-memory histogram merged with atomics.
void histogram_shared(unsigned* bins, const int* in, int n, cudaStream_t stream = nullptr);
// total[0] += in[i] (float atomicAdd).
void atomic_sum(float* total, const float* in, int n, cudaStream_t stream = nullptr);
// lo[0] = min, hi[0] = max of in (atomicMin/atomicMax).
void atomic_min_max(int* lo, int* hi, const int* in, int n, cudaStream_t stream = nullptr);
// tickets[g] = the counter value a CAS loop claimed.
void cas_tickets(int* tickets, int* counter, int n, cudaStream_t stream = nullptr);
// out[i] = 1 for i < n + extra: writes `extra` floats past the end.
void write_past_end(float* out, int n, int extra, cudaStream_t stream = nullptr);
// out[i] = in[i + 1] for i < n: reads one float past the end of in.
void read_past_end(float* out, const float* in, int n, cudaStream_t stream = nullptr);
// out[i] = in[i] * scale[i % 4] with scale in __constant__ memory.
cudaError_t set_constant_scale(const float scale[4]);
void constant_scale(float* out, const float* in, int n, cudaStream_t stream = nullptr);
// out[8*i + k] = intrinsic k of in[i]: __expf, rsqrtf, fmaf(x,x,1),
// __fdividef(1,x), sqrtf, fmaxf(x,0.5), __saturatef, __int_as_float(__float_as_int(x)).
void math_intrinsics(float* out, const float* in, int n, cudaStream_t stream = nullptr);
// out[i] = in[i] * 2 through float4 loads (__ldg) and make_float4.
void scale_float4(float4* out, const float4* in, int n4, cudaStream_t stream = nullptr);

}  // namespace emu_test
