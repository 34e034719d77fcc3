// Model: a backend and the network on it, weights uploaded and prepared
// once. It is long-lived: plans for any image size (scales, several
// images) are made from the same Model without touching the weights again.
#pragma once
#include <memory>
#include <vector>

#include "engine/backend.hpp"
#include "engine/network.hpp"
#include "nst/nst.hpp"

namespace nst {

class Model {
 public:
  Model(const NetworkWeights& weights, std::vector<LayerSpec> layers, Pooling pooling,
        std::unique_ptr<Backend> backend);
  // The backend options.compute asks for (one log line says which).
  Model(const NetworkWeights& weights, std::vector<LayerSpec> layers, const Options& options, const LogFn& log);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  Backend& backend() const { return *backend_; }
  const Network& network() const { return *network_; }
  // The backward forms of the layers up to `last` (Network::prepare).
  void prepare(int last) { network_->prepare(last); }

 private:
  friend class Plan;  // one live Plan at a time: plans take the arena in turn
  bool planned_ = false;
  std::unique_ptr<Backend> backend_;  // declared first: the network's buffers live in it
  std::unique_ptr<Network> network_;
};

}  // namespace nst
