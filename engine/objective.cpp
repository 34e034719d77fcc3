#include "engine/objective.hpp"

#include <algorithm>
#include <cmath>

#include "nst/error.hpp"

namespace nst {
namespace {

size_t gram_floats(const Shape& f) { return static_cast<size_t>(f.c) * f.c; }

// weight * mean((F - P)^2) over the tap; P is the content image's tap.
class ContentTerm final : public LossTerm {
 public:
  ContentTerm(int layer, float weight, float* target)
      : LossTerm(TermKind::Content, layer), weight_(weight), target_(target) {}
  void add(Backend& b, float* loss, float* grad, const float* tap, const Shape& s) override {
    b.content_loss(loss, grad, tap, target_, s.size(), weight_);
  }
  float* target() const { return target_; }

 private:
  float weight_;
  float* target_;  // (1,H,W,C) at the layer
};

// weight * mean((G - A)^2) with G = gram(tap), A the blended style Gram.
class StyleTerm final : public LossTerm {
 public:
  StyleTerm(int layer, float weight, float* gram, float* target)
      : LossTerm(TermKind::Style, layer), weight_(weight), gram_(gram), target_(target) {}
  void add(Backend& b, float* loss, float* grad, const float* tap, const Shape& s) override {
    b.gram(gram_, tap, s);
    b.style_loss(loss, grad, tap, gram_, target_, s, weight_);
  }
  float* target() const { return target_; }

 private:
  float weight_;
  float* gram_;    // (N,C,C) of the current image
  float* target_;  // (C,C)
};

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

}  // namespace

int deepest_tap(const Network& network, const Options& options) {
  int last = 0;
  for (const auto& name : options.content_layers) last = std::max(last, network.index_of(name));
  for (const auto& name : options.style_layers) last = std::max(last, network.index_of(name));
  return last;
}

Objective::Objective(Plan& plan, const Options& o) : plan_(plan) {
  const Network& net = plan.network();
  Backend& b = plan.backend();
  const ForwardPlan& fwd = plan.activations();
  for (size_t i = 0; i < o.content_layers.size(); ++i) {
    const int l = net.index_of(o.content_layers[i]);
    b.reserve_content_loss(fwd.shapes[l].size());
    terms_.push_back(std::make_unique<ContentTerm>(l, o.content_weight * layer_weight(o.content_layer_weights, i),
                                                   plan.allocate_zeroed(fwd.shapes[l].size())));
  }
  for (size_t i = 0; i < o.style_layers.size(); ++i) {
    const int l = net.index_of(o.style_layers[i]);
    const Shape& fs = fwd.shapes[l];
    b.reserve_style_loss(fs);
    terms_.push_back(std::make_unique<StyleTerm>(l, o.style_weight * layer_weight(o.style_layer_weights, i),
                                                 plan.allocate_zeroed(static_cast<size_t>(fs.n) * gram_floats(fs)),
                                                 plan.allocate_zeroed(gram_floats(fs))));
  }
  b.reserve_tv_loss(plan.shape());
  terms_.push_back(std::make_unique<TvTerm>(o.tv_weight));
  host_losses_.resize(terms_.size());
  loss_slots_ = plan.allocate_zeroed(terms_.size());
  have_content_ = o.content_layers.empty();
  have_style_ = o.style_layers.empty();
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
  plan_.network().forward(plan_.dx(), fwd);
  for (const auto& t : terms_) {
    if (t->kind() != TermKind::Content) continue;
    const size_t n = fwd.shapes[t->layer()].size();
    b.copy(static_cast<const ContentTerm&>(*t).target(), fwd.outs[t->layer()], n);
  }
  have_content_ = true;
}

void Objective::set_styles(const std::vector<Image>& styles, const std::vector<float>& blend_weights) {
  if (styles.empty()) throw InvalidArgument("at least one style image is needed");
  const std::vector<float> blend = normalised(blend_weights, styles.size());
  Backend& b = plan_.backend();
  std::vector<const StyleTerm*> taps;
  int deepest = 0;
  for (const auto& t : terms_) {
    if (t->kind() != TermKind::Style) continue;
    taps.push_back(static_cast<const StyleTerm*>(t.get()));
    deepest = std::max(deepest, t->layer());
  }
  if (taps.empty()) return;

  std::vector<std::vector<double>> targets(taps.size());
  for (size_t k = 0; k < styles.size(); ++k) {
    const Image& img = styles[k];
    // Each style image at its own size: scratch buffers, released after.
    const size_t mark = b.mark();
    const Shape in{1, img.height, img.width, 3};
    ForwardPlan p = plan_.network().plan(in, deepest, /*with_gradients=*/false);
    float* pixels = b.allocate(in.size());
    b.preprocess(pixels, img.rgb.data(), img.pixels());
    plan_.network().forward(pixels, p);
    for (size_t i = 0; i < taps.size(); ++i) {
      const Shape& fs = p.shapes[taps[i]->layer()];
      float* g = b.allocate(gram_floats(fs));
      b.gram(g, p.outs[taps[i]->layer()], fs);
      const std::vector<float> host = plan_.download(g, gram_floats(fs));
      targets[i].resize(host.size(), 0.0);
      for (size_t j = 0; j < host.size(); ++j) targets[i][j] += static_cast<double>(blend[k]) * host[j];
    }
    b.release(mark);
  }
  for (size_t i = 0; i < taps.size(); ++i) {
    const std::vector<float> t(targets[i].begin(), targets[i].end());
    b.upload(taps[i]->target(), t.data(), t.size());
  }
  have_style_ = true;
}

void Objective::add(int layer, float* grad) {
  const ForwardPlan& fwd = plan_.activations();
  for (size_t i = 0; i < terms_.size(); ++i) {
    if (terms_[i]->layer() != layer) continue;
    terms_[i]->add(plan_.backend(), loss_slot(i), grad, fwd.outs[layer], fwd.shapes[layer]);
  }
}

void Objective::compute() {
  if (!have_content_) throw InvalidArgument("set_content() must come before evaluate()");
  if (!have_style_) throw InvalidArgument("set_styles() must come before evaluate()");
  Backend& b = plan_.backend();
  b.run_captured([this, &b] {
    plan_.network().forward(plan_.x(), plan_.activations());
    plan_.network().backward(plan_.dx(), plan_.x(), plan_.activations(), *this);
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
  return plan_.download(t->target(), plan_.activations().shapes[layer].size());
}

std::vector<float> Objective::style_target(int layer) const {
  const auto* t = find_term<StyleTerm>(TermKind::Style, layer);
  if (!t) throw InvalidArgument(plan_.network().layers()[layer].name + " is not a style layer");
  return plan_.download(t->target(), gram_floats(plan_.activations().shapes[layer]));
}

}  // namespace nst
