// Sessions on the engine's internal types, which the public header does not
// show: one on an existing Model (the Schedule plans every scale on one
// Model, weights uploaded once) and one on a backend the caller made (tests
// run the emulated cuda backend this way).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "engine/backend.hpp"
#include "engine/model.hpp"
#include "engine/objective.hpp"
#include "nst/nst.hpp"

namespace nst {

// The parts a Session takes its memory in, in the order it takes them.
// The memory estimate is told after each, so that it measures the Session's
// own planning rather than a copy of it.
enum class PlanPart { Activations, LossTargets, OptimizerState };
using PlanPartFn = std::function<void(PlanPart done)>;

class SessionMaker {
 public:
  // A plan on `model`, whose weights stay where they are. The previous
  // Session on the same Model must be gone: plans take its memory in turn.
  static std::unique_ptr<Session> on_model(std::shared_ptr<Model> model, const Options& options, int height,
                                           int width, const PlanPartFn& after = {});
  // A new Model on `backend`; options.compute.device is then ignored.
  static std::unique_ptr<Session> on_backend(const NetworkWeights& weights, const Options& options, int height,
                                             int width, std::unique_ptr<Backend> backend,
                                             std::vector<LayerSpec> layers = vgg16_layers());
  // The style Grams `session` took (set_styles), and the same targets given
  // to another Session of the same options without running the style images
  // through the network again (several content images, one run).
  static const StyleGrams& style_grams(const Session& session);
  static void set_style_grams(Session& session, StyleGrams grams);
};

}  // namespace nst
