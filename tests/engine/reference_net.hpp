// The whole style-transfer loss in float64, composed of the naive
// kernels/cpu *_reference ops: the independent model the engine's float32
// forward, losses and gradient are checked against.
#pragma once
#include <vector>

#include "nst/nst.hpp"

namespace nst::testing {

class ReferenceNet {
 public:
  ReferenceNet(const NetworkWeights& w, std::vector<LayerSpec> layers, const Options& opt);

  // Activations of layers [0, last] for a (H,W,3) preprocessed image.
  std::vector<std::vector<double>> forward(const std::vector<double>& x, int h, int w, int last) const;

  void set_content(const std::vector<double>& x, int h, int w);
  void set_styles(const std::vector<std::vector<double>>& xs, const std::vector<int>& hs,
                  const std::vector<int>& ws, const std::vector<double>& blend);
  // Masks over the (h, w) image, h*w values in 0..1, as the engine's
  // masked terms define them (engine/objective.cpp), computed the plain
  // way: each mask 2x2-averaged per pool, then per style k and layer the
  // masked Gram (mF)^T(mF) / (C sum m^2) against style k's own Gram at
  // weight style_weight * blend[k] * K; the content loss on m F and m P.
  // Empty: unmasked. Call before set_content and set_styles.
  void set_masks(const std::vector<std::vector<double>>& style_masks, const std::vector<double>& content_mask, int h,
                 int w);
  Losses loss(const std::vector<double>& x, int h, int w) const;

  int index_of(const std::string& name) const;
  int channels(int layer) const;

 private:
  // The mask at layer l's resolution: averaged 2x2 (floor) per pool before it.
  std::vector<double> mask_at(const std::vector<double>& m, int layer) const;
  double masked_style_loss(const std::vector<double>& f, int layer, size_t slot) const;

  std::vector<LayerSpec> layers_;
  std::vector<std::vector<double>> kernels_, biases_;
  Options opt_;
  int last_ = 0;
  std::vector<std::vector<double>> content_targets_;  // per content layer
  std::vector<std::vector<double>> style_targets_;    // per style layer (C,C)
  std::vector<std::vector<std::vector<double>>> own_grams_;  // [style][style layer] (C,C)
  std::vector<double> blend_;
  std::vector<std::vector<double>> style_masks_;
  std::vector<double> content_mask_;
  int mask_h_ = 0, mask_w_ = 0;
};

std::vector<double> to_double(const std::vector<float>& v);
// sqrt(sum (a - b)^2 / sum b^2).
double rel_error(const std::vector<double>& a, const std::vector<double>& b);
// The relative error of `grad` (the engine's gradient at the (h, w) image x)
// against central finite differences (step 1e-3) of ref's total loss, at
// `samples` coordinates picked with a fixed seed.
double gradient_error_vs_finite_differences(const ReferenceNet& ref, const std::vector<float>& x,
                                            const std::vector<float>& grad, int h, int w, int samples = 40);

}  // namespace nst::testing
