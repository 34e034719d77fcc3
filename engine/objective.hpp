// Objective: the loss as a list of terms. Each term is tapped at one
// layer's output (or at the image itself), writes its loss to a device
// scalar of its own and adds its gradient to the gradient buffer at its tap
// while the network walks backward; the walk does not know what the terms
// are. Terms today: content (per layer, weighted), style (per layer,
// weighted), total variation; masks and tiles add terms, not walks: with
// Options::style_masks each style has a masked style term per layer, and
// Options::content_mask makes the content terms masked ones. On a tiled
// plan (engine/tiling.hpp) each term runs on every tile's part of its tap
// and the parts add up to the untiled term: a style term first gathers
// the whole image's Gram over every tile's part, then each part takes its
// share of the loss and its gradient against that Gram.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/plan.hpp"

namespace nst {

enum class TermKind { Content, Style, Tv };

// Each style image's Gram at each style layer, on the host:
// [style][style layer slot] (C,C). What set_styles takes from the images;
// a run over several content images takes it once per scale size and hands
// it to each image's Objective (engine/schedule.hpp, StyleTargetCache).
using StyleGrams = std::vector<std::vector<std::vector<float>>>;

class LossTerm {
 public:
  static constexpr int kImage = -1;  // layer() of a term on the image itself
  LossTerm(TermKind kind, int layer) : kind_(kind), layer_(layer) {}
  virtual ~LossTerm() = default;
  TermKind kind() const { return kind_; }
  int layer() const { return layer_; }
  // Writes the term's loss to the device scalar `loss` and adds its
  // gradient to `grad`, the gradient w.r.t. `tap` (shape `shape`).
  virtual void add(Backend& backend, float* loss, float* grad, const float* tap, const Shape& shape) = 0;

  // Tiled (engine/tiling.hpp). begin() starts an evaluation; a term that
  // gathers() takes every tile's part in gather() before any add_part().
  // add_part writes the part's share of the loss to `loss` and adds its
  // gradient w.r.t. `part` (part.shape, the features of the part) to `grad`.
  virtual bool gathers() const { return false; }
  virtual void begin(Backend& /*backend*/) {}
  virtual void gather(Backend& /*backend*/, const float* /*features*/, const TilePart& /*part*/) {}
  virtual void add_part(Backend& backend, float* loss, float* grad, const float* features, const TilePart& part);

 private:
  TermKind kind_;
  int layer_;
};

// The deepest layer the options tap: a plan must reach it.
int deepest_tap(const Network& network, const Options& options);

class Objective final : public TapGradients {
 public:
  // Allocates the terms' targets and loss scalars after `plan` (they are
  // freed with it).
  Objective(Plan& plan, const Options& options);

  // Content targets: the content image (the plan's size) through the network.
  void set_content(const Image& content);
  // Style targets: each image's Grams at its own size, blended by `blend`
  // (normalised to sum to 1); with style masks, each style's own Gram for
  // its own terms (one image per mask).
  void set_styles(const std::vector<Image>& styles, const std::vector<float>& blend);
  // The same targets from Grams another Objective of the same options took
  // (style_grams()): no style image runs through the network again.
  void set_style_grams(StyleGrams grams, const std::vector<float>& blend);
  // What the last set_styles / set_style_grams took.
  const StyleGrams& style_grams() const { return style_grams_; }

  // Forward, every term, backward to the image: the gradient at plan.x()
  // in plan.dx(), each term's loss in its device scalar. Only queued on a
  // device: nothing here waits for it.
  void compute();
  // The losses the last compute() left, read back (a device sync). Not
  // finite is reported, not thrown: L-BFGS takes such a step back, and the
  // Session decides what to blame.
  Losses losses();
  Losses evaluate() {
    compute();
    return losses();
  }

  std::vector<float> content_target(int layer) const;
  std::vector<float> style_target(int layer) const;  // (C,C) blended Gram
  std::vector<float> style_target(int layer, int style) const;  // (C,C) Gram of style image `style`

  void add(int layer, float* grad) override;

 private:
  // Tiled: each tile's part of every layer, the content targets' layout
  // and the part scratch (before the terms, which take the scratch).
  void plan_tiles(const std::vector<int>& content_layers, bool masked);
  // The tiled evaluation: two passes over the tiles when a term gathers.
  void compute_tiled();
  // Tile `tile`'s pixels of `image` (the plan's shape) through the network
  // into the plan's tile buffers; returns the view that holds them.
  ForwardPlan& forward_tile(size_t tile, const float* image);
  // The same for any image (image_shape), with `view` the buffers at the
  // tile's extent and tile_x its pixels.
  void forward_tile(const Tile& tile, const float* image, const Shape& image_shape, ForwardPlan& view,
                    float* tile_x) const;
  // Each term at `layer` on tile `tile`'s part of it (Objective::add, tiled).
  void add_tile_part(int layer, float* grad);
  // The tiled style Grams of one style image: gathered over its tiles.
  std::vector<std::vector<float>> tiled_style_grams(const Image& img) const;
  template <typename T>
  const T* find_term(TermKind kind, int layer) const;
  float* loss_slot(size_t term) const { return loss_slots_ + term; }
  // Each style layer's Gram of one style image, run at its own size.
  std::vector<std::vector<float>> style_grams(const Image& img) const;
  // The blend of the style images' Grams at style layer slot `layer`.
  std::vector<float> blended(size_t layer) const;
  size_t style_layer_slot(int layer) const;  // index into style_layers_

  Plan& plan_;
  std::vector<std::unique_ptr<LossTerm>> terms_;
  float* loss_slots_ = nullptr;  // one device scalar per term
  std::vector<float> host_losses_;
  bool have_content_ = false, have_style_ = false;
  std::vector<int> style_layers_;  // network indices, in the options' order
  size_t masked_styles_ = 0;       // style masks given (0: unmasked style terms)
  // set_styles' host copies, and the blend.
  StyleGrams style_grams_;
  std::vector<float> blend_;

  // Tiled plans only.
  std::vector<Shape> layer_maps_;   // each layer's untiled output shape
  std::vector<int> strides_;        // each layer's 2^pools
  std::vector<std::vector<TilePart>> parts_;     // [tile][layer]
  float* part_ = nullptr;       // one part's features, the largest any tap has
  float* part_grad_ = nullptr;  // and its gradient
  size_t largest_part_ = 0;     // floats of the largest part any tap can have
  float* mask_part_ = nullptr;  // one part's mask values (masked terms)
  float* part_gram_ = nullptr;  // one part's Gram, the largest style layer's
  float* part_loss_ = nullptr;  // one part's loss
  const ForwardPlan* tile_view_ = nullptr;  // during a tile's backward: its activations
  size_t tile_ = 0;                         // and which tile
};

}  // namespace nst
