// Caffe pre/deprocessing on the device, as the Keras VGG16 weights expect:
// RGB bytes -> BGR floats in 0..255 minus the ImageNet mean (in B, G, R
// order), and back, rounded half to even and clamped to 0..255.
//
// Each thread takes four pixels at a time: 12 bytes as three uchar4 and 12
// floats as three float4, so both sides move in whole aligned words. A
// scalar head of up to 3 pixels brings x to a 16-byte and rgb to a 4-byte
// boundary; where no head does both (odd sub-views), every pixel is scalar
// (the split and loops of kernels/cuda/vector_access.cuh, in pixels).
//
// Same arithmetic as nst::cpu::preprocess/deprocess, in double like the
// CPU (the means are double constants): the float and the byte written are
// the CPU's bit for bit. The double work is a few operations per element
// in a kernel that runs once per image.
#include <algorithm>

#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

// ---- CUDA kernels --------------------------------------------------------------

// The caffe mean of BGR channel c.
__device__ __forceinline__ double caffe_mean(int c) {
  return c == 0 ? 103.939 : c == 1 ? 116.779 : 123.68;
}

// x[3p + c] comes from rgb[3p + 2 - c]: BGR from RGB.
__device__ __forceinline__ float preprocessed(uint8_t byte, int c) {
  return static_cast<float>(byte - caffe_mean(c));
}

// Round half to even, then clamp; a NaN becomes 0 (the v >= 0 test fails).
__device__ __forceinline__ uint8_t deprocessed(float x, int c) {
  const double v = nearbyint(static_cast<double>(x) + caffe_mean(c));
  return static_cast<uint8_t>(v >= 0.0 ? fmin(v, 255.0) : 0.0);
}

__device__ __forceinline__ uint8_t byte_of(const uchar4 (&v)[3], int k) {
  const uchar4 w = v[k / 4];
  const int b = k % 4;
  return b == 0 ? w.x : b == 1 ? w.y : b == 2 ? w.z : w.w;
}

__device__ __forceinline__ float float_of(const float4 (&v)[3], int k) {
  const float4 w = v[k / 4];
  const int b = k % 4;
  return b == 0 ? w.x : b == 1 ? w.y : b == 2 ? w.z : w.w;
}

// Pixels p .. p+3 as three aligned words each side.
__device__ __forceinline__ void preprocess_group(float4* __restrict__ x,
                                                 const uchar4* __restrict__ rgb) {
  const uchar4 in[3] = {rgb[0], rgb[1], rgb[2]};
  float out[12];
#pragma unroll
  for (int k = 0; k < 12; ++k) out[k] = preprocessed(byte_of(in, k + 2 - 2 * (k % 3)), k % 3);
#pragma unroll
  for (int q = 0; q < 3; ++q)
    x[q] = make_float4(out[4 * q], out[4 * q + 1], out[4 * q + 2], out[4 * q + 3]);
}

__device__ __forceinline__ void deprocess_group(uchar4* __restrict__ rgb,
                                                const float4* __restrict__ x) {
  const float4 in[3] = {x[0], x[1], x[2]};
  uint8_t out[12];
#pragma unroll
  for (int k = 0; k < 12; ++k) out[k + 2 - 2 * (k % 3)] = deprocessed(float_of(in, k), k % 3);
#pragma unroll
  for (int q = 0; q < 3; ++q)
    rgb[q] = make_uchar4(out[4 * q], out[4 * q + 1], out[4 * q + 2], out[4 * q + 3]);
}

__device__ __forceinline__ void preprocess_pixel(float* __restrict__ x,
                                                 const uint8_t* __restrict__ rgb, size_t p) {
#pragma unroll
  for (int c = 0; c < 3; ++c) x[3 * p + c] = preprocessed(rgb[3 * p + 2 - c], c);
}

__device__ __forceinline__ void deprocess_pixel(uint8_t* __restrict__ rgb,
                                                const float* __restrict__ x, size_t p) {
#pragma unroll
  for (int c = 0; c < 3; ++c) rgb[3 * p + 2 - c] = deprocessed(x[3 * p + c], c);
}

__global__ void preprocess_kernel(float* __restrict__ x, const uint8_t* __restrict__ rgb,
                                  size_t pixels, vec::Split s) {
  vec::for_each(
      pixels, s,
      [&](size_t i) {  // pixels head + 4i .. head + 4i + 3
        const size_t p = s.head + 4 * i;
        preprocess_group(reinterpret_cast<float4*>(x + 3 * p),
                         reinterpret_cast<const uchar4*>(rgb + 3 * p));
      },
      [&](size_t p) { preprocess_pixel(x, rgb, p); });
}

__global__ void deprocess_kernel(uint8_t* __restrict__ rgb, const float* __restrict__ x,
                                 size_t pixels, vec::Split s) {
  vec::for_each(
      pixels, s,
      [&](size_t i) {  // pixels head + 4i .. head + 4i + 3
        const size_t p = s.head + 4 * i;
        deprocess_group(reinterpret_cast<uchar4*>(rgb + 3 * p),
                        reinterpret_cast<const float4*>(x + 3 * p));
      },
      [&](size_t p) { deprocess_pixel(rgb, x, p); });
}

// ---- kernel launchers ------------------------------------------------------------

// The fewest leading pixels after which x is 16-byte and rgb 4-byte
// aligned (a pixel is 12 bytes of x and 3 of rgb, so 4 pixels realign
// both); all pixels scalar when no such head exists.
vec::Split pixel_split(const float* x, const uint8_t* rgb, size_t pixels) {
  const uintptr_t xa = reinterpret_cast<uintptr_t>(x), ra = reinterpret_cast<uintptr_t>(rgb);
  for (size_t k = 0; k < 4; ++k)
    if ((xa + 12 * k) % 16 == 0 && (ra + 3 * k) % 4 == 0) {
      const size_t head = std::min(k, pixels);
      return {head, (pixels - head) / 4};
    }
  return {0, 0};
}

}  // namespace

void preprocess(float* x, const uint8_t* rgb, size_t pixels, cudaStream_t stream) {
  if (pixels == 0) return;
  const vec::Split s = pixel_split(x, rgb, pixels);
  NST_LAUNCH(preprocess_kernel, vec::blocks_for(pixels, s), vec::kThreads, 0, stream, x, rgb, pixels, s);
}

void deprocess(uint8_t* rgb, const float* x, size_t pixels, cudaStream_t stream) {
  if (pixels == 0) return;
  const vec::Split s = pixel_split(x, rgb, pixels);
  NST_LAUNCH(deprocess_kernel, vec::blocks_for(pixels, s), vec::kThreads, 0, stream, rgb, x, pixels, s);
}

NST_CUDA_END
