// The Schedule: scales, and iterations at each, on one Model.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/schedule.hpp"
#include "engine/session_maker.hpp"
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

Image stylize(const NetworkWeights& weights, const Image& content, const std::vector<Image>& styles,
              const Options& options, const ProgressFn& progress, const LogFn& log) {
  const std::vector<LayerSpec> layers = model_layers(options.model);
  options.validate(layers);
  return run_schedule(std::make_shared<Model>(weights, layers, options, log), content, styles, options, progress,
                      log);
}

Image run_schedule(const std::shared_ptr<Model>& model, const Image& content, const std::vector<Image>& styles,
                   const Options& options, const ProgressFn& progress, const LogFn& log) {
  options.validate(model->network().layers());
  const std::vector<Options::Scale> scales = options.schedule();

  if (scales.size() > 1) plan_finest_first(model, content, scales.back().size, options);

  Image result;
  using clock = std::chrono::steady_clock;
  for (size_t k = 0; k < scales.size(); ++k) {
    const Image scaled = resize_longest_side(content, scales[k].size);
    const std::unique_ptr<Session> session = SessionMaker::on_model(model, options, scaled.height, scaled.width);
    session->set_content(scaled);
    session->set_styles(scaled_styles(styles, scaled, scales[k].size, options));
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
