// Session: one image size, every buffer planned once; evaluate() is the
// forward pass, the tapped losses and the backward pass to the image.
#include <algorithm>
#include <cmath>
#include <set>

#include "engine/device.hpp"
#include "engine/network.hpp"
#include "nst/nst.hpp"
#include "nst/random.hpp"

namespace nst {
namespace {

struct ContentTap {
  int layer;
  float* target;  // (H,W,C) at that layer
};

struct StyleTap {
  int layer;
  float* gram;    // (N,C,C) of the current image
  float* target;  // (C,C) blended Gram of the style images
};

std::vector<float> blend_weights(const Options& o, size_t styles) {
  std::vector<float> w = o.style_blend_weights;
  if (w.empty()) w.assign(styles, 1.f);
  if (w.size() != styles) {
    throw InvalidArgument("got " + std::to_string(w.size()) + " style blend weights for " +
                          std::to_string(styles) + " style images");
  }
  double sum = 0;
  for (float x : w) sum += x;
  for (float& x : w) x = static_cast<float>(x / sum);
  return w;
}

// Options are checked before a device is touched.
std::unique_ptr<Backend> validated_backend(const Options& options, const std::vector<LayerSpec>& layers,
                                           const LogFn& log) {
  options.validate(layers);
  return make_backend(options, log);
}

}  // namespace

struct Session::Impl : TapGradients {
  Options opt;
  LogFn log;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Network> net;
  Shape shape;  // (1,H,W,3)
  int last = 0;
  ForwardPlan fwd;
  float *x = nullptr, *dx = nullptr, *m = nullptr, *v = nullptr;
  std::vector<ContentTap> content;
  std::vector<StyleTap> style;
  float* loss_slots = nullptr;  // content taps, style taps, tv
  std::vector<float> host_losses;
  std::vector<float> content_pixels;  // preprocessed content, for init
  bool have_content = false, have_style = false;
  int t = 0;

  void add(int layer, float* grad) override {
    const Shape& s = fwd.shapes[layer];
    for (size_t i = 0; i < content.size(); ++i) {
      if (content[i].layer != layer) continue;
      backend->content_loss(loss_slots + i, grad, fwd.outs[layer], content[i].target, s.size(),
                            opt.content_weight);
    }
    for (size_t i = 0; i < style.size(); ++i) {
      if (style[i].layer != layer) continue;
      backend->gram(style[i].gram, fwd.outs[layer], s);
      backend->style_loss(loss_slots + content.size() + i, grad, fwd.outs[layer], style[i].gram,
                          style[i].target, s, opt.style_weight);
    }
  }

  float* alloc_zeroed(size_t n) {
    float* p = backend->allocate(n);
    backend->fill(p, 0.f, n);
    return p;
  }

  std::vector<float> download(const float* src, size_t n) const {
    std::vector<float> out(n);
    backend->download(out.data(), src, n);
    return out;
  }

  void upload_image(const Image& img, float* dst) {
    backend->preprocess(dst, img.rgb.data(), img.pixels());
  }
};

Session::Session(const NetworkWeights& weights, const Options& options, int height, int width, LogFn log,
                 std::vector<LayerSpec> layers)
    : Session(weights, options, height, width, validated_backend(options, layers, log), log, layers) {}

Session::Session(const NetworkWeights& weights, const Options& options, int height, int width,
                 std::unique_ptr<Backend> backend, LogFn log, std::vector<LayerSpec> layers)
    : impl_(std::make_unique<Impl>()) {
  options.validate(layers);
  if (!backend) throw InvalidArgument("Session: no backend given");
  Impl& s = *impl_;
  s.opt = options;
  s.log = std::move(log);
  s.backend = std::move(backend);
  s.net = std::make_unique<Network>(*s.backend, weights, std::move(layers), options.pooling == Pooling::Max);
  s.shape = {1, height, width, 3};
  if (height <= 0 || width <= 0) {
    throw InvalidArgument("image size " + std::to_string(width) + "x" + std::to_string(height) + " is empty");
  }

  for (const auto& name : options.content_layers) s.last = std::max(s.last, s.net->index_of(name));
  for (const auto& name : options.style_layers) s.last = std::max(s.last, s.net->index_of(name));
  s.fwd = s.net->plan(s.shape, s.last, /*with_gradients=*/true);

  const size_t n = s.shape.size();
  s.x = s.alloc_zeroed(n);
  s.dx = s.alloc_zeroed(n);
  s.m = s.alloc_zeroed(n);
  s.v = s.alloc_zeroed(n);
  s.backend->reserve_tv_loss(s.shape);
  for (const auto& name : options.content_layers) {
    const int l = s.net->index_of(name);
    s.backend->reserve_content_loss(s.fwd.shapes[l].size());
    s.content.push_back({l, s.alloc_zeroed(s.fwd.shapes[l].size())});
  }
  for (const auto& name : options.style_layers) {
    const int l = s.net->index_of(name);
    const Shape& fs = s.fwd.shapes[l];
    s.backend->reserve_style_loss(fs);
    s.style.push_back({l, s.alloc_zeroed(static_cast<size_t>(fs.n) * fs.c * fs.c),
                       s.alloc_zeroed(static_cast<size_t>(fs.c) * fs.c)});
  }
  s.host_losses.resize(s.content.size() + s.style.size() + 1);
  s.loss_slots = s.alloc_zeroed(s.host_losses.size());
}

Session::~Session() = default;

std::string Session::backend_name() const { return impl_->backend->name(); }
int Session::height() const { return impl_->shape.h; }
int Session::width() const { return impl_->shape.w; }

void Session::set_content(const Image& content) {
  Impl& s = *impl_;
  if (content.width != s.shape.w || content.height != s.shape.h) {
    throw InvalidArgument("content image is " + std::to_string(content.width) + "x" +
                          std::to_string(content.height) + ", the session was planned for " +
                          std::to_string(s.shape.w) + "x" + std::to_string(s.shape.h));
  }
  // Run the content through the session's own buffers, keep the taps.
  float* pixels = s.fwd.grad_a;  // free until the next backward
  s.upload_image(content, pixels);
  s.content_pixels = s.download(pixels, s.shape.size());
  s.net->forward(pixels, s.fwd);
  for (auto& tap : s.content) {
    const size_t n = s.fwd.shapes[tap.layer].size();
    s.backend->upload(tap.target, s.download(s.fwd.outs[tap.layer], n).data(), n);
  }
  s.have_content = true;
}

void Session::set_styles(const std::vector<Image>& styles) {
  Impl& s = *impl_;
  if (styles.empty()) throw InvalidArgument("at least one style image is needed");
  const std::vector<float> blend = blend_weights(s.opt, styles.size());
  int deepest = 0;
  for (const auto& tap : s.style) deepest = std::max(deepest, tap.layer);

  std::vector<std::vector<double>> targets(s.style.size());
  for (size_t k = 0; k < styles.size(); ++k) {
    const Image& img = styles[k];
    // Each style image at its own size: scratch buffers, released after.
    const size_t mark = s.backend->mark();
    const Shape in{1, img.height, img.width, 3};
    ForwardPlan p = s.net->plan(in, deepest, /*with_gradients=*/false);
    float* pixels = s.backend->allocate(in.size());
    s.upload_image(img, pixels);
    s.net->forward(pixels, p);
    for (size_t i = 0; i < s.style.size(); ++i) {
      const Shape& fs = p.shapes[s.style[i].layer];
      float* g = s.backend->allocate(static_cast<size_t>(fs.c) * fs.c);
      s.backend->gram(g, p.outs[s.style[i].layer], fs);
      const std::vector<float> host = s.download(g, static_cast<size_t>(fs.c) * fs.c);
      targets[i].resize(host.size(), 0.0);
      for (size_t j = 0; j < host.size(); ++j) targets[i][j] += static_cast<double>(blend[k]) * host[j];
    }
    s.backend->release(mark);
  }
  for (size_t i = 0; i < s.style.size(); ++i) {
    const std::vector<float> t(targets[i].begin(), targets[i].end());
    s.backend->upload(s.style[i].target, t.data(), t.size());
  }
  s.have_style = true;
}

void Session::init_image(Init init, uint64_t seed) {
  Impl& s = *impl_;
  std::vector<float> x(s.shape.size());
  if (init == Init::Content) {
    if (!s.have_content) throw InvalidArgument("init 'content' needs set_content() first");
    x = s.content_pixels;
  } else {
    Rng rng(seed);
    for (float& v : x) v = static_cast<float>(0.001 * rng.normal());
  }
  set_image(x);
}

void Session::set_image(const std::vector<float>& x) {
  Impl& s = *impl_;
  if (x.size() != s.shape.size()) {
    throw InvalidArgument("image has " + std::to_string(x.size()) + " values, expected " +
                          std::to_string(s.shape.size()));
  }
  for (float v : x) {
    if (!std::isfinite(v)) throw InvalidArgument("image contains NaN or Inf");
  }
  s.backend->upload(s.x, x.data(), x.size());
  s.backend->fill(s.m, 0.f, x.size());
  s.backend->fill(s.v, 0.f, x.size());
  s.t = 0;
}

Losses Session::evaluate() {
  Impl& s = *impl_;
  if (!s.content.empty() && !s.have_content) throw InvalidArgument("set_content() must come before evaluate()");
  if (!s.style.empty() && !s.have_style) throw InvalidArgument("set_styles() must come before evaluate()");
  s.backend->run_captured([&s] {
    s.net->forward(s.x, s.fwd);
    s.net->backward(s.dx, s.x, s.fwd, s);
    s.backend->tv_loss(s.loss_slots + s.content.size() + s.style.size(), s.dx, s.x, s.shape, s.opt.tv_weight);
  });
  s.backend->download(s.host_losses.data(), s.loss_slots, s.host_losses.size());

  Losses l;
  for (size_t i = 0; i < s.content.size(); ++i) l.content += s.host_losses[i];
  for (size_t i = 0; i < s.style.size(); ++i) l.style += s.host_losses[s.content.size() + i];
  l.tv = s.host_losses.back();
  l.total = l.content + l.style + l.tv;
  if (!std::isfinite(l.total)) {
    throw Error("loss is not finite (content " + std::to_string(l.content) + ", style " +
                std::to_string(l.style) + ", tv " + std::to_string(l.tv) +
                "); try a lower learning rate or smaller loss weights");
  }
  return l;
}

Losses Session::step() {
  Impl& s = *impl_;
  const Losses l = evaluate();
  AdamSettings a;
  a.lr = s.opt.learning_rate;
  a.beta1 = s.opt.beta1;
  a.beta2 = s.opt.beta2;
  a.eps = s.opt.eps;
  s.backend->adam_step(s.x, s.m, s.v, s.dx, s.shape.size(), a, ++s.t);
  return l;
}

std::vector<float> Session::image() const { return impl_->download(impl_->x, impl_->shape.size()); }
std::vector<float> Session::gradient() const { return impl_->download(impl_->dx, impl_->shape.size()); }

std::vector<float> Session::activation(const std::string& layer) const {
  const Impl& s = *impl_;
  const int l = s.net->index_of(layer);
  if (l > s.last) {
    throw InvalidArgument("layer " + layer + " is deeper than the deepest tap (" + s.net->layers()[s.last].name +
                          "), so it is not computed");
  }
  return s.download(s.fwd.outs[l], s.fwd.shapes[l].size());
}

std::vector<float> Session::content_target(const std::string& layer) const {
  const Impl& s = *impl_;
  const int l = s.net->index_of(layer);
  for (const auto& tap : s.content) {
    if (tap.layer == l) return s.download(tap.target, s.fwd.shapes[l].size());
  }
  throw InvalidArgument(layer + " is not a content layer");
}

std::vector<float> Session::style_target(const std::string& layer) const {
  const Impl& s = *impl_;
  const int l = s.net->index_of(layer);
  for (const auto& tap : s.style) {
    const int c = s.fwd.shapes[l].c;
    if (tap.layer == l) return s.download(tap.target, static_cast<size_t>(c) * c);
  }
  throw InvalidArgument(layer + " is not a style layer");
}

Image Session::output() const {
  const Impl& s = *impl_;
  Image img;
  img.width = s.shape.w;
  img.height = s.shape.h;
  img.rgb.resize(img.pixels() * 3);
  s.backend->deprocess(img.rgb.data(), s.x, img.pixels());
  return img;
}

}  // namespace nst
