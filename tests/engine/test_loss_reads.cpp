// Losses without a device sync: Session::step(false) and Options::loss_every.
// A backend that counts its downloads (the only host sync a step can make)
// wraps the cpu backend, so the test sees exactly which steps read back.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/backend.hpp"
#include "engine/session_maker.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

constexpr int kH = 18, kW = 21;

// Forwards every op to `inner` and counts download() calls.
class CountingBackend final : public Backend {
 public:
  CountingBackend(std::unique_ptr<Backend> inner, int* downloads) : inner_(std::move(inner)), downloads_(downloads) {}
  std::string name() const override { return inner_->name(); }
  float* allocate(size_t n) override { return inner_->allocate(n); }
  size_t mark() const override { return inner_->mark(); }
  void release(size_t m) override { inner_->release(m); }
  void reserve_conv2d(const Shape& x, int cout) override { inner_->reserve_conv2d(x, cout); }
  void reserve_style_loss(const Shape& f) override { inner_->reserve_style_loss(f); }
  void reserve_content_loss(size_t n) override { inner_->reserve_content_loss(n); }
  void reserve_tv_loss(const Shape& x) override { inner_->reserve_tv_loss(x); }
  void upload(float* d, const float* s, size_t n) override { inner_->upload(d, s, n); }
  void download(float* d, const float* s, size_t n) override {
    ++*downloads_;
    inner_->download(d, s, n);
  }
  void fill(float* d, float v, size_t n) override { inner_->fill(d, v, n); }
  void conv2d_fprop(float* y, const float* x, const Shape& xs, const float* w, const float* b, int cout,
                    bool relu) override {
    inner_->conv2d_fprop(y, x, xs, w, b, cout, relu);
  }
  const float* prepare_conv2d_dgrad(const float* w, int cin, int cout) override {
    return inner_->prepare_conv2d_dgrad(w, cin, cout);
  }
  void conv2d_dgrad(float* dx, float* dy, const float* relu_y, const Shape& xs, const float* w,
                    const float* w_dgrad, int cout) override {
    inner_->conv2d_dgrad(dx, dy, relu_y, xs, w, w_dgrad, cout);
  }
  void pool2x2_forward(float* y, const float* x, const Shape& xs, bool max) override {
    inner_->pool2x2_forward(y, x, xs, max);
  }
  void pool2x2_backward(float* dx, const float* dy, const float* x, const Shape& xs, bool max) override {
    inner_->pool2x2_backward(dx, dy, x, xs, max);
  }
  void gram(float* G, const float* F, const Shape& fs) override { inner_->gram(G, F, fs); }
  void content_loss(float* l, float* dF, const float* F, const float* P, size_t n, float w) override {
    inner_->content_loss(l, dF, F, P, n, w);
  }
  void style_loss(float* l, float* dF, const float* F, const float* G, const float* A, const Shape& fs,
                  float w) override {
    inner_->style_loss(l, dF, F, G, A, fs, w);
  }
  void tv_loss(float* l, float* dx, const float* x, const Shape& xs, float w) override {
    inner_->tv_loss(l, dx, x, xs, w);
  }
  void pixel_scale(float* y, const float* x, const float* m, const Shape& xs, bool acc) override {
    inner_->pixel_scale(y, x, m, xs, acc);
  }
  void adam_step(float* x, float* m, float* v, const float* g, size_t n, const AdamSettings& s, int t) override {
    inner_->adam_step(x, m, v, g, n, s, t);
  }
  void preprocess(float* x, const uint8_t* rgb, size_t p) override { inner_->preprocess(x, rgb, p); }
  void deprocess(uint8_t* rgb, const float* x, size_t p) override { inner_->deprocess(rgb, x, p); }
  void dot(float* r, const float* a, const float* b, size_t n) override { inner_->dot(r, a, b, n); }
  void asum(float* r, const float* a, size_t n) override { inner_->asum(r, a, n); }
  void axpy(float* y, float alpha, const float* s, const float* x, size_t n) override {
    inner_->axpy(y, alpha, s, x, n);
  }
  void scale(float* x, float alpha, size_t n) override { inner_->scale(x, alpha, n); }
  void copy(float* d, const float* s, size_t n) override { inner_->copy(d, s, n); }
  void reserve_vector_ops(size_t n) override { inner_->reserve_vector_ops(n); }
  void synchronize() override { inner_->synchronize(); }
  void run_captured(const std::function<void()>& record) override { inner_->run_captured(record); }

 private:
  std::unique_ptr<Backend> inner_;
  int* downloads_;
};

class LossReadsTest : public ::testing::Test {
 protected:
  LossReadsTest() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 5)) {
    opt_.compute.device = Device::Cpu;
    opt_.compute.threads = 1;
    opt_.optimizer = OptimizerKind::Adam;
  }

  std::unique_ptr<Session> counted_session(int* downloads) {
    auto s = SessionMaker::on_backend(weights_, opt_, kH, kW,
                                      std::make_unique<CountingBackend>(make_cpu_backend(1), downloads), layers_);
    s->set_content(noise_image(kW, kH, 1));
    s->set_styles({noise_image(25, 19, 2)});
    s->init_image(Init::Content, 0);
    return s;
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
  Options opt_;
};

TEST_F(LossReadsTest, AdamStepsWithoutLossesDownloadNothingAndGiveTheSameImage) {
  int downloads = 0, reference_downloads = 0;
  const auto s = counted_session(&downloads);
  const auto reference = counted_session(&reference_downloads);
  for (int i = 0; i < 6; ++i) {
    const int before = downloads;
    const std::optional<Losses> l = s->step(/*read_losses=*/i == 5);
    const Losses expected = reference->step();
    if (i < 5) {
      EXPECT_FALSE(l.has_value()) << "step " << i;
      EXPECT_EQ(downloads, before) << "an unread Adam step must not wait for the backend (step " << i << ")";
    } else {
      ASSERT_TRUE(l.has_value());
      EXPECT_EQ(downloads, before + 1) << "a read step downloads the loss scalars once";
      EXPECT_EQ(l->total, expected.total);
      EXPECT_EQ(l->style, expected.style);
    }
  }
  EXPECT_EQ(s->image(), reference->image()) << "reading the losses must not change the iteration";
}

TEST_F(LossReadsTest, LbfgsReadsItsLossesWhateverTheCallerAsks) {
  opt_.optimizer = OptimizerKind::Lbfgs;
  int downloads = 0;
  const auto s = counted_session(&downloads);
  for (int i = 0; i < 3; ++i) {
    const std::optional<Losses> l = s->step(/*read_losses=*/false);
    ASSERT_TRUE(l.has_value()) << "L-BFGS needs the losses for its safeguard, so step(false) returns them";
    EXPECT_TRUE(std::isfinite(l->total));
  }
  EXPECT_GE(downloads, 3);
}

TEST_F(LossReadsTest, StylizeReportsLossesEveryNIterationsAndAtTheLast) {
  opt_.image_size = 24;
  opt_.iterations = 7;
  opt_.loss_every = 3;
  std::vector<bool> read;
  std::vector<double> totals;
  auto on_progress = [&](const IterationStats& st) {
    read.push_back(st.losses_read);
    totals.push_back(st.losses.total);
  };
  // stylize() plans the full-width VGG16 (Options::model), at 24 px it is quick.
  const Image content = noise_image(24, 20, 3), style = noise_image(20, 20, 4);
  const Image out = stylize(make_random_weights(vgg16_layers(), 9), content, {style}, opt_, on_progress);
  ASSERT_EQ(read.size(), 7u);
  const std::vector<bool> expected = {false, false, true, false, false, true, true};
  EXPECT_EQ(read, expected);
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(std::isfinite(totals[i]), static_cast<bool>(read[i])) << "unread losses are NaN, read ones finite";
  }
  Options every = opt_;
  every.loss_every = 1;
  const Image same = stylize(make_random_weights(vgg16_layers(), 9), content, {style}, every);
  EXPECT_EQ(out.rgb, same.rgb) << "loss_every must not change the result";
}

TEST_F(LossReadsTest, LossEveryMustBePositive) {
  opt_.loss_every = 0;
  EXPECT_THROW(opt_.validate(layers_), InvalidArgument);
}

}  // namespace
}  // namespace nst
