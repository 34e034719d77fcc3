// The Schedule behind nst::stylize, on a Model the caller made (tests run
// it on the emulated cuda backend and on tiny networks).
#pragma once
#include <memory>
#include <vector>

#include "engine/model.hpp"
#include "nst/nst.hpp"

namespace nst {

Image run_schedule(const std::shared_ptr<Model>& model, const Image& content, const std::vector<Image>& styles,
                   const Options& options, const ProgressFn& progress = {}, const LogFn& log = {});

}  // namespace nst
