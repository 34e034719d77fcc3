#include "engine/network.hpp"

#include <algorithm>
#include <string>

#include "nst/error.hpp"

namespace nst {

Network::Network(Backend& backend, const NetworkWeights& weights, std::vector<LayerSpec> layers,
                 bool max_pool)
    : backend_(backend), layers_(std::move(layers)), params_(layers_.size()), max_pool_(max_pool) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerSpec& l = layers_[i];
    if (l.kind != LayerKind::Conv3x3) continue;
    const ConvWeights& cw = weights.conv(l.name);
    if (cw.cin != l.cin || cw.cout != l.cout) {
      throw InvalidArgument("weights for " + l.name + " are " + std::to_string(cw.cin) + "->" +
                            std::to_string(cw.cout) + " channels, the network needs " + std::to_string(l.cin) +
                            "->" + std::to_string(l.cout));
    }
    float* w = backend_.allocate(cw.kernel.size());
    float* b = backend_.allocate(cw.bias.size());
    backend_.upload(w, cw.kernel.data(), cw.kernel.size());
    backend_.upload(b, cw.bias.data(), cw.bias.size());
    params_[i] = {w, b, nullptr};
  }
}

void Network::prepare(int last) {
  for (int i = 0; i <= last; ++i) {
    const LayerSpec& l = layers_[i];
    if (l.kind == LayerKind::Conv3x3 && params_[i].w_dgrad == nullptr) {
      params_[i].w_dgrad = backend_.prepare_conv2d_dgrad(params_[i].w, l.cin, l.cout);
    }
  }
}

int Network::index_of(const std::string& name) const {
  // Keras (block4_conv2) and Caffe/Torch (relu4_2, conv4_2, pool4) names;
  // an unknown one throws, listing the valid names.
  const std::string keras = canonical_layer_name(name, layers_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].name == keras) return static_cast<int>(i);
  }
  throw InvalidArgument("unknown layer '" + name + "'");  // unreachable: canonical names are in the table
}

int Network::min_side(int last) const {
  int side = 1;
  for (int i = 0; i <= last; ++i) {
    if (layers_[i].kind == LayerKind::Pool2x2) side *= 2;
  }
  return side;
}

std::vector<Shape> Network::layer_shapes(const Shape& input, int last) const {
  std::vector<Shape> shapes;
  Shape s = input;
  for (int i = 0; i <= last; ++i) {
    const LayerSpec& l = layers_[i];
    if (l.kind == LayerKind::Conv3x3) {
      if (s.c != l.cin) {
        throw InvalidArgument(l.name + " expects " + std::to_string(l.cin) + " input channels, got " +
                              std::to_string(s.c));
      }
      s.c = l.cout;
    } else {
      s.h /= 2;
      s.w /= 2;
      if (s.h == 0 || s.w == 0) {
        throw InvalidArgument("image of " + std::to_string(input.w) + "x" + std::to_string(input.h) +
                              " px is too small to reach layer " + layers_[last].name + ": each side needs at least " +
                              std::to_string(min_side(last)) + " px");
      }
    }
    shapes.push_back(s);
  }
  return shapes;
}

void Network::reserve(const Shape& input, int last) const { reserve(input, layer_shapes(input, last)); }

void Network::reserve(const Shape& input, const std::vector<Shape>& shapes) const {
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (layers_[i].kind == LayerKind::Conv3x3) backend_.reserve_conv2d(i == 0 ? input : shapes[i - 1], layers_[i].cout);
  }
}

ForwardPlan Network::plan(const Shape& input, int last, bool with_gradients) const {
  ForwardPlan p;
  p.input = input;
  p.shapes = layer_shapes(input, last);
  reserve(input, p.shapes);
  size_t largest = input.size();
  for (const Shape& s : p.shapes) {
    p.outs.push_back(backend_.allocate(s.size()));
    largest = std::max(largest, s.size());
  }
  if (with_gradients) {
    p.grad_a = backend_.allocate(largest);
    p.grad_b = backend_.allocate(largest);
  }
  return p;
}

ForwardPlan Network::view(const ForwardPlan& capacity, const Shape& input) const {
  const int last = static_cast<int>(capacity.outs.size()) - 1;
  ForwardPlan v = capacity;
  v.input = input;
  v.shapes = layer_shapes(input, last);
  bool fits = input.size() <= capacity.input.size();
  for (int i = 0; i <= last; ++i) fits = fits && v.shapes[i].size() <= capacity.shapes[i].size();
  if (!fits) {
    throw InvalidArgument("a " + std::to_string(input.w) + "x" + std::to_string(input.h) + " input does not fit a plan for " +
                          std::to_string(capacity.input.w) + "x" + std::to_string(capacity.input.h));
  }
  return v;
}

void Network::forward(const float* x, ForwardPlan& p) const {
  const float* in = x;
  Shape s = p.input;
  for (size_t i = 0; i < p.outs.size(); ++i) {
    const LayerSpec& l = layers_[i];
    if (l.kind == LayerKind::Conv3x3) {
      backend_.conv2d_fprop(p.outs[i], in, s, params_[i].w, params_[i].b, l.cout, /*relu=*/true);
    } else {
      backend_.pool2x2_forward(p.outs[i], in, s, max_pool_);
    }
    in = p.outs[i];
    s = p.shapes[i];
  }
}

void Network::backward(float* dx, const float* x, ForwardPlan& p, TapGradients& taps) const {
  const int last = static_cast<int>(p.outs.size()) - 1;
  float* g = p.grad_a;
  backend_.fill(g, 0.f, p.shapes[last].size());
  taps.add(last, g);
  for (int i = last; i >= 0; --i) {
    const LayerSpec& l = layers_[i];
    const Shape& in_shape = i == 0 ? p.input : p.shapes[i - 1];
    const float* in = i == 0 ? x : p.outs[i - 1];
    float* dst = i == 0 ? dx : (g == p.grad_a ? p.grad_b : p.grad_a);
    if (l.kind == LayerKind::Conv3x3) {
      if (params_[i].w_dgrad == nullptr) throw Error(l.name + ": backward before Network::prepare reached it");
      backend_.conv2d_dgrad(dst, g, /*relu_y=*/p.outs[i], in_shape, params_[i].w, params_[i].w_dgrad, l.cout);
    } else {
      backend_.pool2x2_backward(dst, g, in, in_shape, max_pool_);
    }
    if (i > 0) taps.add(i - 1, dst);
    g = dst;
  }
}

}  // namespace nst
