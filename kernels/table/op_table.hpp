// The op table: every kernel of nst, once. Each op declares its dims, its
// tensors, a float64 reference, its FLOPs and compulsory bytes, its
// tolerance, small irregular test shapes and VGG16 benchmark shapes, and
// its variants: the CPU paths (GEMM, Winograd), the custom CUDA kernels
// (each conv tile), cuDNN and cuBLAS. One table drives
//   tests/ops/test_op_table.cpp   every variant against the reference on
//                                 every test shape (CPU, emulated CUDA, and
//                                 a real device when one is present), and
//   bench/bench_ops.cpp           the host variants, and
//   bench/bench_cuda.cpp          the device variants, at the bench shapes
//                                 with GFLOP/s and GB/s from the same
//                                 formulas.
// In the manner of ggml's test-backend-ops. The sources compile twice, as
// the CUDA kernels do: nst_op_table_emu (device variants run by
// kernels/emu) and nst_op_table_gpu (nvcc kernels plus cuDNN and cuBLAS),
// each in its own inline namespace.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#if defined(NST_EMU)
#define NST_TABLE_BEGIN namespace nst { namespace table { inline namespace emu {
#else
#define NST_TABLE_BEGIN namespace nst { namespace table { inline namespace gpu {
#endif
#define NST_TABLE_END }}}

NST_TABLE_BEGIN

// The values of an op's dims (Op::dims names them), in order.
using Dims = std::vector<long>;

enum class Place { Host, Device };
// In: random input. Out: written by the op (starts as NaN, so an element
// it forgets shows up). InOut: random, and the op accumulates into it (+=).
enum class Role { In, Out, InOut };
enum class Type { F32, U8 };

struct Tensor {
  Tensor(std::string name_, Role role_, std::function<size_t(const Dims&)> count_, float lo_ = -1.f, float hi_ = 1.f,
         Type type_ = Type::F32)
      : name(std::move(name_)), role(role_), count(std::move(count_)), lo(lo_), hi(hi_), type(type_) {}
  std::string name;
  Role role;
  std::function<size_t(const Dims&)> count;
  float lo = -1.f, hi = 1.f;  // uniform start of In and InOut
  Type type = Type::F32;
};

// What a variant is handed: the tensors in Op::tensors order, on its
// place; the stream (a cudaStream_t) for device variants; and what its
// prepare returned.
struct Call {
  const Dims& d;
  std::vector<void*> t;
  void* stream = nullptr;
  void* state = nullptr;
  float* f(size_t k) const { return static_cast<float*>(t[k]); }
  uint8_t* u8(size_t k) const { return static_cast<uint8_t*>(t[k]); }
  int n(size_t k) const { return static_cast<int>(d[k]); }
};

struct Variant {
  Variant(std::string name_, Place place_) : name(std::move(name_)), place(place_) {}
  std::string name;  // "cpu", "cpu.winograd", "cuda", "cuda.small32x32", "cudnn", "cublas.syrk", ...
  Place place;
  // Once per instance and outside any timing: transformed weights,
  // workspaces, library handles. Null: nothing to prepare.
  std::function<std::shared_ptr<void>(const Call&)> prepare;
  std::function<void(const Call&)> run;
  // The shapes it takes; null: all.
  std::function<bool(const Dims&)> applies;
  double tolerance = 0;  // 0: the op's
  // A line for benchmark labels (the algorithm, its tile, cuDNN's choice);
  // null: the name.
  std::function<std::string(const Call&)> describe;
};

struct Shape {
  std::string name;
  Dims d;
};

struct Op {
  std::string name;
  std::vector<std::string> dims;
  std::vector<Tensor> tensors;
  // Fixes up the random inputs where the op has a precondition (a
  // symmetric target, a Gram of the features, positive moments).
  std::function<void(const Dims&, std::vector<std::vector<float>>&)> derive;
  // The float64 reference: t holds every tensor as double (outputs as
  // their start value), and it writes the outputs.
  std::function<void(const Dims&, std::vector<std::vector<double>>& t)> reference;
  std::function<double(const Dims&)> flops;  // multiply-adds x2; null for memory-bound ops
  std::function<double(const Dims&)> bytes;  // compulsory traffic: inputs read, outputs written once
  // Relative error (over each output) a variant may have against the
  // reference; 0 means exact.
  double tolerance = 0;
  // Every variant gives the bits of the first one (the cpu kernel).
  bool bitwise = false;
  std::vector<Shape> test_shapes;
  std::function<std::vector<Shape>(int image)> bench_shapes;  // VGG16 shapes for an image of this side
  std::vector<Variant> variants;

  size_t dim(const std::string& name) const;
};

const std::vector<Op>& op_table();
const Op& find_op(const std::string& name);

// One op, one variant, one shape, with its buffers: host copies of every
// tensor (seeded), device copies for device variants, prepared once.
class Instance {
 public:
  Instance(const Op& op, const Variant& variant, const Dims& d, uint32_t seed, void* stream = nullptr);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // One call of the variant (queued on the stream for device variants).
  void run();
  // Waits for the device (no-op on the host).
  void sync();
  // Puts every tensor back to its start value.
  void reset();
  // The tensor's current values, downloaded, as double.
  std::vector<double> values(size_t tensor) const;
  // The tensor's start values (as the reference sees them).
  std::vector<double> start(size_t tensor) const;
  // Each buffer is followed by a guard of sentinel bytes: the name of the
  // first tensor whose guard a run wrote over, or "" if none did.
  std::string guard_overwritten() const;
  std::string describe() const;

 private:
  struct Buffer;
  Call call() const;
  std::vector<unsigned char> bytes(size_t tensor) const;
  const Op& op_;
  const Variant& variant_;
  Dims d_;
  void* stream_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  std::shared_ptr<void> state_;
};

// Every variant of `place` at each of its op's bench shapes for an image of
// side `image`, named op/variant/shape: what nst_bench_ops (host) and
// nst_bench_cuda (device) register.
struct BenchCase {
  const Op* op;
  const Variant* variant;
  Shape shape;
  std::string name;
};
std::vector<BenchCase> bench_cases(Place place, int image);

// The reference's outputs on the start values of an instance of this op.
std::vector<std::vector<double>> reference_outputs(const Op& op, const Dims& d, uint32_t seed);
// Indices of the op's Out and InOut tensors.
std::vector<size_t> outputs(const Op& op);

// ---- what the family files share -------------------------------------------------

// VGG16's conv layers for an image of side `image` (N = 1): name, H, W, Cin, Cout.
struct VggLayer {
  std::string name;
  int H, W, Cin, Cout;
};
std::vector<VggLayer> vgg16_conv_layers(int image);

// Host scratch kept by a prepared variant.
struct HostScratch {
  std::vector<float> a, b;
};
// A prepared state that is one workspace of `floats` (in HostScratch::a).
inline std::shared_ptr<void> host_workspace(size_t floats) {
  auto s = std::make_shared<HostScratch>();
  s->a.resize(floats);
  return s;
}
template <typename T>
T& state_of(const Call& c) {
  return *static_cast<T*>(c.state);
}

std::vector<Op> conv_ops();
std::vector<Op> elementwise_ops();
std::vector<Op> loss_ops();
std::vector<Op> optimizer_ops();
std::vector<Op> pixel_ops();

NST_TABLE_END
