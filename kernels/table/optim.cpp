// The optimisers' ops on the image vector: the Adam step, and the BLAS-1
// of L-BFGS's two-loop recursion (dot, asum, axpy with a device scale,
// scal). The sums are in double over fixed blocks on both backends.
#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/blas1.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "kernels/table/device.hpp"
#include "kernels/table/op_table.hpp"

NST_TABLE_BEGIN

namespace {

size_t n_of(const Dims& d) { return static_cast<size_t>(d[0]); }
size_t one(const Dims&) { return 1; }

// Sizes off the vector width (1, 3, odd), and more than both threads' share.
std::vector<Shape> vector_shapes() {
  return {{"one", {1}}, {"three", {3}}, {"13x7x3", {13 * 7 * 3}}, {"odd", {2 * 13 * 7 * 64 + 1}}, {"long", {100003}}};
}
// The image of a 512x384 run, the vectors of an L-BFGS step.
std::vector<Shape> image_vector(int image) { return {{"image", {static_cast<long>(image) * (image * 3 / 4) * 3}}}; }

// ---- Adam ---------------------------------------------------------------------------------

// A middle step (t = 3), moments from earlier steps (v >= 0).
cpu::AdamHyper adam_hyper() {
  cpu::AdamHyper h;
  h.t = 3;
  return h;
}

Op adam_op() {
  Op op;
  op.name = "adam_step";
  op.dims = {"n"};
  op.tensors = {{"x", Role::InOut, n_of, -100.f, 100.f},
                {"m", Role::InOut, n_of, -0.5f, 0.5f},
                {"v", Role::InOut, n_of, 0.f, 1.f},
                {"g", Role::In, n_of, -2.f, 2.f}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::adam_step_reference(t[0].data(), t[1].data(), t[2].data(), t[3].data(), n_of(d), adam_hyper());
  };
  op.bytes = [](const Dims& d) { return 28.0 * n_of(d); };  // x, m, v read and written; g read
  // The CUDA kernel does the CPU's float operations in its order with its
  // FMAs (bitwise equal where GCC contracts them); both are within 1e-6 of
  // float64 on x, m and v.
  op.tolerance = 1e-6;
  op.test_shapes = vector_shapes();
  op.bench_shapes = [](int image) { return std::vector<Shape>{{"image", {static_cast<long>(image) * image * 3}}}; };
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) { cpu::adam_step(c.f(0), c.f(1), c.f(2), c.f(3), n_of(c.d), adam_hyper()); };
  Variant cuda_v{"cuda", Place::Device};
  // The step number lives in device memory (a replayed graph advances it).
  cuda_v.prepare = [](const Call&) {
    auto t = std::make_shared<DeviceScratch>(1);
    const int step = adam_hyper().t;
    NST_CUDA_CHECK(cudaMemcpy(t->get(), &step, sizeof step, cudaMemcpyHostToDevice));
    return std::shared_ptr<void>(t);
  };
  cuda_v.run = [](const Call& c) {
    const cpu::AdamHyper h = adam_hyper();
    cuda::adam_step(c.f(0), c.f(1), c.f(2), c.f(3), n_of(c.d), {h.lr, h.beta1, h.beta2, h.eps},
                    reinterpret_cast<const int*>(state_of<DeviceScratch>(c).get()), stream_of(c));
  };
  cuda_v.describe = [](const Call&) { return std::string("fused moments + update"); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

// ---- BLAS-1 --------------------------------------------------------------------------------

constexpr double kSumTolerance = 1e-6;  // one rounding of a double sum, against float64
constexpr float kAlpha = 0.5f;

Variant device_sum(bool dot) {
  Variant v{"cuda", Place::Device};
  v.prepare = [](const Call& c) {
    return std::shared_ptr<void>(std::make_shared<DeviceScratch>(cuda::blas1_workspace_floats(n_of(c.d))));
  };
  v.run = [dot](const Call& c) {
    float* ws = state_of<DeviceScratch>(c).get();
    if (dot)
      cuda::dot(c.f(0), c.f(1), c.f(2), n_of(c.d), ws, stream_of(c));
    else
      cuda::asum(c.f(0), c.f(1), n_of(c.d), ws, stream_of(c));
  };
  v.describe = [](const Call&) { return std::string("deterministic partial sums in double"); };
  return v;
}

Op dot_op() {
  Op op;
  op.name = "dot";
  op.dims = {"n"};
  op.tensors = {{"result", Role::Out, one}, {"a", Role::In, n_of}, {"b", Role::In, n_of}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::dot_reference(t[0].data(), t[1].data(), t[2].data(), n_of(d));
  };
  op.flops = [](const Dims& d) { return 2.0 * n_of(d); };
  op.bytes = [](const Dims& d) { return 8.0 * n_of(d); };
  op.tolerance = kSumTolerance;
  op.test_shapes = vector_shapes();
  op.bench_shapes = image_vector;
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) { cpu::dot(c.f(0), c.f(1), c.f(2), n_of(c.d)); };
  op.variants = {cpu_v, device_sum(true)};
  return op;
}

Op asum_op() {
  Op op;
  op.name = "asum";
  op.dims = {"n"};
  op.tensors = {{"result", Role::Out, one}, {"a", Role::In, n_of}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::asum_reference(t[0].data(), t[1].data(), n_of(d));
  };
  op.bytes = [](const Dims& d) { return 4.0 * n_of(d); };
  op.tolerance = kSumTolerance;
  op.test_shapes = vector_shapes();
  op.bench_shapes = image_vector;
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) { cpu::asum(c.f(0), c.f(1), n_of(c.d)); };
  op.variants = {cpu_v, device_sum(false)};
  return op;
}

// y += alpha * *scale * x, the scale read from memory (a device scalar
// that L-BFGS's dot wrote); one fma per element on both backends.
Op axpy_op() {
  Op op;
  op.name = "axpy";
  op.dims = {"n"};
  op.tensors = {{"y", Role::InOut, n_of}, {"scale", Role::In, one, 0.5f, 2.f}, {"x", Role::In, n_of}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::axpy_reference(t[0].data(), kAlpha, t[1].data(), t[2].data(), n_of(d));
  };
  op.flops = [](const Dims& d) { return 2.0 * n_of(d); };
  op.bytes = [](const Dims& d) { return 12.0 * n_of(d); };  // x, y read; y written
  op.tolerance = 1e-6;
  op.bitwise = true;
  op.test_shapes = vector_shapes();
  op.bench_shapes = image_vector;
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) { cpu::axpy(c.f(0), kAlpha, c.f(1), c.f(2), n_of(c.d)); };
  Variant cuda_v{"cuda", Place::Device};
  cuda_v.run = [](const Call& c) { cuda::axpy(c.f(0), kAlpha, c.f(1), c.f(2), n_of(c.d), stream_of(c)); };
  cuda_v.describe = [](const Call&) { return std::string("y += alpha * *scale * x, float4"); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

Op scal_op() {
  Op op;
  op.name = "scal";
  op.dims = {"n"};
  op.tensors = {{"x", Role::InOut, n_of}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::scal_reference(t[0].data(), kAlpha, n_of(d));
  };
  op.bytes = [](const Dims& d) { return 8.0 * n_of(d); };
  op.tolerance = 0;  // a multiplication by 0.5: exact
  op.bitwise = true;
  op.test_shapes = vector_shapes();
  op.bench_shapes = image_vector;
  Variant cpu_v{"cpu", Place::Host};
  cpu_v.run = [](const Call& c) { cpu::scal(c.f(0), kAlpha, n_of(c.d)); };
  Variant cuda_v{"cuda", Place::Device};
  cuda_v.run = [](const Call& c) { cuda::scal(c.f(0), kAlpha, n_of(c.d), stream_of(c)); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

}  // namespace

std::vector<Op> optimizer_ops() { return {adam_op(), dot_op(), asum_op(), axpy_op(), scal_op()}; }

NST_TABLE_END
