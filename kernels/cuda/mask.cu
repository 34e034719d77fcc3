// Per-pixel scaling on the device, broadcast over channels: what a mask does
// to a feature map (the masked loss terms, engine/objective.cpp).
//   y[p,c] = m[p] * x[p,c]               (ACCUMULATE false; y may alias x)
//   y[p,c] = fmaf(m[p], x[p,c], y[p,c])  (ACCUMULATE true)
// Same numerics as nst::cpu::pixel_scale, bit for bit: one rounding each.
//
// Memory-bound, a grid-stride loop over the flat (pixels*C) array. Every VGG
// layer has C a multiple of 4, so four consecutive elements share a pixel
// and move as one float4 when y and x sit on 16-byte boundaries (arena
// buffers do); anything else takes the scalar kernel.
#include <cstdint>
#include <string>

#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

// ---- CUDA kernels --------------------------------------------------------------

template <bool ACCUMULATE>
__device__ __forceinline__ float scaled(float s, float x, float y) {
  return ACCUMULATE ? fmaf(s, x, y) : __fmul_rn(s, x);
}

// One element per iteration; m is read once per element (cached: C threads
// in a row read the same value).
template <bool ACCUMULATE>
__global__ void pixel_scale_kernel(float* y, const float* x, const float* __restrict__ m, size_t n, size_t C) {
  const size_t stride = vec::grid_threads();
  for (size_t i = vec::global_thread(); i < n; i += stride) {
    const float s = __ldg(m + i / C);
    y[i] = scaled<ACCUMULATE>(s, x[i], ACCUMULATE ? y[i] : 0.f);
  }
}

// Four elements (one pixel's, as C % 4 == 0) per iteration; groups = n / 4,
// channel groups per pixel c4 = C / 4.
template <bool ACCUMULATE>
__global__ void pixel_scale4_kernel(float* y, const float* x, const float* __restrict__ m, size_t groups,
                                    size_t c4) {
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float4* y4 = reinterpret_cast<float4*>(y);
  const size_t stride = vec::grid_threads();
  for (size_t g = vec::global_thread(); g < groups; g += stride) {
    const float s = __ldg(m + g / c4);
    const float4 v = x4[g];
    const float4 old = ACCUMULATE ? y4[g] : make_float4(0.f, 0.f, 0.f, 0.f);
    y4[g] = make_float4(scaled<ACCUMULATE>(s, v.x, old.x), scaled<ACCUMULATE>(s, v.y, old.y),
                        scaled<ACCUMULATE>(s, v.z, old.z), scaled<ACCUMULATE>(s, v.w, old.w));
  }
}

template <bool ACCUMULATE>
void launch_pixel_scale(float* y, const float* x, const float* m, size_t pixels, int C, cudaStream_t stream) {
  const size_t n = pixels * static_cast<size_t>(C);
  const bool aligned = (reinterpret_cast<uintptr_t>(y) | reinterpret_cast<uintptr_t>(x)) % 16 == 0;
  if (C % 4 == 0 && aligned) {
    const size_t groups = n / 4;
    NST_LAUNCH(pixel_scale4_kernel<ACCUMULATE>, vec::grid_stride_blocks(groups), vec::kThreads, 0, stream, y, x, m,
               groups, static_cast<size_t>(C / 4));
  } else {
    NST_LAUNCH(pixel_scale_kernel<ACCUMULATE>, vec::grid_stride_blocks(n), vec::kThreads, 0, stream, y, x, m, n,
               static_cast<size_t>(C));
  }
}

}  // namespace

// ---- kernel launchers ------------------------------------------------------------

void pixel_scale(float* y, const float* x, const float* m, size_t pixels, int C, bool accumulate,
                 cudaStream_t stream) {
  if (C < 0) throw nst::InvalidArgument("cuda::pixel_scale: negative channel count " + std::to_string(C));
  if (pixels == 0 || C == 0) return;
  if (accumulate) {
    launch_pixel_scale<true>(y, x, m, pixels, C, stream);
  } else {
    launch_pixel_scale<false>(y, x, m, pixels, C, stream);
  }
}

NST_CUDA_END
