// libFuzzer target: nst::decode_image on arbitrary bytes.
//
// What counts as a finding: a crash, a sanitizer report, an exception that
// is not nst::FileError (the one type decode_image documents), or an image
// whose size disagrees with its pixels. A FileError is the right answer to
// a bad file, and everything is a bad file here most of the time.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "nst/error.hpp"
#include "nst/image.hpp"

namespace {

// Small enough that no input can make one run take seconds or gigabytes
// (the limit is what the header declares, checked before decoding).
constexpr uint64_t kFuzzMaxPixels = 1u << 20;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_image: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nst::ImageLimits limits;
  limits.max_pixels = kFuzzMaxPixels;
  try {
    nst::Image img = nst::decode_image(data, size, "<fuzz input>", limits);
    if (img.width <= 0 || img.height <= 0) finding("decoded an image with no pixels");
    if (img.pixels() > kFuzzMaxPixels) finding("decoded more pixels than the limit allows");
    if (img.rgb.size() != img.pixels() * 3) finding("pixel buffer size disagrees with width x height x 3");
  } catch (const nst::FileError&) {
    // The documented answer to a bad file.
  }
  return 0;
}
