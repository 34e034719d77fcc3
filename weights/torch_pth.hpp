// PyTorch state dicts (torch.save(model.state_dict(), f)) read without
// PyTorch, in both containers torch.save writes:
//   zip (torch >= 1.6): <archive>/data.pkl, the pickle, whose persistent ids
//       name the storages <archive>/data/<key>, raw little-endian data;
//   legacy (_use_new_zipfile_serialization=False, and torchvision's
//       vgg16-397923af.pth / vgg19-dcbb9e9d.pth): five pickles in a row
//       (magic number, protocol 1001, system info, the state dict, the
//       storage keys), then each storage as an int64 element count and
//       its raw data, in the order of the keys.
// The pickles are read by the restricted weights/pickle.hpp VM, which
// builds only dicts, tensors and storages. Every count, offset, size and
// stride is checked against the file before it is used; anything else throws
// nst::FileError naming the file. Internal to libnst.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nst::torch {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;  // row-major, float32 only
};

using StateDict = std::vector<std::pair<std::string, Tensor>>;  // in the file's order

// Which tensors to read. The others are checked as far as their structure
// goes (their storages must exist) but their data is not read or converted:
// the VGG files hold 400 MB of classifier weights nst does not need.
using KeyFilter = std::function<bool(const std::string& key)>;

// True if the bytes start like a zip (torch >= 1.6) or legacy .pth file.
bool looks_like_torch_file(const uint8_t* data, size_t size);

// Reads the wanted tensors of the state dict in `path`. Throws nst::FileError
// naming `path` (and the record, key or offset) when the file is not a state
// dict of contiguous float32 tensors or is inconsistent in any way.
StateDict read_state_dict(const std::string& path, const KeyFilter& wanted);
// The same for a file already in memory; `name` stands for it in messages.
StateDict read_state_dict(const uint8_t* data, size_t size, const std::string& name, const KeyFilter& wanted);

}  // namespace nst::torch
