// The Schedule behind nst::stylize, on a Model the caller made (tests run
// it on the emulated cuda backend and on tiny networks).
#pragma once
#include <memory>
#include <vector>

#include "engine/model.hpp"
#include "nst/nst.hpp"

namespace nst {

// Each style image at style_scale times the scale's size, recoloured to
// the (scaled) content's palette when asked: what the scale's Session gets.
std::vector<Image> scaled_styles(const std::vector<Image>& styles, const Image& content, int size, const Options& o);

// Plans the finest scale once and frees it: a size that does not fit in
// memory fails before the coarser scales have run, and the backend's
// workspaces have their final size from the first scale on.
void plan_finest_first(const std::shared_ptr<Model>& model, const Image& content, int size, const Options& o);

Image run_schedule(const std::shared_ptr<Model>& model, const Image& content, const std::vector<Image>& styles,
                   const Options& options, const ProgressFn& progress = {}, const LogFn& log = {});

}  // namespace nst
