// The cpu backend's convolution algorithms (ComputeOptions::cpu_conv_algo):
// which algorithm each layer runs under Gemm, Winograd and Auto, checked
// bit for bit against the kernels called directly, and Auto's process-wide
// choice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/cpu_conv.hpp"
#include "kernels/cpu/ops.hpp"
#include "nst/nst.hpp"
#include "../kernels/test_util.hpp"

namespace nst {
namespace {

using test::random_floats;

// One conv layer on a backend: weights uploaded and prepared as the
// Network does, the shape reserved as a plan does.
struct Layer {
  Layer(Backend& b, const Shape& x, int cout) : backend(b), xs(x), cout(cout) {
    const size_t taps = static_cast<size_t>(9) * x.c * cout;
    kernel = random_floats(taps, 1, -0.05f, 0.05f);
    bias = random_floats(cout, 2, -0.1f, 0.1f);
    input = random_floats(x.size(), 3);
    upstream = random_floats(x.pixels() * cout, 4);
    w = b.allocate(taps);
    bb = b.allocate(cout);
    b.upload(w, kernel.data(), taps);
    b.upload(bb, bias.data(), cout);
    w_dgrad = b.prepare_conv2d_dgrad(w, x.c, cout);
    b.reserve_conv2d(x, cout);
  }
  std::vector<float> fprop() {
    std::vector<float> y(xs.pixels() * cout);
    backend.conv2d_fprop(y.data(), input.data(), xs, w, bb, cout, /*relu=*/true);
    return y;
  }
  // dx with the ReLU mask of relu_y = fprop().
  std::vector<float> dgrad(const std::vector<float>& relu_y) {
    std::vector<float> dy = upstream, dx(xs.size());
    backend.conv2d_dgrad(dx.data(), dy.data(), relu_y.data(), xs, w, w_dgrad, cout);
    return dx;
  }

  Backend& backend;
  Shape xs;
  int cout;
  std::vector<float> kernel, bias, input, upstream;
  float *w = nullptr, *bb = nullptr;
  const float* w_dgrad = nullptr;
};

std::vector<float> gemm_fprop(const Layer& l) {
  std::vector<float> y(l.xs.pixels() * l.cout), ws(cpu::conv2d_workspace_floats(1, l.xs.h, l.xs.w, l.xs.c, l.cout));
  cpu::conv2d_fprop(y.data(), l.input.data(), l.kernel.data(), l.bias.data(), l.xs.n, l.xs.h, l.xs.w, l.xs.c, l.cout,
                    true, ws.data());
  return y;
}

std::vector<float> winograd_fprop(const Layer& l) {
  std::vector<float> U(cpu::winograd_kernel_floats(l.xs.c, l.cout)), y(l.xs.pixels() * l.cout);
  std::vector<float> ws(cpu::winograd_workspace_floats(l.xs.c, l.cout, cpu::num_threads()));
  cpu::winograd_fprop_kernel(U.data(), l.kernel.data(), l.xs.c, l.cout);
  cpu::winograd_fprop(y.data(), l.input.data(), U.data(), l.bias.data(), l.xs.n, l.xs.h, l.xs.w, l.xs.c, l.cout, true,
                      ws.data(), ws.size());
  return y;
}

std::vector<float> winograd_dgrad(const Layer& l, const std::vector<float>& relu_y) {
  std::vector<float> U(cpu::winograd_kernel_floats(l.xs.c, l.cout)), dx(l.xs.size());
  std::vector<float> ws(cpu::winograd_workspace_floats(l.xs.c, l.cout, cpu::num_threads()));
  cpu::winograd_dgrad_kernel(U.data(), l.kernel.data(), l.xs.c, l.cout);
  cpu::winograd_dgrad(dx.data(), l.upstream.data(), relu_y.data(), U.data(), l.xs.n, l.xs.h, l.xs.w, l.xs.c, l.cout,
                      ws.data(), ws.size());
  return dx;
}

std::vector<float> gemm_dgrad(const Layer& l, const std::vector<float>& relu_y) {
  std::vector<float> dy = l.upstream, dx(l.xs.size());
  std::vector<float> ws(cpu::conv2d_workspace_floats(1, l.xs.h, l.xs.w, l.xs.c, l.cout));
  cpu::relu_backward(dy.data(), dy.data(), relu_y.data(), dy.size());
  cpu::conv2d_dgrad(dx.data(), dy.data(), l.kernel.data(), l.xs.n, l.xs.h, l.xs.w, l.xs.c, l.cout, ws.data());
  return dx;
}

std::unique_ptr<Backend> cpu_backend(CpuConvAlgo algo, std::vector<std::string>* log = nullptr) {
  ComputeOptions o;
  o.threads = 2;
  o.cpu_conv_algo = algo;
  return make_cpu_backend(o, [log](const std::string& line) {
    if (log) log->push_back(line);
  });
}

TEST(CpuConvAlgo, GemmRunsTheGemmKernels) {
  auto b = cpu_backend(CpuConvAlgo::Gemm);
  Layer l(*b, {1, 20, 24, 32}, 48);
  const auto y = l.fprop();
  EXPECT_EQ(y, gemm_fprop(l));
  EXPECT_EQ(l.dgrad(y), gemm_dgrad(l, y));
  EXPECT_EQ(b->name(), "cpu");
}

TEST(CpuConvAlgo, WinogradRunsTheWinogradKernels) {
  auto b = cpu_backend(CpuConvAlgo::Winograd);
  Layer l(*b, {1, 20, 24, 32}, 48);
  const auto y = l.fprop();
  EXPECT_EQ(y, winograd_fprop(l));
  EXPECT_NE(y, gemm_fprop(l)) << "the two algorithms round differently; equal bits mean Winograd did not run";
  EXPECT_EQ(l.dgrad(y), winograd_dgrad(l, y));
  EXPECT_EQ(b->name(), "cpu (conv winograd)");
}

// VGG's first layer: forward sums over 3 channels (GEMM), backward over 64.
TEST(CpuConvAlgo, WinogradLeavesADirectionOverFewChannelsToGemm) {
  auto b = cpu_backend(CpuConvAlgo::Winograd);
  Layer l(*b, {1, 20, 24, 3}, 64);
  const auto y = l.fprop();
  EXPECT_EQ(y, gemm_fprop(l));
  EXPECT_EQ(l.dgrad(y), winograd_dgrad(l, y));
  Layer last(*b, {1, 20, 24, 64}, 3);  // and the other way round
  const auto y3 = last.fprop();
  EXPECT_EQ(y3, winograd_fprop(last));
  EXPECT_EQ(last.dgrad(y3), gemm_dgrad(last, y3));
}

TEST(CpuConvAlgo, AutoRunsGemmOnLayersTooSmallToTime) {
  std::vector<std::string> log;
  auto b = cpu_backend(CpuConvAlgo::Auto, &log);
  Layer l(*b, {1, 20, 24, 32}, 48);  // 2e7 FLOPs
  ASSERT_FALSE(winograd_candidate(CpuConvAlgo::Auto, ConvDirection::Fprop, l.xs, l.cout));
  const auto y = l.fprop();
  EXPECT_EQ(y, gemm_fprop(l));
  EXPECT_EQ(l.dgrad(y), gemm_dgrad(l, y));
  EXPECT_TRUE(log.empty()) << log.front();
}

// A layer large enough to time: each direction's output is the bits of
// the algorithm Auto says it chose, and a second backend in the process
// reuses the choice without timing again.
TEST(CpuConvAlgo, AutoTimesOnceAndRunsWhatItChose) {
  const Shape x{1, 56, 52, 64};
  const int cout = 64;
  ASSERT_TRUE(winograd_candidate(CpuConvAlgo::Auto, ConvDirection::Fprop, x, cout));
  std::vector<std::string> first_log, second_log;
  auto first = cpu_backend(CpuConvAlgo::Auto, &first_log);
  Layer a(*first, x, cout);
  const auto y = a.fprop();
  const auto dx = a.dgrad(y);
  ASSERT_EQ(first_log.size(), 2u) << "one line per direction";
  for (const std::string& line : first_log) std::printf("    %s\n", line.c_str());
  const bool fprop_winograd = first_log[0].find("fprop 52x56 64->64: winograd") != std::string::npos;
  const bool dgrad_winograd = first_log[1].find("dgrad 52x56 64->64: winograd") != std::string::npos;
  EXPECT_EQ(y, fprop_winograd ? winograd_fprop(a) : gemm_fprop(a)) << first_log[0];
  EXPECT_EQ(dx, dgrad_winograd ? winograd_dgrad(a, y) : gemm_dgrad(a, y)) << first_log[1];

  auto second = cpu_backend(CpuConvAlgo::Auto, &second_log);
  Layer b(*second, x, cout);
  EXPECT_EQ(b.fprop(), y);
  EXPECT_EQ(b.dgrad(y), dx);
  EXPECT_TRUE(second_log.empty()) << "timed again: " << second_log.front();
}

TEST(CpuConvAlgo, AKernelThatWasNotPreparedRunsGemm) {
  auto b = cpu_backend(CpuConvAlgo::Winograd);
  Layer l(*b, {1, 20, 24, 32}, 48);
  std::vector<float> y(l.xs.pixels() * l.cout);
  b->conv2d_fprop(y.data(), l.input.data(), l.xs, l.kernel.data(), l.bias.data(), l.cout, true);  // host copy of w
  EXPECT_EQ(y, gemm_fprop(l));
}

}  // namespace
}  // namespace nst
