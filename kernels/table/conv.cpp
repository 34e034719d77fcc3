// conv2d 3x3 (stride 1, zero padding 1), forward with bias and optional
// ReLU, and backward-data with the ReLU mask of the layer's output, as the
// engine calls them. Variants: the CPU's im2col+GEMM and Winograd
// F(4x4,3x3); the custom CUDA implicit GEMM at its default tile and at each
// tile; cuDNN (FP32, TF32, and fprop with the fused bias+ReLU call).
#include <cmath>

#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/conv2d.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "kernels/table/device.hpp"
#include "kernels/table/op_table.hpp"

#if !defined(NST_EMU) && defined(NST_HAVE_CUDNN) && NST_HAVE_CUDNN
#include "kernels/cuda/vendor/cudnn_conv.hpp"
#define NST_TABLE_CUDNN 1
#endif

NST_TABLE_BEGIN

namespace {

// dims: N, H, W, Cin, Cout, relu (fprop: ReLU after the bias; dgrad: dy is
// masked by relu_y > 0, the layer's ReLU output).
enum { kN, kH, kW, kCin, kCout, kRelu };
size_t pixels(const Dims& d) { return static_cast<size_t>(d[kN]) * d[kH] * d[kW]; }
size_t x_count(const Dims& d) { return pixels(d) * d[kCin]; }
size_t y_count(const Dims& d) { return pixels(d) * d[kCout]; }
size_t w_count(const Dims& d) { return 9 * static_cast<size_t>(d[kCin]) * d[kCout]; }
size_t b_count(const Dims& d) { return static_cast<size_t>(d[kCout]); }
bool relu(const Dims& d) { return d[kRelu] != 0; }

double conv_flops(const Dims& d) { return 2.0 * 9.0 * static_cast<double>(pixels(d)) * d[kCin] * d[kCout]; }

// The kernel scaled like He init, so that outputs stay O(1) whatever Cin is.
void scale_kernel(const Dims& d, std::vector<float>& w) {
  const float a = 1.f / std::sqrt(9.f * static_cast<float>(d[kCin]));
  for (float& v : w) v *= a;
}

// Shapes that are not multiples of any tile: 1 and 3 channels (scalar
// loads), 64 and 70 (vector and scalar), odd sizes, a row, a pixel,
// batches; a VGG block-2-like layer (several blocks, a long K loop); more
// im2col than one band holds (the CPU's banding); more 4x4 tiles than one
// Winograd block holds, with each thread on its own blocks.
std::vector<Shape> conv_test_shapes(bool dgrad) {
  std::vector<Shape> s = {
      {"7x5_3to8", {1, 7, 5, 3, 8, 1}},           {"one_channel", {1, 5, 7, 1, 1, 0}},
      {"1to5", {1, 5, 7, 1, 5, 1}},               {"one_pixel_4to4", {1, 1, 1, 4, 4, 1}},
      {"one_pixel", {1, 1, 1, 5, 4, 0}},          {"batch_odd_channels", {2, 9, 11, 70, 33, 1}},
      {"3to64", {1, 13, 7, 3, 64, 1}},            {"64to70", {1, 13, 7, 64, 70, 0}},
      {"70to3", {1, 13, 7, 70, 3, 1}},            {"row", {2, 1, 9, 5, 6, 1}},
      {"column", {2, 9, 1, 5, 6, 1}},             {"tiles_partial", {2, 11, 13, 64, 70, 1}},
      {"tiles_scalar", {2, 11, 13, 3, 68, 0}},    {"vgg_block2", {1, 20, 17, 64, 128, 1}},
      {"winograd_blocks", {2, 67, 61, 17, 20, 1}}, {"winograd_own_blocks", {1, 184, 180, 16, 16, 1}},
  };
  // dgrad's im2col has Cout channels, fprop's Cin.
  s.push_back(dgrad ? Shape{"bands", {1, 67, 61, 6, 128, 1}} : Shape{"bands", {2, 67, 61, 128, 6, 1}});
  return s;
}

std::vector<Shape> conv_bench_shapes(int image) {
  std::vector<Shape> s;
  for (const VggLayer& l : vgg16_conv_layers(image)) s.push_back({l.name, {1, l.H, l.W, l.Cin, l.Cout, 1}});
  return s;
}

// ---- the CPU's algorithms ---------------------------------------------------------

Variant cpu_gemm_fprop() {
  Variant v{"cpu", Place::Host};
  v.prepare = [](const Call& c) {
    return host_workspace(cpu::conv2d_workspace_floats(c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout)));
  };
  v.run = [](const Call& c) {
    cpu::conv2d_fprop(c.f(0), c.f(1), c.f(2), c.f(3), c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout), relu(c.d),
                      state_of<HostScratch>(c).a.data());
  };
  v.describe = [](const Call&) { return std::string("im2col + SGEMM, bias+ReLU epilogue"); };
  return v;
}

// Either direction's transformed kernel (a) and its workspace (b), made once.
std::shared_ptr<void> winograd_state(const Call& c, void (*transform)(float*, const float*, int, int),
                                     const float* w) {
  auto s = std::make_shared<HostScratch>();
  s->a.resize(cpu::winograd_kernel_floats(c.n(kCin), c.n(kCout)));
  transform(s->a.data(), w, c.n(kCin), c.n(kCout));
  s->b.resize(cpu::winograd_workspace_floats(c.n(kCin), c.n(kCout), cpu::num_threads()));
  return s;
}

Variant cpu_winograd_fprop() {
  Variant v{"cpu.winograd", Place::Host};
  v.prepare = [](const Call& c) { return winograd_state(c, cpu::winograd_fprop_kernel, c.f(2)); };
  v.run = [](const Call& c) {
    auto& s = state_of<HostScratch>(c);
    cpu::winograd_fprop(c.f(0), c.f(1), s.a.data(), c.f(3), c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout),
                        relu(c.d), s.b.data(), s.b.size());
  };
  v.describe = [](const Call&) { return std::string("Winograd F(4x4,3x3), kernel transformed once"); };
  return v;
}

// The engine's GEMM path: the mask as a separate relu_backward pass, then
// the GEMM against the flipped kernel made once per Model.
Variant cpu_gemm_dgrad() {
  Variant v{"cpu", Place::Host};
  v.prepare = [](const Call& c) {
    auto s = std::make_shared<HostScratch>();
    s->a.resize(9 * static_cast<size_t>(c.n(kCin)) * c.n(kCout));
    cpu::conv2d_dgrad_weights(s->a.data(), c.f(3), c.n(kCin), c.n(kCout));
    s->b.resize(cpu::conv2d_workspace_floats(c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout)) + y_count(c.d));
    return std::shared_ptr<void>(s);
  };
  v.run = [](const Call& c) {
    auto& s = state_of<HostScratch>(c);
    const float* dy = c.f(1);
    float* masked = s.b.data() + (s.b.size() - y_count(c.d));
    if (relu(c.d)) {
      cpu::relu_backward(masked, dy, c.f(2), y_count(c.d));
      dy = masked;
    }
    cpu::conv2d_dgrad_prepared(c.f(0), dy, s.a.data(), c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout),
                               s.b.data());
  };
  v.describe = [](const Call&) { return std::string("relu_backward, then im2col + SGEMM on the flipped kernel"); };
  return v;
}

Variant cpu_winograd_dgrad() {
  Variant v{"cpu.winograd", Place::Host};
  v.prepare = [](const Call& c) { return winograd_state(c, cpu::winograd_dgrad_kernel, c.f(3)); };
  v.run = [](const Call& c) {
    auto& s = state_of<HostScratch>(c);
    cpu::winograd_dgrad(c.f(0), c.f(1), relu(c.d) ? c.f(2) : nullptr, s.a.data(), c.n(kN), c.n(kH), c.n(kW),
                        c.n(kCin), c.n(kCout), s.b.data(), s.b.size());
  };
  v.describe = [](const Call&) { return std::string("Winograd F(4x4,3x3), ReLU mask fused into the input transform"); };
  return v;
}

// ---- the custom CUDA kernels --------------------------------------------------------

struct TileChoice {
  const char* suffix;  // "" for the default choice
  bool fixed;
  cuda::ConvTileConfig tile;
};
const TileChoice kTiles[] = {{"", false, cuda::ConvTileConfig::Large128x64},
                             {".large128x64", true, cuda::ConvTileConfig::Large128x64},
                             {".medium64x64", true, cuda::ConvTileConfig::Medium64x64},
                             {".small32x32", true, cuda::ConvTileConfig::Small32x32}};

std::string tile_label(cuda::ConvTileConfig config, bool fixed) {
  const cuda::ConvTile t = cuda::conv_tile(config);
  return std::string(fixed ? "" : "default: ") + "implicit GEMM " + std::to_string(t.block_m) + "x" +
         std::to_string(t.block_n) + "x" + std::to_string(t.block_k) + ", " + std::to_string(t.thread_m) + "x" +
         std::to_string(t.thread_n) + " per thread";
}

Variant cuda_fprop(const TileChoice& choice) {
  Variant v{std::string("cuda") + choice.suffix, Place::Device};
  v.run = [choice](const Call& c) {
    if (choice.fixed)
      cuda::conv2d_fprop(c.f(0), c.f(1), c.f(2), c.f(3), c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout), relu(c.d),
                         choice.tile, stream_of(c));
    else
      cuda::conv2d_fprop(c.f(0), c.f(1), c.f(2), c.f(3), c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout), relu(c.d),
                         stream_of(c));
  };
  v.describe = [choice](const Call& c) {
    return tile_label(choice.fixed ? choice.tile
                                   : cuda::default_conv_tile(c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout)),
                      choice.fixed);
  };
  return v;
}

// The engine's form: the kernel rearranged once, the ReLU mask applied to
// dy as the kernel loads it.
Variant cuda_dgrad(const TileChoice& choice) {
  Variant v{std::string("cuda") + choice.suffix, Place::Device};
  v.prepare = [](const Call& c) {
    auto wt = std::make_shared<DeviceScratch>(cuda::conv2d_dgrad_workspace_floats(c.n(kCin), c.n(kCout)));
    cuda::conv2d_dgrad_weights(wt->get(), c.f(3), c.n(kCin), c.n(kCout), stream_of(c));
    return std::shared_ptr<void>(wt);
  };
  v.run = [choice](const Call& c) {
    const float* wt = state_of<DeviceScratch>(c).get();
    const float* mask = relu(c.d) ? c.f(2) : nullptr;
    if (choice.fixed)
      cuda::conv2d_dgrad_prepared(c.f(0), c.f(1), mask, wt, c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout),
                                  choice.tile, stream_of(c));
    else
      cuda::conv2d_dgrad_prepared(c.f(0), c.f(1), mask, wt, c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout),
                                  stream_of(c));
  };
  v.describe = [choice](const Call& c) {
    return tile_label(choice.fixed ? choice.tile
                                   : cuda::default_conv_tile(c.n(kN), c.n(kH), c.n(kW), c.n(kCout), c.n(kCin)),
                      choice.fixed) +
           ", ReLU mask on load";
  };
  return v;
}

// ---- cuDNN ------------------------------------------------------------------------------

#if defined(NST_TABLE_CUDNN)
// TF32 rounds the inputs to 10 mantissa bits: ~1e-3 relative.
constexpr double kTf32Tolerance = 1e-2;

struct CudnnState {
  CudnnState(const Call& c, const cuda::CudnnConvOptions& options)
      : conv(stream_of(c), options), masked(y_count(c.d)) {}
  cuda::CudnnConv conv;
  DeviceScratch masked;
  int plan = -1;
};

std::string cudnn_label(const cuda::CudnnConvPlanInfo& info, bool fprop, bool fused_asked) {
  std::string label = "cuDNN " + std::to_string(cuda::CudnnConv::library_version()) + " ";
  if (fprop) {
    label += info.fprop_algo_name + " math " + info.fprop_math + ", ws " +
             std::to_string(info.fprop_workspace_bytes >> 10) + " KiB, bias+relu " + (info.fused ? "fused" : "separate");
    if (fused_asked && !info.fused) label += " (" + info.fused_note + ")";
  } else {
    label += info.dgrad_algo_name + " math " + info.dgrad_math + ", ws " +
             std::to_string(info.dgrad_workspace_bytes >> 10) + " KiB" +
             (info.dgrad_deterministic ? "" : ", non-deterministic");
  }
  return label;
}

Variant cudnn_conv(const std::string& name, bool fprop, cuda::CudnnConvOptions options) {
  Variant v{name, Place::Device};
  v.prepare = [fprop, options](const Call& c) {
    auto s = std::make_shared<CudnnState>(c, options);
    const cuda::ConvShape shape{c.n(kN), c.n(kH), c.n(kW), c.n(kCin), c.n(kCout)};
    s->plan = fprop ? s->conv.plan(shape, c.f(2), c.f(3)) : s->conv.plan(shape, c.f(3), nullptr);
    s->conv.allocate_workspace();
    return std::shared_ptr<void>(s);
  };
  if (fprop) {
    v.run = [](const Call& c) {
      auto& s = state_of<CudnnState>(c);
      s.conv.fprop(s.plan, c.f(0), c.f(1), relu(c.d));
    };
  } else {
    // cuDNN takes dy already masked: the backend runs relu_backward first.
    v.run = [](const Call& c) {
      auto& s = state_of<CudnnState>(c);
      const float* dy = c.f(1);
      if (relu(c.d)) {
        cuda::relu_backward(s.masked.get(), dy, c.f(2), y_count(c.d), stream_of(c));
        dy = s.masked.get();
      }
      s.conv.dgrad(s.plan, c.f(0), dy);
    };
  }
  if (options.allow_tf32) v.tolerance = kTf32Tolerance;
  v.describe = [fprop, options](const Call& c) {
    auto& s = state_of<CudnnState>(c);
    return cudnn_label(s.conv.info(s.plan), fprop, options.fused_bias_relu);
  };
  return v;
}

void add_cudnn(Op& op, bool fprop) {
  cuda::CudnnConvOptions plain;  // the backend's defaults
  cuda::CudnnConvOptions tf32 = plain;
  tf32.allow_tf32 = true;
  op.variants.push_back(cudnn_conv("cudnn", fprop, plain));
  op.variants.push_back(cudnn_conv("cudnn.tf32", fprop, tf32));
  if (fprop) {
    cuda::CudnnConvOptions fused = plain;
    fused.fused_bias_relu = true;
    op.variants.push_back(cudnn_conv("cudnn.fused", true, fused));
  }
}
#endif

}  // namespace

std::vector<Op> conv_ops() {
  Op fprop;
  fprop.name = "conv2d_fprop";
  fprop.dims = {"N", "H", "W", "Cin", "Cout", "relu"};
  fprop.tensors = {{"y", Role::Out, y_count},
                   {"x", Role::In, x_count},
                   {"w", Role::In, w_count},
                   {"b", Role::In, b_count, -0.5f, 0.5f}};
  fprop.derive = [](const Dims& d, std::vector<std::vector<float>>& t) { scale_kernel(d, t[2]); };
  fprop.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::conv2d_fprop_reference(t[0].data(), t[1].data(), t[2].data(), t[3].data(), d[kN], d[kH], d[kW], d[kCin],
                                d[kCout], relu(d));
  };
  fprop.flops = conv_flops;
  fprop.bytes = [](const Dims& d) { return 4.0 * (x_count(d) + y_count(d) + w_count(d) + b_count(d)); };
  // float32 sums of up to 9*128 terms against float64: ~1e-7 relative for
  // GEMM and the custom kernels, 7e-8 to 1.3e-6 for Winograd (its
  // transforms amplify rounding, more so as Cin grows).
  fprop.tolerance = 1e-5;
  fprop.test_shapes = conv_test_shapes(false);
  fprop.bench_shapes = conv_bench_shapes;
  fprop.variants = {cpu_gemm_fprop(), cpu_winograd_fprop()};
  for (const TileChoice& t : kTiles) fprop.variants.push_back(cuda_fprop(t));

  Op dgrad;
  dgrad.name = "conv2d_dgrad";
  dgrad.dims = fprop.dims;
  dgrad.tensors = {{"dx", Role::Out, x_count},
                   {"dy", Role::In, y_count},
                   {"relu_y", Role::In, y_count},  // about half <= 0
                   {"w", Role::In, w_count}};
  dgrad.derive = [](const Dims& d, std::vector<std::vector<float>>& t) { scale_kernel(d, t[3]); };
  dgrad.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    std::vector<double> dy = t[1];
    if (relu(d))
      for (size_t i = 0; i < dy.size(); ++i) dy[i] = t[2][i] > 0 ? dy[i] : 0.0;
    cpu::conv2d_dgrad_reference(t[0].data(), dy.data(), t[3].data(), d[kN], d[kH], d[kW], d[kCin], d[kCout]);
  };
  dgrad.flops = conv_flops;
  dgrad.bytes = [](const Dims& d) {
    return 4.0 * (x_count(d) + (relu(d) ? 2 : 1) * y_count(d) + w_count(d));
  };
  dgrad.tolerance = fprop.tolerance;
  dgrad.test_shapes = conv_test_shapes(true);
  dgrad.bench_shapes = conv_bench_shapes;
  dgrad.variants = {cpu_gemm_dgrad(), cpu_winograd_dgrad()};
  for (const TileChoice& t : kTiles) dgrad.variants.push_back(cuda_dgrad(t));

#if defined(NST_TABLE_CUDNN)
  add_cudnn(fprop, true);
  add_cudnn(dgrad, false);
#endif
  return {fprop, dgrad};
}

NST_TABLE_END
