// 2x2 stride-2 max and average pooling on the device, NHWC, floor (an odd
// last row/column is dropped in forward and gets zero gradient in
// backward, as Keras' 'valid' pooling and nst::cpu).
//
// One thread per (window, channel group) in a grid-stride loop; consecutive
// threads take consecutive channels, so every corner load and store of a
// warp is contiguous. Channels go four at a time (float4) when C % 4 == 0
// and every pointer is 16-byte aligned (all of VGG), otherwise one at a
// time.
//
// Backward walks ceil(H/2) x ceil(W/2) blocks instead of H/2 x W/2 windows:
// the extra blocks are the uncovered last row/column, which they zero, so
// dx is written in one pass with no separate fill.
//
// Decomposing the flat index into (n, i, j, c) takes three divisions per
// element; as hardware divisions (a subroutine each) they would rival the
// memory time of a float4 window on an H100 (an estimate, not measured).
// So they are multiply-highs with precomputed magic numbers wherever the
// tensor has fewer than 2^31 elements (every practical shape), and plain
// 64-bit divisions beyond.
#include <algorithm>
#include <initializer_list>
#include <string>

#include "kernels/cuda/elementwise.hpp"
#include "kernels/cuda/vector_access.cuh"

NST_CUDA_BEGIN
namespace {

using vec::kThreads;
// 32-bit indices (and FastDivider) while every offset, plus one grid
// stride past the end, stays below 2^31.
constexpr size_t kMaxFastIndex = (size_t{1} << 31) - vec::kMaxBlocks * kThreads;

// n / d for n, d < 2^31 by a multiply-high (Granlund-Montgomery, in the
// form of PyTorch's IntDivider): q = (umulhi(n, magic) + n) >> shift; the
// sum cannot overflow because umulhi(n, magic) <= n < 2^31.
struct FastDivider {
  using Index = uint32_t;
  uint32_t magic, shift;
  explicit FastDivider(uint32_t d) : magic(0), shift(0) {
    while ((uint64_t{1} << shift) < d) ++shift;
    magic = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const {
    return (__umulhi(n, magic) + n) >> shift;
  }
};

struct WideDivider {
  using Index = uint64_t;
  uint64_t d;
  explicit WideDivider(uint64_t divisor) : d(divisor) {}
  __device__ __forceinline__ uint64_t div(uint64_t n) const { return n / d; }
};

// The threads' view of one launch, in units of T (float or float4):
// `units` work items laid out as (N, rows, cols, channels).
template <typename Div>
struct PoolGrid {
  using Divider = Div;
  using I = typename Div::Index;
  I units;
  I channels, cols, rows;  // per image: window rows and columns walked
  Div by_channels, by_cols, by_rows;
  I H, W, Ho, Wo;  // input and output spatial sizes
};

// A window's four corners in row-major order: (0,0) (0,1) (1,0) (1,1).
template <typename T>
struct Quad {
  T a, b, e, f;
};

// ---- CUDA kernels --------------------------------------------------------------

template <typename I>
struct Window {
  I n, i, j, c;
};

template <typename Div>
__device__ __forceinline__ Window<typename Div::Index> window_of(typename Div::Index u,
                                                                 const PoolGrid<Div>& g) {
  using I = typename Div::Index;
  Window<I> w;
  const I pixel = g.by_channels.div(u);
  w.c = u - pixel * g.channels;
  const I row = g.by_cols.div(pixel);
  w.j = pixel - row * g.cols;
  w.n = g.by_rows.div(row);
  w.i = row - w.n * g.rows;
  return w;
}

// Offset of the window's top-left corner in x (N,H,W,C).
template <typename Div>
__device__ __forceinline__ typename Div::Index corner(const Window<typename Div::Index>& w,
                                                      const PoolGrid<Div>& g) {
  return ((w.n * g.H + 2 * w.i) * g.W + 2 * w.j) * g.channels + w.c;
}

// Offset of the window's output in y (N,Ho,Wo,C).
template <typename Div>
__device__ __forceinline__ typename Div::Index output(const Window<typename Div::Index>& w,
                                                      const PoolGrid<Div>& g) {
  return ((w.n * g.Ho + w.i) * g.Wo + w.j) * g.channels + w.c;
}

template <typename T, typename I>
__device__ __forceinline__ Quad<T> load_window(const T* __restrict__ x, I at, I row, I channels) {
  return {x[at], x[at + channels], x[at + row], x[at + row + channels]};
}

template <typename T, typename I>
__device__ __forceinline__ void store_window(T* __restrict__ dx, I at, I row, I channels,
                                             const Quad<T>& q) {
  dx[at] = q.a;
  dx[at + channels] = q.b;
  dx[at + row] = q.e;
  dx[at + row + channels] = q.f;
}

// The part of a block past the last full window: the last row and/or
// column, which no window covers.
template <typename T, typename Div>
__device__ __forceinline__ void zero_uncovered(T* __restrict__ dx, const Window<typename Div::Index>& w,
                                               const PoolGrid<Div>& g) {
  using I = typename Div::Index;
  const I at = corner(w, g), row = g.W * g.channels;
  const bool two_cols = 2 * w.j + 1 < g.W, two_rows = 2 * w.i + 1 < g.H;
  dx[at] = T{};
  if (two_cols) dx[at + g.channels] = T{};
  if (two_rows) dx[at + row] = T{};
  if (two_cols && two_rows) dx[at + row + g.channels] = T{};
}

// std::max(a, b) exactly, NaN and signed zeros included (fmaxf differs).
__device__ __forceinline__ float max_of(float a, float b) { return a < b ? b : a; }

__device__ __forceinline__ float window_max(const Quad<float>& q) {
  return max_of(max_of(q.a, q.b), max_of(q.e, q.f));
}

__device__ __forceinline__ float window_mean(const Quad<float>& q) {
  return 0.25f * ((q.a + q.b) + (q.e + q.f));
}

// The gradient g to the first corner equal to the window's maximum
// (row-major order wins ties), 0 to the others; the CPU's selects exactly.
__device__ __forceinline__ Quad<float> route_to_max(const Quad<float>& q, float g) {
  const float m = window_max(q);
  const bool ta = q.a == m, tb = (q.b == m) & !ta, te = (q.e == m) & !ta & !tb,
             tf = !ta & !tb & !te;
  return {ta ? g : 0.f, tb ? g : 0.f, te ? g : 0.f, tf ? g : 0.f};
}

__device__ __forceinline__ Quad<float> spread_mean(float g) {
  const float s = 0.25f * g;
  return {s, s, s, s};
}

// float4 versions: the scalar rule on each channel.
__device__ __forceinline__ float component(const float4& v, int k) {
  return k == 0 ? v.x : k == 1 ? v.y : k == 2 ? v.z : v.w;
}
// Channel k of each corner (k is a constant after inlining).
__device__ __forceinline__ Quad<float> lane(const Quad<float4>& q, int k) {
  return {component(q.a, k), component(q.b, k), component(q.e, k), component(q.f, k)};
}

__device__ __forceinline__ float4 window_max(const Quad<float4>& q) {
  return make_float4(window_max(lane(q, 0)), window_max(lane(q, 1)), window_max(lane(q, 2)),
                     window_max(lane(q, 3)));
}

__device__ __forceinline__ float4 window_mean(const Quad<float4>& q) {
  return make_float4(window_mean(lane(q, 0)), window_mean(lane(q, 1)), window_mean(lane(q, 2)),
                     window_mean(lane(q, 3)));
}

__device__ __forceinline__ Quad<float4> route_to_max(const Quad<float4>& q, float4 g) {
  const Quad<float> x = route_to_max(lane(q, 0), g.x), y = route_to_max(lane(q, 1), g.y),
                    z = route_to_max(lane(q, 2), g.z), w = route_to_max(lane(q, 3), g.w);
  return {make_float4(x.a, y.a, z.a, w.a), make_float4(x.b, y.b, z.b, w.b),
          make_float4(x.e, y.e, z.e, w.e), make_float4(x.f, y.f, z.f, w.f)};
}

__device__ __forceinline__ Quad<float4> spread_mean(float4 g) {
  const float4 s = make_float4(0.25f * g.x, 0.25f * g.y, 0.25f * g.z, 0.25f * g.w);
  return {s, s, s, s};
}

template <typename Div>
__device__ __forceinline__ typename Div::Index first_unit() {
  return static_cast<typename Div::Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
template <typename Div>
__device__ __forceinline__ typename Div::Index unit_stride() {
  return static_cast<typename Div::Index>(gridDim.x) * blockDim.x;
}

// g walks the output windows, so unit u is also y's offset.
template <typename T, typename Div>
__global__ void maxpool2x2_forward_kernel(T* __restrict__ y, const T* __restrict__ x,
                                          PoolGrid<Div> g) {
  using I = typename Div::Index;
  const I row = g.W * g.channels;
  for (I u = first_unit<Div>(); u < g.units; u += unit_stride<Div>())
    y[u] = window_max(load_window(x, corner(window_of(u, g), g), row, g.channels));
}

template <typename T, typename Div>
__global__ void avgpool2x2_forward_kernel(T* __restrict__ y, const T* __restrict__ x,
                                          PoolGrid<Div> g) {
  using I = typename Div::Index;
  const I row = g.W * g.channels;
  for (I u = first_unit<Div>(); u < g.units; u += unit_stride<Div>())
    y[u] = window_mean(load_window(x, corner(window_of(u, g), g), row, g.channels));
}

// g walks ceil(H/2) x ceil(W/2) blocks (see the top of the file).
template <typename T, typename Div>
__global__ void maxpool2x2_backward_kernel(T* __restrict__ dx, const T* __restrict__ dy,
                                           const T* __restrict__ x, PoolGrid<Div> g) {
  using I = typename Div::Index;
  const I row = g.W * g.channels;
  for (I u = first_unit<Div>(); u < g.units; u += unit_stride<Div>()) {
    const Window<I> w = window_of(u, g);
    if (w.i < g.Ho && w.j < g.Wo) {
      const I at = corner(w, g);
      store_window(dx, at, row, g.channels,
                   route_to_max(load_window(x, at, row, g.channels), dy[output(w, g)]));
    } else {
      zero_uncovered(dx, w, g);
    }
  }
}

template <typename T, typename Div>
__global__ void avgpool2x2_backward_kernel(T* __restrict__ dx, const T* __restrict__ dy,
                                           PoolGrid<Div> g) {
  using I = typename Div::Index;
  const I row = g.W * g.channels;
  for (I u = first_unit<Div>(); u < g.units; u += unit_stride<Div>()) {
    const Window<I> w = window_of(u, g);
    if (w.i < g.Ho && w.j < g.Wo)
      store_window(dx, corner(w, g), row, g.channels, spread_mean(dy[output(w, g)]));
    else
      zero_uncovered(dx, w, g);
  }
}

// ---- kernel launchers ------------------------------------------------------------

struct PoolShape {
  size_t N, H, W, C;
};

PoolShape checked_shape(const char* op, int N, int H, int W, int C) {
  if (N < 0 || H < 0 || W < 0 || C < 0)
    throw nst::InvalidArgument(std::string("cuda::") + op + ": negative shape (N,H,W,C) = (" +
                               std::to_string(N) + "," + std::to_string(H) + "," +
                               std::to_string(W) + "," + std::to_string(C) + ")");
  return {size_t(N), size_t(H), size_t(W), size_t(C)};
}

bool aligned16(std::initializer_list<const void*> ptrs) {
  return std::all_of(ptrs.begin(), ptrs.end(),
                     [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; });
}

// Blocks walked per image: windows (forward) or windows plus the uncovered
// edge (backward).
enum class Walk { windows, whole_input };

template <typename Div>
PoolGrid<Div> make_grid(const PoolShape& s, size_t vector_width, Walk walk) {
  using I = typename Div::Index;
  const size_t channels = s.C / vector_width;
  const size_t rows = walk == Walk::windows ? s.H / 2 : (s.H + 1) / 2;
  const size_t cols = walk == Walk::windows ? s.W / 2 : (s.W + 1) / 2;
  return PoolGrid<Div>{I(s.N * rows * cols * channels), I(channels), I(cols), I(rows),
                       Div(I(channels)), Div(I(cols)), Div(I(rows)),
                       I(s.H), I(s.W), I(s.H / 2), I(s.W / 2)};
}

// Calls launch(T{}, grid, blocks) with the widest channel vector the shape
// and pointers allow and the narrowest index that reaches every element.
// The caller has checked that there is work (grid.units > 0).
template <typename Launch>
void dispatch(const PoolShape& s, Walk walk, std::initializer_list<const void*> ptrs,
              Launch&& launch) {
  const bool vector = s.C % 4 == 0 && aligned16(ptrs);
  const size_t width = vector ? 4 : 1;
  const bool fast = s.N * s.H * s.W * s.C / width < kMaxFastIndex;
  auto go = [&](auto element, auto grid) { launch(element, grid, vec::grid_stride_blocks(grid.units)); };
  if (vector && fast) go(float4{}, make_grid<FastDivider>(s, width, walk));
  else if (vector) go(float4{}, make_grid<WideDivider>(s, width, walk));
  else if (fast) go(float{}, make_grid<FastDivider>(s, width, walk));
  else go(float{}, make_grid<WideDivider>(s, width, walk));
}

template <typename T>
T* as(float* p) {
  return reinterpret_cast<T*>(p);
}
template <typename T>
const T* as(const float* p) {
  return reinterpret_cast<const T*>(p);
}

bool no_windows(const PoolShape& s) { return s.N == 0 || s.C == 0 || s.H < 2 || s.W < 2; }
bool empty(const PoolShape& s) { return s.N == 0 || s.C == 0 || s.H == 0 || s.W == 0; }

}  // namespace

void maxpool2x2_forward(float* y, const float* x, int N, int H, int W, int C, cudaStream_t stream) {
  const PoolShape s = checked_shape("maxpool2x2_forward", N, H, W, C);
  if (no_windows(s)) return;
  dispatch(s, Walk::windows, {y, x}, [&](auto element, auto grid, unsigned blocks) {
    using T = decltype(element);
    using Div = typename decltype(grid)::Divider;
    NST_LAUNCH(maxpool2x2_forward_kernel<T, Div>, blocks, kThreads, 0, stream, as<T>(y), as<T>(x),
               grid);
  });
}

void maxpool2x2_backward(float* dx, const float* dy, const float* x, int N, int H, int W, int C,
                         cudaStream_t stream) {
  const PoolShape s = checked_shape("maxpool2x2_backward", N, H, W, C);
  if (empty(s)) return;
  dispatch(s, Walk::whole_input, {dx, dy, x}, [&](auto element, auto grid, unsigned blocks) {
    using T = decltype(element);
    using Div = typename decltype(grid)::Divider;
    NST_LAUNCH(maxpool2x2_backward_kernel<T, Div>, blocks, kThreads, 0, stream, as<T>(dx),
               as<T>(dy), as<T>(x), grid);
  });
}

void avgpool2x2_forward(float* y, const float* x, int N, int H, int W, int C, cudaStream_t stream) {
  const PoolShape s = checked_shape("avgpool2x2_forward", N, H, W, C);
  if (no_windows(s)) return;
  dispatch(s, Walk::windows, {y, x}, [&](auto element, auto grid, unsigned blocks) {
    using T = decltype(element);
    using Div = typename decltype(grid)::Divider;
    NST_LAUNCH(avgpool2x2_forward_kernel<T, Div>, blocks, kThreads, 0, stream, as<T>(y), as<T>(x),
               grid);
  });
}

void avgpool2x2_backward(float* dx, const float* dy, int N, int H, int W, int C,
                         cudaStream_t stream) {
  const PoolShape s = checked_shape("avgpool2x2_backward", N, H, W, C);
  if (empty(s)) return;
  dispatch(s, Walk::whole_input, {dx, dy}, [&](auto element, auto grid, unsigned blocks) {
    using T = decltype(element);
    using Div = typename decltype(grid)::Divider;
    NST_LAUNCH(avgpool2x2_backward_kernel<T, Div>, blocks, kThreads, 0, stream, as<T>(dx),
               as<T>(dy), grid);
  });
}

NST_CUDA_END
