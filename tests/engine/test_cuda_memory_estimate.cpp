// The cuda memory estimate against what the emulated cuda backend takes
// from cudaMalloc while it runs the schedule: kernels/emu counts every byte
// held and its peak. The estimate plans on the backend's sizing twin, which
// shares its arena and scratch code (engine/arena.hpp) and must follow its
// rules; under emulation the arena gives each allocation a chunk of its
// own, so the twin made for it does too, and the two agree to the byte
// (measured). The bound is 0.1 %, far inside the 10 %, so that any
// rule of the backend the twin does not follow (a buffer of 0.8 % of the
// smallest run's peak, say) fails here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.hpp"
#include "engine/model.hpp"
#include "engine/schedule.hpp"
#include "engine/sizing_backend.hpp"
#include "kernels/emu/runtime_api.hpp"
#include "nst/image.hpp"
#include "nst/nst.hpp"
#include "nst/weights.hpp"

namespace nst {
namespace {

constexpr double kBound = 0.001;

class CudaMemoryEstimate : public ::testing::Test {
 protected:
  // VGG16 with a sixteenth of the channels: the real layer structure, at
  // a cost the emulator runs in seconds.
  CudaMemoryEstimate() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 3)) {}

  static Options options(int size, OptimizerKind optimizer, int tile = 0) {
    Options o;
    o.image_size = size;
    o.iterations = 2;
    o.optimizer = optimizer;
    o.lbfgs_history = 5;
    o.tile = tile;
    o.compute.conv_algo = ConvAlgo::Custom;
    o.compute.gram_algo = GramAlgo::Custom;
    return o;
  }

  // The most device memory the run held above what was held before it.
  size_t measured_peak(const Options& o, const Image& content, const std::vector<Image>& styles) const {
    const size_t base = nst_emu::device_bytes_in_use();
    nst_emu::reset_device_peak();
    {
      const auto model = std::make_shared<Model>(weights_, layers_, o.pooling, make_emulated_cuda_backend(o.compute));
      run_schedule(model, content, styles, o);
    }
    EXPECT_EQ(nst_emu::device_bytes_in_use(), base) << "the run left device memory behind";
    return nst_emu::device_peak_bytes() - base;
  }

  void expect_estimate_close(const std::string& what, const Options& o, int width, int height) const {
    SCOPED_TRACE(what);
    const Image content = noise_image(width, height, 1);
    const std::vector<Image> styles = {noise_image(width + 20, height - 10, 2), noise_image(height, width, 3)};
    const MemoryEstimate e = estimate_memory_on(make_emulated_cuda_sizing_backend(o.compute), layers_, weights_,
                                                content, styles, o, false);
    const double measured = static_cast<double>(measured_peak(o, content, styles));
    const double err = (static_cast<double>(e.peak) - measured) / measured;
    std::printf("    %-36s estimate %10llu B, measured peak %10.0f B: %+.2f %%\n", what.c_str(),
                static_cast<unsigned long long>(e.peak), measured, 100 * err);
    EXPECT_EQ(e.backend, "cuda");
    EXPECT_LE(std::fabs(err), kBound);
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
};

TEST_F(CudaMemoryEstimate, AdamOneScale) {
  expect_estimate_close("adam 96x64", options(96, OptimizerKind::Adam), 96, 64);
}

TEST_F(CudaMemoryEstimate, LbfgsTwoScales) {
  Options o = options(160, OptimizerKind::Lbfgs);
  o.scales = {80, 160};
  expect_estimate_close("l-bfgs 80 then 160 px", o, 160, 112);
}

TEST_F(CudaMemoryEstimate, Tiled) {
  Options o = options(160, OptimizerKind::Lbfgs, 64);
  o.iterations = 1;
  expect_estimate_close("l-bfgs 160x112, tiles of 64 px", o, 160, 112);
}

// The device build's twin: 64 MB chunks, and cuBLAS's and cuDNN's parts,
// which only add to the custom algorithms' estimate.
TEST_F(CudaMemoryEstimate, VendorLibrariesAddTheirWorkspaces) {
  Options custom = options(96, OptimizerKind::Adam);
  Options vendor = custom;
  vendor.compute.conv_algo = ConvAlgo::Cudnn;
  vendor.compute.gram_algo = GramAlgo::Cublas;
  const Image content = noise_image(96, 64, 1);
  auto make = [](const Options& o) {
    std::unique_ptr<SizingBackend> b;
    try {
      b = make_cuda_sizing_backend(o.compute);
    } catch (const DeviceError& e) {  // a build without cuDNN/cuBLAS
      std::printf("    %s\n", e.what());
    }
    return b;
  };
  auto custom_twin = make(custom), vendor_twin = make(vendor);
  if (!custom_twin || !vendor_twin) GTEST_SKIP() << "this build has no cuda backend with cuDNN and cuBLAS";
  const MemoryEstimate c = estimate_memory_on(std::move(custom_twin), layers_, weights_, content, {content}, custom, false);
  const MemoryEstimate v = estimate_memory_on(std::move(vendor_twin), layers_, weights_, content, {content}, vendor, false);
  EXPECT_TRUE(c.bounds.empty());
  EXPECT_NE(v.bounds.find("cuDNN"), std::string::npos);
  // cuBLAS's 32 MB workspace and cuDNN's workspace limit at the least.
  EXPECT_GE(v.peak, c.peak + (size_t{32} << 20) + (size_t{256} << 20));
  // 64 MB chunks hold what the emulated build's exact chunks hold, and more.
  const MemoryEstimate exact = estimate_memory_on(make_emulated_cuda_sizing_backend(custom.compute), layers_,
                                                  weights_, content, {content}, custom, false);
  EXPECT_GE(c.peak, exact.peak + (size_t{60} << 20));
}

}  // namespace
}  // namespace nst
