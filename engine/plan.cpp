#include "engine/plan.hpp"

#include <string>

#include "nst/error.hpp"

namespace nst {

namespace {

Shape extent_shape(const Tile& t) { return Shape{1, t.extent.h, t.extent.w, 3}; }

}  // namespace

// The backward forms of the layers the plan reaches, made before the plan's
// mark so that they stay with the Model; then the mark.
size_t Plan::prepared_mark(Model& model, int last_layer) {
  if (model.planned_) {
    throw InvalidArgument("this Model already has a live Plan (a Session): plans on one Model take its memory in "
                          "turn, destroy the previous one first");
  }
  model.prepare(last_layer);
  return model.backend().mark();
}

Plan::Plan(Model& model, const Shape& image, int last_layer, int tile)
    : model_(model), shape_(image), last_(last_layer), mark_(prepared_mark(model, last_layer)) {
  if (image.h <= 0 || image.w <= 0 || image.n <= 0) {
    throw InvalidArgument("image size " + std::to_string(image.w) + "x" + std::to_string(image.h) + " is empty");
  }
  if (tile > 0 && (image.h > tile || image.w > tile)) {
    if (image.n != 1) throw InvalidArgument("a tiled plan takes one image, got " + std::to_string(image.n));
    grid_ = make_tile_grid(image.h, image.w, tile, network().layers(), last_);
    if (grid_.tiles.size() == 1) grid_ = TileGrid{};  // the tile rounded up to the image: nothing to tile
  }
  try {
    fwd_ = network().plan(tiled() ? grid_.capacity : shape_, last_, /*with_gradients=*/true);
    for (const Tile& t : grid_.tiles) {
      network().reserve(extent_shape(t), last_);
      tile_views_.push_back(network().view(fwd_, extent_shape(t)));
    }
    x_ = allocate_zeroed(shape_.size());
    dx_ = allocate_zeroed(shape_.size());
    if (tiled()) {
      tile_x_ = allocate_zeroed(grid_.capacity.size());
      tile_dx_ = allocate_zeroed(grid_.capacity.size());
    }
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
