// A structural check of an HDF5 file's global heap collections, done on the
// file's bytes before HDF5 opens it. Internal to libnst (and its tests).
//
// Why: variable-length strings (h5py >= 3 writes Keras 2 files' layer and
// weight names so) live in global heap collections, and Debian's HDF5 1.10
// trusts their object sizes: fuzz_weights found files that make H5HG_read
// copy past the collection, segfault, or loop for ever (fuzz/README.md).
// HDF5 only reads a collection that begins "GCOL" with version 1, so every
// such place in the file is checked, the way H5HG's decoder walks it: each
// object within the collection, the free-space object at least a header
// long, the walk ending exactly at the collection's end, and no collection
// overlapping another or running past the end of the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace nst::h5 {

// "" when every global heap collection in `data` is well formed; otherwise
// what is wrong and where, e.g. "global heap collection at byte 2048: object
// 4 (at byte 2210) runs past the collection's end (byte 6144)".
std::string check_global_heaps(const uint8_t* data, size_t size);

// The same for a file, mapped read-only; "" also when it cannot be mapped
// (HDF5 then reports the file itself).
std::string check_global_heaps_in_file(const std::string& path);

}  // namespace nst::h5
