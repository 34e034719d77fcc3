// ReLU and 2x2 pooling (max and average, forward and backward): memory-bound
// ops whose CUDA kernels give the CPU kernels' bits.
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "kernels/table/device.hpp"
#include "kernels/table/op_table.hpp"

NST_TABLE_BEGIN

namespace {

// ---- ReLU: dims n -------------------------------------------------------------------

size_t n_of(const Dims& d) { return static_cast<size_t>(d[0]); }

// Odd counts (a scalar tail after the vector body), one element, and more
// than one grid sweep of the CUDA kernels.
std::vector<Shape> vector_test_shapes() {
  return {{"one", {1}}, {"odd", {13 * 7 * 70 + 3}}, {"vectors", {4096}}, {"grid_sweeps", {2 * 4096 * 256 * 4 + 5}}};
}

std::vector<Shape> activation_bench_shapes(int image) {
  const auto layers = vgg16_conv_layers(image);
  std::vector<Shape> s;
  for (const VggLayer& l : {layers[1], layers[5]})
    s.push_back({l.name, {static_cast<long>(l.H) * l.W * l.Cout}});
  return s;
}

Op relu_op(bool forward) {
  Op op;
  op.name = forward ? "relu_forward" : "relu_backward";
  op.dims = {"n"};
  if (forward)
    op.tensors = {{"y", Role::Out, n_of}, {"x", Role::In, n_of}};
  else
    op.tensors = {{"dx", Role::Out, n_of}, {"dy", Role::In, n_of}, {"y", Role::In, n_of}};
  op.reference = [forward](const Dims& d, std::vector<std::vector<double>>& t) {
    if (forward)
      cpu::relu_forward_reference(t[0].data(), t[1].data(), n_of(d));
    else
      cpu::relu_backward_reference(t[0].data(), t[1].data(), t[2].data(), n_of(d));
  };
  op.bytes = [forward](const Dims& d) { return (forward ? 8.0 : 12.0) * n_of(d); };
  op.tolerance = 0;  // a max and a select: exact
  op.bitwise = true;
  op.test_shapes = vector_test_shapes();
  op.bench_shapes = activation_bench_shapes;
  Variant cpu_v{"cpu", Place::Host}, cuda_v{"cuda", Place::Device};
  if (forward) {
    cpu_v.run = [](const Call& c) { cpu::relu_forward(c.f(0), c.f(1), n_of(c.d)); };
    cuda_v.run = [](const Call& c) { cuda::relu_forward(c.f(0), c.f(1), n_of(c.d), stream_of(c)); };
  } else {
    cpu_v.run = [](const Call& c) { cpu::relu_backward(c.f(0), c.f(1), c.f(2), n_of(c.d)); };
    cuda_v.run = [](const Call& c) { cuda::relu_backward(c.f(0), c.f(1), c.f(2), n_of(c.d), stream_of(c)); };
  }
  op.variants = {cpu_v, cuda_v};
  return op;
}

// ---- pooling: dims N, H, W, C (output H/2 x W/2, floor) ------------------------------

enum { kN, kH, kW, kC };
size_t in_count(const Dims& d) { return static_cast<size_t>(d[kN]) * d[kH] * d[kW] * d[kC]; }
size_t out_count(const Dims& d) { return static_cast<size_t>(d[kN]) * (d[kH] / 2) * (d[kW] / 2) * d[kC]; }

// Odd and even H and W (an odd one leaves a row or column no window
// covers), scalar (1, 3, 70) and vector (4, 64) channel counts, batches.
std::vector<Shape> pool_test_shapes() {
  return {{"2x13x7x3", {2, 13, 7, 3}}, {"2x13x7x64", {2, 13, 7, 64}}, {"2x13x7x70", {2, 13, 7, 70}},
          {"1x8x6x64", {1, 8, 6, 64}}, {"2x12x9x64", {2, 12, 9, 64}}, {"1x5x10x4", {1, 5, 10, 4}},
          {"2x9x3x1", {2, 9, 3, 1}},   {"2x64x64x64", {2, 64, 64, 64}}};
}

std::vector<Shape> pool_bench_shapes(int image) {
  const auto layers = vgg16_conv_layers(image);
  return {{"block1_pool", {1, layers[1].H, layers[1].W, layers[1].Cout}},
          {"block3_pool", {1, layers[5].H, layers[5].W, layers[5].Cout}}};
}

#define NST_POOL_ARGS c.n(kN), c.n(kH), c.n(kW), c.n(kC)

Op pool_op(bool max, bool forward) {
  Op op;
  op.name = std::string(max ? "maxpool2x2" : "avgpool2x2") + (forward ? "_forward" : "_backward");
  op.dims = {"N", "H", "W", "C"};
  if (forward)
    op.tensors = {{"y", Role::Out, out_count}, {"x", Role::In, in_count}};
  else if (max)
    op.tensors = {{"dx", Role::Out, in_count}, {"dy", Role::In, out_count}, {"x", Role::In, in_count}};
  else
    op.tensors = {{"dx", Role::Out, in_count}, {"dy", Role::In, out_count}};
  op.reference = [max, forward](const Dims& d, std::vector<std::vector<double>>& t) {
    const int N = d[kN], H = d[kH], W = d[kW], C = d[kC];
    if (max && forward) cpu::maxpool2x2_forward_reference(t[0].data(), t[1].data(), N, H, W, C);
    if (max && !forward) cpu::maxpool2x2_backward_reference(t[0].data(), t[1].data(), t[2].data(), N, H, W, C);
    if (!max && forward) cpu::avgpool2x2_forward_reference(t[0].data(), t[1].data(), N, H, W, C);
    if (!max && !forward) cpu::avgpool2x2_backward_reference(t[0].data(), t[1].data(), N, H, W, C);
  };
  // Forward reads x and writes y; backward reads dy (and x for max) and writes dx.
  op.bytes = [max, forward](const Dims& d) {
    return 4.0 * (forward ? in_count(d) + out_count(d) : (max ? 2 : 1) * in_count(d) + out_count(d));
  };
  // Max pooling moves values (exact); the average is four float adds and a
  // scale against float64 (~1e-7).
  op.tolerance = max ? 0 : 1e-7;
  op.bitwise = true;
  op.test_shapes = pool_test_shapes();
  op.bench_shapes = pool_bench_shapes;
  Variant cpu_v{"cpu", Place::Host}, cuda_v{"cuda", Place::Device};
  if (max && forward) {
    cpu_v.run = [](const Call& c) { cpu::maxpool2x2_forward(c.f(0), c.f(1), NST_POOL_ARGS); };
    cuda_v.run = [](const Call& c) { cuda::maxpool2x2_forward(c.f(0), c.f(1), NST_POOL_ARGS, stream_of(c)); };
  } else if (max) {
    cpu_v.run = [](const Call& c) { cpu::maxpool2x2_backward(c.f(0), c.f(1), c.f(2), NST_POOL_ARGS); };
    cuda_v.run = [](const Call& c) {
      cuda::maxpool2x2_backward(c.f(0), c.f(1), c.f(2), NST_POOL_ARGS, stream_of(c));
    };
  } else if (forward) {
    cpu_v.run = [](const Call& c) { cpu::avgpool2x2_forward(c.f(0), c.f(1), NST_POOL_ARGS); };
    cuda_v.run = [](const Call& c) { cuda::avgpool2x2_forward(c.f(0), c.f(1), NST_POOL_ARGS, stream_of(c)); };
  } else {
    cpu_v.run = [](const Call& c) { cpu::avgpool2x2_backward(c.f(0), c.f(1), NST_POOL_ARGS); };
    cuda_v.run = [](const Call& c) { cuda::avgpool2x2_backward(c.f(0), c.f(1), NST_POOL_ARGS, stream_of(c)); };
  }
  op.variants = {cpu_v, cuda_v};
  return op;
}

#undef NST_POOL_ARGS

}  // namespace

std::vector<Op> elementwise_ops() {
  return {relu_op(true),         relu_op(false),         pool_op(true, true),
          pool_op(true, false),  pool_op(false, true),   pool_op(false, false)};
}

NST_TABLE_END
