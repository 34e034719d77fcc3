// Plan: every buffer one evaluation needs at one image shape, allocated
// once from the Model's backend: the image x, its gradient dx, and the
// activations and gradient buffers of the network up to the deepest tap.
// A tiled plan (engine/tiling.hpp) holds the activations of one tile at a
// time, sized for the largest extent, and a tile's image and gradient; x
// and dx stay the whole image's.
//
// A Plan owns the backend's arena from the point it was made: destroying
// it releases everything allocated after it too (the objective's targets,
// the optimiser's state), so those must be made after the Plan and must
// not outlive it. The Schedule makes one Plan per scale, in turn.
#pragma once
#include <vector>

#include "engine/model.hpp"
#include "engine/tiling.hpp"

namespace nst {

class Plan {
 public:
  // Throws nst::InvalidArgument if the image is empty or too small to
  // reach `last_layer`. With tile > 0 and an image side longer than the
  // tile, the plan is tiled with interiors of at most `tile` px.
  Plan(Model& model, const Shape& image, int last_layer, int tile = 0);
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
  // Untiled: the image's activations. Tiled: buffers for the largest
  // extent; tile_activations(i) views them at tile i's.
  ForwardPlan& activations() { return fwd_; }
  const ForwardPlan& activations() const { return fwd_; }

  bool tiled() const { return !grid_.tiles.empty(); }
  const TileGrid& tiles() const { return grid_; }  // empty when not tiled
  ForwardPlan& tile_activations(size_t tile) { return tile_views_.at(tile); }
  const ForwardPlan& tile_activations(size_t tile) const { return tile_views_.at(tile); }
  float* tile_x() const { return tile_x_; }    // (1, extent, 3): the tile's pixels of x
  float* tile_dx() const { return tile_dx_; }  // the gradient w.r.t. them

  // Helpers for what is allocated after the plan.
  float* allocate_zeroed(size_t n) const;
  std::vector<float> download(const float* src, size_t n) const;

 private:
  static size_t prepared_mark(Model& model, int last_layer);

  Model& model_;
  Shape shape_;
  int last_;
  size_t mark_;
  ForwardPlan fwd_;
  TileGrid grid_;
  std::vector<ForwardPlan> tile_views_;  // fwd_ at each tile's extent, made once
  float* x_ = nullptr;
  float* dx_ = nullptr;
  float* tile_x_ = nullptr;
  float* tile_dx_ = nullptr;
};

}  // namespace nst
