#include "engine/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "nst/error.hpp"

namespace nst {
namespace {

class Adam final : public Optimizer {
 public:
  Adam(Plan& plan, const AdamOptions& o) : plan_(plan), n_(plan.shape().size()) {
    settings_.lr = o.lr;
    settings_.beta1 = o.beta1;
    settings_.beta2 = o.beta2;
    settings_.eps = o.eps;
    m_ = plan.allocate_zeroed(n_);
    v_ = plan.allocate_zeroed(n_);
  }

  Losses step(const std::function<Losses()>& evaluate) override {
    const Losses l = evaluate();
    plan_.backend().adam_step(plan_.x(), m_, v_, plan_.dx(), n_, settings_, ++t_);
    return l;
  }

  void reset() override {
    plan_.backend().fill(m_, 0.f, n_);
    plan_.backend().fill(v_, 0.f, n_);
    t_ = 0;
  }

  bool needs_losses() const override { return false; }

 private:
  Plan& plan_;
  size_t n_;
  AdamSettings settings_;
  float *m_ = nullptr, *v_ = nullptr;
  int t_ = 0;
};

// L-BFGS on device vectors. History pairs (s, y) live in history+1 slots
// of a ring: the spare slot receives the newest pair before it is known
// whether y.s is large enough to keep it, without overwriting the oldest.
// The two-loop recursion's coefficients alpha_i = rho_i s_i.q stay on the
// device (dot into a device scalar, axpy scaled by it); rho_i = 1/(y_i.s_i)
// and the initial Hessian scale are host numbers, because y.s and y.y are
// downloaded anyway to decide whether the pair is kept.
class Lbfgs final : public Optimizer {
 public:
  Lbfgs(Plan& plan, const LbfgsOptions& o) : plan_(plan), o_(o), n_(plan.shape().size()) {
    if (o.history < 1) throw InvalidArgument("L-BFGS history must be >= 1, got " + std::to_string(o.history));
    Backend& b = plan.backend();
    b.reserve_vector_ops(n_);
    d_ = plan.allocate_zeroed(n_);
    prev_g_ = plan.allocate_zeroed(n_);
    if (safeguarded()) prev_x_ = plan.allocate_zeroed(n_);
    for (int i = 0; i <= o.history; ++i) slots_.push_back({plan.allocate_zeroed(n_), plan.allocate_zeroed(n_), 0.0});
    used_.reserve(static_cast<size_t>(o.history));  // no allocation in the loop as the history fills
    // alpha_i per slot, then beta, y.s, y.y, g.d, |g|_1.
    scalars_ = plan.allocate_zeroed(slots_.size() + 5);
  }

  Losses step(const std::function<Losses()>& evaluate) override {
    const Losses l = evaluate();
    if (converged_) return l;
    if (iteration_ > 0 && safeguarded() && worse(l)) {
      step_back();
      return std::isfinite(l.total) ? l : prev_losses_;
    }
    rejected_in_a_row_ = 0;
    Backend& b = plan_.backend();
    const float* g = plan_.dx();
    if (iteration_ == 0) {
      b.copy(d_, g, n_);
      b.scale(d_, -1.f, n_);
      h_diag_ = 1.0;
    } else {
      update_history(g);
      direction(g);
    }
    b.copy(prev_g_, g, n_);
    // Without curvature pairs (the first step, or every pair so far had
    // y.s <= 0, as in the non-convex region around a content init) the
    // direction is -g, and its size is the first step's rule.
    const bool no_pairs = iteration_ == 0 || (safeguarded() && used_.empty());
    const double t = no_pairs ? first_step_size(g) : o_.lr;
    b.dot(scalar(kGtd), g, d_, n_);
    if (download_scalar(kGtd) > -o_.tolerance_change) {
      converged_ = true;
      return l;
    }
    t_ = static_cast<float>(t);
    if (safeguarded()) {
      b.copy(prev_x_, plan_.x(), n_);
      prev_losses_ = l;
    }
    b.axpy(plan_.x(), t_, nullptr, d_, n_);
    ++iteration_;
    return l;
  }

  Losses finish(const std::function<Losses()>& evaluate) override {
    const Losses l = evaluate();
    if (iteration_ == 0 || !safeguarded() || converged_ || !worse(l)) return l;
    plan_.backend().copy(plan_.x(), prev_x_, n_);
    return prev_losses_;
  }

  void reset() override {
    iteration_ = 0;
    rejected_in_a_row_ = 0;
    used_.clear();
    converged_ = false;
  }

  bool converged() const override { return converged_; }

 private:
  struct Slot {
    float *s, *y;
    double rho;
  };
  enum : size_t { kBeta = 0, kYs, kYy, kGtd, kAsum };  // kAsum: the first step's norm

  float* scalar(size_t which) const { return scalars_ + slots_.size() + which; }
  float* alpha(size_t slot) const { return scalars_ + slot; }
  double download_scalar(size_t which) const {
    float v = 0;
    plan_.backend().download(&v, scalar(which), 1);
    return v;
  }

  // The safeguard comes with the scaled first step (PyTorch has neither;
  // the golden tests turn both off to follow it):
  // without a line search, a quasi-Newton step from a poor curvature pair
  // can multiply the loss (measured: x2e7 at 128 px, bench/RESULTS.md),
  // and the pairs it leaves make every later step tiny.
  bool safeguarded() const { return o_.initial_step_rms > 0.f; }
  static constexpr double kWorse = 0.01;  // a rise of more than 1% is a bad step
  // Written so that a loss that is not finite (NaN included) is worse.
  bool worse(const Losses& l) const {
    return !(l.total <= prev_losses_.total + kWorse * std::abs(prev_losses_.total));
  }

  // The last step raised the loss: back to where it started, forget the
  // curvature pairs, and step along -g there with the first step's size,
  // halved for each bad step in a row. The evaluation at the rejected
  // point is spent; its losses are what this iteration reports (the start
  // point's, when they are not finite).
  void step_back() {
    Backend& b = plan_.backend();
    b.copy(plan_.x(), prev_x_, n_);
    used_.clear();
    ++rejected_in_a_row_;
    b.copy(d_, prev_g_, n_);
    b.scale(d_, -1.f, n_);
    t_ = static_cast<float>(std::ldexp(first_step_size(prev_g_), -(rejected_in_a_row_ - 1)));
    b.axpy(plan_.x(), t_, nullptr, d_, n_);
  }

  double first_step_size(const float* g) {
    Backend& b = plan_.backend();
    if (o_.initial_step_rms > 0.f) {
      b.dot(scalar(kAsum), g, g, n_);
      const double norm = std::sqrt(download_scalar(kAsum));
      return norm > 0 ? o_.initial_step_rms * std::sqrt(static_cast<double>(n_)) / norm : 0.0;
    }
    b.asum(scalar(kAsum), g, n_);
    return std::min(1.0, 1.0 / download_scalar(kAsum)) * o_.lr;
  }

  // The free slot: not in use by the history.
  size_t free_slot() const {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (std::find(used_.begin(), used_.end(), i) == used_.end()) return i;
    throw Error("L-BFGS: no free history slot");  // unreachable: one spare slot
  }

  // y = g - g_prev, s = t * d (the previous step); kept if y.s > 1e-10.
  void update_history(const float* g) {
    Backend& b = plan_.backend();
    const size_t k = free_slot();
    Slot& sl = slots_[k];
    b.copy(sl.y, g, n_);
    b.axpy(sl.y, -1.f, nullptr, prev_g_, n_);
    b.copy(sl.s, d_, n_);
    b.scale(sl.s, t_, n_);
    b.dot(scalar(kYs), sl.y, sl.s, n_);
    b.dot(scalar(kYy), sl.y, sl.y, n_);
    float ys_yy[2];
    b.download(ys_yy, scalar(kYs), 2);
    const double ys = ys_yy[0], yy = ys_yy[1];
    if (ys <= 1e-10) return;
    if (used_.size() == static_cast<size_t>(o_.history)) used_.erase(used_.begin());
    sl.rho = 1.0 / ys;
    used_.push_back(k);
    h_diag_ = ys / yy;
  }

  // d = -H g by the two-loop recursion over the pairs, newest first.
  void direction(const float* g) {
    Backend& b = plan_.backend();
    b.copy(d_, g, n_);
    b.scale(d_, -1.f, n_);
    for (auto it = used_.rbegin(); it != used_.rend(); ++it) {
      const Slot& sl = slots_[*it];
      b.dot(alpha(*it), sl.s, d_, n_);  // alpha_i / rho_i
      b.axpy(d_, static_cast<float>(-sl.rho), alpha(*it), sl.y, n_);
    }
    b.scale(d_, static_cast<float>(h_diag_), n_);
    for (size_t k : used_) {
      const Slot& sl = slots_[k];
      b.dot(scalar(kBeta), sl.y, d_, n_);  // beta_i / rho_i
      // d += s_i (alpha_i - beta_i)
      b.axpy(d_, static_cast<float>(sl.rho), alpha(k), sl.s, n_);
      b.axpy(d_, static_cast<float>(-sl.rho), scalar(kBeta), sl.s, n_);
    }
  }

  Plan& plan_;
  LbfgsOptions o_;
  size_t n_;
  float *d_ = nullptr, *prev_g_ = nullptr, *prev_x_ = nullptr, *scalars_ = nullptr;
  Losses prev_losses_;  // at prev_x_, where the last step started
  int rejected_in_a_row_ = 0;
  std::vector<Slot> slots_;
  std::vector<size_t> used_;  // slot indices, oldest first
  double h_diag_ = 1.0;
  float t_ = 0.f;
  int iteration_ = 0;
  bool converged_ = false;
};

}  // namespace

std::unique_ptr<Optimizer> make_adam(Plan& plan, const AdamOptions& options) {
  return std::make_unique<Adam>(plan, options);
}

std::unique_ptr<Optimizer> make_lbfgs(Plan& plan, const LbfgsOptions& options) {
  return std::make_unique<Lbfgs>(plan, options);
}

std::unique_ptr<Optimizer> make_optimizer(Plan& plan, const Options& o) {
  if (o.optimizer == OptimizerKind::Adam) {
    AdamOptions a;
    a.lr = o.effective_learning_rate();
    a.beta1 = o.beta1;
    a.beta2 = o.beta2;
    a.eps = o.eps;
    return make_adam(plan, a);
  }
  LbfgsOptions l;
  l.lr = o.effective_learning_rate();
  l.history = o.lbfgs_history;
  l.initial_step_rms = o.lbfgs_initial_step;
  return make_lbfgs(plan, l);
}

}  // namespace nst
