// The Adam step on the device, PyTorch's form, in one fused pass over
// x, m, v and g (the optimiser's whole memory traffic: 4 reads, 3 writes
// per element):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   x -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//
// The step number t lives in device memory so that a captured CUDA graph
// replays the same launch while the backend advances the counter; the bias
// corrections are therefore formed on the device, once per block.
//
// Bit-for-bit the arithmetic of nst::cpu::adam_step as GCC compiles it for
// a CPU with FMA (-march=native on any x86-64 since Haswell): corrections
// in double rounded to float, the moment updates fused as
// fma(b1, m, (1-b1) g) and fma(b2, v, ((1-b2) g) g), the rest separate
// correctly rounded float operations. The explicit fmaf and _rn intrinsics
// keep nvcc from contracting differently and -use_fast_math from
// approximating the division and the square root.
//
// float4 access as in relu.cu (kernels/cuda/vector_access.cuh): a scalar
// head until all four pointers are 16-byte aligned, float4s, a scalar tail;
// all scalar when they never align.
#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

// Everything one element's update needs, formed once per thread.
struct AdamCoefficients {
  float lr, beta1, beta2, eps;
  float one_minus_beta1, one_minus_beta2;
  float correction1, correction2;  // 1/(1-b1^t), 1/(1-b2^t)
};

// ---- CUDA kernels --------------------------------------------------------------

// 1/(1-beta^t) in double, rounded to float, as the CPU forms it: for small
// t, 1-beta2^t is ~1e-3 and forming it in float would cost ~1e-5 relative
// error in the step.
__device__ __forceinline__ float bias_correction(float beta, int t) {
  return static_cast<float>(1.0 / (1.0 - pow(static_cast<double>(beta), static_cast<double>(t))));
}

__device__ __forceinline__ void adam_update(float& x, float& m, float& v, float g,
                                            const AdamCoefficients& k) {
  m = fmaf(k.beta1, m, k.one_minus_beta1 * g);
  v = fmaf(k.beta2, v, (k.one_minus_beta2 * g) * g);
  const float step = __fdiv_rn(k.lr * (m * k.correction1),
                               __fsqrt_rn(v * k.correction2) + k.eps);
  x = x - step;
}

__device__ __forceinline__ void adam_update(float4& x, float4& m, float4& v, float4 g,
                                            const AdamCoefficients& k) {
  adam_update(x.x, m.x, v.x, g.x, k);
  adam_update(x.y, m.y, v.y, g.y, k);
  adam_update(x.z, m.z, v.z, g.z, k);
  adam_update(x.w, m.w, v.w, g.w, k);
}

// One element (or float4) at index i of the given arrays.
template <typename T>
__device__ __forceinline__ void adam_at(T* __restrict__ x, T* __restrict__ m, T* __restrict__ v,
                                        const T* __restrict__ g, size_t i,
                                        const AdamCoefficients& k) {
  T xi = x[i], mi = m[i], vi = v[i];
  adam_update(xi, mi, vi, g[i], k);
  x[i] = xi;
  m[i] = mi;
  v[i] = vi;
}

__global__ void adam_step_kernel(float* __restrict__ x, float* __restrict__ m,
                                 float* __restrict__ v, const float* __restrict__ g, size_t n,
                                 AdamParams p, const int* __restrict__ t, vec::Split s) {
  // Two double-precision pows per block rather than per thread: the kernel
  // is memory-bound and each thread handles only a few elements.
  NST_SHARED(float[2], corrections);
  if (threadIdx.x == 0) {
    const int step = *t;
    corrections[0] = bias_correction(p.beta1, step);
    corrections[1] = bias_correction(p.beta2, step);
  }
  __syncthreads();
  const AdamCoefficients k{p.lr,           p.beta1,        p.beta2,        p.eps,
                           1.f - p.beta1,  1.f - p.beta2,  corrections[0], corrections[1]};

  float4* x4 = reinterpret_cast<float4*>(x + s.head);
  float4* m4 = reinterpret_cast<float4*>(m + s.head);
  float4* v4 = reinterpret_cast<float4*>(v + s.head);
  const float4* g4 = reinterpret_cast<const float4*>(g + s.head);
  vec::for_each(n, s, [&](size_t i) { adam_at(x4, m4, v4, g4, i, k); },  // float4s
                [&](size_t i) { adam_at(x, m, v, g, i, k); });         // head and tail
}

}  // namespace

// ---- kernel launchers ------------------------------------------------------------

void adam_step(float* x, float* m, float* v, const float* g, size_t n, AdamParams p, const int* t,
               cudaStream_t stream) {
  if (n == 0) return;
  const vec::Split s = vec::float4_split(n, {x, m, v, g});
  NST_LAUNCH(adam_step_kernel, vec::blocks_for(n, s), vec::kThreads, 0, stream, x, m, v, g, n, p, t, s);
}

NST_CUDA_END
