#include "engine/model.hpp"

#include "engine/device.hpp"
#include "nst/error.hpp"

namespace nst {

Model::Model(const NetworkWeights& weights, std::vector<LayerSpec> layers, Pooling pooling,
             std::unique_ptr<Backend> backend)
    : backend_(std::move(backend)) {
  if (!backend_) throw InvalidArgument("Model: no backend given");
  network_ = std::make_unique<Network>(*backend_, weights, std::move(layers), pooling == Pooling::Max);
}

Model::Model(const NetworkWeights& weights, std::vector<LayerSpec> layers, const Options& options,
             const LogFn& log)
    : Model(weights, std::move(layers), options.pooling, make_backend(options.compute, log)) {}

}  // namespace nst
