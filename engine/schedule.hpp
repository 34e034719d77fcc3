// The Schedule behind nst::stylize, on a Model the caller made (tests run
// it on the emulated cuda backend and on tiny networks).
#pragma once
#include <map>
#include <memory>
#include <vector>

#include "engine/model.hpp"
#include "engine/objective.hpp"
#include "nst/nst.hpp"

namespace nst {

// Each style image at style_scale times the scale's size, recoloured to
// the (scaled) content's palette when asked: what the scale's Session gets.
std::vector<Image> scaled_styles(const std::vector<Image>& styles, const Image& content, int size, const Options& o);

// Plans the finest scale once and frees it: a size that does not fit in
// memory fails before the coarser scales have run, and the backend's
// workspaces have their final size from the first scale on.
void plan_finest_first(const std::shared_ptr<Model>& model, const Image& content, int size, const Options& o);

// The style targets of each scale, taken once and handed to every content
// image of a run (nst::Stylizer). A scale's style images depend only on its
// longest side and the options (scaled_styles), so the Grams are kept by
// that size; with Options::color_transfer the styles are recoloured to
// each content image, so they are taken anew for each and not kept.
class StyleTargetCache {
 public:
  // Gives `session`, a scale of longest side `size` showing `scaled_content`,
  // its style targets: the Grams kept for that size, or the styles' own,
  // taken now (and kept when they do not depend on the content).
  void set_styles(Session& session, const std::vector<Image>& styles, const Image& scaled_content, int size,
                  const Options& o);
  // Style passes run so far (how many times the style images went through
  // the network, once per style image each): what the cache saves.
  int style_passes() const { return style_passes_; }

 private:
  std::map<int, StyleGrams> by_size_;
  int style_passes_ = 0;
};

// `styles_cache`: the style targets to share with other runs on the same
// styles and options; null for a cache of this run's own.
Image run_schedule(const std::shared_ptr<Model>& model, const Image& content, const std::vector<Image>& styles,
                   const Options& options, const ProgressFn& progress = {}, const LogFn& log = {},
                   StyleTargetCache* styles_cache = nullptr);

}  // namespace nst
