// ReLU forward and backward on the device, over activations viewed as flat
// arrays. Memory-bound: each thread moves a float4 per array per iteration
// of a grid-stride loop, so a fixed-size grid covers any n.
//
// float4 access where the pointers allow (kernels/cuda/vector_access.cuh):
// a scalar head until every pointer sits on a 16-byte boundary, float4s, a
// scalar tail; all scalar when they never line up.
//
// Same numerics as nst::cpu::relu_forward/backward: selects, not fmaxf, so
// NaN and -0 come out as the CPU's (0 and 0).
#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

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

// y may alias x: each element is read and then written by the same thread.
__global__ void relu_forward_kernel(float* y, const float* x, size_t n, vec::Split s) {
  const float4* x4 = reinterpret_cast<const float4*>(x + s.head);
  float4* y4 = reinterpret_cast<float4*>(y + s.head);
  vec::for_each(n, s, [&](size_t i) { y4[i] = relu(x4[i]); },  // float4s
                [&](size_t i) { y[i] = relu(x[i]); });         // head and tail
}

// dx may alias dy (in place), so neither is __restrict__.
__global__ void relu_backward_kernel(float* dx, const float* dy, const float* __restrict__ y,
                                     size_t n, vec::Split s) {
  const float4* dy4 = reinterpret_cast<const float4*>(dy + s.head);
  const float4* y4 = reinterpret_cast<const float4*>(y + s.head);
  float4* dx4 = reinterpret_cast<float4*>(dx + s.head);
  vec::for_each(n, s, [&](size_t i) { dx4[i] = relu_mask(dy4[i], y4[i]); },  // float4s
                [&](size_t i) { dx[i] = relu_mask(dy[i], y[i]); });         // head and tail
}

}  // namespace

// ---- kernel launchers ------------------------------------------------------------

void relu_forward(float* y, const float* x, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const vec::Split s = vec::float4_split(n, {y, x});
  NST_LAUNCH(relu_forward_kernel, vec::blocks_for(n, s), vec::kThreads, 0, stream, y, x, n, s);
}

void relu_backward(float* dx, const float* dy, const float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  const vec::Split s = vec::float4_split(n, {dx, dy, y});
  NST_LAUNCH(relu_backward_kernel, vec::blocks_for(n, s), vec::kThreads, 0, stream, dx, dy, y, n, s);
}

NST_CUDA_END
