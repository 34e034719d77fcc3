// libFuzzer target: the PyTorch .pth reader (zip and legacy containers,
// the restricted pickle VM) and the torchvision VGG conversion, on bytes
// in memory.
//
// What counts as a finding: a crash, a sanitizer report, an exception that
// is not nst::FileError (the reader's documented type), or a tensor whose
// values disagree with its shape.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nst/error.hpp"
#include "weights/torch_pth.hpp"
#include "weights/torchvision_vgg.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_pth: %s\n", what.c_str());
  std::abort();
}

void check_shapes(const nst::torch::StateDict& dict) {
  for (const auto& [key, t] : dict) {
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) finding(key + " has a negative dimension");
      n *= static_cast<uint64_t>(d);
    }
    if (n != t.values.size()) finding(key + " has " + std::to_string(t.values.size()) + " values for its shape");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nst::torch::StateDict dict =
        nst::torch::read_state_dict(data, size, "<fuzz input>", [](const std::string&) { return true; });
    check_shapes(dict);
    nst::torchvision_vgg(dict, "<fuzz input>", std::nullopt);
  } catch (const nst::FileError&) {
  }
  return 0;
}
