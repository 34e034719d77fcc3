// Plan: every buffer one evaluation needs at one image shape, allocated
// once from the Model's backend: the image x, its gradient dx, and the
// activations and gradient buffers of the network up to the deepest tap.
//
// A Plan owns the backend's arena from the point it was made: destroying
// it releases everything allocated after it too (the objective's targets,
// the optimiser's state), so those must be made after the Plan and must
// not outlive it. The Schedule makes one Plan per scale, in turn.
#pragma once
#include <vector>

#include "engine/model.hpp"

namespace nst {

class Plan {
 public:
  // Throws nst::InvalidArgument if the image is empty or too small to
  // reach `last_layer`.
  Plan(Model& model, const Shape& image, int last_layer);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  Model& model() const { return model_; }
  Backend& backend() const { return model_.backend(); }
  const Network& network() const { return model_.network(); }
  const Shape& shape() const { return shape_; }
  int last_layer() const { return last_; }

  float* x() const { return x_; }    // (1,H,W,3) preprocessed BGR
  float* dx() const { return dx_; }  // gradient of the objective w.r.t. x
  ForwardPlan& activations() { return fwd_; }
  const ForwardPlan& activations() const { return fwd_; }

  // Helpers for what is allocated after the plan.
  float* allocate_zeroed(size_t n) const;
  std::vector<float> download(const float* src, size_t n) const;

 private:
  Model& model_;
  Shape shape_;
  int last_;
  size_t mark_;
  ForwardPlan fwd_;
  float* x_ = nullptr;
  float* dx_ = nullptr;
};

}  // namespace nst
