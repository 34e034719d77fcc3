// Stylise one picture with libnst, as a program outside the nst tree does:
//   embed WEIGHTS.h5 CONTENT STYLE OUTPUT.png [SIZE [ITERATIONS]]
#include <nst/nst.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s WEIGHTS.h5 CONTENT STYLE OUTPUT.png [SIZE [ITERATIONS]]\n", argv[0]);
    return 2;
  }
  try {
    nst::Options options;  // the CLI's defaults
    options.model = nst::detect_keras_model(argv[1]);
    const nst::NetworkWeights weights = nst::load_keras_weights(argv[1], nst::model_layers(options.model));
    if (argc > 5) options.image_size = std::atoi(argv[5]);
    if (argc > 6) options.iterations = std::atoi(argv[6]);
    options.compute.device = nst::Device::Auto;  // CUDA when present, else the CPU

    const auto progress = [](const nst::IterationStats& s) {
      if (s.iteration == s.iterations) std::printf("scale %d/%d: loss %.4g\n", s.scale + 1, s.scales, s.losses.total);
    };
    const auto log = [](const std::string& line) { std::printf("nst: %s\n", line.c_str()); };
    const nst::Image out =
        nst::stylize(weights, nst::load_image(argv[2]), {nst::load_image(argv[3])}, options, progress, log);
    nst::save_image(argv[4], out);
    std::printf("wrote %s (%dx%d)\n", argv[4], out.width, out.height);
    return 0;
  } catch (const nst::Error& e) {  // names the file, option or device at fault
    std::fprintf(stderr, "embed: %s\n", e.what());
    return 1;
  }
}
