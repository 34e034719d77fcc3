// The table itself (op_table, find_op) and Instance: seeded start values,
// host or device buffers, a prepared variant.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "engine/random.hpp"
#include "kernels/table/device.hpp"
#include "kernels/table/op_table.hpp"
#include "nst/error.hpp"

NST_TABLE_BEGIN

namespace {

// One tensor's values: floats, or bytes for U8 tensors.
struct Data {
  std::vector<float> f;
  std::vector<uint8_t> u;
};

size_t element_bytes(Type type) { return type == Type::U8 ? 1 : sizeof(float); }

// Every buffer has kGuardBytes of kSentinel after its values, host and
// device alike, so that a write past the end shows up (guard_overwritten).
constexpr size_t kGuardBytes = 256;
constexpr unsigned char kSentinel = 0xA5;

// The values followed by the guard, as raw bytes.
std::vector<unsigned char> with_guard(const Data& data, size_t bytes) {
  std::vector<unsigned char> all(bytes + kGuardBytes, kSentinel);
  if (bytes > 0) std::memcpy(all.data(), data.u.empty() ? static_cast<const void*>(data.f.data()) : data.u.data(), bytes);
  return all;
}

bool guard_intact(const unsigned char* guard) {
  return std::all_of(guard, guard + kGuardBytes, [](unsigned char b) { return b == kSentinel; });
}

std::vector<Data> start_values(const Op& op, const Dims& d, uint32_t seed) {
  std::vector<std::vector<float>> floats(op.tensors.size());
  std::vector<Data> data(op.tensors.size());
  for (size_t k = 0; k < op.tensors.size(); ++k) {
    const Tensor& t = op.tensors[k];
    const size_t n = t.count(d);
    const uint32_t s = seed * 131u + static_cast<uint32_t>(k) * 7919u + 1u;
    if (t.type == Type::U8) {
      data[k].u.resize(n);
      std::mt19937 rng(s);
      if (t.role != Role::Out)
        for (auto& b : data[k].u) b = static_cast<uint8_t>(rng() >> 24);
    } else {
      floats[k] = t.role == Role::Out ? std::vector<float>(n, std::numeric_limits<float>::quiet_NaN())
                                      : uniform_floats(n, s, t.lo, t.hi);
    }
  }
  if (op.derive) op.derive(d, floats);
  for (size_t k = 0; k < op.tensors.size(); ++k)
    if (op.tensors[k].type == Type::F32) data[k].f = std::move(floats[k]);
  return data;
}

std::vector<double> as_double(const Data& data) {
  return data.u.empty() ? std::vector<double>(data.f.begin(), data.f.end())
                        : std::vector<double>(data.u.begin(), data.u.end());
}

}  // namespace

size_t Op::dim(const std::string& dim_name) const {
  for (size_t k = 0; k < dims.size(); ++k)
    if (dims[k] == dim_name) return k;
  throw InvalidArgument("op " + name + " has no dim " + dim_name);
}

const std::vector<Op>& op_table() {
  static const std::vector<Op> table = [] {
    std::vector<Op> all;
    for (auto family : {conv_ops, elementwise_ops, loss_ops, optimizer_ops, pixel_ops})
      for (Op& op : family()) all.push_back(std::move(op));
    return all;
  }();
  return table;
}

const Op& find_op(const std::string& name) {
  for (const Op& op : op_table())
    if (op.name == name) return op;
  throw InvalidArgument("no op " + name + " in the op table");
}

std::vector<size_t> outputs(const Op& op) {
  std::vector<size_t> out;
  for (size_t k = 0; k < op.tensors.size(); ++k)
    if (op.tensors[k].role != Role::In) out.push_back(k);
  return out;
}

std::vector<std::vector<double>> reference_outputs(const Op& op, const Dims& d, uint32_t seed) {
  const std::vector<Data> data = start_values(op, d, seed);
  std::vector<std::vector<double>> t;
  for (const Data& x : data) t.push_back(as_double(x));
  op.reference(d, t);
  return t;
}

// A tensor's storage: its start values, and the copy the variant runs on
// (on the host, or on the device for device variants), guard included.
struct Instance::Buffer {
  Data start;
  size_t bytes = 0;  // of the values, without the guard
  std::vector<unsigned char> host;
  void* device = nullptr;
  ~Buffer() {
    if (device != nullptr) cudaFree(device);
  }
  void* values() { return device != nullptr ? device : static_cast<void*>(host.data()); }
};

Instance::Instance(const Op& op, const Variant& variant, const Dims& d, uint32_t seed, void* stream)
    : op_(op), variant_(variant), d_(d), stream_(stream) {
  std::vector<Data> data = start_values(op, d, seed);
  for (size_t k = 0; k < data.size(); ++k) {
    auto b = std::make_unique<Buffer>();
    b->bytes = op.tensors[k].count(d) * element_bytes(op.tensors[k].type);
    b->start = std::move(data[k]);
    if (variant.place == Place::Device) NST_CUDA_CHECK(cudaMalloc(&b->device, b->bytes + kGuardBytes));
    buffers_.push_back(std::move(b));
  }
  reset();
  if (variant.prepare) state_ = variant.prepare(call());
  sync();
}

Instance::~Instance() = default;

Call Instance::call() const {
  Call c{d_, {}, stream_, state_.get()};
  for (const auto& b : buffers_) c.t.push_back(b->values());
  return c;
}

void Instance::run() { variant_.run(call()); }

void Instance::sync() {
  if (variant_.place == Place::Device) {
    if (stream_ != nullptr)
      NST_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
    else
      NST_CUDA_CHECK(cudaDeviceSynchronize());
  }
}

void Instance::reset() {
  sync();  // no queued call may still be reading or writing the buffers
  for (auto& b : buffers_) {
    std::vector<unsigned char> all = with_guard(b->start, b->bytes);
    if (b->device != nullptr)
      NST_CUDA_CHECK(cudaMemcpy(b->device, all.data(), all.size(), cudaMemcpyHostToDevice));
    else
      b->host = std::move(all);
  }
}

// The buffer's bytes, guard included, downloaded where they live on the device.
std::vector<unsigned char> Instance::bytes(size_t tensor) const {
  const Buffer& b = *buffers_[tensor];
  if (b.device == nullptr) return b.host;
  std::vector<unsigned char> all(b.bytes + kGuardBytes);
  NST_CUDA_CHECK(cudaMemcpy(all.data(), b.device, all.size(), cudaMemcpyDeviceToHost));
  return all;
}

std::vector<double> Instance::values(size_t tensor) const {
  const std::vector<unsigned char> all = bytes(tensor);
  const Tensor& t = op_.tensors[tensor];
  const size_t n = t.count(d_);
  if (t.type == Type::U8) return std::vector<double>(all.begin(), all.begin() + n);
  std::vector<float> f(n);
  if (n > 0) std::memcpy(f.data(), all.data(), n * sizeof(float));
  return std::vector<double>(f.begin(), f.end());
}

std::string Instance::guard_overwritten() const {
  std::vector<unsigned char> guard(kGuardBytes);
  for (size_t k = 0; k < buffers_.size(); ++k) {
    const Buffer& b = *buffers_[k];
    const unsigned char* g = b.host.data() + b.bytes;
    if (b.device != nullptr) {  // only the guard comes back
      NST_CUDA_CHECK(cudaMemcpy(guard.data(), static_cast<const unsigned char*>(b.device) + b.bytes, kGuardBytes,
                                cudaMemcpyDeviceToHost));
      g = guard.data();
    }
    if (!guard_intact(g)) return op_.tensors[k].name;
  }
  return {};
}

std::vector<BenchCase> bench_cases(Place place, int image) {
  std::vector<BenchCase> cases;
  for (const Op& op : op_table())
    for (const Variant& v : op.variants) {
      if (v.place != place) continue;
      for (const Shape& shape : op.bench_shapes(image))
        if (!v.applies || v.applies(shape.d)) cases.push_back({&op, &v, shape, op.name + "/" + v.name + "/" + shape.name});
    }
  return cases;
}

std::vector<double> Instance::start(size_t tensor) const { return as_double(buffers_[tensor]->start); }

std::string Instance::describe() const { return variant_.describe ? variant_.describe(call()) : variant_.name; }

std::vector<VggLayer> vgg16_conv_layers(int image) {
  const int s1 = image, s2 = image / 2, s3 = image / 4, s4 = image / 8, s5 = image / 16;
  return {{"block1_conv1", s1, s1, 3, 64},    {"block1_conv2", s1, s1, 64, 64},
          {"block2_conv1", s2, s2, 64, 128},  {"block2_conv2", s2, s2, 128, 128},
          {"block3_conv1", s3, s3, 128, 256}, {"block3_conv2", s3, s3, 256, 256},
          {"block4_conv1", s4, s4, 256, 512}, {"block4_conv2", s4, s4, 512, 512},
          {"block5_conv1", s5, s5, 512, 512}};
}

NST_TABLE_END
