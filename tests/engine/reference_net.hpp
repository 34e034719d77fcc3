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
  Losses loss(const std::vector<double>& x, int h, int w) const;

  int index_of(const std::string& name) const;
  int channels(int layer) const;

 private:
  std::vector<LayerSpec> layers_;
  std::vector<std::vector<double>> kernels_, biases_;
  Options opt_;
  int last_ = 0;
  std::vector<std::vector<double>> content_targets_;  // per content layer
  std::vector<std::vector<double>> style_targets_;    // per style layer (C,C)
};

std::vector<double> to_double(const std::vector<float>& v);

}  // namespace nst::testing
