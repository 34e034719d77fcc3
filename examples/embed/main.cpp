// Stylise one picture with libnst, as a program outside the nst tree does:
//   embed WEIGHTS.h5 CONTENT STYLE OUTPUT.png [SIZE [ITERATIONS]]
// README.md ("Embedding") quotes the middle of main(); tools/readme_snippets.py
// (in CI) checks that the quote is still here, word for word.
#include <nst/nst.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s WEIGHTS.h5 CONTENT STYLE OUTPUT.png [SIZE [ITERATIONS]]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1], content = argv[2], style = argv[3], output = argv[4];
  const auto on_progress = [](const nst::IterationStats& s) {
    if (s.iteration == s.iterations) std::printf("scale %d/%d: loss %.4g\n", s.scale + 1, s.scales, s.losses.total);
  };
  const auto log = [](const std::string& line) { std::printf("nst: %s\n", line.c_str()); };
  try {
    nst::Options options;                        // the CLI's defaults
    options.model = nst::detect_keras_model(path);
    const nst::NetworkWeights weights = nst::load_keras_weights(path, nst::model_layers(options.model));
    options.compute.device = nst::Device::Auto;  // where it runs: options.compute
    if (argc > 5) options.image_size = std::atoi(argv[5]);
    if (argc > 6) options.iterations = std::atoi(argv[6]);
    const nst::Image out =
        nst::stylize(weights, nst::load_image(content), {nst::load_image(style)}, options, on_progress, log);
    nst::save_image(output, out);
    std::printf("wrote %s (%dx%d)\n", output.c_str(), out.width, out.height);
    return 0;
  } catch (const nst::Error& e) {  // names the file, option or device at fault
    std::fprintf(stderr, "embed: %s\n", e.what());
    return 1;
  }
}
