// Optimizer: updates the image x from the gradient g that an evaluation
// leaves in the plan. Adam and L-BFGS behind one interface; both keep their
// state in backend buffers and work through the backend's vector ops, so on
// a device nothing but a few scalars crosses to the host per iteration.
#pragma once
#include <functional>
#include <memory>

#include "engine/plan.hpp"

namespace nst {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One iteration: calls `evaluate` (which computes the losses at x and the
  // gradient into g) once, then updates x. Returns the losses at x before
  // the update.
  virtual Losses step(const std::function<Losses()>& evaluate) = 0;
  // After the last step: evaluates x, the image the last update made (no
  // step has seen it), and returns its losses; L-BFGS takes that update
  // back when it raised the loss or made it not finite.
  virtual Losses finish(const std::function<Losses()>& evaluate) { return evaluate(); }
  // Forgets the state: x was set from outside.
  virtual void reset() = 0;
  // L-BFGS: the last direction was not a descent direction any more (the
  // minimum is reached to float precision); further steps do nothing.
  virtual bool converged() const { return false; }
  // Whether step() looks at the losses `evaluate` returns. L-BFGS does (its
  // safeguard compares them); Adam does not, so a caller that does not want
  // them either may skip reading them back, and a device need not wait.
  virtual bool needs_losses() const { return true; }
};

// State allocated after `plan` (and freed with it); x = plan.x(), g = plan.dx().
std::unique_ptr<Optimizer> make_optimizer(Plan& plan, const Options& options);

struct AdamOptions {
  float lr = 10.f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};
std::unique_ptr<Optimizer> make_adam(Plan& plan, const AdamOptions& options);

// PyTorch's torch.optim.LBFGS without line search, evaluated once per
// step (max_iter=1): the same two-loop recursion, the same first step
// min(1, 1/|g|_1) * lr, curvature pairs kept only when y.s > 1e-10, the
// initial Hessian y.s / y.y of the newest pair.
struct LbfgsOptions {
  float lr = 1.f;
  int history = 100;
  float tolerance_change = 1e-9f;  // converged when g.d > -tolerance_change
  // The first step. 0: PyTorch's, -min(1, 1/|g|_1) * lr * g. On an image
  // that step is ~1/n per value, about one float32 ulp of a pixel at 256 px,
  // so the first curvature pair is rounding noise and L-BFGS can crawl for
  // hundreds of steps. > 0: -t * g with t such that the step's RMS over the
  // image is this many pixel units; the pair is then well measured. The
  // same size is taken while no pair has been kept (every y.s <= 0, which
  // happens from a content init), where PyTorch takes -lr * g, a step whose
  // size depends on the scale of the loss (measured on real weights from a
  // content init: 150 iterations at ~1e-3 of the loss each, see
  // bench/RESULTS.md). > 0 also turns on a safeguard: a step that raises
  // the loss by more than 1% is taken back, the pairs are dropped and L-BFGS
  // restarts there with this step size (halved for each bad step in a row).
  float initial_step_rms = 0.f;
};
std::unique_ptr<Optimizer> make_lbfgs(Plan& plan, const LbfgsOptions& options);

}  // namespace nst
