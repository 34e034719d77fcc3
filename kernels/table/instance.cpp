// The table itself (op_table, find_op) and Instance: seeded start values,
// host or device buffers, a prepared variant.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

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

// Uniform in [lo, hi) from mt19937's raw bits (specified by the standard),
// so that every standard library makes the same data.
std::vector<float> uniform(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>((rng() >> 8) * (1.0 / 16777216.0));
  return v;
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
                                      : uniform(n, s, t.lo, t.hi);
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

const void* bytes_of(const Data& data) {
  return data.u.empty() ? static_cast<const void*>(data.f.data()) : data.u.data();
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

// A tensor's storage: the host copy, and for device variants its device copy.
struct Instance::Buffer {
  Data start;
  Data host;  // what host variants run on
  void* device = nullptr;
  size_t bytes = 0;
  ~Buffer() {
    if (device != nullptr) cudaFree(device);
  }
};

Instance::Instance(const Op& op, const Variant& variant, const Dims& d, uint32_t seed, void* stream)
    : op_(op), variant_(variant), d_(d), stream_(stream) {
  std::vector<Data> data = start_values(op, d, seed);
  for (size_t k = 0; k < data.size(); ++k) {
    auto b = std::make_unique<Buffer>();
    b->bytes = op.tensors[k].count(d) * element_bytes(op.tensors[k].type);
    b->start = std::move(data[k]);
    if (variant.place == Place::Device) {
      NST_CUDA_CHECK(cudaMalloc(&b->device, std::max<size_t>(b->bytes, 1)));
    } else {
      b->host = b->start;
    }
    buffers_.push_back(std::move(b));
  }
  reset();
  if (variant.prepare) state_ = variant.prepare(call());
  sync();
}

Instance::~Instance() = default;

Call Instance::call() const {
  Call c{d_, {}, stream_, state_.get()};
  for (const auto& b : buffers_) {
    if (b->device != nullptr)
      c.t.push_back(b->device);
    else
      c.t.push_back(b->host.u.empty() ? static_cast<void*>(b->host.f.data()) : b->host.u.data());
  }
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
    if (b->device != nullptr) {
      if (b->bytes > 0) NST_CUDA_CHECK(cudaMemcpy(b->device, bytes_of(b->start), b->bytes, cudaMemcpyHostToDevice));
    } else {
      b->host = b->start;
    }
  }
}

std::vector<double> Instance::values(size_t tensor) const {
  const Buffer& b = *buffers_[tensor];
  if (b.device == nullptr) return as_double(b.host);
  Data copy = b.start;
  void* dst = copy.u.empty() ? static_cast<void*>(copy.f.data()) : copy.u.data();
  if (b.bytes > 0) NST_CUDA_CHECK(cudaMemcpy(dst, b.device, b.bytes, cudaMemcpyDeviceToHost));
  return as_double(copy);
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
