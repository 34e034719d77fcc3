// The network as a layer table. The same table drives the weights loader
// (which layers and shapes the HDF5 file must hold) and the engine (what
// to run): VGG16 and VGG19 differ only in their tables.
#pragma once
#include <string>
#include <vector>

namespace nst {

enum class LayerKind { Conv3x3, Pool2x2 };

struct LayerSpec {
  std::string name;  // Keras name, e.g. "block1_conv1", "block1_pool"
  LayerKind kind;
  int cin = 0;   // input channels (conv only)
  int cout = 0;  // output channels (conv only)
};

enum class ModelKind { Vgg16, Vgg19 };

// VGG without its classifier ("notop"), in Keras order: five blocks of
// 3x3 convs (64, 128, 256, 512, 512 channels), each ended by a 2x2 pool.
// Channel widths are divided by `width_divisor` (>= 1, else
// nst::InvalidArgument) for tiny test networks; the RGB input stays 3.
//   VGG16: 2,2,3,3,3 convs per block (13), vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
//   VGG19: 2,2,4,4,4 convs per block (16), vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
std::vector<LayerSpec> vgg16_layers(int width_divisor = 1);
std::vector<LayerSpec> vgg19_layers(int width_divisor = 1);
std::vector<LayerSpec> model_layers(ModelKind model, int width_divisor = 1);

// "vgg16" / "vgg19", as the CLI spells them.
const char* model_name(ModelKind model);
// The inverse of model_name; throws nst::InvalidArgument naming `name`.
ModelKind parse_model(const std::string& name);

// The Keras name of a layer of `layers` given any common spelling:
//   block4_conv2  (Keras)       -> block4_conv2
//   conv4_2, relu4_2 (Caffe/Torch; taps are post-ReLU, so both are the
//                     conv's output) -> block4_conv2
//   pool4, block4_pool          -> block4_pool
// Throws nst::InvalidArgument naming `name` and the valid layers when the
// name is malformed or not in the table (relu3_4 exists in VGG19 only).
std::string canonical_layer_name(const std::string& name, const std::vector<LayerSpec>& layers);

}  // namespace nst
