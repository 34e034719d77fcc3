// The network as a layer table. The same table drives the weights loader
// (which layers and shapes the HDF5 file must hold) and the engine (what
// to run), so VGG19 would be one more table.
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

// VGG16 without its classifier ("notop"), in Keras order: 13 convs and 5
// pools. Channel widths are divided by `width_divisor` (>= 1) for tiny test
// networks; the RGB input stays 3 channels.
inline std::vector<LayerSpec> vgg16_layers(int width_divisor = 1) {
  const int widths[5] = {64, 128, 256, 512, 512};
  const int convs_per_block[5] = {2, 2, 3, 3, 3};
  std::vector<LayerSpec> layers;
  int cin = 3;
  for (int b = 0; b < 5; ++b) {
    const int cout = widths[b] / width_divisor;
    for (int i = 0; i < convs_per_block[b]; ++i) {
      layers.push_back({"block" + std::to_string(b + 1) + "_conv" + std::to_string(i + 1),
                        LayerKind::Conv3x3, cin, cout});
      cin = cout;
    }
    layers.push_back({"block" + std::to_string(b + 1) + "_pool", LayerKind::Pool2x2, 0, 0});
  }
  return layers;
}

}  // namespace nst
