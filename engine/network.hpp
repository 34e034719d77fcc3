// A conv/pool layer table run forward to its deepest needed layer and
// backward to the image (input gradients only: weights are frozen).
#pragma once
#include <vector>

#include "engine/backend.hpp"
#include "nst/network.hpp"
#include "nst/weights.hpp"

namespace nst {

// Receives, during backward, the gradient buffer of each layer's output so
// that losses tapped there can add their gradient (and record their value).
class TapGradients {
 public:
  virtual ~TapGradients() = default;
  virtual void add(int layer, float* grad) = 0;
};

// Activation buffers of one forward pass at one input shape.
struct ForwardPlan {
  Shape input;
  std::vector<Shape> shapes;  // output shape of layer i
  std::vector<float*> outs;   // output of layer i (post-ReLU for convs)
  float* grad_a = nullptr;    // ping-pong gradient buffers, largest layer
  float* grad_b = nullptr;
};

class Network {
 public:
  // Uploads the conv weights of `layers` to the backend. Their backward
  // forms (prepare_conv2d_dgrad: the flipped copy, and on the cpu backend
  // Winograd's transforms, 8x the weights) are made by prepare(), only for
  // the layers a plan reaches.
  Network(Backend& backend, const NetworkWeights& weights, std::vector<LayerSpec> layers, bool max_pool);

  // Planning time: the backward form of every conv in [0, last] that has
  // none yet, once. Model::prepare calls it before a Plan takes its mark,
  // so the forms live as long as the Model.
  void prepare(int last);

  const std::vector<LayerSpec>& layers() const { return layers_; }
  // Index of a layer by name; throws nst::InvalidArgument if unknown.
  int index_of(const std::string& name) const;
  // Smallest image side that survives the pools of layers [0, last].
  int min_side(int last) const;

  // Allocates the buffers to run layers [0, last] on `input`. Throws
  // nst::InvalidArgument if the image is too small for that depth.
  ForwardPlan plan(const Shape& input, int last, bool with_gradients) const;
  // Output shape of each layer [0, last] on `input`; throws
  // nst::InvalidArgument if the image is too small for that depth.
  std::vector<Shape> layer_shapes(const Shape& input, int last) const;
  // Planning time: the backend's scratch for running layers [0, last] on
  // `input` too (a tile smaller than the one a plan was made for).
  void reserve(const Shape& input, int last) const;
  // The buffers of `capacity` (a plan for a larger input) at `input`: the
  // same pointers, the shapes of `input`. Throws nst::InvalidArgument if a
  // layer's map would not fit its buffer.
  ForwardPlan view(const ForwardPlan& capacity, const Shape& input) const;
  void forward(const float* x, ForwardPlan& p) const;
  // dx (input shape) = gradient of the tapped losses w.r.t. x.
  void backward(float* dx, const float* x, ForwardPlan& p, TapGradients& taps) const;

 private:
  struct ConvParams {
    const float* w = nullptr;  // device (3,3,cin,cout)
    const float* b = nullptr;  // device (cout)
    const float* w_dgrad = nullptr;  // the backend's dgrad form of w, made once
  };

  // reserve() for the layer shapes layer_shapes(input, last) gave.
  void reserve(const Shape& input, const std::vector<Shape>& shapes) const;

  Backend& backend_;
  std::vector<LayerSpec> layers_;
  std::vector<ConvParams> params_;  // per layer; empty for pools
  bool max_pool_;
};

}  // namespace nst
