#include "engine/plan.hpp"

#include <string>

#include "nst/error.hpp"

namespace nst {

Plan::Plan(Model& model, const Shape& image, int last_layer)
    : model_(model), shape_(image), last_(last_layer), mark_(model.backend().mark()) {
  if (model.planned_) {
    throw InvalidArgument("this Model already has a live Plan (a Session): plans on one Model take its memory in "
                          "turn, destroy the previous one first");
  }
  if (image.h <= 0 || image.w <= 0 || image.n <= 0) {
    throw InvalidArgument("image size " + std::to_string(image.w) + "x" + std::to_string(image.h) + " is empty");
  }
  try {
    fwd_ = network().plan(shape_, last_, /*with_gradients=*/true);
    x_ = allocate_zeroed(shape_.size());
    dx_ = allocate_zeroed(shape_.size());
  } catch (...) {
    backend().release(mark_);
    throw;
  }
  model.planned_ = true;
}

Plan::~Plan() {
  backend().release(mark_);
  model_.planned_ = false;
}

float* Plan::allocate_zeroed(size_t n) const {
  float* p = backend().allocate(n);
  backend().fill(p, 0.f, n);
  return p;
}

std::vector<float> Plan::download(const float* src, size_t n) const {
  std::vector<float> out(n);
  backend().download(out.data(), src, n);
  return out;
}

}  // namespace nst
