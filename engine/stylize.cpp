// The driver: scale, plan, set targets, iterate, report.
#include <chrono>

#include "nst/nst.hpp"

namespace nst {

Image stylize(const NetworkWeights& weights, const Image& content, const std::vector<Image>& styles,
              const Options& options, const ProgressFn& progress, const LogFn& log) {
  const std::vector<LayerSpec> layers = vgg16_layers();
  options.validate(layers);
  const Image scaled = resize_longest_side(content, options.image_size);
  Session session(weights, options, scaled.height, scaled.width, log, layers);
  session.set_content(scaled);
  std::vector<Image> scaled_styles;
  for (const Image& s : styles) scaled_styles.push_back(resize_longest_side(s, options.image_size));
  session.set_styles(scaled_styles);
  session.init_image(options.init, options.seed);
  if (log) {
    log("image " + std::to_string(scaled.width) + "x" + std::to_string(scaled.height) + ", " +
        std::to_string(options.iterations) + " iterations on " + session.backend_name());
  }

  using clock = std::chrono::steady_clock;
  for (int i = 1; i <= options.iterations; ++i) {
    const auto start = clock::now();
    IterationStats st;
    st.iteration = i;
    st.iterations = options.iterations;
    st.losses = session.step();
    st.ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
    st.session = &session;
    if (progress) progress(st);
  }
  return session.output();
}

}  // namespace nst
