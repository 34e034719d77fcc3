// Session: a Plan on a Model, the Objective on that plan and the optimiser
// on its image. The public face of one image size.
#include <cmath>
#include <limits>
#include <string>

#include "engine/model.hpp"
#include "engine/objective.hpp"
#include "engine/optimizer.hpp"
#include "engine/plan.hpp"
#include "engine/random.hpp"
#include "engine/session_maker.hpp"
#include "kernels/cpu/ops.hpp"
#include "nst/error.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

std::vector<float> preprocessed(const Image& img) {
  std::vector<float> x(img.pixels() * 3);
  cpu::preprocess(x.data(), img.rgb.data(), img.pixels());
  return x;
}

// Options are checked before a device is touched.
std::shared_ptr<Model> validated_model(const NetworkWeights& weights, const Options& options,
                                       std::vector<LayerSpec> layers, const LogFn& log) {
  options.validate(layers);
  return std::make_shared<Model>(weights, std::move(layers), options, log);
}

}  // namespace

struct Session::Impl {
  Options opt;
  // Destroyed bottom-up: the optimiser and the objective before the plan
  // that holds their memory, the plan before the model.
  std::shared_ptr<Model> model;
  std::unique_ptr<Plan> plan;
  std::unique_ptr<Objective> objective;
  std::unique_ptr<Optimizer> optimizer;
  Image content;  // for init_image(Init::Content)
  int steps = 0;  // since the last set_image
};

std::unique_ptr<Session> SessionMaker::on_model(std::shared_ptr<Model> model, const Options& options, int height,
                                                int width, const PlanPartFn& after) {
  auto impl = std::make_unique<Session::Impl>();
  Session::Impl& s = *impl;
  options.validate(model->network().layers());
  s.opt = options;
  s.model = std::move(model);
  try {
    const auto done = [&after](PlanPart part) {
      if (after) after(part);
    };
    s.plan = std::make_unique<Plan>(*s.model, Shape{1, height, width, 3}, deepest_tap(s.model->network(), options),
                                    options.tile);
    done(PlanPart::Activations);
    s.objective = std::make_unique<Objective>(*s.plan, options);
    done(PlanPart::LossTargets);
    s.optimizer = make_optimizer(*s.plan, options);
    done(PlanPart::OptimizerState);
  } catch (const OutOfMemory& e) {
    s.optimizer.reset();
    s.objective.reset();
    s.plan.reset();
    throw OutOfMemory(std::string(e.what()) + " while planning a " + std::to_string(width) + "x" +
                      std::to_string(height) + " image on " + s.model->backend().name() +
                      ": tile it (--tile, e.g. 512), lower the image size (--image-size) or the L-BFGS history "
                      "(--lbfgs-history), or use Adam (--optimizer adam)");
  }
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

std::unique_ptr<Session> SessionMaker::on_backend(const NetworkWeights& weights, const Options& options, int height,
                                                  int width, std::unique_ptr<Backend> backend,
                                                  std::vector<LayerSpec> layers) {
  if (!backend) throw InvalidArgument("Session: no backend given");
  options.validate(layers);
  return on_model(std::make_shared<Model>(weights, std::move(layers), options.pooling, std::move(backend)), options,
                  height, width);
}

const StyleGrams& SessionMaker::style_grams(const Session& session) {
  return session.impl_->objective->style_grams();
}

void SessionMaker::set_style_grams(Session& session, StyleGrams grams) {
  session.impl_->objective->set_style_grams(std::move(grams), session.impl_->opt.style_blend_weights);
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::Session(const NetworkWeights& weights, const Options& options, int height, int width, LogFn log,
                 std::vector<LayerSpec> layers)
    : Session(std::move(SessionMaker::on_model(validated_model(weights, options, std::move(layers), log), options,
                                               height, width)
                            ->impl_)) {}

Session::~Session() = default;

std::string Session::backend_name() const { return impl_->model->backend().name(); }
int Session::height() const { return impl_->plan->shape().h; }
int Session::width() const { return impl_->plan->shape().w; }

void Session::set_content(const Image& content) {
  impl_->objective->set_content(content);
  impl_->content = content;
}

void Session::set_styles(const std::vector<Image>& styles) {
  impl_->objective->set_styles(styles, impl_->opt.style_blend_weights);
}

void Session::init_image(Init init, uint64_t seed) {
  Impl& s = *impl_;
  switch (init) {
    case Init::Content:
      if (s.content.pixels() == 0) throw InvalidArgument("init 'content' needs set_content() first");
      return set_image(s.content);
    case Init::Image:
      if (s.opt.init_image.pixels() == 0) throw InvalidArgument("init 'image' needs an init image");
      return set_image(resize(s.opt.init_image, width(), height()));
    case Init::Random:
      break;
  }
  Rng rng(seed);
  std::vector<float> x(s.plan->shape().size());
  for (float& v : x) v = static_cast<float>(0.001 * rng.normal());
  set_image(x);
}

void Session::set_image(const std::vector<float>& x) {
  Impl& s = *impl_;
  if (x.size() != s.plan->shape().size()) {
    throw InvalidArgument("image has " + std::to_string(x.size()) + " values, expected " +
                          std::to_string(s.plan->shape().size()));
  }
  for (float v : x) {
    if (!std::isfinite(v)) throw InvalidArgument("image contains NaN or Inf");
  }
  s.plan->backend().upload(s.plan->x(), x.data(), x.size());
  s.optimizer->reset();
  s.steps = 0;
}

void Session::set_image(const Image& img) {
  if (img.width != width() || img.height != height()) {
    throw InvalidArgument("image is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                          ", the session is " + std::to_string(width()) + "x" + std::to_string(height()));
  }
  set_image(preprocessed(img));
}

namespace {

std::string describe(const Losses& l) {
  return "content " + std::to_string(l.content) + ", style " + std::to_string(l.style) + ", tv " +
         std::to_string(l.tv);
}

// Not finite at the start image: nothing has moved yet, so the inputs are
// at fault (weights or loss weights overflowing float32), not the steps.
void require_finite(const Losses& l, int steps_taken) {
  if (std::isfinite(l.total)) return;
  if (steps_taken == 0) {
    throw Error("loss is not finite at the start image (" + describe(l) +
                "): the weights or the loss weights overflow float32; check the weights file and lower "
                "the content/style weights");
  }
  throw Error("loss is not finite after " + std::to_string(steps_taken) + " steps (" + describe(l) +
              "): the optimisation diverged; try a lower learning rate or smaller loss weights");
}

// What an optimiser that does not look at them gets when the losses stay
// on the device.
Losses not_read() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return Losses{nan, nan, nan, nan};
}

}  // namespace

Losses Session::evaluate() {
  const Losses l = impl_->objective->evaluate();
  require_finite(l, impl_->steps);
  return l;
}

Losses Session::step() { return *step(/*read_losses=*/true); }

std::optional<Losses> Session::step(bool read_losses) {
  Objective& objective = *impl_->objective;
  Optimizer& optimizer = *impl_->optimizer;
  read_losses = read_losses || optimizer.needs_losses();
  const Losses l = optimizer.step([&objective, read_losses] {
    objective.compute();
    return read_losses ? objective.losses() : not_read();
  });
  if (read_losses) require_finite(l, impl_->steps);
  ++impl_->steps;
  if (!read_losses) return std::nullopt;
  return l;
}

Losses Session::finish() {
  Objective& objective = *impl_->objective;
  const Losses l = impl_->optimizer->finish([&objective] { return objective.evaluate(); });
  require_finite(l, impl_->steps);
  return l;
}

bool Session::converged() const { return impl_->optimizer->converged(); }

std::vector<float> Session::image() const { return impl_->plan->download(impl_->plan->x(), impl_->plan->shape().size()); }
std::vector<float> Session::gradient() const {
  return impl_->plan->download(impl_->plan->dx(), impl_->plan->shape().size());
}

std::vector<float> Session::activation(const std::string& layer) const {
  const Plan& p = *impl_->plan;
  const int l = p.network().index_of(layer);
  if (l > p.last_layer()) {
    throw InvalidArgument("layer " + layer + " is deeper than the deepest tap (" +
                          p.network().layers()[p.last_layer()].name + "), so it is not computed");
  }
  if (p.tiled()) {
    throw InvalidArgument("a tiled session holds one tile's activations at a time, not the image's " + layer);
  }
  return p.download(p.activations().outs[l], p.activations().shapes[l].size());
}

std::vector<float> Session::content_target(const std::string& layer) const {
  return impl_->objective->content_target(impl_->plan->network().index_of(layer));
}

std::vector<float> Session::style_target(const std::string& layer) const {
  return impl_->objective->style_target(impl_->plan->network().index_of(layer));
}

std::vector<float> Session::style_target(const std::string& layer, int style) const {
  return impl_->objective->style_target(impl_->plan->network().index_of(layer), style);
}

Image Session::output() const {
  const Plan& p = *impl_->plan;
  Image img;
  img.width = p.shape().w;
  img.height = p.shape().h;
  img.rgb.resize(img.pixels() * 3);
  p.backend().deprocess(img.rgb.data(), p.x(), img.pixels());
  return img;
}

}  // namespace nst
