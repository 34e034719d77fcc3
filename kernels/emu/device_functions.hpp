// Device-side CUDA for the CPU emulation: built-in variables, barriers,
// warp intrinsics, atomics, math intrinsics and shared memory.
//
// Barriers and warp intrinsics take their call site as defaulted
// __builtin_FILE()/__builtin_LINE() arguments, so a kernel writes plain
// `__syncthreads();` and the scheduler (scheduler.cpp) can tell which
// barrier each thread waits at. Atomics are plain read-modify-writes: all
// threads of a launch run as fibers on one OS thread and switch only at
// barriers and warp intrinsics, so nothing can interleave with them.
#pragma once
#include <math.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/emu/vector_types.hpp"

namespace nst_emu::detail {

// Set by the scheduler before it resumes a thread's fiber.
extern uint3 g_thread_idx;
extern uint3 g_block_idx;
extern dim3 g_block_dim;
extern dim3 g_grid_dim;
// Incremented before each block; shared variables compare against it.
extern std::uint64_t g_block_epoch;

enum class BarrierKind { sync, count, all, any };
int block_barrier(BarrierKind kind, int predicate, const char* file, int line);

enum class WarpOpKind { sync, shfl, shfl_up, shfl_down, shfl_xor, ballot, all, any,
                        reduce_add, reduce_min, reduce_max, reduce_and, reduce_or, reduce_xor };
std::uint64_t warp_op(WarpOpKind kind, unsigned mask, std::uint64_t value, int param, int width,
                      bool is_signed, const char* file, int line);

[[noreturn]] void trap(const char* file, int line);

// A static shared variable: one slot per declaration. Its storage is taken
// from the block's shared arena (NaN-filled, with guard bytes behind it) by
// the first thread of each block that reaches the declaration.
struct SharedSlot {
  std::uint64_t epoch;
  void* ptr;
};
void* shared_alloc_slow(SharedSlot& slot, std::size_t size, std::size_t align, const char* name,
                        const char* file, int line);
inline void* shared_alloc(SharedSlot& slot, std::size_t size, std::size_t align, const char* name,
                          const char* file, int line) {
  if (slot.epoch == g_block_epoch) return slot.ptr;
  return shared_alloc_slow(slot, size, align, name, file, line);
}
void* dynamic_shared();
[[noreturn]] void misaligned(const void* ptr, std::size_t size, std::size_t align, const char* file, int line);

template <typename T>
using type_t = T;

// Memory clobber: nothing cached in registers survives a barrier.
inline void compiler_fence() { asm volatile("" ::: "memory"); }

template <typename T>
std::uint64_t to_bits(T v) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <typename T>
T from_bits(std::uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace nst_emu::detail

// ---- qualifiers and built-in variables ----------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Shared memory must be declared with NST_SHARED / NST_DYNAMIC_SHARED
// (kernels/cuda/common.cuh); a plain __shared__ does not compile here.
#define __shared__ NST_EMU_error_declare_shared_memory_with_NST_SHARED_or_NST_DYNAMIC_SHARED

inline const uint3& threadIdx = nst_emu::detail::g_thread_idx;
inline const uint3& blockIdx = nst_emu::detail::g_block_idx;
inline const dim3& blockDim = nst_emu::detail::g_block_dim;
inline const dim3& gridDim = nst_emu::detail::g_grid_dim;
constexpr int warpSize = 32;

// NST_SHARED(type, name): `type name` in the block's shared memory, e.g.
// NST_SHARED(float[16][17], tile); name is a reference to it.
#define NST_EMU_SHARED(type, name)                                                          \
  static ::nst_emu::detail::SharedSlot nst_emu_shared_slot_##name;                         \
  ::nst_emu::detail::type_t<type>& name = *static_cast<::nst_emu::detail::type_t<type>*>(  \
      ::nst_emu::detail::shared_alloc(nst_emu_shared_slot_##name,                          \
                                      sizeof(::nst_emu::detail::type_t<type>),             \
                                      alignof(::nst_emu::detail::type_t<type>) < 16        \
                                          ? 16                                             \
                                          : alignof(::nst_emu::detail::type_t<type>),      \
                                      #name, __FILE__, __LINE__))
// NST_DYNAMIC_SHARED(type, name): `type* name` pointing at the dynamic
// shared memory of the launch (its size is the launch's shared_bytes).
#define NST_EMU_DYNAMIC_SHARED(type, name) \
  type* name = static_cast<type*>(::nst_emu::detail::dynamic_shared())

// ---- barriers ------------------------------------------------------------
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  nst_emu::detail::compiler_fence();
  nst_emu::detail::block_barrier(nst_emu::detail::BarrierKind::sync, 0, file, line);
  nst_emu::detail::compiler_fence();
}
#define NST_EMU_BARRIER_REDUCE(fn, kind)                                                     \
  inline int fn(int predicate, const char* file = __builtin_FILE(),                          \
                int line = __builtin_LINE()) {                                               \
    nst_emu::detail::compiler_fence();                                                       \
    int r = nst_emu::detail::block_barrier(nst_emu::detail::BarrierKind::kind, predicate != 0, \
                                           file, line);                                      \
    nst_emu::detail::compiler_fence();                                                       \
    return r;                                                                                \
  }
NST_EMU_BARRIER_REDUCE(__syncthreads_count, count)
NST_EMU_BARRIER_REDUCE(__syncthreads_and, all)
NST_EMU_BARRIER_REDUCE(__syncthreads_or, any)
#undef NST_EMU_BARRIER_REDUCE

inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
  nst_emu::detail::compiler_fence();
  nst_emu::detail::warp_op(nst_emu::detail::WarpOpKind::sync, mask, 0, 0, 32, false, file, line);
  nst_emu::detail::compiler_fence();
}

inline void __threadfence() { nst_emu::detail::compiler_fence(); }
inline void __threadfence_block() { nst_emu::detail::compiler_fence(); }
[[noreturn]] inline void __trap(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  nst_emu::detail::trap(file, line);
}

// ---- warp intrinsics -----------------------------------------------------
// The overload set of CUDA 13 (without __half): a value of another type
// converts as it would there.
#define NST_EMU_SHFL(T)                                                                      \
  inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,             \
                       const char* file = __builtin_FILE(), int line = __builtin_LINE()) {   \
    return nst_emu::detail::from_bits<T>(nst_emu::detail::warp_op(                           \
        nst_emu::detail::WarpOpKind::shfl, mask, nst_emu::detail::to_bits(var), src_lane,    \
        width, false, file, line));                                                          \
  }                                                                                          \
  inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,        \
                          const char* file = __builtin_FILE(), int line = __builtin_LINE()) { \
    return nst_emu::detail::from_bits<T>(nst_emu::detail::warp_op(                           \
        nst_emu::detail::WarpOpKind::shfl_up, mask, nst_emu::detail::to_bits(var),           \
        static_cast<int>(delta), width, false, file, line));                                 \
  }                                                                                          \
  inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,      \
                            const char* file = __builtin_FILE(),                             \
                            int line = __builtin_LINE()) {                                   \
    return nst_emu::detail::from_bits<T>(nst_emu::detail::warp_op(                           \
        nst_emu::detail::WarpOpKind::shfl_down, mask, nst_emu::detail::to_bits(var),         \
        static_cast<int>(delta), width, false, file, line));                                 \
  }                                                                                          \
  inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,        \
                           const char* file = __builtin_FILE(), int line = __builtin_LINE()) { \
    return nst_emu::detail::from_bits<T>(nst_emu::detail::warp_op(                           \
        nst_emu::detail::WarpOpKind::shfl_xor, mask, nst_emu::detail::to_bits(var),          \
        lane_mask, width, false, file, line));                                               \
  }
NST_EMU_SHFL(int)
NST_EMU_SHFL(unsigned int)
NST_EMU_SHFL(long)
NST_EMU_SHFL(unsigned long)
NST_EMU_SHFL(long long)
NST_EMU_SHFL(unsigned long long)
NST_EMU_SHFL(float)
NST_EMU_SHFL(double)
#undef NST_EMU_SHFL

#define NST_EMU_VOTE(ret, fn, kind)                                                            \
  inline ret fn(unsigned mask, int predicate, const char* file = __builtin_FILE(),            \
                int line = __builtin_LINE()) {                                                \
    return static_cast<ret>(nst_emu::detail::warp_op(nst_emu::detail::WarpOpKind::kind, mask, \
                                                     predicate != 0, 0, 32, false, file, line)); \
  }
NST_EMU_VOTE(unsigned, __ballot_sync, ballot)
NST_EMU_VOTE(int, __all_sync, all)
NST_EMU_VOTE(int, __any_sync, any)
#undef NST_EMU_VOTE

#define NST_EMU_REDUCE(T, fn, kind)                                                            \
  inline T fn(unsigned mask, T value, const char* file = __builtin_FILE(),                    \
              int line = __builtin_LINE()) {                                                  \
    return static_cast<T>(nst_emu::detail::warp_op(                                           \
        nst_emu::detail::WarpOpKind::kind, mask,                                              \
        static_cast<std::uint64_t>(static_cast<std::uint32_t>(value)), 0, 32,                 \
        std::is_signed<T>::value, file, line));                                               \
  }
NST_EMU_REDUCE(unsigned, __reduce_add_sync, reduce_add)
NST_EMU_REDUCE(int, __reduce_add_sync, reduce_add)
NST_EMU_REDUCE(unsigned, __reduce_min_sync, reduce_min)
NST_EMU_REDUCE(int, __reduce_min_sync, reduce_min)
NST_EMU_REDUCE(unsigned, __reduce_max_sync, reduce_max)
NST_EMU_REDUCE(int, __reduce_max_sync, reduce_max)
NST_EMU_REDUCE(unsigned, __reduce_and_sync, reduce_and)
NST_EMU_REDUCE(unsigned, __reduce_or_sync, reduce_or)
NST_EMU_REDUCE(unsigned, __reduce_xor_sync, reduce_xor)
#undef NST_EMU_REDUCE

// ---- atomics: each returns the old value ---------------------------------
#define NST_EMU_ATOMIC(T, fn, expr)                \
  inline T fn(T* address, T val) {                 \
    T old = *address;                              \
    *address = (expr);                             \
    return old;                                    \
  }
#define NST_EMU_ATOMIC_ARITH(T)                                    \
  NST_EMU_ATOMIC(T, atomicAdd, old + val)                          \
  NST_EMU_ATOMIC(T, atomicExch, val)
#define NST_EMU_ATOMIC_INT(T)                                      \
  NST_EMU_ATOMIC_ARITH(T)                                          \
  NST_EMU_ATOMIC(T, atomicMin, val < old ? val : old)              \
  NST_EMU_ATOMIC(T, atomicMax, val > old ? val : old)              \
  NST_EMU_ATOMIC(T, atomicAnd, old & val)                          \
  NST_EMU_ATOMIC(T, atomicOr, old | val)                           \
  NST_EMU_ATOMIC(T, atomicXor, old ^ val)                          \
  inline T atomicCAS(T* address, T compare, T val) {               \
    T old = *address;                                              \
    if (old == compare) *address = val;                            \
    return old;                                                    \
  }
NST_EMU_ATOMIC_INT(int)
NST_EMU_ATOMIC_INT(unsigned int)
NST_EMU_ATOMIC_INT(unsigned long long)
NST_EMU_ATOMIC(long long, atomicMin, val < old ? val : old)
NST_EMU_ATOMIC(long long, atomicMax, val > old ? val : old)
NST_EMU_ATOMIC_ARITH(float)
NST_EMU_ATOMIC(double, atomicAdd, old + val)
NST_EMU_ATOMIC(int, atomicSub, old - val)
NST_EMU_ATOMIC(unsigned int, atomicSub, old - val)
NST_EMU_ATOMIC(unsigned int, atomicInc, old >= val ? 0u : old + 1u)
NST_EMU_ATOMIC(unsigned int, atomicDec, (old == 0u || old > val) ? val : old - 1u)
#undef NST_EMU_ATOMIC_INT
#undef NST_EMU_ATOMIC_ARITH
#undef NST_EMU_ATOMIC

// ---- loads ---------------------------------------------------------------
namespace nst_emu::detail {
template <typename T>
struct is_ldg_type
    : std::integral_constant<bool, std::is_arithmetic<T>::value ||
                                       std::is_same<T, float2>::value || std::is_same<T, float4>::value ||
                                       std::is_same<T, int2>::value || std::is_same<T, int4>::value ||
                                       std::is_same<T, uint2>::value || std::is_same<T, uint4>::value ||
                                       std::is_same<T, double2>::value || std::is_same<T, char2>::value ||
                                       std::is_same<T, char4>::value || std::is_same<T, uchar2>::value ||
                                       std::is_same<T, uchar4>::value || std::is_same<T, short2>::value ||
                                       std::is_same<T, short4>::value || std::is_same<T, ushort2>::value ||
                                       std::is_same<T, ushort4>::value> {};
}  // namespace nst_emu::detail
// A GPU faults on a load that is not aligned to its size (a float4 from an
// odd float offset); the host would not, so the emulation checks here.
template <typename T>
inline T __ldg(const T* ptr, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  static_assert(nst_emu::detail::is_ldg_type<T>::value, "__ldg: CUDA has no overload for this type");
  if (reinterpret_cast<std::uintptr_t>(ptr) % alignof(T) != 0) {
    nst_emu::detail::misaligned(ptr, sizeof(T), alignof(T), file, line);
  }
  return *ptr;
}

// ---- integer and float intrinsics ----------------------------------------
inline int min(int a, int b) { return a < b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
  return (x >> 16) | (x << 16);
}
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}

inline int __float_as_int(float x) { return nst_emu::detail::from_bits<int>(nst_emu::detail::to_bits(x)); }
inline unsigned __float_as_uint(float x) { return nst_emu::detail::from_bits<unsigned>(nst_emu::detail::to_bits(x)); }
inline float __int_as_float(int x) { return nst_emu::detail::from_bits<float>(nst_emu::detail::to_bits(x)); }
inline float __uint_as_float(unsigned x) { return nst_emu::detail::from_bits<float>(nst_emu::detail::to_bits(x)); }
inline long long __double_as_longlong(double x) { return nst_emu::detail::from_bits<long long>(nst_emu::detail::to_bits(x)); }
inline double __longlong_as_double(long long x) { return nst_emu::detail::from_bits<double>(nst_emu::detail::to_bits(x)); }

inline int __float2int_rn(float x) { return static_cast<int>(nearbyintf(x)); }
inline int __float2int_rz(float x) { return static_cast<int>(x); }
inline int __float2int_rd(float x) { return static_cast<int>(floorf(x)); }
inline int __float2int_ru(float x) { return static_cast<int>(ceilf(x)); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }

// Fast-math intrinsics compute the accurate function: the GPU's error
// bounds are not emulated.
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return powf(10.0f, x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline void __sincosf(float x, float* s, float* c) { *s = sinf(x); *c = cosf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x != x ? 0.0f : fminf(fmaxf(x, 0.0f), 1.0f); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fsub_rn(float x, float y) { return x - y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fdiv_rn(float x, float y) { return x / y; }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
