// Losses without a device sync: Session::step(false) and Options::loss_every.
// A backend that counts its downloads (the only host sync a step can make)
// wraps the cpu backend, so the test sees exactly which steps read back.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/forwarding_backend.hpp"
#include "engine/session_maker.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

constexpr int kH = 18, kW = 21;

// The cpu backend, counting its download() calls.
class CountingBackend final : public ForwardingBackend {
 public:
  CountingBackend(std::unique_ptr<Backend> inner, int* downloads)
      : ForwardingBackend(std::move(inner)), downloads_(downloads) {}
  void download(float* d, const float* s, size_t n) override {
    ++*downloads_;
    ForwardingBackend::download(d, s, n);
  }

 private:
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
