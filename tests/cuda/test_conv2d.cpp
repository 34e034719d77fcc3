// Custom conv2d 3x3 kernels (implicit GEMM fprop with bias + ReLU epilogue,
// dgrad with the ReLU mask applied on load) in the cases the op table does
// not cover: fprop without a bias, pointers off a 16-byte boundary (scalar
// loads although the channels allow float4), the prepared dgrad against
// the two-launch workspace form, the tiles' descriptions and the default
// choice, and bad arguments. The plain comparisons on random data (odd
// shapes, 1 to 128 channels, batches, every tile, run to run and in every
// thread order of the emulation) live in the op table
// (tests/ops/test_op_table.cpp, shapes in kernels/table/conv.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <vector>

#include "cuda/cuda_test.hpp"
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/conv2d.hpp"

namespace nst::cuda {
// So that a failed EXPECT_EQ names a configuration instead of dumping its
// bytes.
inline void PrintTo(ConvTileConfig config, std::ostream* os) {
  const ConvTile t = conv_tile(config);
  *os << t.block_m << "x" << t.block_n << "x" << t.block_k;
}
}  // namespace nst::cuda

namespace nst::test {
namespace {

using cuda::ConvTileConfig;

// The CPU op sums in another order (blocked SGEMM); sums of up to 9*70
// terms agree to ~1e-7 relative in practice.
constexpr double kTol = 1e-5;

struct Shape {
  int N, H, W, Cin, Cout;
  size_t x() const { return static_cast<size_t>(N) * H * W * Cin; }
  size_t y() const { return static_cast<size_t>(N) * H * W * Cout; }
  size_t w() const { return static_cast<size_t>(9) * Cin * Cout; }
};

// Kernel scaled like He init so outputs stay O(1) whatever Cin is.
std::vector<float> random_kernel(const Shape& s, uint32_t seed) {
  const float a = 1.f / std::sqrt(9.f * s.Cin);
  return random_floats(s.w(), seed, -a, a);
}

std::vector<double> as_double(const std::vector<float>& v) { return to_double(v); }

// `n` floats on the device, `offset` floats into their allocation (which
// ends right behind them, where the emulation's guards sit).
class DeviceFloats {
 public:
  DeviceFloats(const std::vector<float>& host, size_t offset) : buf_(offset + host.size()), offset_(offset) {
    NST_CUDA_CHECK(cudaMemcpy(get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  float* get() const { return buf_.get() + offset_; }
  std::vector<float> download() const {
    std::vector<float> host(buf_.size() - offset_);
    NST_CUDA_CHECK(cudaMemcpy(host.data(), get(), host.size() * sizeof(float), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  DeviceBuffer<float> buf_;
  size_t offset_;
};

struct Fprop {
  Shape s;
  bool bias, relu;
  size_t offset = 0;  // floats x and y start past an aligned address
  std::vector<float> x = random_floats(s.x(), 1), w = random_kernel(s, 2),
                     b = random_floats(s.Cout, 3, -0.5f, 0.5f);

  std::vector<float> on_cpu() const {
    std::vector<float> y(s.y()), ws(cpu::conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout));
    cpu::conv2d_fprop(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, s.N, s.H, s.W, s.Cin, s.Cout,
                      relu, ws.data());
    return y;
  }
  std::vector<float> on_device(cudaStream_t stream) const {
    const DeviceFloats dx(x, offset), dw(w, 0), db(b, 0), dy(unwritten(s.y()), offset);
    cuda::conv2d_fprop(dy.get(), dx.get(), dw.get(), bias ? db.get() : nullptr, s.N, s.H, s.W, s.Cin, s.Cout, relu,
                       stream);
    NST_CUDA_CHECK(cudaStreamSynchronize(stream));
    return dy.download();
  }
};

struct Dgrad {
  Shape s;
  bool masked;        // dy comes from a ReLU output relu_y
  size_t offset = 0;  // floats dy, relu_y and dx start past an aligned address
  std::vector<float> dy = random_floats(s.y(), 4), w = random_kernel(s, 5),
                     relu_y = random_floats(s.y(), 6);  // about half <= 0

  std::vector<float> on_cpu() const {
    std::vector<float> masked_dy(dy);
    if (masked) cpu::relu_backward(masked_dy.data(), dy.data(), relu_y.data(), dy.size());
    std::vector<float> dx(s.x()), ws(cpu::conv2d_workspace_floats(s.N, s.H, s.W, s.Cin, s.Cout));
    cpu::conv2d_dgrad(dx.data(), masked_dy.data(), w.data(), s.N, s.H, s.W, s.Cin, s.Cout, ws.data());
    return dx;
  }
  // Also checks that dy and w are left as they were.
  std::vector<float> on_device(cudaStream_t stream) const {
    const DeviceFloats ddy(dy, offset), dw(w, 0), dmask(relu_y, offset), ddx(unwritten(s.x()), offset),
        ws(unwritten(cuda::conv2d_dgrad_workspace_floats(s.Cin, s.Cout)), 0);
    cuda::conv2d_dgrad(ddx.get(), ddy.get(), masked ? dmask.get() : nullptr, dw.get(), s.N, s.H, s.W, s.Cin, s.Cout,
                       ws.get(), stream);
    NST_CUDA_CHECK(cudaStreamSynchronize(stream));
    EXPECT_EQ(ddy.download(), dy) << "conv2d_dgrad changed dy";
    EXPECT_EQ(dw.download(), w) << "conv2d_dgrad changed w";
    return ddx.download();
  }
};

class CudaConv2d : public CudaTest {
 protected:
  void expect_matches_cpu(const Fprop& op) {
    EXPECT_TRUE(matches("conv2d_fprop", op.on_device(stream_), as_double(op.on_cpu()), kTol));
  }
  void expect_matches_cpu(const Dgrad& op) {
    EXPECT_TRUE(matches("conv2d_dgrad", op.on_device(stream_), as_double(op.on_cpu()), kTol));
  }
};

// ---- fprop -----------------------------------------------------------------

// b may be null: the epilogue adds nothing (the op table always passes a
// bias).
TEST_F(CudaConv2d, FpropWithoutBiasMatchesCpu) {
  expect_matches_cpu(Fprop{{2, 5, 9, 8, 12}, /*bias=*/false, /*relu=*/true});
  expect_matches_cpu(Fprop{{2, 5, 9, 8, 12}, /*bias=*/false, /*relu=*/false});
}

// Channels that allow float4 loads, but data 4 bytes off a 16-byte
// boundary (a sub-allocation of an arena): the kernel must load scalars.
TEST_F(CudaConv2d, FpropOnPointersOffA16ByteBoundaryMatchesCpu) {
  expect_matches_cpu(Fprop{{1, 5, 7, 8, 12}, /*bias=*/true, /*relu=*/true, /*offset=*/1});
}

// ---- dgrad -----------------------------------------------------------------

// The engine's form: the kernel rearranged once, then only the GEMM; it
// must equal the two-launch form bit for bit and the CPU op.
TEST_F(CudaConv2d, DgradWithAPreparedKernelEqualsTheWorkspaceForm) {
  const Dgrad op{{1, 13, 7, 64, 70}, /*masked=*/true};
  const Shape& s = op.s;
  const DeviceFloats ddy(op.dy, 0), dw(op.w, 0), dmask(op.relu_y, 0), ddx(unwritten(s.x()), 0),
      wt(unwritten(cuda::conv2d_dgrad_workspace_floats(s.Cin, s.Cout)), 0);
  cuda::conv2d_dgrad_weights(wt.get(), dw.get(), s.Cin, s.Cout, stream_);
  cuda::conv2d_dgrad_prepared(ddx.get(), ddy.get(), dmask.get(), wt.get(), s.N, s.H, s.W, s.Cin, s.Cout, stream_);
  NST_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const std::vector<float> prepared = ddx.download();
  EXPECT_EQ(prepared, op.on_device(stream_));
  EXPECT_TRUE(matches("conv2d_dgrad_prepared", prepared, as_double(op.on_cpu()), kTol));
}

TEST_F(CudaConv2d, DgradOnPointersOffA16ByteBoundaryMatchesCpu) {
  expect_matches_cpu(Dgrad{{1, 5, 7, 8, 12}, /*masked=*/true, /*offset=*/1});
}

// ---- tile choice and bad arguments -----------------------------------------

TEST(CudaConv2dTiles, ConfigurationsDescribeTheirTiles) {
  const cuda::ConvTile large = cuda::conv_tile(ConvTileConfig::Large128x64);
  EXPECT_EQ(large.block_m, 128);
  EXPECT_EQ(large.block_n, 64);
  EXPECT_EQ(cuda::conv_tile(ConvTileConfig::Medium64x64).block_m, 64);
  EXPECT_EQ(cuda::conv_tile(ConvTileConfig::Small32x32).block_n, 32);
  for (auto c : {ConvTileConfig::Large128x64, ConvTileConfig::Medium64x64, ConvTileConfig::Small32x32}) {
    const cuda::ConvTile t = cuda::conv_tile(c);
    EXPECT_EQ(t.block_m % t.thread_m, 0);
    EXPECT_EQ(t.block_n % t.thread_n, 0);
  }
}

TEST(CudaConv2dTiles, DefaultIsLargeForBigLayersAndSmallForFewPixelsOrChannels) {
  EXPECT_EQ(cuda::default_conv_tile(1, 512, 512, 64, 64), ConvTileConfig::Large128x64);
  EXPECT_EQ(cuda::default_conv_tile(1, 128, 128, 128, 128), ConvTileConfig::Medium64x64);
  EXPECT_EQ(cuda::default_conv_tile(1, 8, 8, 512, 512), ConvTileConfig::Small32x32);
  EXPECT_EQ(cuda::default_conv_tile(1, 512, 512, 64, 3), ConvTileConfig::Small32x32);
}

TEST_F(CudaConv2d, RejectsEmptyShapesAndNullPointers) {
  DeviceBuffer<float> buf(9 * 4 * 4);
  float* p = buf.get();
  EXPECT_THROW(cuda::conv2d_fprop(p, p, p, nullptr, 0, 2, 2, 4, 4, false, stream_), InvalidArgument);
  EXPECT_THROW(cuda::conv2d_fprop(nullptr, p, p, nullptr, 1, 2, 2, 4, 4, false, stream_), InvalidArgument);
  EXPECT_THROW(cuda::conv2d_dgrad(p, p, nullptr, p, 1, 2, 2, 4, 4, nullptr, stream_), InvalidArgument);
  EXPECT_THROW(cuda::conv2d_fprop(p, p, p, nullptr, 1, 2, 2, 4, 4, false, static_cast<ConvTileConfig>(99),
                                  stream_),
               InvalidArgument);
}

}  // namespace
}  // namespace nst::test
