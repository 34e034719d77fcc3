// libFuzzer target: the Keras weights loader (detect_keras_model, then
// load_keras_weights for both VGG tables) on arbitrary bytes.
//
// HDF5 reads files, not memory, so each input is written to one file per
// process under $TMPDIR (a tmpfs such as /dev/shm keeps it fast). The layer
// tables are VGG16/19 with every width divided by 64, so that a valid file
// is a few kilobytes and the seed corpus holds whole, loadable files.
//
// What counts as a finding: a crash, a sanitizer report, an exception that
// is not nst::FileError (the loaders' documented type), or weights whose
// sizes disagree with the table they were loaded for.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nst/error.hpp"
#include "nst/network.hpp"
#include "nst/weights.hpp"

namespace {

constexpr int kWidthDivisor = 64;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_weights: %s\n", what.c_str());
  std::abort();
}

const std::string& input_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/nst-fuzz-weights-" + std::to_string(::getpid()) + ".h5";
  }();
  static const bool removed_at_exit = std::atexit([] { std::remove(path.c_str()); }) == 0;
  (void)removed_at_exit;
  return path;
}

void write_input(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(input_path().c_str(), "wb");
  if (!f) finding("cannot create " + input_path());
  bool ok = std::fwrite(data, 1, size, f) == size;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) finding("cannot write " + input_path());
}

void check_matches(const nst::NetworkWeights& w, const std::vector<nst::LayerSpec>& layers) {
  size_t convs = 0;
  for (const auto& l : layers) {
    if (l.kind != nst::LayerKind::Conv3x3) continue;
    if (convs >= w.convs.size()) finding("fewer convs loaded than the table has");
    const nst::ConvWeights& c = w.convs[convs++];
    if (c.name != l.name || c.cin != l.cin || c.cout != l.cout) finding("conv " + c.name + " does not match the table");
    if (c.kernel.size() != size_t(9) * c.cin * c.cout) finding("conv " + c.name + " kernel has the wrong size");
    if (c.bias.size() != size_t(c.cout)) finding("conv " + c.name + " bias has the wrong size");
  }
  if (convs != w.convs.size()) finding("more convs loaded than the table has");
}

void load_as(nst::ModelKind model) {
  const auto layers = nst::model_layers(model, kWidthDivisor);
  try {
    check_matches(nst::load_keras_weights(input_path(), layers), layers);
  } catch (const nst::FileError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_input(data, size);
  try {
    nst::detect_keras_model(input_path());
  } catch (const nst::FileError&) {
  }
  load_as(nst::ModelKind::Vgg16);
  load_as(nst::ModelKind::Vgg19);
  return 0;
}
