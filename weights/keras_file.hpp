// What every reader of a Keras weights file needs: where the layers are and
// how Keras stores its string-list attributes. Shared by the loader
// (keras_vgg.cpp) and the model detection (keras_detect.cpp). Internal to
// libnst; callers hold h5::library_mutex().
#pragma once
#include <string>
#include <vector>

#include "weights/hdf5.hpp"

namespace nst::keras {

// Throws nst::FileError "weights file '<path>': <what>".
[[noreturn]] void bad_file(const std::string& path, const std::string& what);

// Keras splits an attribute too big for an HDF5 object header (64 KiB)
// into `name0`, `name1`, ...; both forms are read.
bool has_attribute(const h5::Group& g, const std::string& name);
std::vector<std::string> read_attribute(const h5::Group& g, const std::string& name);

// The group holding `layer_names`: the root, or `model_weights` in a file
// written by model.save() rather than save_weights(). Throws FileError if
// neither has it.
h5::Group weights_group(const h5::File& f);

}  // namespace nst::keras
