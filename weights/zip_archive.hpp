// Records of a zip archive held in memory, through libzip: what the zip
// .pth format (torch >= 1.6) needs. A record is read only up to a size the
// caller expects, so a forged size field allocates nothing. Errors throw
// nst::FileError "<name>: <what>". Internal to libnst.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct zip;

namespace nst {

class ZipArchive {
 public:
  ZipArchive(const uint8_t* data, size_t size, std::string name);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  std::vector<std::string> names() const;
  bool has(const std::string& record) const;
  // The uncompressed size the archive states for `record`, once checked
  // against what the archive's bytes can hold.
  uint64_t size_of(const std::string& record) const;
  // The whole record, which must be exactly `expected_size` bytes (checked
  // before reading and again by what is read; libzip checks the CRC) and no
  // larger than the archive itself (torch does not compress).
  std::vector<uint8_t> read(const std::string& record, uint64_t expected_size) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  uint64_t index_of(const std::string& record) const;
  zip* zip_ = nullptr;
  uint64_t archive_size_;
  std::string name_;
};

}  // namespace nst
