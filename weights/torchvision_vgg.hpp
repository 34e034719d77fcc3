// torchvision's VGG16/VGG19 state dicts as nst weights. torchvision keeps
// the convs in `features`, an nn.Sequential of Conv2d, ReLU and MaxPool2d:
// conv k of the layer table is features.N with N counting two modules per
// conv (Conv2d, ReLU) and one per pool, so the indices follow from the table
// (VGG16: 0,2,5,7,10,12,14,17,19,21,24,26,28). Kernels are OIHW for
// cross-correlation; nst's are HWIO, so they are transposed, not flipped.
//
// torchvision's first conv expects RGB in [0,1] normalised by ImageNet's
// mean and std; nst feeds BGR 0..255 minus the caffe mean. Both are affine
// per channel, so the conversion folds one into the other in block1_conv1:
//   x_t[c] = ((x_c[2-c] + caffe_mean[2-c]) / 255 - mean[c]) / std[c]
//   W'[o, 2-c] = W[o, c] / (255 std[c])
//   b'[o]      = b[o] + sum_{c,kh,kw} W[o,c,kh,kw] (caffe_mean[2-c]/255 - mean[c]) / std[c]
// This is exact inside the image. At its border it is not: the conv pads
// with zeros in caffe space, which is (caffe_mean/255 - mean)/std in torch
// space, not torch's zero; so block1_conv1's outermost pixels (and what
// they reach deeper down) differ slightly from torchvision run the
// torchvision way. Internal to libnst.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "nst/network.hpp"
#include "nst/weights.hpp"
#include "weights/import.hpp"
#include "weights/torch_pth.hpp"

namespace nst {

struct TorchvisionNormalisation {
  static constexpr double kMean[3] = {0.485, 0.456, 0.406};  // RGB
  static constexpr double kStd[3] = {0.229, 0.224, 0.225};   // RGB
};

// features.N for each conv of `layers`, in table order.
std::vector<int> torchvision_conv_indices(const std::vector<LayerSpec>& layers);

// Rewrites `first` (HWIO, cin 3, taking torchvision's normalised RGB) to
// take nst's caffe-preprocessed BGR; see the formula above.
void fold_torchvision_input(ConvWeights& first);

// The VGG in a torchvision state dict: the model told by which features.N
// hold weights (or `model` when given, then checked), the width divisor by
// features.0's width; every shape is checked against that table and every
// value must be finite. `name` is how messages call the file.
ImportedWeights torchvision_vgg(const torch::StateDict& dict, const std::string& name, std::optional<ModelKind> model);

// Reads only the features.* tensors of `path` and converts them.
ImportedWeights import_torchvision_vgg(const std::string& path, std::optional<ModelKind> model);

}  // namespace nst
