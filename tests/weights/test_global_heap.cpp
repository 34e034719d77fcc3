// The global heap check (weights/global_heap.hpp) on hand-built collections
// and on the files fuzz_weights found, and loading through it: the files
// that crashed or hung HDF5 1.10 are refused with a FileError naming the
// collection, and every well-formed file still loads.
#include "weights/global_heap.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nst/error.hpp"
#include "nst/network.hpp"
#include "nst/weights.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

void put_le(Bytes& b, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) b.push_back(uint8_t(v >> (8 * i)));
}

// A superblock version 0 stub (what matters here: the signature and the
// size of lengths at byte 14), padded to 64 bytes.
Bytes superblock() {
  Bytes b = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0, 0, 8, 8, 0};
  b.resize(64, 0);
  return b;
}

struct Object {
  unsigned index;
  uint64_t size;  // as declared in the header
  size_t data;    // bytes of data actually laid out after the header
};

// "GCOL", version, reserved, the collection size, then each object's header
// and its data padded to 8; the collection is padded to `size` bytes.
void add_collection(Bytes& b, uint64_t size, const std::vector<Object>& objects, unsigned version = 1) {
  const size_t start = b.size();
  b.insert(b.end(), {'G', 'C', 'O', 'L', uint8_t(version), 0, 0, 0});
  put_le(b, size, 8);
  for (const auto& o : objects) {
    put_le(b, o.index, 2);
    put_le(b, 1, 2);
    put_le(b, 0, 4);
    put_le(b, o.size, 8);
    b.resize(b.size() + ((o.data + 7) & ~size_t(7)), 'x');
  }
  if (b.size() < start + size) {
    const uint64_t free_space = start + size - b.size();
    if (free_space >= 16) {
      put_le(b, 0, 8);
      put_le(b, free_space, 8);
    }
    b.resize(start + size, 0);
  }
}

std::string check(const Bytes& b) { return nst::h5::check_global_heaps(b.data(), b.size()); }

TEST(GlobalHeap, WellFormedCollectionsPass) {
  Bytes b = superblock();
  add_collection(b, 4096, {{1, 11, 11}, {2, 12, 12}, {3, 0, 0}});
  add_collection(b, 4096, {{1, 100, 100}});
  EXPECT_EQ(check(b), "");
}

TEST(GlobalHeap, AFileWithoutCollectionsOrWithoutASuperblockPasses) {
  EXPECT_EQ(check(superblock()), "");
  Bytes no_superblock(100, 0);
  std::memcpy(no_superblock.data() + 40, "GCOL\1\0\0\0", 8);
  EXPECT_EQ(check(no_superblock), "") << "HDF5 refuses such a file itself";
}

TEST(GlobalHeap, AnObjectRunningPastItsCollectionIsRefused) {
  Bytes b = superblock();
  add_collection(b, 4096, {{1, 11, 11}, {2, 1ull << 40, 16}});
  EXPECT_EQ(check(b), "global heap collection at byte 64: object 2 (at byte 112) runs past the collection's end (byte 4160)");
}

TEST(GlobalHeap, ASizeThatWouldOverflowWhenRoundedIsRefused) {
  Bytes b = superblock();
  add_collection(b, 4096, {{1, ~uint64_t(0) - 3, 0}});
  EXPECT_NE(check(b).find("object 1 (at byte 80) runs past"), std::string::npos) << check(b);
}

TEST(GlobalHeap, FreeSpaceShorterThanAHeaderIsRefused) {
  // HDF5 advances by the free space's size: 0 would loop for ever.
  Bytes b = superblock();
  add_collection(b, 4096, {{0, 0, 0}});
  EXPECT_EQ(check(b), "global heap collection at byte 64: its free space (at byte 80) is 0 bytes, less than an object header");
}

TEST(GlobalHeap, ACollectionPastTheEndOfTheFileIsRefused) {
  Bytes b = superblock();
  add_collection(b, 4096, {{1, 8, 8}});
  b.resize(b.size() - 100);
  EXPECT_EQ(check(b), "global heap collection at byte 64: its size (4096 bytes) runs past the end of the file (byte 4060)");
}

TEST(GlobalHeap, OverlappingCollectionsAreRefused) {
  Bytes b = superblock();
  add_collection(b, 4096, {{1, 8, 8}});
  Bytes inner;
  add_collection(inner, 64, {{1, 8, 8}});
  std::copy(inner.begin(), inner.end(), b.begin() + 1000);
  EXPECT_EQ(check(b), "global heap collection at byte 1000: it overlaps the collection that ends at byte 4160");
}

TEST(GlobalHeap, BytesSpellingGcolThatHdf5WouldNotReadAreIgnored) {
  // Weights are arbitrary bytes: "GCOL" in them, without version 1 and zero
  // reserved bytes, is no collection to HDF5 and must not fail a good file.
  Bytes b = superblock();
  add_collection(b, 4096, {{1, 8, 8}});
  for (const std::string& junk : {std::string("GCOL\2\0\0\0", 8), std::string("GCOL\1\0\7\0", 8), std::string("GCOL")}) {
    Bytes c = b;
    c.insert(c.end(), junk.begin(), junk.end());
    c.resize(c.size() + 16, 0xff);  // a huge "size" follows
    EXPECT_EQ(check(c), "") << junk.size();
  }
}

// The inputs fuzz_weights found (fuzz/regressions/weights): each made
// Debian's HDF5 1.10.8 segfault or hang in H5HG. Now refused before HDF5.
TEST(GlobalHeap, TheFuzzFoundFilesAreRefusedWithAFileError) {
  const std::filesystem::path dir = std::filesystem::path(NST_SOURCE_DIR) / "fuzz" / "regressions" / "weights";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("gcol_", 0) != 0) continue;
    ++files;
    try {
      nst::load_keras_weights(e.path().string(), nst::model_layers(nst::ModelKind::Vgg16, 64));
      ADD_FAILURE() << e.path() << " loaded";
    } catch (const nst::FileError& err) {
      EXPECT_NE(std::string(err.what()).find("the file is corrupt: global heap collection at byte 2048"),
                std::string::npos) << err.what();
    }
  }
  EXPECT_EQ(files, 3);
}

TEST(GlobalHeap, TheSeedCorpusFilesPassAndLoad) {
  const std::filesystem::path dir = std::filesystem::path(NST_SOURCE_DIR) / "fuzz" / "corpus" / "weights";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(nst::h5::check_global_heaps_in_file(e.path().string()), "") << e.path();
    const auto model = e.path().filename().string().rfind("vgg19", 0) == 0 ? nst::ModelKind::Vgg19 : nst::ModelKind::Vgg16;
    EXPECT_NO_THROW(nst::load_keras_weights(e.path().string(), nst::model_layers(model, 64))) << e.path();
  }
  EXPECT_EQ(files, 4);
}

}  // namespace
