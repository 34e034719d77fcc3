// ReLU forward and backward on the device, over activations viewed as flat
// arrays. Memory-bound: each thread moves a float4 per array per iteration
// of a grid-stride loop, so a fixed-size grid covers any n.
//
// float4 access needs 16-byte aligned addresses. Elements [0, head) are
// done one at a time until every pointer sits on a 16-byte boundary, then
// `vecs` float4s, then the scalar tail. Pointers whose offsets from a
// 16-byte boundary differ never line up; then everything takes the scalar
// loop (only odd sub-views do that: cudaMalloc returns 256-byte alignment).
//
// Same numerics as nst::cpu::relu_forward/backward: selects, not fmaxf, so
// NaN and -0 come out as the CPU's (0 and 0).
#include <algorithm>
#include <initializer_list>

#include "kernels/cuda/elementwise.hpp"

NST_CUDA_BEGIN
namespace {

constexpr unsigned kThreads = 256;
// Enough blocks to fill any current GPU several times over (an H100 holds
// 132 SMs x 8 such blocks); past that, threads loop instead.
constexpr size_t kMaxBlocks = 4096;

// [0, head) scalar, [head, head + 4*vecs) as float4, the rest scalar.
struct Float4Split {
  size_t head, vecs;
};

// ---- CUDA kernels --------------------------------------------------------------

__device__ __forceinline__ float relu(float x) { return x > 0.f ? x : 0.f; }
__device__ __forceinline__ float4 relu(float4 x) {
  return make_float4(relu(x.x), relu(x.y), relu(x.z), relu(x.w));
}
// The gradient passes where the forward output was positive.
__device__ __forceinline__ float relu_mask(float dy, float y) { return y > 0.f ? dy : 0.f; }
__device__ __forceinline__ float4 relu_mask(float4 dy, float4 y) {
  return make_float4(relu_mask(dy.x, y.x), relu_mask(dy.y, y.y), relu_mask(dy.z, y.z),
                     relu_mask(dy.w, y.w));
}

__device__ __forceinline__ size_t global_thread() {
  return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ size_t grid_threads() {
  return static_cast<size_t>(gridDim.x) * blockDim.x;
}

// y may alias x: each element is read and then written by the same thread.
__global__ void relu_forward_kernel(float* y, const float* x, size_t n, Float4Split s) {
  const size_t first = global_thread(), stride = grid_threads();
  const float4* x4 = reinterpret_cast<const float4*>(x + s.head);
  float4* y4 = reinterpret_cast<float4*>(y + s.head);
  for (size_t i = first; i < s.vecs; i += stride) y4[i] = relu(x4[i]);
  for (size_t i = first; i < s.head; i += stride) y[i] = relu(x[i]);
  for (size_t i = s.head + 4 * s.vecs + first; i < n; i += stride) y[i] = relu(x[i]);
}

// dx may alias dy (in place), so neither is __restrict__.
__global__ void relu_backward_kernel(float* dx, const float* dy, const float* __restrict__ y,
                                     size_t n, Float4Split s) {
  const size_t first = global_thread(), stride = grid_threads();
  const float4* dy4 = reinterpret_cast<const float4*>(dy + s.head);
  const float4* y4 = reinterpret_cast<const float4*>(y + s.head);
  float4* dx4 = reinterpret_cast<float4*>(dx + s.head);
  for (size_t i = first; i < s.vecs; i += stride) dx4[i] = relu_mask(dy4[i], y4[i]);
  for (size_t i = first; i < s.head; i += stride) dx[i] = relu_mask(dy[i], y[i]);
  for (size_t i = s.head + 4 * s.vecs + first; i < n; i += stride) dx[i] = relu_mask(dy[i], y[i]);
}

// ---- kernel launchers ------------------------------------------------------------

Float4Split float4_split(size_t n, std::initializer_list<const void*> ptrs) {
  const uintptr_t offset = reinterpret_cast<uintptr_t>(*ptrs.begin()) % 16;
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != offset) return {0, 0};
  if (offset % sizeof(float) != 0) return {0, 0};
  const size_t head = std::min(n, (16 - offset) % 16 / sizeof(float));
  return {head, (n - head) / 4};
}

// One thread per float4, or per element where the scalar loops are longer.
unsigned blocks_for(size_t n, Float4Split s) {
  const size_t items = std::max(s.vecs, n - 4 * s.vecs);
  return static_cast<unsigned>(std::min(ceil_div<size_t>(items, kThreads), kMaxBlocks));
}

}  // namespace

void relu_forward(float* y, const float* x, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const Float4Split s = float4_split(n, {y, x});
  NST_LAUNCH(relu_forward_kernel, blocks_for(n, s), kThreads, 0, stream, y, x, n, s);
}

void relu_backward(float* dx, const float* dy, const float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const Float4Split s = float4_split(n, {dx, dy, y});
  NST_LAUNCH(relu_backward_kernel, blocks_for(n, s), kThreads, 0, stream, dx, dy, y, n, s);
}

NST_CUDA_END
