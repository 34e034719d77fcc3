#include "tests/engine/reference_net.hpp"

#include <algorithm>
#include <cmath>

#include "engine/random.hpp"
#include "kernels/cpu/ops.hpp"

namespace nst::testing {

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

double gradient_error_vs_finite_differences(const ReferenceNet& ref, const std::vector<float>& x,
                                            const std::vector<float>& grad, int h, int w, int samples) {
  std::vector<double> xd = to_double(x);
  Rng pick(9);
  std::vector<double> analytic, numeric;
  const double step = 1e-3;
  for (int k = 0; k < samples; ++k) {
    const size_t i = static_cast<size_t>(pick.uniform() * xd.size());
    const double x0 = xd[i];
    xd[i] = x0 + step;
    const double plus = ref.loss(xd, h, w).total;
    xd[i] = x0 - step;
    const double minus = ref.loss(xd, h, w).total;
    xd[i] = x0;
    numeric.push_back((plus - minus) / (2 * step));
    analytic.push_back(grad[i]);
  }
  return rel_error(analytic, numeric);
}

ReferenceNet::ReferenceNet(const NetworkWeights& w, std::vector<LayerSpec> layers, const Options& opt)
    : layers_(std::move(layers)), kernels_(layers_.size()), biases_(layers_.size()), opt_(opt) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].kind != LayerKind::Conv3x3) continue;
    kernels_[i] = to_double(w.conv(layers_[i].name).kernel);
    biases_[i] = to_double(w.conv(layers_[i].name).bias);
  }
  for (const auto& n : opt.content_layers) last_ = std::max(last_, index_of(n));
  for (const auto& n : opt.style_layers) last_ = std::max(last_, index_of(n));
}

int ReferenceNet::index_of(const std::string& name) const {
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int ReferenceNet::channels(int layer) const {
  for (int i = layer; i >= 0; --i) {
    if (layers_[i].kind == LayerKind::Conv3x3) return layers_[i].cout;
  }
  return 3;
}

std::vector<std::vector<double>> ReferenceNet::forward(const std::vector<double>& x, int h, int w,
                                                       int last) const {
  std::vector<std::vector<double>> outs;
  const std::vector<double>* in = &x;
  int c = 3;
  for (int i = 0; i <= last; ++i) {
    const LayerSpec& l = layers_[i];
    std::vector<double> y;
    if (l.kind == LayerKind::Conv3x3) {
      y.resize(static_cast<size_t>(h) * w * l.cout);
      cpu::conv2d_fprop_reference(y.data(), in->data(), kernels_[i].data(), biases_[i].data(), 1, h, w, c,
                                  l.cout, /*relu=*/true);
      c = l.cout;
    } else {
      y.resize(static_cast<size_t>(h / 2) * (w / 2) * c);
      if (opt_.pooling == Pooling::Max) {
        cpu::maxpool2x2_forward_reference(y.data(), in->data(), 1, h, w, c);
      } else {
        cpu::avgpool2x2_forward_reference(y.data(), in->data(), 1, h, w, c);
      }
      h /= 2;
      w /= 2;
    }
    outs.push_back(std::move(y));
    in = &outs.back();
  }
  return outs;
}

void ReferenceNet::set_masks(const std::vector<std::vector<double>>& style_masks,
                             const std::vector<double>& content_mask, int h, int w) {
  style_masks_ = style_masks;
  content_mask_ = content_mask;
  mask_h_ = h;
  mask_w_ = w;
}

std::vector<double> ReferenceNet::mask_at(const std::vector<double>& m, int layer) const {
  std::vector<double> cur = m;
  int h = mask_h_, w = mask_w_;
  for (int i = 0; i < layer; ++i) {
    if (layers_[i].kind == LayerKind::Conv3x3) continue;
    std::vector<double> next(static_cast<size_t>(h / 2) * (w / 2));
    for (int y = 0; y < h / 2; ++y)
      for (int x = 0; x < w / 2; ++x) {
        double s = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) s += cur[static_cast<size_t>(2 * y + dy) * w + 2 * x + dx];
        next[static_cast<size_t>(y) * (w / 2) + x] = s / 4;
      }
    cur.swap(next);
    h /= 2;
    w /= 2;
  }
  return cur;
}

namespace {

// Applies a mask of one value per pixel to (pixels, C) features.
std::vector<double> masked(const std::vector<double>& f, const std::vector<double>& m) {
  std::vector<double> out(f.size());
  const size_t c = f.size() / m.size();
  for (size_t i = 0; i < f.size(); ++i) out[i] = m[i / c] * f[i];
  return out;
}

}  // namespace

void ReferenceNet::set_content(const std::vector<double>& x, int h, int w) {
  const auto outs = forward(x, h, w, last_);
  content_targets_.clear();
  for (const auto& n : opt_.content_layers) {
    const int l = index_of(n);
    content_targets_.push_back(content_mask_.empty() ? outs[l] : masked(outs[l], mask_at(content_mask_, l)));
  }
}

double ReferenceNet::masked_style_loss(const std::vector<double>& f, int layer, size_t slot) const {
  const int c = channels(layer);
  const size_t hw = f.size() / c;
  double total = 0;
  for (size_t k = 0; k < style_masks_.size(); ++k) {
    const std::vector<double> m = mask_at(style_masks_[k], layer);
    double area = 0;
    for (double v : m) area += v * v;
    std::vector<double> g(static_cast<size_t>(c) * c);
    cpu::gram_reference(g.data(), masked(f, m).data(), 1, static_cast<int>(hw), c);  // / (C*HW)
    double sum = 0;
    for (size_t j = 0; j < g.size(); ++j) {
      const double d = g[j] * static_cast<double>(hw) / area - own_grams_[k][slot][j];
      sum += d * d;
    }
    total += opt_.style_weight * blend_[k] * style_masks_.size() * sum / g.size();
  }
  return total;
}

void ReferenceNet::set_styles(const std::vector<std::vector<double>>& xs, const std::vector<int>& hs,
                              const std::vector<int>& ws, const std::vector<double>& blend) {
  style_targets_.assign(opt_.style_layers.size(), {});
  own_grams_.assign(xs.size(), std::vector<std::vector<double>>(opt_.style_layers.size()));
  blend_ = blend;
  for (size_t k = 0; k < xs.size(); ++k) {
    const auto outs = forward(xs[k], hs[k], ws[k], last_);
    for (size_t i = 0; i < opt_.style_layers.size(); ++i) {
      const int l = index_of(opt_.style_layers[i]);
      const int c = channels(l);
      const int hw = static_cast<int>(outs[l].size() / c);
      std::vector<double> g(static_cast<size_t>(c) * c);
      cpu::gram_reference(g.data(), outs[l].data(), 1, hw, c);
      own_grams_[k][i] = g;
      style_targets_[i].resize(g.size(), 0.0);
      for (size_t j = 0; j < g.size(); ++j) style_targets_[i][j] += blend[k] * g[j];
    }
  }
}

Losses ReferenceNet::loss(const std::vector<double>& x, int h, int w) const {
  const auto outs = forward(x, h, w, last_);
  Losses l;
  for (size_t i = 0; i < opt_.content_layers.size(); ++i) {
    const int layer = index_of(opt_.content_layers[i]);
    const auto f = content_mask_.empty() ? outs[layer] : masked(outs[layer], mask_at(content_mask_, layer));
    std::vector<double> grad(f.size(), 0.0);
    double v = 0;
    cpu::content_loss_reference(&v, grad.data(), f.data(), content_targets_[i].data(), f.size(),
                                opt_.content_weight);
    l.content += v;
  }
  for (size_t i = 0; i < opt_.style_layers.size(); ++i) {
    const int layer = index_of(opt_.style_layers[i]);
    const auto& f = outs[layer];
    if (!style_masks_.empty()) {
      l.style += masked_style_loss(f, layer, i);
      continue;
    }
    const int c = channels(layer);
    std::vector<double> grad(f.size(), 0.0);
    double v = 0;
    cpu::style_loss_reference(&v, grad.data(), f.data(), style_targets_[i].data(), 1,
                              static_cast<int>(f.size() / c), c, opt_.style_weight);
    l.style += v;
  }
  std::vector<double> grad(x.size(), 0.0);
  // The engine's TV is a mean: the sum-form reference divided by H*W*3.
  cpu::tv_loss_reference(&l.tv, grad.data(), x.data(), 1, h, w, 3, opt_.tv_weight / (3.0 * h * w));
  l.total = l.content + l.style + l.tv;
  return l;
}

}  // namespace nst::testing
