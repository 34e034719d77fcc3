// The Gram matrix and the three losses (content, style, total variation),
// each writing its loss and adding (+=) its gradient into a gradient that
// starts from random values of the gradient's own size. Variants: the
// CPU ops, the custom CUDA kernels (the style loss fused and in the
// backend's split form), and cuBLAS (Gram by SYRK or GEMM, the style
// gradient's product), FP32 and TF32.
#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/losses.hpp"
#include "kernels/table/device.hpp"
#include "kernels/table/op_table.hpp"

#if !defined(NST_EMU) && defined(NST_HAVE_CUDA_VENDOR) && NST_HAVE_CUDA_VENDOR
#include "kernels/cuda/vendor/cublas_ops.hpp"
#define NST_TABLE_CUBLAS 1
#endif

NST_TABLE_BEGIN

namespace {

// fp32 sums against float64; TF32 rounds the inputs to 10 mantissa bits.
constexpr double kTolerance = 1e-5;
constexpr double kTf32Tolerance = 1e-2;

// ---- Gram and style: dims N, HW, C --------------------------------------------------

enum { kN, kHW, kC };
size_t f_count(const Dims& d) { return static_cast<size_t>(d[kN]) * d[kHW] * d[kC]; }
size_t g_count(const Dims& d) { return static_cast<size_t>(d[kN]) * d[kC] * d[kC]; }
size_t cc_count(const Dims& d) { return static_cast<size_t>(d[kC]) * d[kC]; }
size_t one(const Dims&) { return 1; }
double product_flops(const Dims& d) { return 2.0 * f_count(d) * d[kC]; }

// Image sizes off any block or tile (13x7, 37x29), channel counts off any
// tile (1, 3, 70, 130), batches; a long sum (the split over HW).
std::vector<Shape> gram_test_shapes() {
  return {{"13x7x3", {1, 13 * 7, 3}},      {"13x7x64", {1, 13 * 7, 64}},  {"13x7x70", {1, 13 * 7, 70}},
          {"batch_13x7x1", {2, 13 * 7, 1}}, {"batch_13x7x70", {2, 13 * 7, 70}}, {"37x29x64", {1, 37 * 29, 64}},
          {"batch_23x29x130", {2, 23 * 29, 130}}, {"19x11x130", {1, 19 * 11, 130}}, {"long_64x64x128", {1, 64 * 64, 128}}};
}

// The style layers (each block's first conv).
std::vector<Shape> style_bench_shapes(int image) {
  std::vector<Shape> s;
  for (const VggLayer& l : vgg16_conv_layers(image))
    if (l.name.size() > 6 && l.name.substr(l.name.size() - 6) == "_conv1")
      s.push_back({l.name, {1, static_cast<long>(l.H) * l.W, l.Cout}});
  return s;
}

Op gram_op() {
  Op op;
  op.name = "gram";
  op.dims = {"N", "HW", "C"};
  op.tensors = {{"G", Role::Out, g_count}, {"F", Role::In, f_count, 0.f, 2.f}};  // >= 0 as after a ReLU
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::gram_reference(t[0].data(), t[1].data(), d[kN], d[kHW], d[kC]);
  };
  // The full product's FLOPs: a SYRK computes half the entries, so its
  // rate is effective (equal time, equal rate).
  op.flops = product_flops;
  op.bytes = [](const Dims& d) { return 4.0 * (f_count(d) + g_count(d)); };
  op.tolerance = kTolerance;
  op.test_shapes = gram_test_shapes();
  op.bench_shapes = style_bench_shapes;

  // The backend's form: the rows split over the threads, with a workspace.
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.prepare = [](const Call& c) { return host_workspace(cpu::gram_workspace_floats(c.n(kC), cpu::num_threads())); };
  cpu_v.run = [](const Call& c) {
    auto& ws = state_of<HostScratch>(c).a;
    cpu::gram(c.f(0), c.f(1), c.n(kN), c.n(kHW), c.n(kC), ws.data(), ws.size());
  };
  cpu_v.describe = [](const Call& c) {
    const int parts = cpu::gram_parts(c.n(kHW), cpu::num_threads());
    return parts > 1 ? "SSYRK per part of " + std::to_string(parts) + " (a thread each), summed, mirrored"
                     : std::string("SSYRK per image, mirrored");
  };
  // Without a workspace: one SSYRK over all rows, OpenBLAS's threads.
  Variant one_syrk{"cpu.syrk", Place::Host};
  one_syrk.run = [](const Call& c) { cpu::gram(c.f(0), c.f(1), c.n(kN), c.n(kHW), c.n(kC)); };
  one_syrk.describe = [](const Call&) { return std::string("one SSYRK per image, mirrored"); };

  Variant split{"cuda", Place::Device};
  split.prepare = [](const Call& c) {
    return std::shared_ptr<void>(
        std::make_shared<DeviceScratch>(cuda::gram_workspace_floats(c.n(kN), c.n(kHW), c.n(kC))));
  };
  split.run = [](const Call& c) {
    cuda::gram(c.f(0), c.f(1), c.n(kN), c.n(kHW), c.n(kC), state_of<DeviceScratch>(c).get(), stream_of(c));
  };
  split.describe = [](const Call& c) {
    return "tiled, split_k " + std::to_string(cuda::gram_split_k(c.n(kN), c.n(kHW), c.n(kC)));
  };

  Variant nosplit{"cuda.nosplit", Place::Device};
  nosplit.run = [](const Call& c) { cuda::gram(c.f(0), c.f(1), c.n(kN), c.n(kHW), c.n(kC), stream_of(c)); };
  nosplit.describe = [](const Call&) { return std::string("tiled, no split"); };

  op.variants = {cpu_v, one_syrk, split, nosplit};
#if defined(NST_TABLE_CUBLAS)
  for (const bool tf32 : {false, true}) {
    for (const auto method : {cuda::GramMethod::Syrk, cuda::GramMethod::Gemm}) {
      const std::string name = std::string("cublas.") + (method == cuda::GramMethod::Syrk ? "syrk" : "gemm");
      Variant v{tf32 ? name + ".tf32" : name, Place::Device};
      v.prepare = [tf32](const Call& c) {
        cuda::CublasOptions options;
        options.allow_tf32 = tf32;
        return std::shared_ptr<void>(std::make_shared<cuda::CublasOps>(stream_of(c), options));
      };
      v.run = [method](const Call& c) {
        state_of<cuda::CublasOps>(c).gram(c.f(0), c.f(1), c.n(kN), c.n(kHW), c.n(kC), method);
      };
      if (tf32) v.tolerance = kTf32Tolerance;
      v.describe = [method, tf32](const Call&) {
        return std::string("cuBLAS ") + cuda::gram_method_name(method) + (tf32 ? ", TF32" : ", FP32");
      };
      op.variants.push_back(v);
    }
  }
#endif
  return op;
}

// A uniform [-peak, peak) prior for a "+=" gradient, peak the largest
// |value| of `fresh` (the gradient the op adds), so that the comparison
// sees the op's part and not only the prior.
void scale_prior(std::vector<float>& prior, const std::vector<float>& fresh) {
  float peak = 0.f;
  for (float g : fresh) peak = std::max(peak, std::fabs(g));
  for (float& p : prior) p *= peak;
}

constexpr float kStyleWeight = 100.f;

// style: G = gram(F) as the engine computes it; A the Gram of another,
// differently scaled image (so G - A is not a small difference of nearly
// equal numbers); the prior of the gradient's size.
void derive_style(const Dims& d, std::vector<std::vector<float>>& t) {
  auto& dF = t[1];
  const auto& F = t[2];
  auto &G = t[3], &A = t[4];
  const int N = d[kN], HW = d[kHW], C = d[kC];
  cpu::gram(G.data(), F.data(), N, HW, C);
  std::mt19937 rng(static_cast<uint32_t>(f_count(d)));
  std::vector<float> other(static_cast<size_t>(HW) * C);
  for (float& x : other) x = static_cast<float>((rng() >> 8) * (1.0 / 16777216.0));
  cpu::gram(A.data(), other.data(), 1, HW, C);
  std::vector<float> fresh(dF.size(), 0.f), ws(cpu::style_loss_workspace_floats(N, HW, C));
  float loss;
  cpu::style_loss(&loss, fresh.data(), F.data(), G.data(), A.data(), N, HW, C, kStyleWeight, ws.data());
  scale_prior(dF, fresh);
}

#define NST_STYLE_ARGS c.n(kN), c.n(kHW), c.n(kC)

Op style_op() {
  Op op;
  op.name = "style_loss";
  op.dims = {"N", "HW", "C"};
  op.tensors = {{"loss", Role::Out, one},
                {"dF", Role::InOut, f_count},
                {"F", Role::In, f_count, 0.f, 2.f},
                {"G", Role::In, g_count},
                {"A", Role::In, cc_count}};
  op.derive = derive_style;
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::style_loss_reference(t[0].data(), t[1].data(), t[2].data(), t[4].data(), d[kN], d[kHW], d[kC],
                              kStyleWeight);
  };
  op.flops = product_flops;  // dF += scale F (G - A)
  op.bytes = [](const Dims& d) { return 4.0 * (3.0 * f_count(d) + g_count(d) + cc_count(d)); };
  op.tolerance = kTolerance;
  op.test_shapes = gram_test_shapes();
  op.bench_shapes = style_bench_shapes;

  Variant cpu_v{"cpu", Place::Host};
  cpu_v.prepare = [](const Call& c) { return host_workspace(cpu::style_loss_workspace_floats(NST_STYLE_ARGS)); };
  cpu_v.run = [](const Call& c) {
    cpu::style_loss(c.f(0), c.f(1), c.f(2), c.f(3), c.f(4), NST_STYLE_ARGS, kStyleWeight,
                    state_of<HostScratch>(c).a.data());
  };

  Variant fused{"cuda", Place::Device};
  fused.prepare = [](const Call& c) {
    return std::shared_ptr<void>(std::make_shared<DeviceScratch>(cuda::style_loss_workspace_floats(NST_STYLE_ARGS)));
  };
  fused.run = [](const Call& c) {
    cuda::style_loss(c.f(0), c.f(1), c.f(2), c.f(3), c.f(4), NST_STYLE_ARGS, kStyleWeight,
                     state_of<DeviceScratch>(c).get(), stream_of(c));
  };

  op.variants = {cpu_v, fused};
  // The backend's split form: D = G - A and the loss, then dF += scale F D
  // by the custom tiled product or by cuBLAS.
  struct Split {
    Split(const Call& c)
        : D(g_count(c.d)), ws(cuda::style_loss_diff_workspace_floats(c.n(kN), c.n(kC))) {}
    DeviceScratch D, ws;
    std::shared_ptr<void> cublas;
  };
  auto diff = [](const Call& c) {
    auto& s = state_of<Split>(c);
    cuda::style_loss_diff(c.f(0), s.D.get(), c.f(3), c.f(4), c.n(kN), c.n(kC), kStyleWeight, s.ws.get(),
                          stream_of(c));
  };
  Variant split{"cuda.split", Place::Device};
  split.prepare = [](const Call& c) { return std::shared_ptr<void>(std::make_shared<Split>(c)); };
  split.run = [diff](const Call& c) {
    diff(c);
    cuda::style_gradient_product(c.f(1), c.f(2), state_of<Split>(c).D.get(), NST_STYLE_ARGS,
                                 cuda::style_gradient_scale(NST_STYLE_ARGS, kStyleWeight), stream_of(c));
  };
  op.variants.push_back(split);
#if defined(NST_TABLE_CUBLAS)
  for (const bool tf32 : {false, true}) {
    Variant v{tf32 ? "cublas.tf32" : "cublas", Place::Device};
    v.prepare = [tf32](const Call& c) {
      auto s = std::make_shared<Split>(c);
      cuda::CublasOptions options;
      options.allow_tf32 = tf32;
      s->cublas = std::make_shared<cuda::CublasOps>(stream_of(c), options);
      return std::shared_ptr<void>(s);
    };
    v.run = [diff](const Call& c) {
      diff(c);
      auto& s = state_of<Split>(c);
      static_cast<cuda::CublasOps*>(s.cublas.get())
          ->style_gradient_product(c.f(1), c.f(2), s.D.get(), NST_STYLE_ARGS,
                                   cuda::style_gradient_scale(NST_STYLE_ARGS, kStyleWeight));
    };
    if (tf32) v.tolerance = kTf32Tolerance;
    v.describe = [tf32](const Call&) {
      return std::string("D = G - A, then cuBLAS GEMM N,N") + (tf32 ? ", TF32" : ", FP32");
    };
    op.variants.push_back(v);
  }
#endif
  return op;
}

#undef NST_STYLE_ARGS

// ---- content: dims n ------------------------------------------------------------------

size_t n_of(const Dims& d) { return static_cast<size_t>(d[0]); }
// weight n: the gradient 2 (F - P) is O(1), as the prior is.
float content_weight(const Dims& d) { return static_cast<float>(d[0]); }

Op content_op() {
  Op op;
  op.name = "content_loss";
  op.dims = {"n"};
  op.tensors = {{"loss", Role::Out, one}, {"dF", Role::InOut, n_of}, {"F", Role::In, n_of}, {"P", Role::In, n_of}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::content_loss_reference(t[0].data(), t[1].data(), t[2].data(), t[3].data(), n_of(d), content_weight(d));
  };
  op.bytes = [](const Dims& d) { return 16.0 * n_of(d); };  // F, P, dF read; dF written
  op.tolerance = kTolerance;
  // Odd counts, not a multiple of a block; one element.
  op.test_shapes = {{"one", {1}}, {"odd", {2 * 13 * 7 * 70 + 1}}, {"both_threads", {100003}}};
  op.bench_shapes = [](int image) {
    const VggLayer l = vgg16_conv_layers(image)[7];  // block4_conv2
    return std::vector<Shape>{{l.name, {static_cast<long>(l.H) * l.W * l.Cout}}};
  };
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) {
    cpu::content_loss(c.f(0), c.f(1), c.f(2), c.f(3), n_of(c.d), content_weight(c.d));
  };
  Variant cuda_v{"cuda", Place::Device};
  cuda_v.prepare = [](const Call& c) {
    return std::shared_ptr<void>(std::make_shared<DeviceScratch>(cuda::content_loss_workspace_floats(n_of(c.d))));
  };
  cuda_v.run = [](const Call& c) {
    cuda::content_loss(c.f(0), c.f(1), c.f(2), c.f(3), n_of(c.d), content_weight(c.d),
                       state_of<DeviceScratch>(c).get(), stream_of(c));
  };
  cuda_v.describe = [](const Call&) { return std::string("loss + gradient, deterministic partial sums"); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

// ---- total variation: dims N, H, W, C -------------------------------------------------

size_t image_count(const Dims& d) { return static_cast<size_t>(d[0]) * d[1] * d[2] * d[3]; }
constexpr float kTvWeight = 1.f;  // a gradient of O(1) on data of O(1)

Op tv_op() {
  Op op;
  op.name = "tv_loss";
  op.dims = {"N", "H", "W", "C"};
  op.tensors = {{"loss", Role::Out, one}, {"dx", Role::InOut, image_count}, {"x", Role::In, image_count}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::tv_loss_reference(t[0].data(), t[1].data(), t[2].data(), d[0], d[1], d[2], d[3], kTvWeight);
  };
  op.bytes = [](const Dims& d) { return 12.0 * image_count(d); };  // x, dx read; dx written
  op.tolerance = kTolerance;
  // One row, one column, one channel, batches, a long thin image.
  op.test_shapes = {{"7x5x3", {1, 7, 5, 3}},      {"13x7x3", {1, 13, 7, 3}},  {"batch_5x9x1", {2, 5, 9, 1}},
                    {"row", {1, 1, 6, 2}},          {"column", {1, 7, 1, 3}},  {"9x100x3", {1, 9, 100, 3}},
                    {"batch_600x3x1", {2, 600, 3, 1}}, {"256x256x3", {1, 256, 256, 3}}};
  op.bench_shapes = [](int image) { return std::vector<Shape>{{"image", {1, image, image, 3}}}; };
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) {
    cpu::tv_loss(c.f(0), c.f(1), c.f(2), c.n(0), c.n(1), c.n(2), c.n(3), kTvWeight);
  };
  Variant cuda_v{"cuda", Place::Device};
  cuda_v.prepare = [](const Call& c) {
    return std::shared_ptr<void>(
        std::make_shared<DeviceScratch>(cuda::tv_loss_workspace_floats(c.n(0), c.n(1), c.n(2), c.n(3))));
  };
  cuda_v.run = [](const Call& c) {
    cuda::tv_loss(c.f(0), c.f(1), c.f(2), c.n(0), c.n(1), c.n(2), c.n(3), kTvWeight,
                  state_of<DeviceScratch>(c).get(), stream_of(c));
  };
  cuda_v.describe = [](const Call&) { return std::string("loss + gradient, deterministic partial sums"); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

}  // namespace

std::vector<Op> loss_ops() { return {gram_op(), style_op(), content_op(), tv_op()}; }

NST_TABLE_END
