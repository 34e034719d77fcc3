#include "engine/objective.hpp"

#include <algorithm>
#include <cmath>

#include "engine/mask.hpp"
#include "nst/error.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

size_t gram_floats(const Shape& f) { return static_cast<size_t>(f.c) * f.c; }

// A loss and gradient of one tile's part: the untiled term's formula on the
// part's positions with the weight times the part's share of the layer, so
// that each mean is over the whole layer and the parts' losses sum to the
// untiled loss.
float part_weight(float weight, const TilePart& p) { return static_cast<float>(weight * p.share); }

// gram (C,C) += share * gram(part's features): one tile's part of the
// whole image's Gram, through `part_gram` scratch.
void gather_gram(Backend& b, float* gram, float* part_gram, const float* features, const TilePart& p) {
  const size_t cc = static_cast<size_t>(p.shape.c) * p.shape.c;
  b.gram(part_gram, features, p.shape);
  b.axpy(gram, static_cast<float>(p.share), nullptr, part_gram, cc);
}

// A mask at a layer's resolution, whole, and where a tile's part of it goes
// (tiled plans: one scratch shared by every masked term).
struct LayerMask {
  const float* values = nullptr;  // (N,H,W)
  Shape map;                      // (1,H,W,1)
  float* part = nullptr;          // scratch for one part's values

  const float* part_of(Backend& b, const TilePart& p) const {
    b.copy_window(part, values, map, p.global);
    return part;
  }
};

// weight * mean((F - P)^2) over the tap; P is the content image's tap.
class ContentTerm : public LossTerm {
 public:
  ContentTerm(int layer, float weight, float* target)
      : LossTerm(TermKind::Content, layer), weight_(weight), target_(target) {}
  void add(Backend& b, float* loss, float* grad, const float* tap, const Shape& s) override {
    b.content_loss(loss, grad, tap, target_, s.size(), weight_);
  }
  // The target from the content image's tap P.
  virtual void set_target(Backend& b, const float* P, const Shape& s) { b.copy(target_, P, s.size()); }
  float* target() const { return target_; }

  // Tiled: target_ holds each tile's part in turn, at the part's offset,
  // taken from the tile's map of the content image's tap.
  virtual void set_part_target(Backend& b, const float* map, const Shape& ms, const TilePart& p) {
    b.copy_window(target_ + p.offset, map, ms, p.window);
  }
  void add_part(Backend& b, float* loss, float* grad, const float* features, const TilePart& p) override {
    b.content_loss(loss, grad, features, target_ + p.offset, p.shape.size(), part_weight(weight_, p));
  }

 protected:
  float weight_;
  float* target_;  // (1,H,W,C) at the layer; tiled, the tiles' parts one after another
};

// weight * mean((m F - m P)^2) over the tap, m the content mask at the
// layer: the plain content loss of the masked features (its target is m P),
// then dF = m dM. Not renormalised by the mask's area: a pixel keeps the
// pull it has without a mask, and a region at 0 loses its content loss
// without the rest being pulled harder.
class MaskedContentTerm final : public ContentTerm {
 public:
  // scratch and grad_scratch hold one tap each, shared by every masked term
  // (terms run one after another).
  MaskedContentTerm(int layer, float weight, float* target, const LayerMask& mask, float* scratch, float* grad_scratch)
      : ContentTerm(layer, weight, target), mask_(mask), masked_(scratch),
        masked_grad_(grad_scratch) {}
  void add(Backend& b, float* loss, float* grad, const float* tap, const Shape& s) override {
    b.pixel_scale(masked_, tap, mask_.values, s, /*accumulate=*/false);  // M = m F
    b.fill(masked_grad_, 0.f, s.size());
    b.content_loss(loss, masked_grad_, masked_, target_, s.size(), weight_);  // dM
    b.pixel_scale(grad, masked_grad_, mask_.values, s, /*accumulate=*/true);        // dF += m dM
  }
  void set_target(Backend& b, const float* P, const Shape& s) override {
    b.pixel_scale(target_, P, mask_.values, s, /*accumulate=*/false);
  }
  // Tiled: the same on the part, with the part's mask values.
  void set_part_target(Backend& b, const float* map, const Shape& ms, const TilePart& p) override {
    ContentTerm::set_part_target(b, map, ms, p);
    float* t = target_ + p.offset;
    b.pixel_scale(t, t, mask_.part_of(b, p), p.shape, /*accumulate=*/false);
  }
  void add_part(Backend& b, float* loss, float* grad, const float* features, const TilePart& p) override {
    const float* m = mask_.part_of(b, p);
    const Shape& s = p.shape;
    b.pixel_scale(masked_, features, m, s, /*accumulate=*/false);
    b.fill(masked_grad_, 0.f, s.size());
    b.content_loss(loss, masked_grad_, masked_, target_ + p.offset, s.size(), part_weight(weight_, p));
    b.pixel_scale(grad, masked_grad_, m, s, /*accumulate=*/true);
  }

 private:
  LayerMask mask_;
  float* masked_;
  float* masked_grad_;
};

// weight * mean((G - A)^2) with G = gram(tap), A the blended style Gram.
class StyleTerm : public LossTerm {
 public:
  // part_gram: tiled, scratch for one part's (channels, channels) Gram,
  // shared by the terms.
  StyleTerm(int layer, float weight, float* gram, float* target, int channels = 0, float* part_gram = nullptr)
      : LossTerm(TermKind::Style, layer), weight_(weight), gram_(gram), target_(target), part_gram_(part_gram),
        gram_size_(static_cast<size_t>(channels) * channels) {}
  void add(Backend& b, float* loss, float* grad, const float* tap, const Shape& s) override {
    b.gram(gram_, tap, s);
    b.style_loss(loss, grad, tap, gram_, target_, s, weight_);
  }
  float* target() const { return target_; }

  // Tiled: the image's Gram is the parts' Grams weighted by their shares.
  bool gathers() const override { return true; }
  void begin(Backend& b) override { b.fill(gram_, 0.f, gram_size_); }
  void gather(Backend& b, const float* features, const TilePart& p) override {
    gather_gram(b, gram_, part_gram_, features, p);
  }
  void add_part(Backend& b, float* loss, float* grad, const float* features, const TilePart& p) override {
    b.style_loss(loss, grad, features, gram_, target_, p.shape, part_weight(weight_, p));
  }

 protected:
  float weight_;
  float* gram_;    // (N,C,C) of the current image
  float* target_;  // (C,C)
  float* part_gram_;
  size_t gram_size_;  // tiled: C*C, the one image's Gram
};

// One style's term in its region: w * mean((Gm - A)^2) with the masked Gram
//   Gm = (m F)^T (m F) / (C * area),  area = sum(m^2),
// m the style's mask at the layer, A that style's own (unmasked) Gram.
// area = sum(m^2) makes Gm a weighted mean of f f^T over the pixels, with
// weights m^2: a uniform region's Gm is the plain Gram of that region
// whatever the grey level, so a mask says where a style applies and greys
// only how much one pixel counts against another, never a style twice as
// strong. (sum(m) would give a grey 0.5 region half its style's Gram.)
//
// Built on the unmasked ops: with M = m F, gram(M) = M^T M / (C*HW) =
// Gm / k for k = HW / area, so
//   L = w k^2 mean((gram(M) - A/k)^2),
// style_loss's form with weight w k^2 and target A/k (set_styles uploads A
// scaled by target_scale() = 1/k). Its gradient w.r.t. M is c M (gram(M) -
// A/k), and dF = m dM = c (m^2 F)(gram(M) - A/k) (m scales rows, which
// commutes with the product), so style_loss is handed m^2 F in place of F:
// it uses F only in that product, its loss comes from G and A alone
// (kernels/cpu/ops.hpp) -- one scratch tap, no extra pass.
class MaskedStyleTerm final : public StyleTerm {
 public:
  MaskedStyleTerm(int layer, int style, float weight, double target_scale, float* gram, float* target,
                  const LayerMask& mask, float* scratch, int channels, float* part_gram)
      : StyleTerm(layer, weight, gram, target, channels, part_gram), style_(style), target_scale_(target_scale),
        mask_(mask), masked_(scratch) {}
  void add(Backend& b, float* loss, float* grad, const float* tap, const Shape& s) override {
    b.pixel_scale(masked_, tap, mask_.values, s, /*accumulate=*/false);      // M = m F
    b.gram(gram_, masked_, s);                                         // M^T M / (C*HW)
    b.pixel_scale(masked_, masked_, mask_.values, s, /*accumulate=*/false);  // m^2 F
    b.style_loss(loss, grad, masked_, gram_, target_, s, weight_);
  }
  int style() const { return style_; }
  double target_scale() const { return target_scale_; }
  // Tiled: gram(M) gathered over the parts of M = m F, then each part's
  // gradient through m^2 F, as add() does on the whole tap.
  void gather(Backend& b, const float* features, const TilePart& p) override {
    b.pixel_scale(masked_, features, mask_.part_of(b, p), p.shape, /*accumulate=*/false);
    StyleTerm::gather(b, masked_, p);
  }
  void add_part(Backend& b, float* loss, float* grad, const float* features, const TilePart& p) override {
    const float* m = mask_.part_of(b, p);
    b.pixel_scale(masked_, features, m, p.shape, /*accumulate=*/false);
    b.pixel_scale(masked_, masked_, m, p.shape, /*accumulate=*/false);
    StyleTerm::add_part(b, loss, grad, masked_, p);
  }

 private:
  int style_;
  double target_scale_;  // area / HW
  LayerMask mask_;
  float* masked_;        // (N,H,W,C) scratch shared by the masked terms
};

// A region smaller than this (in sum(m^2), pixels of the layer) carries no
// style at that layer: the term is kept (the loss layout stays fixed) at
// weight 0, instead of dividing by an area of nothing.
constexpr double kMinMaskArea = 1e-3;

// The map on the backend, repeated for each of the N images of the tap
// `fs`; `part` is the tiled plan's scratch for one part of it.
LayerMask layer_mask(Plan& plan, const MaskMap& m, const Shape& fs, float* part) {
  const size_t hw = m.values.size();
  float* d = plan.backend().allocate(hw * fs.n);
  for (int n = 0; n < fs.n; ++n) plan.backend().upload(d + n * hw, m.values.data(), hw);
  return LayerMask{d, Shape{1, fs.h, fs.w, 1}, part};
}

// weight * sum of squared neighbour differences / (N*H*W*C): a mean, so
// that one weight means the same at every image size.
class TvTerm final : public LossTerm {
 public:
  explicit TvTerm(float weight) : LossTerm(TermKind::Tv, kImage), weight_(weight) {}
  void add(Backend& b, float* loss, float* grad, const float* x, const Shape& s) override {
    b.tv_loss(loss, grad, x, s, static_cast<float>(weight_ / static_cast<double>(s.size())));
  }

 private:
  float weight_;
};

float layer_weight(const std::vector<float>& weights, size_t i) { return weights.empty() ? 1.f : weights[i]; }

std::vector<float> normalised(std::vector<float> w, size_t styles) {
  if (w.empty()) w.assign(styles, 1.f);
  if (w.size() != styles) {
    throw InvalidArgument("got " + std::to_string(w.size()) + " style blend weights for " + std::to_string(styles) +
                          " style images");
  }
  double sum = 0;
  for (float x : w) sum += x;
  for (float& x : w) x = static_cast<float>(x / sum);
  return w;
}

// With masks each style has a term of its own in its own region, so the
// blend weights scale those terms with a mean of 1: equal weights put each
// style at style_weight, as one style alone is (a sum of 1 would halve two
// styles' strength for no reason); only their ratios matter, as without masks.
std::vector<float> masked_blend(const std::vector<float>& w, size_t styles) {
  std::vector<float> b = normalised(w, styles);
  for (float& x : b) x *= static_cast<float>(styles);
  return b;
}

// The largest tap among `layers`, in floats.
size_t largest_tap(const std::vector<Shape>& maps, const std::vector<int>& layers) {
  size_t n = 0;
  for (int l : layers) n = std::max(n, maps[l].size());
  return n;
}

std::vector<int> layer_strides(const std::vector<LayerSpec>& layers, int last) {
  std::vector<int> s;
  for (int i = 0; i <= last; ++i) s.push_back(pool_alignment(layers, i));
  return s;
}

}  // namespace

void LossTerm::add_part(Backend&, float*, float*, const float*, const TilePart&) {
  throw Error("this loss term has no tiled form");  // the image's terms run on the whole image
}

int deepest_tap(const Network& network, const Options& options) {
  int last = 0;
  for (const auto& name : options.content_layers) last = std::max(last, network.index_of(name));
  for (const auto& name : options.style_layers) last = std::max(last, network.index_of(name));
  return last;
}

Objective::Objective(Plan& plan, const Options& o) : plan_(plan) {
  const Network& net = plan.network();
  Backend& b = plan.backend();
  // Each layer's untiled map: the plan's own activations unless tiled.
  layer_maps_ = net.layer_shapes(plan.shape(), plan.last_layer());
  const std::vector<Shape>& maps = layer_maps_;
  std::vector<int> content_layers;
  for (const auto& name : o.content_layers) content_layers.push_back(net.index_of(name));
  for (const auto& name : o.style_layers) style_layers_.push_back(net.index_of(name));
  const bool mask_content = o.content_mask.pixels() > 0;
  masked_styles_ = o.style_masks.size();

  // Without masks nothing below allocates: the plan is the unmasked one.
  const Shape& canvas = plan.shape();
  MaskMap content_mask;
  if (mask_content) {
    check_mask(o.content_mask, "content mask", canvas.w, canvas.h);
    content_mask = mask_at_canvas(o.content_mask, canvas.w, canvas.h);
  }
  std::vector<MaskMap> style_masks;
  for (size_t k = 0; k < masked_styles_; ++k) {
    check_mask(o.style_masks[k], "style mask " + std::to_string(k + 1), canvas.w, canvas.h);
    style_masks.push_back(mask_at_canvas(o.style_masks[k], canvas.w, canvas.h));
  }
  // Scratch for the masked features (every masked term) and the content's
  // masked gradient; terms run one at a time, so one of each serves all.
  // Tiled, the masked terms see one part at a time.
  if (plan.tiled()) plan_tiles(content_layers, mask_content || masked_styles_ > 0);
  const auto tap_floats = [&](const std::vector<int>& layers) {
    return plan.tiled() ? largest_part_ : largest_tap(maps, layers);
  };
  const size_t scratch_floats = std::max(mask_content ? tap_floats(content_layers) : 0,
                                         masked_styles_ > 0 ? tap_floats(style_layers_) : 0);
  float* scratch = scratch_floats > 0 ? plan.allocate_zeroed(scratch_floats) : nullptr;
  float* grad_scratch = mask_content ? plan.allocate_zeroed(tap_floats(content_layers)) : nullptr;

  for (size_t i = 0; i < content_layers.size(); ++i) {
    const int l = content_layers[i];
    const Shape& fs = maps[l];
    const float w = o.content_weight * layer_weight(o.content_layer_weights, i);
    b.reserve_content_loss(fs.size());
    float* target = plan.allocate_zeroed(fs.size());
    if (!mask_content) {
      terms_.push_back(std::make_unique<ContentTerm>(l, w, target));
      continue;
    }
    const LayerMask mask = layer_mask(plan, mask_at_layer(content_mask, fs.w, fs.h), fs, mask_part_);
    terms_.push_back(std::make_unique<MaskedContentTerm>(l, w, target, mask, scratch, grad_scratch));
  }
  const std::vector<float> blend = masked_styles_ > 0 ? masked_blend(o.style_blend_weights, masked_styles_)
                                                      : std::vector<float>{};
  for (size_t i = 0; i < style_layers_.size(); ++i) {
    const int l = style_layers_[i];
    const Shape& fs = maps[l];
    const float w = o.style_weight * layer_weight(o.style_layer_weights, i);
    b.reserve_style_loss(fs);
    if (masked_styles_ == 0) {
      terms_.push_back(std::make_unique<StyleTerm>(l, w, plan.allocate_zeroed(static_cast<size_t>(fs.n) * gram_floats(fs)),
                                                   plan.allocate_zeroed(gram_floats(fs)), fs.c, part_gram_));
      continue;
    }
    for (size_t k = 0; k < masked_styles_; ++k) {
      const MaskMap m = mask_at_layer(style_masks[k], fs.w, fs.h);
      const double area = m.area(), hw = static_cast<double>(fs.h) * fs.w;
      const bool empty = area < kMinMaskArea;
      const double k_inv = empty ? 0.0 : area / hw;  // 1/k, k = HW / area
      const float weight = empty ? 0.f : static_cast<float>(w * blend[k] / (k_inv * k_inv));
      terms_.push_back(std::make_unique<MaskedStyleTerm>(
          l, static_cast<int>(k), weight, k_inv, plan.allocate_zeroed(static_cast<size_t>(fs.n) * gram_floats(fs)),
          plan.allocate_zeroed(gram_floats(fs)), layer_mask(plan, m, fs, mask_part_), scratch, fs.c, part_gram_));
    }
  }
  b.reserve_tv_loss(plan.shape());
  terms_.push_back(std::make_unique<TvTerm>(o.tv_weight));
  host_losses_.resize(terms_.size());
  loss_slots_ = plan.allocate_zeroed(terms_.size());
  have_content_ = o.content_layers.empty();
  have_style_ = o.style_layers.empty();
}

void Objective::plan_tiles(const std::vector<int>& content_layers, bool masked) {
  const Network& net = plan_.network();
  const TileGrid& grid = plan_.tiles();
  strides_ = layer_strides(net.layers(), plan_.last_layer());
  std::vector<int> taps = content_layers;
  taps.insert(taps.end(), style_layers_.begin(), style_layers_.end());
  // The largest part any tile of any image (a style image's too) can have:
  // an interior is at most grid.tile px a side, a multiple of every stride.
  size_t largest_pixels = 0, largest_gram = 0;
  largest_part_ = 0;
  for (int l : taps) {
    const size_t side = static_cast<size_t>(grid.tile / strides_[l]);
    largest_pixels = std::max(largest_pixels, side * side);
    largest_part_ = std::max(largest_part_, side * side * layer_maps_[l].c);
  }
  for (int l : style_layers_) largest_gram = std::max(largest_gram, gram_floats(layer_maps_[l]));
  part_ = plan_.allocate_zeroed(largest_part_);
  part_grad_ = plan_.allocate_zeroed(largest_part_);
  mask_part_ = masked ? plan_.allocate_zeroed(largest_pixels) : nullptr;
  part_gram_ = largest_gram > 0 ? plan_.allocate_zeroed(largest_gram) : nullptr;
  part_loss_ = plan_.allocate_zeroed(1);
  std::vector<size_t> offset(layer_maps_.size(), 0);
  for (size_t t = 0; t < grid.tiles.size(); ++t) {
    const ForwardPlan& view = plan_.tile_activations(t);
    parts_.emplace_back();
    for (size_t l = 0; l < layer_maps_.size(); ++l) {
      TilePart p = tile_part(grid.tiles[t], strides_[l], view.shapes[l], layer_maps_[l]);
      p.offset = offset[l];
      offset[l] += p.shape.size();
      parts_[t].push_back(p);
    }
  }
}

template <typename T>
const T* Objective::find_term(TermKind kind, int layer) const {
  for (const auto& t : terms_) {
    if (t->kind() == kind && t->layer() == layer) return static_cast<const T*>(t.get());
  }
  return nullptr;
}

void Objective::set_content(const Image& content) {
  const Shape& s = plan_.shape();
  if (content.width != s.w || content.height != s.h) {
    throw InvalidArgument("content image is " + std::to_string(content.width) + "x" + std::to_string(content.height) +
                          ", the plan is for " + std::to_string(s.w) + "x" + std::to_string(s.h));
  }
  // The content runs through the plan's own buffers; dx is free until the
  // next evaluation.
  Backend& b = plan_.backend();
  ForwardPlan& fwd = plan_.activations();
  b.preprocess(plan_.dx(), content.rgb.data(), content.pixels());
  if (plan_.tiled()) {  // each tile's part of each target, where its offsets say
    for (size_t i = 0; i < plan_.tiles().tiles.size(); ++i) {
      const ForwardPlan& view = forward_tile(i, plan_.dx());
      for (const auto& t : terms_) {
        if (t->kind() != TermKind::Content) continue;
        const int l = t->layer();
        const TilePart& p = parts_[i][l];
        if (p.empty()) continue;
        static_cast<ContentTerm&>(*t).set_part_target(b, view.outs[l], view.shapes[l], p);
      }
    }
    have_content_ = true;
    return;
  }
  plan_.network().forward(plan_.dx(), fwd);
  for (const auto& t : terms_) {
    if (t->kind() != TermKind::Content) continue;
    static_cast<ContentTerm&>(*t).set_target(b, fwd.outs[t->layer()], fwd.shapes[t->layer()]);
  }
  have_content_ = true;
}

std::vector<std::vector<float>> Objective::style_grams(const Image& img) const {
  if (plan_.tiled()) return tiled_style_grams(img);
  Backend& b = plan_.backend();
  const int deepest = *std::max_element(style_layers_.begin(), style_layers_.end());
  // The style image at its own size: scratch buffers, released after.
  const size_t mark = b.mark();
  const Shape in{1, img.height, img.width, 3};
  ForwardPlan p = plan_.network().plan(in, deepest, /*with_gradients=*/false);
  float* pixels = b.allocate(in.size());
  b.preprocess(pixels, img.rgb.data(), img.pixels());
  plan_.network().forward(pixels, p);
  std::vector<std::vector<float>> grams;
  for (int l : style_layers_) {
    const Shape& fs = p.shapes[l];
    float* g = b.allocate(gram_floats(fs));
    b.gram(g, p.outs[l], fs);
    grams.push_back(plan_.download(g, gram_floats(fs)));
  }
  b.release(mark);
  return grams;
}

void Objective::forward_tile(const Tile& tile, const float* image, const Shape& image_shape, ForwardPlan& view,
                             float* tile_x) const {
  plan_.backend().copy_window(tile_x, image, image_shape, tile.extent);
  plan_.network().forward(tile_x, view);
}

ForwardPlan& Objective::forward_tile(size_t tile, const float* image) {
  ForwardPlan& view = plan_.tile_activations(tile);
  forward_tile(plan_.tiles().tiles[tile], image, plan_.shape(), view, plan_.tile_x());
  return view;
}

std::vector<std::vector<float>> Objective::tiled_style_grams(const Image& img) const {
  Backend& b = plan_.backend();
  const Network& net = plan_.network();
  // The style image with the plan's tile size, so that every extent fits
  // the plan's buffers; its Grams gathered as compute() gathers the image's.
  const Shape in{1, img.height, img.width, 3};
  const TileGrid grid = make_tile_grid(img.height, img.width, plan_.tiles().tile, net.layers(), plan_.last_layer());
  const std::vector<Shape> maps = net.layer_shapes(in, plan_.last_layer());
  const size_t mark = b.mark();
  // The plan's tile buffers when the style image's tiles fit them, else
  // buffers of its own (freed after), no larger than a tile of its own.
  const Shape& cap = plan_.tiles().capacity;
  const bool fits = grid.capacity.h <= cap.h && grid.capacity.w <= cap.w;
  const ForwardPlan buffers = fits ? plan_.activations() : net.plan(grid.capacity, plan_.last_layer(), false);
  float* tile_x = fits ? plan_.tile_x() : b.allocate(grid.capacity.size());
  float* pixels = b.allocate(in.size());
  b.preprocess(pixels, img.rgb.data(), img.pixels());
  std::vector<float*> grams;
  for (int l : style_layers_) {
    grams.push_back(b.allocate(gram_floats(maps[l])));
    b.fill(grams.back(), 0.f, gram_floats(maps[l]));
  }
  for (const Tile& tile : grid.tiles) {
    ForwardPlan view = net.view(buffers, Shape{1, tile.extent.h, tile.extent.w, 3});
    forward_tile(tile, pixels, in, view, tile_x);
    for (size_t k = 0; k < style_layers_.size(); ++k) {
      const int l = style_layers_[k];
      const TilePart p = tile_part(tile, strides_[l], view.shapes[l], maps[l]);
      if (p.empty()) continue;
      b.copy_window(part_, view.outs[l], view.shapes[l], p.window);
      gather_gram(b, grams[k], part_gram_, part_, p);
    }
  }
  std::vector<std::vector<float>> out;
  for (size_t k = 0; k < style_layers_.size(); ++k) out.push_back(plan_.download(grams[k], gram_floats(maps[style_layers_[k]])));
  b.release(mark);
  return out;
}

std::vector<float> Objective::blended(size_t layer) const {
  std::vector<double> sum(style_grams_[0][layer].size(), 0.0);
  for (size_t k = 0; k < style_grams_.size(); ++k) {
    const std::vector<float>& g = style_grams_[k][layer];
    for (size_t j = 0; j < g.size(); ++j) sum[j] += static_cast<double>(blend_[k]) * g[j];
  }
  return std::vector<float>(sum.begin(), sum.end());
}

void Objective::set_styles(const std::vector<Image>& styles, const std::vector<float>& blend_weights) {
  if (styles.empty()) throw InvalidArgument("at least one style image is needed");
  StyleGrams grams;
  if (!style_layers_.empty()) {
    for (const Image& img : styles) grams.push_back(style_grams(img));
  } else {
    grams.resize(styles.size());  // no style layers: nothing to take, one (empty) entry per style
  }
  set_style_grams(std::move(grams), blend_weights);
}

void Objective::set_style_grams(StyleGrams grams, const std::vector<float>& blend_weights) {
  if (grams.empty()) throw InvalidArgument("at least one style image is needed");
  if (masked_styles_ > 0 && grams.size() != masked_styles_) {
    throw InvalidArgument("got " + std::to_string(masked_styles_) + " style masks for " +
                          std::to_string(grams.size()) + " style images: give one mask per style image, or none");
  }
  for (const auto& g : grams) {
    if (g.size() != style_layers_.size()) {
      throw InvalidArgument("style Grams for " + std::to_string(g.size()) + " style layers, the objective has " +
                            std::to_string(style_layers_.size()));
    }
  }
  blend_ = normalised(blend_weights, grams.size());
  style_grams_ = std::move(grams);
  if (style_layers_.empty()) {
    style_grams_.clear();
    return;
  }

  Backend& b = plan_.backend();
  for (const auto& t : terms_) {
    if (t->kind() != TermKind::Style) continue;
    const auto& term = static_cast<const StyleTerm&>(*t);
    const size_t i = style_layer_slot(t->layer());
    if (style_grams_[0][i].size() != gram_floats(layer_maps_[t->layer()])) {
      throw InvalidArgument("style Gram of " + plan_.network().layers()[t->layer()].name + " has " +
                            std::to_string(style_grams_[0][i].size()) + " values, expected " +
                            std::to_string(gram_floats(layer_maps_[t->layer()])));
    }
    if (masked_styles_ == 0) {
      const std::vector<float> target = blended(i);
      b.upload(term.target(), target.data(), target.size());
      continue;
    }
    // The style's own Gram, scaled by 1/k (MaskedStyleTerm).
    const auto& masked = static_cast<const MaskedStyleTerm&>(term);
    std::vector<float> target = style_grams_[masked.style()][i];
    for (float& v : target) v = static_cast<float>(v * masked.target_scale());
    b.upload(term.target(), target.data(), target.size());
  }
  have_style_ = true;
}

size_t Objective::style_layer_slot(int layer) const {
  const auto it = std::find(style_layers_.begin(), style_layers_.end(), layer);
  if (it == style_layers_.end()) throw InvalidArgument(plan_.network().layers()[layer].name + " is not a style layer");
  return static_cast<size_t>(it - style_layers_.begin());
}

void Objective::add(int layer, float* grad) {
  if (tile_view_ != nullptr) return add_tile_part(layer, grad);
  const ForwardPlan& fwd = plan_.activations();
  for (size_t i = 0; i < terms_.size(); ++i) {
    if (terms_[i]->layer() != layer) continue;
    terms_[i]->add(plan_.backend(), loss_slot(i), grad, fwd.outs[layer], fwd.shapes[layer]);
  }
}

void Objective::add_tile_part(int layer, float* grad) {
  const TilePart& p = parts_[tile_][layer];
  bool tapped = false;
  for (const auto& t : terms_) tapped = tapped || t->layer() == layer;
  if (!tapped || p.empty()) return;
  Backend& b = plan_.backend();
  const Shape& map = tile_view_->shapes[layer];
  b.copy_window(part_, tile_view_->outs[layer], map, p.window);
  b.fill(part_grad_, 0.f, p.shape.size());
  for (size_t i = 0; i < terms_.size(); ++i) {
    if (terms_[i]->layer() != layer) continue;
    terms_[i]->add_part(b, part_loss_, part_grad_, part_, p);
    b.axpy(loss_slot(i), 1.f, nullptr, part_loss_, 1);
  }
  b.add_window(grad, map, p.window, part_grad_);
}

// Pass 1 (when a term gathers): every tile forward, each gathering term
// takes its part. Pass 2: every tile forward and backward, each term's part
// of the loss and the gradient against what was gathered; the tile's image
// gradient added into dx over its whole extent. Pass 2 runs the tiles in
// reverse, so that the tile pass 1 ended on is still in the buffers.
void Objective::compute_tiled() {
  Backend& b = plan_.backend();
  const std::vector<Tile>& tiles = plan_.tiles().tiles;
  b.fill(loss_slots_, 0.f, terms_.size());
  b.fill(plan_.dx(), 0.f, plan_.shape().size());
  bool gathering = false;
  for (const auto& t : terms_) {
    t->begin(b);
    gathering = gathering || t->gathers();
  }
  if (gathering) {
    for (size_t i = 0; i < tiles.size(); ++i) {
      const ForwardPlan& view = forward_tile(i, plan_.x());
      for (int l : style_layers_) {
        const TilePart& p = parts_[i][l];
        if (p.empty()) continue;
        b.copy_window(part_, view.outs[l], view.shapes[l], p.window);
        for (const auto& t : terms_) {
          if (t->layer() == l && t->gathers()) t->gather(b, part_, p);
        }
      }
    }
  }
  for (size_t k = 0; k < tiles.size(); ++k) {
    tile_ = tiles.size() - 1 - k;
    ForwardPlan& view = gathering && k == 0 ? plan_.tile_activations(tile_) : forward_tile(tile_, plan_.x());
    tile_view_ = &view;
    try {
      plan_.network().backward(plan_.tile_dx(), plan_.tile_x(), view, *this);
    } catch (...) {
      tile_view_ = nullptr;
      throw;
    }
    tile_view_ = nullptr;
    b.add_window(plan_.dx(), plan_.shape(), tiles[tile_].extent, plan_.tile_dx());
  }
}

void Objective::compute() {
  if (!have_content_) throw InvalidArgument("set_content() must come before evaluate()");
  if (!have_style_) throw InvalidArgument("set_styles() must come before evaluate()");
  Backend& b = plan_.backend();
  b.run_captured([this, &b] {
    if (plan_.tiled()) {
      compute_tiled();
    } else {
      plan_.network().forward(plan_.x(), plan_.activations());
      plan_.network().backward(plan_.dx(), plan_.x(), plan_.activations(), *this);
    }
    for (size_t i = 0; i < terms_.size(); ++i) {
      if (terms_[i]->layer() == LossTerm::kImage)
        terms_[i]->add(b, loss_slot(i), plan_.dx(), plan_.x(), plan_.shape());
    }
  });
}

Losses Objective::losses() {
  plan_.backend().download(host_losses_.data(), loss_slots_, host_losses_.size());
  Losses l;
  for (size_t i = 0; i < terms_.size(); ++i) {
    switch (terms_[i]->kind()) {
      case TermKind::Content: l.content += host_losses_[i]; break;
      case TermKind::Style: l.style += host_losses_[i]; break;
      case TermKind::Tv: l.tv += host_losses_[i]; break;
    }
  }
  l.total = l.content + l.style + l.tv;
  return l;
}

std::vector<float> Objective::content_target(int layer) const {
  const auto* t = find_term<ContentTerm>(TermKind::Content, layer);
  if (!t) throw InvalidArgument(plan_.network().layers()[layer].name + " is not a content layer");
  const Shape& map = layer_maps_[layer];
  std::vector<float> stored = plan_.download(t->target(), map.size());
  if (!plan_.tiled()) return stored;
  // Tiled, the target holds the tiles' parts one after another: put each
  // back where it lies in the layer's map.
  std::vector<float> target(stored.size());
  const size_t c = static_cast<size_t>(map.c);
  for (size_t i = 0; i < parts_.size(); ++i) {
    const Window& g = parts_[i][layer].global;
    const float* part = stored.data() + parts_[i][layer].offset;
    for (int r = 0; r < g.h; ++r) {
      std::copy_n(part + r * g.w * c, g.w * c, target.data() + ((static_cast<size_t>(g.y) + r) * map.w + g.x) * c);
    }
  }
  return target;
}

std::vector<float> Objective::style_target(int layer) const {
  const size_t i = style_layer_slot(layer);
  if (masked_styles_ > 0) {  // the terms hold each style's own (scaled) Gram
    if (style_grams_.empty()) throw InvalidArgument("set_styles() must come before style_target()");
    return blended(i);
  }
  const auto* t = find_term<StyleTerm>(TermKind::Style, layer);
  return plan_.download(t->target(), gram_floats(layer_maps_[layer]));
}

std::vector<float> Objective::style_target(int layer, int style) const {
  const size_t i = style_layer_slot(layer);
  if (style < 0 || static_cast<size_t>(style) >= style_grams_.size()) {
    throw InvalidArgument("style " + std::to_string(style) + " out of range: set_styles() gave " +
                          std::to_string(style_grams_.size()) + " style images");
  }
  return style_grams_[style][i];
}

}  // namespace nst
