// The cuda backend against the cpu backend, one whole iteration at a time:
// losses, every tapped activation, the gradient w.r.t. the image, the image
// after Adam steps, on a tiny random VGG16 (channel widths / 16) at an
// image size that is no multiple of any tile.
//   CudaBackendEmu.*  the backend built against kernels/emu, custom kernels
//                     executed on the CPU (runs everywhere, CI included)
//   CudaBackendGpu.*  nst's own cuda backend on a device, for each conv/Gram
//                     algorithm pair; skipped with a message without a GPU
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "engine/backend.hpp"
#include "kernels/test_util.hpp"
#include "nst/nst.hpp"
#include "nst/random.hpp"

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
    opt_.conv_algo = GetParam().conv;
    opt_.gram_algo = GetParam().gram;
    opt_.allow_tf32 = GetParam().tf32;
    opt_.content_layers = {"block4_conv2"};
    opt_.style_layers = {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"};
  }

  virtual std::unique_ptr<Session> make_device_session() = 0;

  std::unique_ptr<Session> make_cpu_session() {
    Options o = opt_;
    o.device = Device::Cpu;
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

  void compare_adam_steps(int steps) {
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
    return prepare(std::make_unique<Session>(weights_, opt_, kH, kW, make_emulated_cuda_backend(opt_), LogFn{}, layers_));
  }
};

TEST_P(CudaBackendEmu, OneIterationMatchesTheCpuBackend) { compare_one_iteration(); }
TEST_P(CudaBackendEmu, ThreeAdamStepsMatchTheCpuBackend) { compare_adam_steps(3); }

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
  o.conv_algo = ConvAlgo::Cudnn;
  o.gram_algo = GramAlgo::Custom;
  try {
    make_emulated_cuda_backend(o);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("custom"), std::string::npos) << e.what();
  }
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
    o.device = Device::Cuda;
    return prepare(std::make_unique<Session>(weights_, o, kH, kW, LogFn{}, layers_));
  }
};

TEST_P(CudaBackendGpu, OneIterationMatchesTheCpuBackend) { compare_one_iteration(); }
// Ten steps: the first evaluation runs eagerly, the second is captured into
// a CUDA graph, the rest replay it.
TEST_P(CudaBackendGpu, TenAdamStepsMatchTheCpuBackend) { compare_adam_steps(10); }

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
