// CUDA's built-in vector types for the CPU emulation: dim3, uint3, float4
// and friends with CUDA's sizes and alignments, and their make_* helpers.
// Like CUDA, no arithmetic operators are defined on them.
//
// The structs are declared may_alias so that the usual vectorised access
// `reinterpret_cast<const float4*>(p)[i]` on float storage is as well
// defined under g++ as it is under nvcc.
#pragma once

#define NST_EMU_VEC_ATTR(align) __attribute__((may_alias, aligned(align)))

// NST_EMU_VECTOR_TYPES(base, T, a1, a2, a4): base1..base4 with alignments
// a1, a2, a4 (base3 is never over-aligned, as in CUDA).
#define NST_EMU_VECTOR_TYPES(base, T, a1, a2, a4)                                        \
  struct NST_EMU_VEC_ATTR(a1) base##1 { T x; };                                        \
  struct NST_EMU_VEC_ATTR(a2) base##2 { T x, y; };                                     \
  struct NST_EMU_VEC_ATTR(alignof(T)) base##3 { T x, y, z; };                          \
  struct NST_EMU_VEC_ATTR(a4) base##4 { T x, y, z, w; };                               \
  inline constexpr base##1 make_##base##1(T x) { return base##1{x}; }                  \
  inline constexpr base##2 make_##base##2(T x, T y) { return base##2{x, y}; }          \
  inline constexpr base##3 make_##base##3(T x, T y, T z) { return base##3{x, y, z}; }  \
  inline constexpr base##4 make_##base##4(T x, T y, T z, T w) { return base##4{x, y, z, w}; }

NST_EMU_VECTOR_TYPES(char, signed char, 1, 2, 4)
NST_EMU_VECTOR_TYPES(uchar, unsigned char, 1, 2, 4)
NST_EMU_VECTOR_TYPES(short, short, 2, 4, 8)
NST_EMU_VECTOR_TYPES(ushort, unsigned short, 2, 4, 8)
NST_EMU_VECTOR_TYPES(int, int, 4, 8, 16)
NST_EMU_VECTOR_TYPES(uint, unsigned int, 4, 8, 16)
NST_EMU_VECTOR_TYPES(float, float, 4, 8, 16)
NST_EMU_VECTOR_TYPES(longlong, long long, 8, 16, 16)
NST_EMU_VECTOR_TYPES(ulonglong, unsigned long long, 8, 16, 16)
NST_EMU_VECTOR_TYPES(double, double, 8, 16, 16)

#undef NST_EMU_VECTOR_TYPES

// dim3: a uint3 whose components default to 1; launch configurations and
// blockDim/gridDim.
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};
