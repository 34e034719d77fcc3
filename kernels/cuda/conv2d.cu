// conv2d 3x3, stride 1, zero padding 1, NHWC activations, HWIO weights,
// as one implicit GEMM kernel used both ways:
//
//   fprop  y (M, Cout) = A (M, 9*Cin) * w (9*Cin, Cout) + b, ReLU
//          M = N*H*W pixels; A[m][(r*3 + s)*Cin + c] = x[n, h+r-1, w+s-1, c]
//          (0 outside the image) is never materialised: each block gathers
//          its A tile straight from x. HWIO flattened is already the
//          (9*Cin, Cout) row-major B.
//   dgrad  dx (M, Cin) = A' (M, 9*Cout) * wt (9*Cout, Cin), where A' is the
//          same gather over dy (masked by relu_y > 0 as it is read) and
//          wt[r][s][co][c] = w[2-r][2-s][c][co] (a full correlation is a
//          same-padded correlation with the flipped, transposed kernel).
//          A small transpose kernel writes wt into the caller's workspace.
//
// Block tile BM x BN, K in steps of BK through double-buffered shared
// memory (one barrier per step: the next step's global loads are in flight
// while this step multiplies); each thread owns a TM x TN register tile
// made of 4x4 pieces spaced half a block apart, so its shared-memory reads
// and its output stores are float4s that a warp covers contiguously.
// Loads are float4 when both channel counts are multiples of 4 (every VGG
// layer but the first), scalar otherwise; every access is bounds-checked,
// so any N, H, W, Cin, Cout works.
#include "kernels/cuda/conv2d.hpp"

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <string>

NST_CUDA_BEGIN

namespace {

// ---- tiles -------------------------------------------------------------

template <int BM, int BN, int BK, int TM, int TN>
struct Tile {
  static constexpr int kBM = BM, kBN = BN, kBK = BK, kTM = TM, kTN = TN;
  static constexpr int kThreadsN = BN / TN;  // threads along a tile row
  static constexpr int kThreadsM = BM / TM;
  static constexpr int kThreads = kThreadsM * kThreadsN;
  // A thread's rows are 4-row pieces kRowStride apart (likewise columns).
  static constexpr int kRowStride = 4 * kThreadsM;
  static constexpr int kColStride = 4 * kThreadsN;
  static_assert(TM % 4 == 0 && TN % 4 == 0, "register tiles are made of 4x4 pieces");
  static_assert(BM % TM == 0 && BN % TN == 0, "the thread tile must divide the block tile");
  static_assert(BK % 4 == 0, "float4 loads step through K by 4");
  static_assert(BM % 32 == 0, "the A tile's padding is chosen for rows of a multiple of 32 banks");
  static_assert(kThreads % BK == 0 && (BM * BK) % kThreads == 0 && (BK * BN) % kThreads == 0 &&
                    kThreads % BN == 0,
                "every thread loads the same number of elements, at a fixed column");
};

using LargeTile = Tile<128, 64, 8, 8, 8>;   // 128 threads, 64 accumulators each
using MediumTile = Tile<64, 64, 8, 8, 4>;   // 128 threads, 32 accumulators each
using SmallTile = Tile<32, 32, 8, 4, 4>;    // 64 threads, 16 accumulators each

// Rows of the transposed A tile are padded by 4 floats: the A loader's
// warp writes 8 K-rows x 4 pixels (scalar) or 2 x 16 (float4), which then
// land in 32 different banks, and rows stay 16-byte aligned for float4 reads.
constexpr int kPadA = 4;

template <class T>
struct alignas(16) SharedTiles {
  float a[2][T::kBK][T::kBM + kPadA];  // A tile transposed: [k][pixel]
  float b[2][T::kBK][T::kBN];          // B tile: [k][output channel]
};

// ---- the GEMM operands ---------------------------------------------------

// One implicit GEMM: out (M, Cout) = gather(in) (M, 9*Cin) * weight (9*Cin, Cout).
struct ConvGemm {
  float* out;           // (N,H,W,Cout)
  const float* in;      // (N,H,W,Cin)
  const float* mask;    // null, or (N,H,W,Cin): `in` is read as in * (mask > 0)
  const float* weight;  // (3,3,Cin,Cout)
  const float* bias;    // null, or (Cout)
  int N, H, W, Cin, Cout;
  bool relu;
};

template <int kWidth>
struct Pack {
  float v[kWidth];
};

template <int kWidth>
__device__ __forceinline__ Pack<kWidth> load_pack(const float* p) {
  if constexpr (kWidth == 4) {
    const float4 q = __ldg(reinterpret_cast<const float4*>(p));
    return Pack<kWidth>{{q.x, q.y, q.z, q.w}};
  } else {
    return Pack<kWidth>{{__ldg(p)}};
  }
}

template <int kWidth>
__device__ __forceinline__ Pack<kWidth> zero_pack() {
  Pack<kWidth> z;
#pragma unroll
  for (int j = 0; j < kWidth; ++j) z.v[j] = 0.0f;
  return z;
}

// ---- loading A: gathering 3x3 neighbourhoods ---------------------------

// Stages this thread's share of the BM x BK A tile. A thread always loads
// the same kWidth consecutive K columns (so one (r, s, c) decode per step
// serves all its pixels) of kLoads pixels, whose row/column it keeps
// (rows of pixels past M get h = -4, outside the image for every tap).
template <class T, int kWidth>
struct ATileLoader {
  static constexpr int kGroups = T::kBK / kWidth;  // threads per tile row
  static constexpr int kLoads = T::kBM * kGroups / T::kThreads;
  static constexpr int kPixelStep = T::kThreads / kGroups;
  static_assert((T::kBM * kGroups) % T::kThreads == 0, "every thread loads as many pixels");

  int k_in_tile;
  int first_pixel;  // within the tile
  int base[kLoads];  // offset of the centre pixel in `in`
  int h[kLoads], w[kLoads];
  Pack<kWidth> staged[kLoads];

  __device__ __forceinline__ ATileLoader(const ConvGemm& p, int m0, int tid) {
    k_in_tile = (tid % kGroups) * kWidth;
    first_pixel = tid / kGroups;
    const int M = p.N * p.H * p.W;
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int m = m0 + first_pixel + i * kPixelStep;
      const bool valid = m < M;
      base[i] = valid ? m * p.Cin : 0;
      w[i] = m % p.W;
      h[i] = valid ? (m / p.W) % p.H : -4;
    }
  }

  __device__ __forceinline__ void load(const ConvGemm& p, int k0) {
    const int k = k0 + k_in_tile;
    if (k >= 9 * p.Cin) {
#pragma unroll
      for (int i = 0; i < kLoads; ++i) staged[i] = zero_pack<kWidth>();
      return;
    }
    // With kWidth 4, Cin % 4 == 0: the four columns share one tap.
    const int tap = k / p.Cin;
    const int c = k - tap * p.Cin;
    const int dh = tap / 3 - 1;
    const int dw = tap % 3 - 1;
    const int shift = (dh * p.W + dw) * p.Cin + c;
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const bool inside = static_cast<unsigned>(h[i] + dh) < static_cast<unsigned>(p.H) &&
                          static_cast<unsigned>(w[i] + dw) < static_cast<unsigned>(p.W);
      staged[i] = inside ? load_masked(p, base[i] + shift) : zero_pack<kWidth>();
    }
  }

  __device__ __forceinline__ static Pack<kWidth> load_masked(const ConvGemm& p, int offset) {
    Pack<kWidth> v = load_pack<kWidth>(p.in + offset);
    if (p.mask != nullptr) {
      const Pack<kWidth> y = load_pack<kWidth>(p.mask + offset);
#pragma unroll
      for (int j = 0; j < kWidth; ++j) v.v[j] = y.v[j] > 0.0f ? v.v[j] : 0.0f;
    }
    return v;
  }

  __device__ __forceinline__ void store(float (&tile)[T::kBK][T::kBM + kPadA]) const {
#pragma unroll
    for (int i = 0; i < kLoads; ++i)
#pragma unroll
      for (int j = 0; j < kWidth; ++j) tile[k_in_tile + j][first_pixel + i * kPixelStep] = staged[i].v[j];
  }
};

// ---- loading B: rows of the (9*Cin, Cout) weight matrix ----------------

// Stages this thread's share of the BK x BN B tile: kWidth consecutive
// output channels (a warp reads whole rows, coalesced) of kLoads K rows.
template <class T, int kWidth>
struct BTileLoader {
  static constexpr int kGroups = T::kBN / kWidth;  // threads per tile row
  static constexpr int kLoads = T::kBK * kGroups / T::kThreads;
  static constexpr int kRowStep = T::kThreads / kGroups;
  static_assert((T::kBK * kGroups) % T::kThreads == 0, "every thread loads as many rows");

  int col;        // within the tile
  int first_row;  // within the tile
  bool col_inside;
  Pack<kWidth> staged[kLoads];

  __device__ __forceinline__ BTileLoader(const ConvGemm& p, int n0, int tid) {
    col = (tid % kGroups) * kWidth;
    first_row = tid / kGroups;
    // With kWidth 4, Cout % 4 == 0: a group is all inside or all outside.
    col_inside = n0 + col < p.Cout;
  }

  __device__ __forceinline__ void load(const ConvGemm& p, int k0, int n0) {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int k = k0 + first_row + i * kRowStep;
      staged[i] = col_inside && k < 9 * p.Cin ? load_pack<kWidth>(p.weight + k * p.Cout + n0 + col)
                                              : zero_pack<kWidth>();
    }
  }

  __device__ __forceinline__ void store(float (&tile)[T::kBK][T::kBN]) const {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      float* dst = &tile[first_row + i * kRowStep][col];
      if constexpr (kWidth == 4) {
        *reinterpret_cast<float4*>(dst) =
            make_float4(staged[i].v[0], staged[i].v[1], staged[i].v[2], staged[i].v[3]);
      } else {
        dst[0] = staged[i].v[0];
      }
    }
  }
};

// ---- the register tile -------------------------------------------------

// Row (column) of the block tile that a thread's i-th register row (j-th
// column) holds.
template <class T>
__device__ __forceinline__ int tile_row(int ty, int i) {
  return (i / 4) * T::kRowStride + ty * 4 + i % 4;
}
template <class T>
__device__ __forceinline__ int tile_col(int tx, int j) {
  return (j / 4) * T::kColStride + tx * 4 + j % 4;
}

// acc += A tile (BK x BM, transposed) ^T * B tile (BK x BN), this thread's part.
template <class T>
__device__ __forceinline__ void multiply_tiles(float (&acc)[T::kTM][T::kTN],
                                               const float (&a)[T::kBK][T::kBM + kPadA],
                                               const float (&b)[T::kBK][T::kBN], int tx, int ty) {
#pragma unroll
  for (int k = 0; k < T::kBK; ++k) {
    float a_frag[T::kTM], b_frag[T::kTN];
#pragma unroll
    for (int i = 0; i < T::kTM; i += 4) {
      const float4 q = *reinterpret_cast<const float4*>(&a[k][tile_row<T>(ty, i)]);
      a_frag[i] = q.x, a_frag[i + 1] = q.y, a_frag[i + 2] = q.z, a_frag[i + 3] = q.w;
    }
#pragma unroll
    for (int j = 0; j < T::kTN; j += 4) {
      const float4 q = *reinterpret_cast<const float4*>(&b[k][tile_col<T>(tx, j)]);
      b_frag[j] = q.x, b_frag[j + 1] = q.y, b_frag[j + 2] = q.z, b_frag[j + 3] = q.w;
    }
#pragma unroll
    for (int i = 0; i < T::kTM; ++i)
#pragma unroll
      for (int j = 0; j < T::kTN; ++j) acc[i][j] = fmaf(a_frag[i], b_frag[j], acc[i][j]);
  }
}

// out = acc + bias, then ReLU (as the CPU op: v < 0 -> 0, NaN kept), for
// the rows and columns inside (M, Cout). Columns go out as float4s when
// Cout % 4 == 0 (kWidth 4), so a warp writes whole 128-byte rows.
template <class T, int kWidth>
__device__ __forceinline__ void store_output(const ConvGemm& p, const float (&acc)[T::kTM][T::kTN], int m0,
                                             int n0, int tx, int ty) {
  const int M = p.N * p.H * p.W;
  float bias[T::kTN];
#pragma unroll
  for (int j = 0; j < T::kTN; ++j) {
    const int n = n0 + tile_col<T>(tx, j);
    bias[j] = p.bias != nullptr && n < p.Cout ? __ldg(p.bias + n) : 0.0f;
  }
#pragma unroll
  for (int i = 0; i < T::kTM; ++i) {
    const int m = m0 + tile_row<T>(ty, i);
    if (m >= M) continue;
    float* row = p.out + m * p.Cout;
#pragma unroll
    for (int j = 0; j < T::kTN; j += 4) {
      const int n = n0 + tile_col<T>(tx, j);
      float v[4];
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        v[jj] = acc[i][j + jj] + bias[j + jj];
        if (p.relu && v[jj] < 0.0f) v[jj] = 0.0f;
      }
      if constexpr (kWidth == 4) {
        if (n < p.Cout) *reinterpret_cast<float4*>(row + n) = make_float4(v[0], v[1], v[2], v[3]);
      } else {
#pragma unroll
        for (int jj = 0; jj < 4; ++jj)
          if (n + jj < p.Cout) row[n + jj] = v[jj];
      }
    }
  }
}

// ---- CUDA kernels --------------------------------------------------------

// One block computes a BM x BN tile of out. Blocks are numbered along Cout
// first, so the blocks running together share their input pixels in L2.
template <class T, int kWidth>
__global__ void __launch_bounds__(T::kThreads) conv3x3_implicit_gemm_kernel(ConvGemm p) {
  NST_SHARED(SharedTiles<T>, smem);
  const int n_tiles = (p.Cout + T::kBN - 1) / T::kBN;
  const int m0 = static_cast<int>(blockIdx.x) / n_tiles * T::kBM;
  const int n0 = static_cast<int>(blockIdx.x) % n_tiles * T::kBN;
  const int tid = threadIdx.x;
  const int tx = tid % T::kThreadsN, ty = tid / T::kThreadsN;

  float acc[T::kTM][T::kTN];
#pragma unroll
  for (int i = 0; i < T::kTM; ++i)
#pragma unroll
    for (int j = 0; j < T::kTN; ++j) acc[i][j] = 0.0f;

  ATileLoader<T, kWidth> a_loader(p, m0, tid);
  BTileLoader<T, kWidth> b_loader(p, n0, tid);
  a_loader.load(p, 0);
  b_loader.load(p, 0, n0);
  a_loader.store(smem.a[0]);
  b_loader.store(smem.b[0]);
  __syncthreads();

  const int k_steps = (9 * p.Cin + T::kBK - 1) / T::kBK;
  for (int step = 0; step < k_steps; ++step) {
    const int buf = step & 1;
    const bool has_next = step + 1 < k_steps;
    if (has_next) {
      a_loader.load(p, (step + 1) * T::kBK);
      b_loader.load(p, (step + 1) * T::kBK, n0);
    }
    multiply_tiles<T>(acc, smem.a[buf], smem.b[buf], tx, ty);
    // The other buffer was last read before the previous barrier.
    if (has_next) {
      a_loader.store(smem.a[buf ^ 1]);
      b_loader.store(smem.b[buf ^ 1]);
    }
    __syncthreads();
  }
  store_output<T, kWidth>(p, acc, m0, n0, tx, ty);
}

// wt (3,3,Cout,Cin) from w (3,3,Cin,Cout): wt[8 - tap][co][c] = w[tap][c][co],
// one 32x32 (c, co) block of one tap per block, through shared memory so
// that both the reads and the writes are coalesced.
constexpr int kTransposeTile = 32;
constexpr int kTransposeRows = 8;

__global__ void __launch_bounds__(kTransposeTile * kTransposeRows)
    flip_transpose_kernel(float* wt, const float* w, int Cin, int Cout) {
  NST_SHARED(float[kTransposeTile][kTransposeTile + 1], tile);  // +1: column reads hit 32 banks
  const int tap = blockIdx.z;
  const int c0 = blockIdx.y * kTransposeTile, co0 = blockIdx.x * kTransposeTile;
  const float* src = w + static_cast<size_t>(tap) * Cin * Cout;
  float* dst = wt + static_cast<size_t>(8 - tap) * Cin * Cout;
  for (int i = threadIdx.y; i < kTransposeTile; i += kTransposeRows) {
    const int c = c0 + i, co = co0 + threadIdx.x;
    if (c < Cin && co < Cout) tile[i][threadIdx.x] = __ldg(src + static_cast<size_t>(c) * Cout + co);
  }
  __syncthreads();
  for (int i = threadIdx.y; i < kTransposeTile; i += kTransposeRows) {
    const int co = co0 + i, c = c0 + threadIdx.x;
    if (co < Cout && c < Cin) dst[static_cast<size_t>(co) * Cin + c] = tile[threadIdx.x][i];
  }
}

// ---- kernel launchers ----------------------------------------------------

template <class T>
constexpr ConvTile tile_of() {
  return ConvTile{T::kBM, T::kBN, T::kBK, T::kTM, T::kTN};
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// float4 loads need 4 | Cin (a pack never straddles a tap), 4 | Cout (nor
// the end of a weight row or output row), and 16-byte aligned pointers.
bool can_use_float4(const ConvGemm& p) {
  return p.Cin % 4 == 0 && p.Cout % 4 == 0 && aligned16(p.out) && aligned16(p.in) &&
         (p.mask == nullptr || aligned16(p.mask)) && aligned16(p.weight);
}

template <class T>
void launch_implicit_gemm(const ConvGemm& p, cudaStream_t stream) {
  const long long m_tiles = ceil_div<long long>(static_cast<long long>(p.N) * p.H * p.W, T::kBM);
  const long long blocks = m_tiles * ceil_div(p.Cout, T::kBN);
  if (blocks > INT_MAX) throw nst::InvalidArgument("conv2d: too many output tiles for one launch");
  const dim3 grid(static_cast<unsigned>(blocks));
  if (can_use_float4(p)) {
    NST_LAUNCH(conv3x3_implicit_gemm_kernel<T, 4>, grid, T::kThreads, 0, stream, p);
  } else {
    NST_LAUNCH(conv3x3_implicit_gemm_kernel<T, 1>, grid, T::kThreads, 0, stream, p);
  }
}

void run_implicit_gemm(const ConvGemm& p, ConvTileConfig tile, cudaStream_t stream) {
  switch (tile) {
    case ConvTileConfig::Large128x64: return launch_implicit_gemm<LargeTile>(p, stream);
    case ConvTileConfig::Medium64x64: return launch_implicit_gemm<MediumTile>(p, stream);
    case ConvTileConfig::Small32x32: return launch_implicit_gemm<SmallTile>(p, stream);
  }
  throw nst::InvalidArgument("conv2d: unknown tile configuration " + std::to_string(static_cast<int>(tile)));
}

std::string shape_text(int N, int H, int W, int Cin, int Cout) {
  return "N=" + std::to_string(N) + " H=" + std::to_string(H) + " W=" + std::to_string(W) +
         " Cin=" + std::to_string(Cin) + " Cout=" + std::to_string(Cout);
}

// Offsets are 32-bit inside the kernel (fewer registers, cheaper address
// arithmetic); larger tensors are refused rather than silently wrapped.
void check_shape(const char* op, int N, int H, int W, int Cin, int Cout) {
  if (N < 1 || H < 1 || W < 1 || Cin < 1 || Cout < 1)
    throw nst::InvalidArgument(std::string(op) + ": every size must be at least 1, got " +
                               shape_text(N, H, W, Cin, Cout));
  const long long pixels = static_cast<long long>(N) * H * W;
  const long long channels = Cin > Cout ? Cin : Cout;
  if (pixels * channels > INT_MAX || 9LL * Cin * Cout > INT_MAX)
    throw nst::InvalidArgument(std::string(op) + ": tensors over 2^31 elements are not supported, got " +
                               shape_text(N, H, W, Cin, Cout));
}

void check_pointers(const char* op, std::initializer_list<const void*> required) {
  for (const void* p : required)
    if (p == nullptr) throw nst::InvalidArgument(std::string(op) + ": null device pointer");
}

}  // namespace

// ---- public API ------------------------------------------------------------

ConvTile conv_tile(ConvTileConfig config) {
  switch (config) {
    case ConvTileConfig::Large128x64: return tile_of<LargeTile>();
    case ConvTileConfig::Medium64x64: return tile_of<MediumTile>();
    case ConvTileConfig::Small32x32: return tile_of<SmallTile>();
  }
  throw nst::InvalidArgument("conv_tile: unknown tile configuration " + std::to_string(static_cast<int>(config)));
}

ConvTileConfig default_conv_tile(int N, int H, int W, int Cin, int Cout) {
  (void)Cin;  // K only sets the loop length, not how well the grid fills the device
  // The largest tile that still gives every SM of an H100 (132) about two
  // blocks; a narrow Cout wastes most of a wide tile's columns.
  constexpr long long kEnoughBlocks = 2 * 132;
  const long long M = static_cast<long long>(N) * H * W;
  const auto blocks = [&](ConvTileConfig c) {
    const ConvTile t = conv_tile(c);
    return ceil_div<long long>(M, t.block_m) * ceil_div<long long>(Cout, t.block_n);
  };
  if (Cout <= 32) return ConvTileConfig::Small32x32;
  if (blocks(ConvTileConfig::Large128x64) >= kEnoughBlocks) return ConvTileConfig::Large128x64;
  if (blocks(ConvTileConfig::Medium64x64) >= kEnoughBlocks) return ConvTileConfig::Medium64x64;
  return ConvTileConfig::Small32x32;
}

size_t conv2d_dgrad_workspace_floats(int Cin, int Cout) { return static_cast<size_t>(9) * Cin * Cout; }

void conv2d_fprop(float* y, const float* x, const float* w, const float* b, int N, int H, int W, int Cin,
                  int Cout, bool relu, cudaStream_t stream) {
  conv2d_fprop(y, x, w, b, N, H, W, Cin, Cout, relu, default_conv_tile(N, H, W, Cin, Cout), stream);
}

void conv2d_fprop(float* y, const float* x, const float* w, const float* b, int N, int H, int W, int Cin,
                  int Cout, bool relu, ConvTileConfig tile, cudaStream_t stream) {
  check_shape("conv2d_fprop", N, H, W, Cin, Cout);
  check_pointers("conv2d_fprop", {y, x, w});
  run_implicit_gemm(ConvGemm{y, x, nullptr, w, b, N, H, W, Cin, Cout, relu}, tile, stream);
}

void conv2d_dgrad(float* dx, const float* dy, const float* relu_y, const float* w, int N, int H, int W,
                  int Cin, int Cout, float* workspace, cudaStream_t stream) {
  // The GEMM's output columns are dx's channels.
  conv2d_dgrad(dx, dy, relu_y, w, N, H, W, Cin, Cout, workspace, default_conv_tile(N, H, W, Cout, Cin),
               stream);
}

void conv2d_dgrad_weights(float* wt, const float* w, int Cin, int Cout, cudaStream_t stream) {
  check_shape("conv2d_dgrad_weights", 1, 1, 1, Cin, Cout);
  check_pointers("conv2d_dgrad_weights", {wt, w});
  const dim3 grid(ceil_div(Cout, kTransposeTile), ceil_div(Cin, kTransposeTile), 9);
  NST_LAUNCH(flip_transpose_kernel, grid, dim3(kTransposeTile, kTransposeRows), 0, stream, wt, w, Cin, Cout);
}

void conv2d_dgrad_prepared(float* dx, const float* dy, const float* relu_y, const float* wt, int N, int H, int W,
                           int Cin, int Cout, cudaStream_t stream) {
  conv2d_dgrad_prepared(dx, dy, relu_y, wt, N, H, W, Cin, Cout, default_conv_tile(N, H, W, Cout, Cin), stream);
}

void conv2d_dgrad_prepared(float* dx, const float* dy, const float* relu_y, const float* wt, int N, int H, int W,
                           int Cin, int Cout, ConvTileConfig tile, cudaStream_t stream) {
  check_shape("conv2d_dgrad", N, H, W, Cin, Cout);
  check_pointers("conv2d_dgrad", {dx, dy, wt});
  run_implicit_gemm(ConvGemm{dx, dy, relu_y, wt, nullptr, N, H, W, Cout, Cin, false}, tile, stream);
}

void conv2d_dgrad(float* dx, const float* dy, const float* relu_y, const float* w, int N, int H, int W, int Cin,
                  int Cout, float* workspace, ConvTileConfig tile, cudaStream_t stream) {
  check_pointers("conv2d_dgrad", {workspace});
  conv2d_dgrad_weights(workspace, w, Cin, Cout, stream);
  conv2d_dgrad_prepared(dx, dy, relu_y, workspace, N, H, W, Cin, Cout, tile, stream);
}

NST_CUDA_END
