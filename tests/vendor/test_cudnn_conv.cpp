// cuDNN conv2d 3x3 (NHWC, Keras HWIO weights) beyond the op table's
// comparison of fprop (plain, fused bias+ReLU, TF32) and dgrad with the
// float64 references (tests/ops/test_op_table.cpp, run on a GPU as
// gpu.OpTable*): the plan's algorithm and workspace choice, plans shared
// and found again, fprop without bias, the timed algorithm search,
// deterministic dgrad, weights freed after planning, and rejections.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "kernels/cpu/ops.hpp"
#include "vendor/vendor_test.hpp"

#if NST_HAVE_CUDNN
#include "kernels/cuda/vendor/cudnn_conv.hpp"
#endif

namespace nst::cuda {
namespace {

#if !NST_HAVE_CUDNN

TEST(VendorCudnn, IsBuilt) { GTEST_SKIP() << "nst was configured without cuDNN: the cudnn conv path is not built"; }

#else

using test::DeviceBuffer;
using test::DeviceOutput;
using test::matches;
using test::random_floats;
using test::to_double;

size_t x_count(const ConvShape& s) { return static_cast<size_t>(s.N) * s.H * s.W * s.Cin; }
size_t y_count(const ConvShape& s) { return static_cast<size_t>(s.N) * s.H * s.W * s.Cout; }
size_t w_count(const ConvShape& s) { return static_cast<size_t>(9) * s.Cin * s.Cout; }

// 13x7 images; channel counts of the first VGG layer (3), a power of two
// and one off any tile size; a batch of two.
const ConvShape kShapes[] = {{1, 13, 7, 3, 64}, {2, 13, 7, 64, 70}, {1, 7, 13, 70, 3}};

constexpr double kTol = 1e-5;  // fp32 sums of up to 9*70 terms against float64

void print_plan(const CudnnConv& conv, int id) {
  const CudnnConvPlanInfo i = conv.info(id);
  std::printf("    plan %d (%d,%d,%d,%d)->%d: fprop %s/%s %zu B%s%s, dgrad %s/%s %zu B%s%s%s\n", id, i.shape.N,
              i.shape.H, i.shape.W, i.shape.Cin, i.shape.Cout, i.fprop_algo_name.c_str(), i.fprop_math.c_str(),
              i.fprop_workspace_bytes, i.fprop_deterministic ? "" : " (non-deterministic)",
              i.fused ? ", fused bias+relu" : "", i.dgrad_algo_name.c_str(), i.dgrad_math.c_str(),
              i.dgrad_workspace_bytes, i.dgrad_deterministic ? "" : " (non-deterministic)",
              i.fused_note.empty() ? "" : "; fused: ", i.fused_note.c_str());
}

class VendorCudnnConv : public test::VendorTest {
 protected:
  // fprop of one shape against conv2d_fprop_reference.
  void expect_fprop_matches(const CudnnConvOptions& options, const ConvShape& s, bool bias, bool relu, double tol) {
    SCOPED_TRACE(testing::Message() << "x (" << s.N << "," << s.H << "," << s.W << "," << s.Cin << ") Cout "
                                    << s.Cout << (bias ? " bias" : "") << (relu ? " relu" : ""));
    const auto x = random_floats(x_count(s), 1);
    const auto w = random_floats(w_count(s), 2, -0.5f, 0.5f);
    const auto b = random_floats(static_cast<size_t>(s.Cout), 3);
    DeviceBuffer<float> dx(x), dw(w), db(b);
    CudnnConv conv(stream_, options);
    const int id = conv.plan(s, dw.get(), bias ? db.get() : nullptr);
    conv.allocate_workspace();
    print_plan(conv, id);
    DeviceOutput y(y_count(s));
    conv.fprop(id, y.get(), dx.get(), relu);
    sync();
    std::vector<double> ref(y_count(s));
    cpu::conv2d_fprop_reference(ref.data(), to_double(x).data(), to_double(w).data(),
                                bias ? to_double(b).data() : nullptr, s.N, s.H, s.W, s.Cin, s.Cout, relu);
    EXPECT_TRUE(matches("y", y.values(), ref, tol));
    EXPECT_TRUE(y.guard_intact());
  }

  void expect_dgrad_matches(const CudnnConvOptions& options, const ConvShape& s, double tol) {
    SCOPED_TRACE(testing::Message() << "x (" << s.N << "," << s.H << "," << s.W << "," << s.Cin << ") Cout "
                                    << s.Cout);
    const auto dy = random_floats(y_count(s), 4);
    const auto w = random_floats(w_count(s), 5, -0.5f, 0.5f);
    DeviceBuffer<float> ddy(dy), dw(w);
    CudnnConv conv(stream_, options);
    const int id = conv.plan(s, dw.get(), nullptr);
    conv.allocate_workspace();
    print_plan(conv, id);
    DeviceOutput dx(x_count(s));
    conv.dgrad(id, dx.get(), ddy.get());
    sync();
    std::vector<double> ref(x_count(s));
    cpu::conv2d_dgrad_reference(ref.data(), to_double(dy).data(), to_double(w).data(), s.N, s.H, s.W, s.Cin, s.Cout);
    EXPECT_TRUE(matches("dx", dx.values(), ref, tol));
    EXPECT_TRUE(dx.guard_intact());
  }
};

TEST_F(VendorCudnnConv, PlanPicksAlgorithmsAndSizesTheWorkspace) {
  CudnnConv conv(stream_);
  std::printf("    cuDNN %zu\n", CudnnConv::library_version());
  DeviceBuffer<float> w(random_floats(9 * 70 * 70, 6)), b(random_floats(70, 7));
  size_t most = 0;
  for (const ConvShape& s : kShapes) {
    const int id = conv.plan(s, w.get(), b.get());
    print_plan(conv, id);
    const CudnnConvPlanInfo i = conv.info(id);
    EXPECT_GE(i.fprop_algo, 0);
    EXPECT_GE(i.dgrad_algo, 0);
    EXPECT_NE(i.fprop_algo_name, "UNKNOWN");
    EXPECT_NE(i.dgrad_algo_name, "UNKNOWN");
    // No TF32 unless asked: the FMA math type throughout.
    EXPECT_EQ(i.fprop_math, "FMA");
    EXPECT_EQ(i.dgrad_math, "FMA");
    EXPECT_LE(i.fprop_workspace_bytes, conv.options().workspace_limit_bytes);
    EXPECT_LE(i.dgrad_workspace_bytes, conv.options().workspace_limit_bytes);
    most = std::max({most, i.fprop_workspace_bytes, i.dgrad_workspace_bytes});
  }
  EXPECT_EQ(conv.num_plans(), 3);
  EXPECT_EQ(conv.workspace_bytes(), most);
  conv.allocate_workspace();
}

TEST_F(VendorCudnnConv, PlansOfEqualShapeShareTheAlgorithms) {
  CudnnConv conv(stream_);
  const ConvShape s{1, 13, 7, 64, 70};
  DeviceBuffer<float> w1(random_floats(w_count(s), 8)), w2(random_floats(w_count(s), 9));
  const int a = conv.plan(s, w1.get(), nullptr), b = conv.plan(s, w2.get(), nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(conv.info(a).fprop_algo, conv.info(b).fprop_algo);
  EXPECT_EQ(conv.info(a).dgrad_algo, conv.info(b).dgrad_algo);
}

TEST_F(VendorCudnnConv, FindPlanReturnsThePlanMadeForTheSameArguments) {
  CudnnConv conv(stream_);
  const ConvShape s{1, 13, 7, 64, 70}, t{1, 7, 13, 64, 70};
  DeviceBuffer<float> w(random_floats(w_count(s), 16)), b(random_floats(s.Cout, 17));
  EXPECT_EQ(conv.find_plan(s, w.get(), b.get()), -1);
  const int id = conv.plan(s, w.get(), b.get());
  EXPECT_EQ(conv.find_plan(s, w.get(), b.get()), id);
  EXPECT_EQ(conv.find_plan(s, w.get(), nullptr), -1);
  EXPECT_EQ(conv.find_plan(t, w.get(), b.get()), -1);
}

TEST_F(VendorCudnnConv, FpropWithoutBiasMatchesCpuReference) {
  for (const ConvShape& s : kShapes) {
    expect_fprop_matches({}, s, false, true, kTol);
    expect_fprop_matches({}, s, false, false, kTol);
  }
}

TEST_F(VendorCudnnConv, TimedSearchMatchesCpuReference) {
  CudnnConvOptions options;
  options.search = CudnnAlgoSearch::Timed;
  for (const ConvShape& s : kShapes) {
    expect_fprop_matches(options, s, true, true, kTol);
    expect_dgrad_matches(options, s, kTol);
  }
}

TEST_F(VendorCudnnConv, DgradIsBitwiseRepeatable) {
  const ConvShape s{2, 13, 7, 64, 70};
  DeviceBuffer<float> dy(random_floats(y_count(s), 10)), w(random_floats(w_count(s), 11));
  CudnnConv conv(stream_);
  const int id = conv.plan(s, w.get(), nullptr);
  if (!conv.info(id).dgrad_deterministic)
    GTEST_SKIP() << "cuDNN offers no usable deterministic backward-data algorithm for this shape (took "
                 << conv.info(id).dgrad_algo_name << ")";
  conv.allocate_workspace();
  DeviceBuffer<float> dx1(x_count(s)), dx2(x_count(s));
  conv.dgrad(id, dx1.get(), dy.get());
  conv.dgrad(id, dx2.get(), dy.get());
  sync();
  EXPECT_EQ(dx1.download(), dx2.download());
}

TEST_F(VendorCudnnConv, WeightsMayBeFreedAfterPlanning) {
  const ConvShape s{1, 13, 7, 3, 64};
  const auto x = random_floats(x_count(s), 12);
  const auto w = random_floats(w_count(s), 13);
  const auto b = random_floats(s.Cout, 14);
  CudnnConv conv(stream_);
  int id = -1;
  {
    DeviceBuffer<float> dw(w), db(b);
    id = conv.plan(s, dw.get(), db.get());
  }
  conv.allocate_workspace();
  DeviceBuffer<float> dx(x);
  DeviceOutput y(y_count(s));
  conv.fprop(id, y.get(), dx.get(), true);
  sync();
  std::vector<double> ref(y_count(s));
  cpu::conv2d_fprop_reference(ref.data(), to_double(x).data(), to_double(w).data(), to_double(b).data(), s.N, s.H,
                              s.W, s.Cin, s.Cout, true);
  EXPECT_TRUE(matches("y", y.values(), ref, kTol));
}

TEST_F(VendorCudnnConv, RejectsUnknownPlansAndBadShapes) {
  CudnnConv conv(stream_);
  EXPECT_THROW(conv.info(0), nst::InvalidArgument);
  EXPECT_THROW(conv.fprop(0, nullptr, nullptr, true), nst::InvalidArgument);
  DeviceBuffer<float> w(9 * 3 * 4);
  EXPECT_THROW(conv.plan({1, 0, 7, 3, 4}, w.get(), nullptr), nst::InvalidArgument);
  EXPECT_THROW(conv.plan({1, 13, 7, 3, 4}, nullptr, nullptr), nst::InvalidArgument);
}

TEST_F(VendorCudnnConv, TooSmallWorkspaceIsRefused) {
  CudnnConv conv(stream_);
  const ConvShape s{2, 13, 7, 64, 70};
  DeviceBuffer<float> w(random_floats(w_count(s), 15));
  conv.plan(s, w.get(), nullptr);
  if (conv.workspace_bytes() == 0) GTEST_SKIP() << "the chosen algorithms need no workspace on this device";
  EXPECT_THROW(conv.set_workspace(nullptr, conv.workspace_bytes() - 1), nst::InvalidArgument);
  DeviceBuffer<float> x(x_count(s)), y(y_count(s));
  // Neither lent nor allocated yet: the call that needs some refuses.
  if (conv.info(0).fprop_workspace_bytes > 0) {
    EXPECT_THROW(conv.fprop(0, y.get(), x.get(), false), nst::InvalidArgument);
  }
  if (conv.info(0).dgrad_workspace_bytes > 0) {
    EXPECT_THROW(conv.dgrad(0, x.get(), y.get()), nst::InvalidArgument);
  }
}

#endif  // NST_HAVE_CUDNN

}  // namespace
}  // namespace nst::cuda
