#include "weights/global_heap.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace nst::h5 {
namespace {

constexpr uint8_t kSuperblockSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

// Little-endian unsigned of `bytes` bytes (HDF5's encoding of lengths).
uint64_t read_le(const uint8_t* p, unsigned bytes) {
  uint64_t v = 0;
  for (unsigned i = 0; i < bytes; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

// The superblock's "size of lengths" (2, 4 or 8; Keras files: 8), or 0 when
// there is no superblock HDF5 would accept. The superblock sits at byte 0,
// 512, 1024, 2048, ...; versions 0/1 keep the size at byte 14, 2/3 at 10.
unsigned size_of_lengths(const uint8_t* data, size_t size) {
  for (uint64_t at = 0; at + 16 <= size; at = at ? at * 2 : 512) {
    if (std::memcmp(data + at, kSuperblockSignature, 8) != 0) continue;
    const unsigned version = data[at + 8];
    const unsigned lengths = version <= 1 ? data[at + 14] : data[at + 10];
    return lengths == 2 || lengths == 4 || lengths == 8 ? lengths : 0;
  }
  return 0;
}

std::string at_byte(uint64_t at) { return "byte " + std::to_string(at); }

// Walks one collection as H5HG's decoder does; "" when it is well formed.
std::string check_collection(const uint8_t* data, size_t size, uint64_t start, uint64_t collection_size,
                             unsigned lengths) {
  const uint64_t header = 8 + lengths;         // "GCOL", version, 3 reserved, size
  const uint64_t object_header = 8 + lengths;  // index, references, 4 reserved, size
  if (collection_size < header + object_header)
    return "its size (" + std::to_string(collection_size) + " bytes) cannot hold an object";
  if (collection_size > size - start)
    return "its size (" + std::to_string(collection_size) + " bytes) runs past the end of the file (" +
           at_byte(size) + ")";
  const uint64_t end = start + collection_size;
  uint64_t pos = start + header;
  while (pos < end) {
    if (end - pos < object_header) break;  // a tail too short for a header is free space
    const unsigned index = unsigned(read_le(data + pos, 2));
    const uint64_t object_size = read_le(data + pos + 8, lengths);
    // An object takes its header plus its data rounded up to 8 bytes; the
    // free-space object (index 0) counts its header in its size.
    uint64_t need;
    if (index == 0) {
      if (object_size < object_header)
        return "its free space (at " + at_byte(pos) + ") is " + std::to_string(object_size) +
               " bytes, less than an object header";
      need = object_size;
    } else {
      if (object_size > end - pos) need = end - pos + 1;  // also keeps the rounding from overflowing
      else need = object_header + ((object_size + 7) & ~uint64_t(7));
    }
    if (need > end - pos)
      return (index == 0 ? std::string("its free space") : "object " + std::to_string(index)) + " (at " +
             at_byte(pos) + ") runs past the collection's end (" + at_byte(end) + ")";
    pos += need;
  }
  return "";
}

}  // namespace

std::string check_global_heaps(const uint8_t* data, size_t size) {
  const unsigned lengths = size_of_lengths(data, size);
  if (lengths == 0) return "";  // not a file HDF5 opens; it says so itself
  uint64_t previous_end = 0;
  for (const uint8_t* p = data; (p = static_cast<const uint8_t*>(memmem(p, size - (p - data), "GCOL", 4)));
       ++p) {
    const uint64_t start = uint64_t(p - data);
    // Only what H5HG would take for a collection: version 1, reserved zero.
    // Anything else here (e.g. weights whose bytes spell "GCOL") HDF5 refuses.
    if (size - start < 8 + lengths || p[4] != 1 || p[5] || p[6] || p[7]) continue;
    const std::string where = "global heap collection at " + at_byte(start) + ": ";
    if (start < previous_end) return where + "it overlaps the collection that ends at " + at_byte(previous_end);
    const uint64_t collection_size = read_le(p + 8, lengths);
    if (std::string why = check_collection(data, size, start, collection_size, lengths); !why.empty())
      return where + why;
    previous_end = start + collection_size;
  }
  return "";
}

std::string check_global_heaps_in_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st {};
  std::string why;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const size_t size = size_t(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      why = check_global_heaps(static_cast<const uint8_t*>(map), size);
      ::munmap(map, size);
    }
  }
  ::close(fd);
  return why;
}

}  // namespace nst::h5
