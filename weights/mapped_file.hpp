// A whole file mapped read-only into memory: the .pth readers look at a
// 500 MB file through it without copying it, and every offset they use is
// checked against size(). Internal to libnst.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace nst {

class MappedFile {
 public:
  // Throws nst::FileError "cannot open <kind> '<path>': <reason>".
  explicit MappedFile(const std::string& path, const std::string& kind = "weights file");
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace nst
