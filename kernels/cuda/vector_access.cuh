// Flat arrays in the memory-bound grid-stride kernels (relu.cu, adam.cu,
// preprocess.cu, pool2d.cu): the launch shape, and float4 access for
// pointers that may sit off a 16-byte boundary.
//
// float4 access needs 16-byte aligned addresses. A Split cuts n items into
// a scalar head [0, head), `groups` groups of four [head, head + 4*groups)
// moved as whole aligned words, and a scalar tail. The head is as long as
// it takes for every pointer to reach its boundary. Pointers whose offsets
// from a boundary differ never line up; then everything is scalar (only odd
// sub-views do that: cudaMalloc returns 256-byte alignment).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "kernels/cuda/common.cuh"

NST_CUDA_BEGIN
namespace vec {

constexpr unsigned kThreads = 256;
// Enough blocks to fill any current GPU several times over (an H100 holds
// 132 SMs x 8 such blocks); past that, threads loop instead.
constexpr size_t kMaxBlocks = 4096;

// Blocks of kThreads for a grid-stride loop over `items`: one thread per
// item, up to kMaxBlocks blocks.
inline unsigned grid_stride_blocks(size_t items) {
  return static_cast<unsigned>(std::min(ceil_div<size_t>(items, kThreads), kMaxBlocks));
}

// Items [0, head) scalar, [head, head + 4*groups) four at a time (a float4,
// or four pixels as three float4), the rest scalar.
struct Split {
  size_t head, groups;
};

// The split of n floats for float4 access through every pointer in `ptrs`
// (the first names the alignment the others must share).
inline Split float4_split(size_t n, std::initializer_list<const void*> ptrs) {
  const uintptr_t offset = reinterpret_cast<uintptr_t>(*ptrs.begin()) % 16;
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != offset) return {0, 0};
  if (offset % sizeof(float) != 0) return {0, 0};
  const size_t head = std::min(n, (16 - offset) % 16 / sizeof(float));
  return {head, (n - head) / 4};
}

// One thread per group of four, or per item where the scalar loops are
// longer.
inline unsigned blocks_for(size_t n, Split s) { return grid_stride_blocks(std::max(s.groups, n - 4 * s.groups)); }

// ---- device side ----------------------------------------------------------------

__device__ __forceinline__ size_t global_thread() {
  return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ size_t grid_threads() { return static_cast<size_t>(gridDim.x) * blockDim.x; }

// The grid-stride loops over the n items of split s: group(i) for the i-th
// group of four (items head + 4i .. head + 4i + 3), then item(i) for each
// item of the head and of the tail.
template <typename Group, typename Item>
__device__ __forceinline__ void for_each(size_t n, Split s, Group group, Item item) {
  const size_t first = global_thread(), stride = grid_threads();
  for (size_t i = first; i < s.groups; i += stride) group(i);
  for (size_t i = first; i < s.head; i += stride) item(i);
  for (size_t i = s.head + 4 * s.groups + first; i < n; i += stride) item(i);
}

}  // namespace vec
NST_CUDA_END
