// BLAS-1 vector ops on the device (see blas1.hpp): dot, asum, axpy, scal.
//
// dot and asum are two launches: sum_kernel, a grid of blocks whose count
// depends on n alone, each block summing its grid-stride share in double
// and storing one partial (kernels/cuda/reduce.cuh); then finish_kernel, a
// single block, adds the partials in a fixed order and writes the float.
// The products of two floats are exact in double, so fused or not, the
// terms are the same.
//
// Memory-bound: float4 access as in adam.cu (kernels/cuda/vector_access.cuh):
// a scalar head until every pointer is 16-byte aligned, float4s, a scalar
// tail; all scalar when the pointers never align. The split depends on the
// pointers' alignment, so the order of a sum does too (it is fixed for
// fixed pointers, as in a replayed CUDA graph).
#include <algorithm>
#include <initializer_list>
#include <string>

#include "kernels/cuda/blas1.hpp"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

constexpr int kThreads = reduce::kThreads;
static_assert(static_cast<unsigned>(kThreads) == vec::kThreads,
              "the sums use vector_access's grid-stride loops in reduce.cuh's blocks");

// ---- CUDA kernels ---------------------------------------------------------------

__device__ __forceinline__ double product_sum(float4 a, float4 b) {
  return static_cast<double>(a.x) * b.x + static_cast<double>(a.y) * b.y + static_cast<double>(a.z) * b.z +
         static_cast<double>(a.w) * b.w;
}

__device__ __forceinline__ double abs_sum(float4 a) {
  return fabs(static_cast<double>(a.x)) + fabs(static_cast<double>(a.y)) + fabs(static_cast<double>(a.z)) +
         fabs(static_cast<double>(a.w));
}

// One partial per block: sum a[i] * b[i] over its share of [0, n).
__global__ void __launch_bounds__(kThreads)
    dot_kernel(float* __restrict__ partials, const float* __restrict__ a, const float* __restrict__ b, size_t n,
               vec::Split s) {
  const float4* a4 = reinterpret_cast<const float4*>(a + s.head);
  const float4* b4 = reinterpret_cast<const float4*>(b + s.head);
  double sum = 0.0;
  vec::for_each(n, s, [&](size_t i) { sum += product_sum(__ldg(a4 + i), __ldg(b4 + i)); },
                [&](size_t i) { sum += static_cast<double>(__ldg(a + i)) * __ldg(b + i); });
  sum = reduce::block_sum(sum);
  if (threadIdx.x == 0) reduce::store_partial(partials, blockIdx.x, sum);
}

// One partial per block: sum |a[i]| over its share of [0, n).
__global__ void __launch_bounds__(kThreads)
    asum_kernel(float* __restrict__ partials, const float* __restrict__ a, size_t n, vec::Split s) {
  const float4* a4 = reinterpret_cast<const float4*>(a + s.head);
  double sum = 0.0;
  vec::for_each(n, s, [&](size_t i) { sum += abs_sum(__ldg(a4 + i)); },
                [&](size_t i) { sum += fabs(static_cast<double>(__ldg(a + i))); });
  sum = reduce::block_sum(sum);
  if (threadIdx.x == 0) reduce::store_partial(partials, blockIdx.x, sum);
}

// One block: *result = the sum of `count` partials, rounded to float.
__global__ void __launch_bounds__(kThreads)
    finish_kernel(float* result, const float* __restrict__ partials, int count) {
  const double s = reduce::sum_partials(partials, count);
  if (threadIdx.x == 0) *result = static_cast<float>(s);
}

__device__ __forceinline__ float4 fma4(float c, float4 x, float4 y) {
  return make_float4(fmaf(c, x.x, y.x), fmaf(c, x.y, y.y), fmaf(c, x.z, y.z), fmaf(c, x.w, y.w));
}

// y = fma(c, x, y), c = alpha * *scale (one float product) or alpha. y may
// equal x (each element reads its own old value first): no __restrict__.
__global__ void axpy_kernel(float* y, float alpha, const float* scale, const float* x, size_t n, vec::Split s) {
  const float c = scale != nullptr ? __fmul_rn(alpha, *scale) : alpha;
  float4* y4 = reinterpret_cast<float4*>(y + s.head);
  const float4* x4 = reinterpret_cast<const float4*>(x + s.head);
  vec::for_each(n, s, [&](size_t i) { y4[i] = fma4(c, x4[i], y4[i]); },
                [&](size_t i) { y[i] = fmaf(c, x[i], y[i]); });
}

__global__ void scal_kernel(float* __restrict__ x, float alpha, size_t n, vec::Split s) {
  float4* x4 = reinterpret_cast<float4*>(x + s.head);
  vec::for_each(n, s,
                [&](size_t i) {
                  float4 v = x4[i];
                  x4[i] = make_float4(__fmul_rn(v.x, alpha), __fmul_rn(v.y, alpha), __fmul_rn(v.z, alpha),
                                      __fmul_rn(v.w, alpha));
                },
                [&](size_t i) { x[i] = __fmul_rn(x[i], alpha); });
}

// ---- launch shapes ------------------------------------------------------------------

// Blocks of a sum over n elements, from n alone (the order of the partials
// is fixed by it): a float4 per thread, up to one wave of partials; at
// least one block, so that n = 0 writes 0.
int sum_blocks(size_t n) {
  return static_cast<int>(std::clamp<size_t>(ceil_div<size_t>(n, 4 * kThreads), 1, reduce::kMaxPartials));
}

void check_pointers(const char* op, std::initializer_list<const void*> required) {
  for (const void* p : required)
    if (p == nullptr) throw nst::InvalidArgument(std::string("cuda::") + op + ": null device pointer");
}

}  // namespace

// ---- kernel launchers -----------------------------------------------------------

size_t blas1_workspace_floats(size_t n) { return reduce::partial_floats(sum_blocks(n)); }

void dot(float* result, const float* a, const float* b, size_t n, float* workspace, cudaStream_t stream) {
  check_pointers("dot", {result, workspace});
  if (n > 0) check_pointers("dot", {a, b});
  const int blocks = sum_blocks(n);
  NST_LAUNCH(dot_kernel, blocks, kThreads, 0, stream, workspace, a, b, n, vec::float4_split(n, {a, b}));
  NST_LAUNCH(finish_kernel, 1, kThreads, 0, stream, result, workspace, blocks);
}

void asum(float* result, const float* a, size_t n, float* workspace, cudaStream_t stream) {
  check_pointers("asum", {result, workspace});
  if (n > 0) check_pointers("asum", {a});
  const int blocks = sum_blocks(n);
  NST_LAUNCH(asum_kernel, blocks, kThreads, 0, stream, workspace, a, n, vec::float4_split(n, {a}));
  NST_LAUNCH(finish_kernel, 1, kThreads, 0, stream, result, workspace, blocks);
}

void axpy(float* y, float alpha, const float* scale, const float* x, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  check_pointers("axpy", {y, x});
  const vec::Split s = vec::float4_split(n, {y, x});
  NST_LAUNCH(axpy_kernel, vec::blocks_for(n, s), vec::kThreads, 0, stream, y, alpha, scale, x, n, s);
}

void scal(float* x, float alpha, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  check_pointers("scal", {x});
  const vec::Split s = vec::float4_split(n, {x});
  NST_LAUNCH(scal_kernel, vec::blocks_for(n, s), vec::kThreads, 0, stream, x, alpha, n, s);
}

NST_CUDA_END
