// The cuda backend against the cpu backend, one whole iteration at a time:
// losses, every tapped activation, the gradient w.r.t. the image, the image
// after Adam steps, on a tiny random VGG16 (channel widths / 16) at an
// image size that is no multiple of any tile.
//   CudaBackendEmu.*  the backend built against kernels/emu, custom kernels
//                     executed on the CPU (runs everywhere, CI included)
//   CudaBackendGpu.*  nst's own cuda backend on a device, for each conv/Gram
//                     algorithm pair; skipped with a message without a GPU
//   CudaBackendEmuVectorOps.*  the optimisers' vector ops (dot, asum, axpy,
//                     scale, copy), emulated, against the cpu backend's
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/random.hpp"
#include "engine/session_maker.hpp"
#include "engine/backend.hpp"
#include "kernels/test_util.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

constexpr int kH = 18, kW = 21;

std::vector<float> losses_vector(const Losses& l) {
  return {static_cast<float>(l.content), static_cast<float>(l.style), static_cast<float>(l.tv),
          static_cast<float>(l.total)};
}

struct Case {
  const char* name;
  Pooling pooling;
  ConvAlgo conv;
  GramAlgo gram;
  bool tf32;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CudaBackendTest : public ::testing::TestWithParam<Case> {
 protected:
  CudaBackendTest() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 11)) {
    opt_.pooling = GetParam().pooling;
    opt_.compute.conv_algo = GetParam().conv;
    opt_.compute.gram_algo = GetParam().gram;
    opt_.compute.allow_tf32 = GetParam().tf32;
    opt_.content_layers = {"block4_conv2"};
    opt_.style_layers = {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"};
  }

  virtual std::unique_ptr<Session> make_device_session() = 0;

  std::unique_ptr<Session> make_cpu_session() {
    Options o = opt_;
    o.compute.device = Device::Cpu;
    return prepare(std::make_unique<Session>(weights_, o, kH, kW, LogFn{}, layers_));
  }

  std::unique_ptr<Session> prepare(std::unique_ptr<Session> s) {
    s->set_content(content_);
    s->set_styles({style_a_, style_b_});
    s->init_image(Init::Content, 0);
    // Content plus noise: away from the content loss's zero and from ties.
    std::vector<float> x = s->image();
    Rng rng(5);
    for (float& v : x) v += static_cast<float>(20.0 * (rng.uniform() - 0.5));
    s->set_image(x);
    return s;
  }

  void expect_close(const char* what, const std::vector<float>& got, const std::vector<float>& want, double tol) {
    ASSERT_EQ(got.size(), want.size()) << what;
    const double err = test::relative_error(got, test::to_double(want));
    std::printf("    [%s] %-28s rel err %.3e (tol %.0e)\n", GetParam().name, what, err, tol);
    EXPECT_LE(err, tol) << what;
  }

  // float32 sums in another order: 1e-5 at most on these shapes; TF32
  // rounds the conv and GEMM inputs to 10 mantissa bits.
  double tol() const { return GetParam().tf32 ? 2e-2 : 1e-4; }

  void compare_one_iteration() {
    auto dev = make_device_session();
    auto cpu = make_cpu_session();
    expect_close("content target", dev->content_target("block4_conv2"), cpu->content_target("block4_conv2"), tol());
    for (const auto& layer : opt_.style_layers) {
      expect_close(("style target " + layer).c_str(), dev->style_target(layer), cpu->style_target(layer), tol());
    }
    const Losses ld = dev->evaluate(), lc = cpu->evaluate();
    expect_close("losses", losses_vector(ld), losses_vector(lc), tol());
    for (const auto& layer : opt_.style_layers) {
      expect_close(("activation " + layer).c_str(), dev->activation(layer), cpu->activation(layer), tol());
    }
    expect_close("gradient", dev->gradient(), cpu->gradient(), 10 * tol());
  }

  // Soft left/right masks for the two styles, a ramp for the content.
  void use_masks() {
    auto ramp = [](bool rising, bool horizontal) {
      Image m;
      m.width = kW;
      m.height = kH;
      m.rgb.resize(m.pixels() * 3);
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
          const int t = horizontal ? 255 * x / (kW - 1) : 255 * y / (kH - 1);
          for (int c = 0; c < 3; ++c) m.rgb[(static_cast<size_t>(y) * kW + x) * 3 + c] = static_cast<uint8_t>(rising ? t : 255 - t);
        }
      return m;
    };
    opt_.style_masks = {ramp(true, true), ramp(false, true)};
    opt_.content_mask = ramp(true, false);
  }

  void compare_steps(OptimizerKind optimizer, int steps) {
    opt_.optimizer = optimizer;
    auto dev = make_device_session();
    auto cpu = make_cpu_session();
    for (int i = 0; i < steps; ++i) {
      const Losses ld = dev->step(), lc = cpu->step();
      if (i + 1 == steps) expect_close("losses at the last step", losses_vector(ld), losses_vector(lc), 10 * tol());
    }
    expect_close("image after the steps", dev->image(), cpu->image(), 10 * tol());
    const Image a = dev->output(), b = cpu->output();
    int off = 0;
    for (size_t i = 0; i < a.rgb.size(); ++i) off = std::max(off, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
    EXPECT_LE(off, 1) << "deprocessed images differ by more than rounding";
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
  Options opt_;
  Image content_ = noise_image(kW, kH, 1);
  Image style_a_ = noise_image(25, 19, 2);
  Image style_b_ = noise_image(17, 20, 3);
};

// ---- the emulated backend: custom kernels on the CPU ---------------------------

class CudaBackendEmu : public CudaBackendTest {
 protected:
  std::unique_ptr<Session> make_device_session() override {
    return prepare(SessionMaker::on_backend(weights_, opt_, kH, kW, make_emulated_cuda_backend(opt_.compute), layers_));
  }
};

TEST_P(CudaBackendEmu, OneIterationMatchesTheCpuBackend) { compare_one_iteration(); }
// Masks: the pixel_scale kernel inside the masked style and content terms.
TEST_P(CudaBackendEmu, MaskedIterationMatchesTheCpuBackend) {
  use_masks();
  compare_one_iteration();
}
TEST_P(CudaBackendEmu, ThreeAdamStepsMatchTheCpuBackend) { compare_steps(OptimizerKind::Adam, 3); }
// L-BFGS's vectors and its two-loop recursion on the device's vector ops.
TEST_P(CudaBackendEmu, ThreeLbfgsStepsMatchTheCpuBackend) { compare_steps(OptimizerKind::Lbfgs, 3); }

TEST_P(CudaBackendEmu, RunsAreBitwiseReproducible) {
  std::vector<float> images[2];
  for (auto& img : images) {
    auto s = make_device_session();
    s->step();
    s->step();
    img = s->image();
  }
  EXPECT_EQ(images[0], images[1]);
}

INSTANTIATE_TEST_SUITE_P(Custom, CudaBackendEmu,
                         ::testing::Values(Case{"max_custom", Pooling::Max, ConvAlgo::Custom, GramAlgo::Custom, false},
                                           Case{"avg_custom", Pooling::Avg, ConvAlgo::Custom, GramAlgo::Custom, false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CudaBackendEmuOptions, VendorAlgorithmsAreRefusedWithAMessage) {
  Options o;
  o.compute.conv_algo = ConvAlgo::Cudnn;
  o.compute.gram_algo = GramAlgo::Custom;
  try {
    make_emulated_cuda_backend(o.compute);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("custom"), std::string::npos) << e.what();
  }
}

// ---- vector ops (optimisers), emulated backend vs cpu backend --------------------

// The results of one fixed sequence of vector ops on a backend, downloaded.
struct VectorOpsRun {
  std::vector<float> sums;     // dot(a, b), dot(a, a), asum(a), dot(a, b) of odd views
  std::vector<float> y;        // y0 + alpha * scale * x, scale a backend scalar
  std::vector<float> y_plain;  // y0 + alpha * x, no scale
  std::vector<float> chained;  // y0 - 0.5 * dot(a, b) * x: the dot's result as the scale
  std::vector<float> copied;   // copy of a, then scaled by -1.7
  std::vector<float> odd_y;    // axpy on views one float off the allocation
};

VectorOpsRun run_vector_ops(Backend& be, size_t n) {
  const auto a = test::random_floats(n, 1), b = test::random_floats(n, 2), x = test::random_floats(n, 3);
  const auto y0 = test::random_floats(n, 4, -2.f, 2.f);
  be.reserve_vector_ops(n);
  auto put = [&](const std::vector<float>& host, size_t offset = 0) {
    float* d = be.allocate(host.size() + offset) + offset;
    be.upload(d, host.data(), host.size());
    return d;
  };
  auto get = [&](const float* d, size_t count) {
    std::vector<float> host(count);
    be.download(host.data(), d, count);
    return host;
  };
  float* da = put(a);
  float* db = put(b);
  float* dx = put(x);
  float* dy = put(y0);
  float* dy_plain = put(y0);
  float* dchained = put(y0);
  float* dcopy = be.allocate(n);
  // Views one float into their allocations: float4 paths with a scalar head.
  float* oa = put(a, 1);
  float* ob = put(b, 1);
  float* ox = put(x, 1);
  float* oy = put(y0, 1);
  float* scalars = put({NAN, NAN, NAN, NAN, 2.718f});  // 4 results, then a scale
  float* scale = scalars + 4;

  // Queued back to back with no download in between, as an optimiser would.
  be.dot(scalars + 0, da, db, n);
  be.dot(scalars + 1, da, da, n);
  be.asum(scalars + 2, da, n);
  be.dot(scalars + 3, oa, ob, n);
  be.axpy(dy, -0.37f, scale, dx, n);
  be.axpy(dy_plain, -0.37f, nullptr, dx, n);
  be.axpy(dchained, -0.5f, scalars + 0, dx, n);
  be.copy(dcopy, da, n);
  be.scale(dcopy, -1.7f, n);
  be.axpy(oy, 0.25f, scale, ox, n);
  be.synchronize();

  VectorOpsRun r;
  r.sums = get(scalars, 4);
  r.y = get(dy, n);
  r.y_plain = get(dy_plain, n);
  r.chained = get(dchained, n);
  r.copied = get(dcopy, n);
  r.odd_y = get(oy, n);
  return r;
}

// Same bits everywhere; prints how many differ.
::testing::AssertionResult exactly(const char* what, const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << what << ": sizes differ";
  size_t diff = 0;
  for (size_t i = 0; i < got.size(); ++i) diff += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
  std::printf("    %-8s bitwise mismatches %zu of %zu\n", what, diff, got.size());
  if (diff == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << diff << " of " << got.size() << " differ, relative error "
                                       << test::relative_error(got, test::to_double(want));
}

// The options the emulated backend accepts: custom conv and Gram kernels.
ComputeOptions custom_algorithms() {
  ComputeOptions o;
  o.conv_algo = ConvAlgo::Custom;
  o.gram_algo = GramAlgo::Custom;
  return o;
}

TEST(CudaBackendEmuVectorOps, MatchTheCpuBackend) {
  for (size_t n : {size_t{1}, size_t{5}, size_t{1000}, size_t{65537}}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    auto dev_backend = make_emulated_cuda_backend(custom_algorithms());
    auto cpu_backend = make_cpu_backend(0);
    const VectorOpsRun dev = run_vector_ops(*dev_backend, n), cpu = run_vector_ops(*cpu_backend, n);
    // Double sums rounded once, in different orders: within rounding.
    const double err = test::relative_error(dev.sums, test::to_double(cpu.sums));
    std::printf("    dot/asum rel err %.3e (tol 1e-6)\n", err);
    for (size_t i = 0; i < cpu.sums.size(); ++i)
      EXPECT_NEAR(dev.sums[i], cpu.sums[i], 1e-6 * std::fabs(cpu.sums[i])) << "sum " << i;
    // The same float operations (fma included): the same bits.
    EXPECT_TRUE(exactly("axpy", dev.y, cpu.y));
    EXPECT_TRUE(exactly("axpy", dev.y_plain, cpu.y_plain));
    EXPECT_TRUE(exactly("scale", dev.copied, cpu.copied));
    EXPECT_TRUE(exactly("axpy odd", dev.odd_y, cpu.odd_y));
    // Exact given equal dots (they are, here), else within their rounding.
    if (std::memcmp(&dev.sums[0], &cpu.sums[0], sizeof(float)) == 0) {
      EXPECT_TRUE(exactly("chained", dev.chained, cpu.chained));
    } else {
      EXPECT_LE(test::relative_error(dev.chained, test::to_double(cpu.chained)), 1e-6);
    }
  }
}

TEST(CudaBackendEmuVectorOps, CopyIsExact) {
  auto be = make_emulated_cuda_backend(custom_algorithms());
  const auto a = test::random_floats(1001, 5);
  float* src = be->allocate(a.size());
  float* dst = be->allocate(a.size());
  be->upload(src, a.data(), a.size());
  be->copy(dst, src, a.size());
  be->copy(dst, src, 0);  // nothing, not an error
  std::vector<float> got(a.size());
  be->download(got.data(), dst, got.size());
  EXPECT_TRUE(exactly("copy", got, a));
}

TEST(CudaBackendEmuVectorOps, SumsNeedScratchReservedWhilePlanning) {
  auto be = make_emulated_cuda_backend(custom_algorithms());
  float* v = be->allocate(1000);
  be->fill(v, 1.f, 1000);
  EXPECT_THROW(be->dot(v, v, v, 1000), Error);
  be->reserve_vector_ops(1000);
  float* r = be->allocate(1);
  be->asum(r, v, 1000);
  float got = NAN;
  be->download(&got, r, 1);
  EXPECT_EQ(got, 1000.f);
}

// ---- a real device: nst's cuda backend, every algorithm pair -------------------

class CudaBackendGpu : public CudaBackendTest {
 protected:
  void SetUp() override {
    std::string why;
    if (!cuda_available(&why)) GTEST_SKIP() << "no CUDA device here (" << why << "); bench/gpu_check.sh runs this on a GPU";
  }
  std::unique_ptr<Session> make_device_session() override {
    Options o = opt_;
    o.compute.device = Device::Cuda;
    return prepare(std::make_unique<Session>(weights_, o, kH, kW, LogFn{}, layers_));
  }
};

TEST_P(CudaBackendGpu, OneIterationMatchesTheCpuBackend) { compare_one_iteration(); }
TEST_P(CudaBackendGpu, MaskedIterationMatchesTheCpuBackend) {
  use_masks();
  compare_one_iteration();
}
// Ten steps: the first evaluation runs eagerly, the second is captured into
// a CUDA graph, the rest replay it.
TEST_P(CudaBackendGpu, TenAdamStepsMatchTheCpuBackend) { compare_steps(OptimizerKind::Adam, 10); }
TEST_P(CudaBackendGpu, ThreeLbfgsStepsMatchTheCpuBackend) { compare_steps(OptimizerKind::Lbfgs, 3); }

INSTANTIATE_TEST_SUITE_P(
    Algorithms, CudaBackendGpu,
    ::testing::Values(Case{"max_custom", Pooling::Max, ConvAlgo::Custom, GramAlgo::Custom, false},
                      Case{"avg_custom", Pooling::Avg, ConvAlgo::Custom, GramAlgo::Custom, false},
                      Case{"max_cudnn_cublas", Pooling::Max, ConvAlgo::Cudnn, GramAlgo::Cublas, false},
                      Case{"max_cudnn_custom", Pooling::Max, ConvAlgo::Cudnn, GramAlgo::Custom, false},
                      Case{"max_custom_cublas", Pooling::Max, ConvAlgo::Custom, GramAlgo::Cublas, false},
                      Case{"max_cudnn_cublas_tf32", Pooling::Max, ConvAlgo::Cudnn, GramAlgo::Cublas, true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nst
