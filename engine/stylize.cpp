// The Schedule: scales, and iterations at each, on one Model.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/schedule.hpp"
#include "engine/session_maker.hpp"
#include "nst/error.hpp"
#include "nst/nst.hpp"

namespace nst {
void plan_finest_first(const std::shared_ptr<Model>& model, const Image& content, int size, const Options& o) {
  const Image finest = resize_longest_side(content, size);
  SessionMaker::on_model(model, o, finest.height, finest.width);
}

std::vector<Image> scaled_styles(const std::vector<Image>& styles, const Image& content, int size, const Options& o) {
  std::vector<Image> out;
  const int longest = std::max(1, static_cast<int>(std::lround(size * static_cast<double>(o.style_scale))));
  for (const Image& s : styles) out.push_back(match_colors(resize_longest_side(s, longest), content, o.color_transfer));
  return out;
}

void StyleTargetCache::set_styles(Session& session, const std::vector<Image>& styles, const Image& scaled_content,
                                  int size, const Options& o) {
  const bool shareable = o.color_transfer == ColorTransfer::None;  // else the styles follow each content
  if (shareable) {
    const auto kept = by_size_.find(size);
    if (kept != by_size_.end()) return SessionMaker::set_style_grams(session, kept->second);
  }
  session.set_styles(scaled_styles(styles, scaled_content, size, o));
  style_passes_ += static_cast<int>(styles.size());
  if (shareable) by_size_[size] = SessionMaker::style_grams(session);
}

struct Stylizer::Impl {
  std::shared_ptr<Model> model;
  std::vector<Image> styles;
  Options options;
  LogFn log;
  StyleTargetCache style_targets;
};

Stylizer::Stylizer(const NetworkWeights& weights, std::vector<Image> styles, const Options& options,
                   const LogFn& log)
    : impl_(std::make_unique<Impl>()) {
  const std::vector<LayerSpec> layers = model_layers(options.model);
  options.validate(layers);  // before a device is touched
  if (styles.empty()) throw InvalidArgument("at least one style image is needed");
  impl_->styles = std::move(styles);
  impl_->options = options;
  impl_->log = log;
  impl_->model = std::make_shared<Model>(weights, layers, options, log);
}

Stylizer::~Stylizer() = default;

std::string Stylizer::backend_name() const { return impl_->model->backend().name(); }

Image Stylizer::run(const Image& content, const ProgressFn& progress) {
  Impl& s = *impl_;
  return run_schedule(s.model, content, s.styles, s.options, progress, s.log, &s.style_targets);
}

Image stylize(const NetworkWeights& weights, const Image& content, const std::vector<Image>& styles,
              const Options& options, const ProgressFn& progress, const LogFn& log) {
  return Stylizer(weights, styles, options, log).run(content, progress);
}

namespace {

std::string content_name(size_t i, size_t n) {
  return "content image " + std::to_string(i + 1) + "/" + std::to_string(n);
}

// What the plans would find only when they reach the image, found before
// the first image is computed: an empty content, a mask of another shape.
void check_contents(const std::vector<Image>& contents, const Options& o) {
  if (contents.empty()) throw InvalidArgument("stylize_many: no content image given");
  for (size_t i = 0; i < contents.size(); ++i) {
    const Image& c = contents[i];
    if (c.pixels() == 0) throw InvalidArgument(content_name(i, contents.size()) + " is empty");
    for (size_t k = 0; k < o.style_masks.size(); ++k) {
      check_mask(o.style_masks[k], "style mask " + std::to_string(k + 1) + " on " + content_name(i, contents.size()),
                 c.width, c.height);
    }
    if (o.content_mask.pixels() > 0) {
      check_mask(o.content_mask, "content mask on " + content_name(i, contents.size()), c.width, c.height);
    }
  }
}

}  // namespace

std::vector<Image> stylize_many(const NetworkWeights& weights, const std::vector<Image>& contents,
                                const std::vector<Image>& styles, const Options& options,
                                const ProgressFn& progress, const LogFn& log) {
  check_contents(contents, options);
  Stylizer stylizer(weights, styles, options, log);
  std::vector<Image> results;
  for (size_t i = 0; i < contents.size(); ++i) {
    if (log && contents.size() > 1) log(content_name(i, contents.size()));
    const auto tagged = [&](const IterationStats& st) {
      IterationStats t = st;
      t.image = static_cast<int>(i);
      t.images = static_cast<int>(contents.size());
      if (progress) progress(t);
    };
    results.push_back(stylizer.run(contents[i], tagged));
  }
  return results;
}

Image run_schedule(const std::shared_ptr<Model>& model, const Image& content, const std::vector<Image>& styles,
                   const Options& options, const ProgressFn& progress, const LogFn& log,
                   StyleTargetCache* styles_cache) {
  options.validate(model->network().layers());
  StyleTargetCache own;
  StyleTargetCache& style_targets = styles_cache ? *styles_cache : own;
  const std::vector<Options::Scale> scales = options.schedule();

  if (scales.size() > 1) plan_finest_first(model, content, scales.back().size, options);

  Image result;
  using clock = std::chrono::steady_clock;
  for (size_t k = 0; k < scales.size(); ++k) {
    const Image scaled = resize_longest_side(content, scales[k].size);
    const std::unique_ptr<Session> session = SessionMaker::on_model(model, options, scaled.height, scaled.width);
    session->set_content(scaled);
    style_targets.set_styles(*session, styles, scaled, scales[k].size, options);
    if (k == 0) {
      session->init_image(options.init, options.seed);
    } else {
      // Through the 8-bit image: the previous scale's result rounded and
      // clamped to 0..255, as its output would be, then resized.
      session->set_image(resize(result, scaled.width, scaled.height));
    }
    if (log) {
      log("scale " + std::to_string(k + 1) + "/" + std::to_string(scales.size()) + ": image " +
          std::to_string(scaled.width) + "x" + std::to_string(scaled.height) + ", " +
          std::to_string(scales[k].iterations) + " iterations on " + session->backend_name());
    }
    for (int i = 1; i <= scales[k].iterations; ++i) {
      const auto start = clock::now();
      IterationStats st;
      st.iteration = i;
      st.iterations = scales[k].iterations;
      st.scale = static_cast<int>(k);
      st.scales = static_cast<int>(scales.size());
      st.width = scaled.width;
      st.height = scaled.height;
      const bool read = i % options.loss_every == 0 || i == scales[k].iterations;
      const std::optional<Losses> losses = session->step(read);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      st.losses = losses.value_or(Losses{nan, nan, nan, nan});
      st.losses_read = losses.has_value();
      st.ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
      st.session = session.get();
      if (progress) progress(st);
      if (session->converged()) {
        if (log) log("converged after " + std::to_string(i) + " iterations (no descent direction left)");
        break;
      }
    }
    session->finish();
    result = session->output();
  }
  return options.original_colors ? transfer_luminance(result, content) : result;
}

}  // namespace nst
