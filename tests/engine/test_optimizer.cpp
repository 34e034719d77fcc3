// The optimisers on the engine's own buffers: L-BFGS against a float64
// transcription of torch.optim.LBFGS on a quadratic (trajectory, history
// pops), its first step, and L-BFGS against Adam per evaluation on a
// quadratic and on the tiny-network style-transfer objective.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <limits>
#include <memory>

#include "engine/model.hpp"
#include "engine/optimizer.hpp"
#include "engine/plan.hpp"
#include "engine/random.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

constexpr int kH = 4, kW = 5;  // 60 values: a small problem, any backend

// f(x) = 1/2 sum a_i (x_i - c_i)^2 with curvatures a_i in [1, 100].
struct Quadratic {
  std::vector<double> a, c;
  explicit Quadratic(size_t n) {
    Rng rng(5);
    for (size_t i = 0; i < n; ++i) {
      a.push_back(1.0 + 99.0 * rng.uniform());
      // float-representable, so that x = c is exactly the minimum
      c.push_back(static_cast<float>(20.0 * (rng.uniform() - 0.5)));
    }
  }
  double value(const std::vector<double>& x) const {
    double f = 0;
    for (size_t i = 0; i < x.size(); ++i) f += 0.5 * a[i] * (x[i] - c[i]) * (x[i] - c[i]);
    return f;
  }
  std::vector<double> gradient(const std::vector<double>& x) const {
    std::vector<double> g(x.size());
    for (size_t i = 0; i < x.size(); ++i) g[i] = a[i] * (x[i] - c[i]);
    return g;
  }
};

// A plan (any network: only its x and dx are used) with the quadratic as
// the evaluation: downloads x, uploads the gradient into dx.
class QuadraticOnPlan {
 public:
  QuadraticOnPlan()
      : layers_(vgg16_layers(16)),
        model_(make_random_weights(layers_, 1), layers_, Pooling::Max, make_cpu_backend(1)),
        plan_(model_, Shape{1, kH, kW, 3}, 0),
        q_(plan_.shape().size()) {}

  Plan& plan() { return plan_; }
  const Quadratic& quadratic() const { return q_; }
  void set_x(const std::vector<double>& x) {
    const std::vector<float> f(x.begin(), x.end());
    plan_.backend().upload(plan_.x(), f.data(), f.size());
  }
  std::vector<double> x() const {
    const std::vector<float> f = plan_.download(plan_.x(), plan_.shape().size());
    return {f.begin(), f.end()};
  }
  std::function<Losses()> evaluate() {
    return [this] {
      const std::vector<double> x = this->x();
      const std::vector<double> g = q_.gradient(x);
      const std::vector<float> gf(g.begin(), g.end());
      plan_.backend().upload(plan_.dx(), gf.data(), gf.size());
      ++evaluations_;
      Losses l;
      l.total = q_.value(x);
      return l;
    };
  }
  int evaluations() const { return evaluations_; }

 private:
  std::vector<LayerSpec> layers_;
  Model model_;
  Plan plan_;
  Quadratic q_;
  int evaluations_ = 0;
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// torch.optim.LBFGS (max_iter=1, no line search) in float64, written from
// its source's structure, independent of the engine's ring of slots.
struct ReferenceLbfgs {
  ReferenceLbfgs(double lr_, size_t history_) : lr(lr_), history(history_) {}
  double lr;
  size_t history;
  std::deque<std::vector<double>> s, y;
  std::deque<double> rho;
  std::vector<double> d, prev_g;
  double t = 0, h_diag = 1;
  int n_iter = 0;

  void step(std::vector<double>& x, const std::vector<double>& g) {
    ++n_iter;
    if (n_iter == 1) {
      d.assign(g.size(), 0);
      for (size_t i = 0; i < g.size(); ++i) d[i] = -g[i];
    } else {
      std::vector<double> yk(g.size()), sk(g.size());
      for (size_t i = 0; i < g.size(); ++i) {
        yk[i] = g[i] - prev_g[i];
        sk[i] = d[i] * t;
      }
      const double ys = dot(yk, sk);
      if (ys > 1e-10) {
        if (s.size() == history) {
          s.pop_front();
          y.pop_front();
          rho.pop_front();
        }
        s.push_back(sk);
        y.push_back(yk);
        rho.push_back(1.0 / ys);
        h_diag = ys / dot(yk, yk);
      }
      std::vector<double> q(g.size()), al(s.size());
      for (size_t i = 0; i < g.size(); ++i) q[i] = -g[i];
      for (size_t k = s.size(); k-- > 0;) {
        al[k] = dot(s[k], q) * rho[k];
        for (size_t i = 0; i < q.size(); ++i) q[i] -= al[k] * y[k][i];
      }
      for (double& v : q) v *= h_diag;
      for (size_t k = 0; k < s.size(); ++k) {
        const double be = dot(y[k], q) * rho[k];
        for (size_t i = 0; i < q.size(); ++i) q[i] += s[k][i] * (al[k] - be);
      }
      d = q;
    }
    prev_g = g;
    double asum = 0;
    for (double v : g) asum += std::abs(v);
    t = n_iter == 1 ? std::min(1.0, 1.0 / asum) * lr : lr;
    for (size_t i = 0; i < x.size(); ++i) x[i] += t * d[i];
  }
};

std::vector<double> start_point(size_t n) {
  Rng rng(9);
  std::vector<double> x(n);
  for (double& v : x) v = 30.0 * (rng.uniform() - 0.5);
  return x;
}

TEST(Lbfgs, FirstStepIsTheGradientScaledToUnitL1Norm) {
  QuadraticOnPlan p;
  const std::vector<double> x0 = start_point(p.plan().shape().size());
  p.set_x(x0);
  LbfgsOptions o;
  o.lr = 0.5f;
  auto opt = make_lbfgs(p.plan(), o);
  opt->step(p.evaluate());
  const std::vector<double> g = p.quadratic().gradient(x0), x1 = p.x();
  double asum = 0;
  for (double v : g) asum += std::abs(v);
  ASSERT_GT(asum, 1.0);
  for (size_t i = 0; i < x0.size(); ++i) EXPECT_NEAR(x1[i], x0[i] - 0.5 * g[i] / asum, 1e-5) << i;
}

// History 3 over 25 steps: pairs are added, then the oldest dropped, every
// step; the trajectory must follow torch's algorithm in float64.
TEST(Lbfgs, FollowsTorchLbfgsOnAQuadraticThroughHistoryPops) {
  QuadraticOnPlan p;
  std::vector<double> ref_x = start_point(p.plan().shape().size());
  p.set_x(ref_x);
  LbfgsOptions o;
  o.history = 3;
  auto opt = make_lbfgs(p.plan(), o);
  ReferenceLbfgs ref(1.0, 3);
  const double f0 = p.quadratic().value(ref_x);
  for (int k = 0; k < 25; ++k) {
    const double engine_f = opt->step(p.evaluate()).total, ref_f = p.quadratic().value(ref_x);
    ref.step(ref_x, p.quadratic().gradient(ref_x));
    // float32 vectors against float64: relative to the starting value.
    EXPECT_NEAR(engine_f, ref_f, 1e-5 * f0) << "step " << k + 1;
  }
  EXPECT_EQ(ref.s.size(), 3u) << "the reference must have dropped pairs";
  const std::vector<double> x = p.x();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], ref_x[i], 1e-3) << i;
}

// Evaluations to bring a quadratic to 1e-6 of its start value.
template <typename MakeOptimizer>
int evaluations_to_converge(MakeOptimizer make, int budget) {
  QuadraticOnPlan p;
  p.set_x(start_point(p.plan().shape().size()));
  auto opt = make(p.plan());
  const double f0 = p.quadratic().value(p.x());
  for (int k = 0; k < budget; ++k) {
    if (opt->step(p.evaluate()).total < 1e-6 * f0) return p.evaluations();
  }
  return budget + 1;
}

TEST(Lbfgs, MinimisesAQuadraticInFewerEvaluationsThanAdam) {
  const int lbfgs = evaluations_to_converge([](Plan& plan) { return make_lbfgs(plan, LbfgsOptions{}); }, 500);
  // Adam's best step size for this problem, from a sweep.
  int adam = 1 << 30;
  for (float lr : {0.1f, 0.3f, 1.f, 3.f}) {
    AdamOptions a;
    a.lr = lr;
    adam = std::min(adam, evaluations_to_converge([&a](Plan& plan) { return make_adam(plan, a); }, 2000));
  }
  std::printf("evaluations to 1e-6 of the start: L-BFGS %d, Adam (best lr) %d\n", lbfgs, adam);
  EXPECT_LE(lbfgs, 100);
  EXPECT_LT(3 * lbfgs, adam);
}

// lr 20 makes every quasi-Newton step overshoot the quadratic's minimum by
// far: without the safeguard (PyTorch's L-BFGS) the loss explodes; with it,
// each bad step is taken back and the run still converges.
TEST(Lbfgs, TheSafeguardTakesBackStepsThatRaiseTheLoss) {
  for (const bool safeguard : {false, true}) {
    QuadraticOnPlan p;
    p.set_x(start_point(p.plan().shape().size()));
    LbfgsOptions o;
    o.lr = 20.f;
    o.initial_step_rms = safeguard ? 1.f : 0.f;
    auto opt = make_lbfgs(p.plan(), o);
    const double f0 = p.quadratic().value(p.x());
    double worst = 0;
    for (int k = 0; k < 60; ++k) {
      opt->step(p.evaluate());
      worst = std::max(worst, p.quadratic().value(p.x()));
    }
    const double last = p.quadratic().value(p.x());
    std::printf("safeguard %d: start %.3g, worst %.3g, after 60 steps %.3g\n", safeguard, f0, worst, last);
    if (safeguard) {
      EXPECT_LT(last, 1e-2 * f0);
    } else {
      EXPECT_GT(worst, 10 * f0) << "the test's lr no longer makes plain L-BFGS overshoot";
    }
  }
}

// `evaluate`, except that the calls numbered in `poisoned` (1-based)
// report `loss` instead of the true value.
std::function<Losses()> poisoning(std::function<Losses()> evaluate, std::vector<int> poisoned, double loss) {
  auto calls = std::make_shared<int>(0);
  return [=] {
    Losses l = evaluate();
    if (std::count(poisoned.begin(), poisoned.end(), ++*calls)) l.total = loss;
    return l;
  };
}

TEST(Lbfgs, TheSafeguardTakesBackAStepWhoseLossIsNotFinite) {
  for (const double bad : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    QuadraticOnPlan p;
    p.set_x(start_point(p.plan().shape().size()));
    LbfgsOptions o;
    o.initial_step_rms = 1.f;
    auto opt = make_lbfgs(p.plan(), o);
    const auto evaluate = poisoning(p.evaluate(), {3}, bad);
    const double f0 = p.quadratic().value(p.x());
    Losses l;
    for (int k = 0; k < 2; ++k) l = opt->step(evaluate);
    const double before_bad = l.total;
    l = opt->step(evaluate);  // evaluation 3 is "not finite"
    EXPECT_TRUE(std::isfinite(l.total)) << "a taken-back step reports the losses it went back to";
    EXPECT_DOUBLE_EQ(l.total, before_bad);
    for (int k = 0; k < 40; ++k) l = opt->step(evaluate);
    EXPECT_LT(p.quadratic().value(p.x()), 1e-2 * f0) << "it goes on descending after the bad step";
  }
}

TEST(Lbfgs, FinishTakesBackALastStepThatRaisedTheLoss) {
  QuadraticOnPlan p;
  p.set_x(start_point(p.plan().shape().size()));
  LbfgsOptions o;
  o.initial_step_rms = 1.f;
  auto opt = make_lbfgs(p.plan(), o);
  for (int k = 0; k < 5; ++k) opt->step(p.evaluate());
  const std::vector<double> before_last = p.x();
  const Losses at_before_last = opt->step(p.evaluate());
  // The image the last update made evaluates far worse: finish goes back.
  const Losses final_losses = opt->finish(poisoning(p.evaluate(), {1}, 1e30));
  EXPECT_DOUBLE_EQ(final_losses.total, at_before_last.total);
  const std::vector<double> x = p.x();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_FLOAT_EQ(x[i], before_last[i]);

  // An honest last step is kept, and finish reports its losses.
  opt->step(p.evaluate());
  const std::vector<double> after = p.x();
  EXPECT_DOUBLE_EQ(opt->finish(p.evaluate()).total, p.quadratic().value(after));
}

TEST(Lbfgs, ConvergesAtTheMinimumAndThenLeavesTheImageAlone) {
  QuadraticOnPlan p;
  p.set_x(p.quadratic().c);  // the minimum: g = 0, so g.d = 0
  auto opt = make_lbfgs(p.plan(), LbfgsOptions{});
  opt->step(p.evaluate());
  EXPECT_TRUE(opt->converged());
  const std::vector<double> x = p.x();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], p.quadratic().c[i], 1e-5);
}

// The tiny random VGG16 objective, 40 evaluations from the same noise.
double loss_after(OptimizerKind kind, int evaluations) {
  const auto layers = vgg16_layers(16);
  Options o;
  o.compute.device = Device::Cpu;
  o.optimizer = kind;
  o.content_weight = 20;
  o.style_weight = 0.02f;
  o.tv_weight = 4;
  Session s(make_random_weights(layers, 11), o, 18, 21, LogFn{}, layers);
  s.set_content(noise_image(21, 18, 1));
  s.set_styles({noise_image(19, 23, 2)});
  s.init_image(Init::Random, 3);
  Losses l;
  for (int k = 0; k < evaluations; ++k) l = s.step();
  return l.total;
}

TEST(Lbfgs, LowersTheStyleTransferLossFasterThanAdamPerEvaluation) {
  const double lbfgs = loss_after(OptimizerKind::Lbfgs, 40), adam = loss_after(OptimizerKind::Adam, 40);
  std::printf("loss after 40 evaluations: L-BFGS %.6g, Adam %.6g\n", lbfgs, adam);
  EXPECT_LT(lbfgs, adam);
}

}  // namespace
}  // namespace nst
