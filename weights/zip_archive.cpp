#include "weights/zip_archive.hpp"

#include <zip.h>

#include <memory>

#include "nst/error.hpp"

namespace nst {

ZipArchive::ZipArchive(const uint8_t* data, size_t size, std::string name)
    : archive_size_(size), name_(std::move(name)) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(data, size, 0, &error);
  if (source) {
    // ZIP_CHECKCONS: the central directory must agree with the local headers.
    zip_ = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (!zip_) zip_source_free(source);
  }
  if (!zip_) {
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail("not a readable zip archive: " + why);
  }
  zip_error_fini(&error);
}

ZipArchive::~ZipArchive() {
  if (zip_) zip_discard(zip_);  // read-only: nothing to write back
}

void ZipArchive::fail(const std::string& what) const { throw FileError(name_ + ": " + what); }

std::vector<std::string> ZipArchive::names() const {
  std::vector<std::string> out;
  const zip_int64_t n = zip_get_num_entries(zip_, 0);
  for (zip_int64_t i = 0; i < n; ++i)
    if (const char* s = zip_get_name(zip_, static_cast<zip_uint64_t>(i), 0)) out.emplace_back(s);
  return out;
}

bool ZipArchive::has(const std::string& record) const { return zip_name_locate(zip_, record.c_str(), 0) >= 0; }

uint64_t ZipArchive::index_of(const std::string& record) const {
  const zip_int64_t i = zip_name_locate(zip_, record.c_str(), 0);
  if (i < 0) fail("record '" + record + "' is missing");
  return static_cast<uint64_t>(i);
}

uint64_t ZipArchive::size_of(const std::string& record) const {
  zip_stat_t st;
  zip_stat_init(&st);
  constexpr zip_uint64_t kNeeded = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if (zip_stat_index(zip_, index_of(record), 0, &st) != 0 || (st.valid & kNeeded) != kNeeded)
    fail("record '" + record + "': no size: " + zip_strerror(zip_));
  // What the stated size can honestly be: a stored record is its bytes in
  // the archive; deflate expands at most 1032:1. Anything larger is forged.
  if (st.comp_size > archive_size_)
    fail("record '" + record + "' claims " + std::to_string(st.comp_size) + " compressed bytes in an archive of " +
         std::to_string(archive_size_));
  const bool stored = st.comp_method == ZIP_CM_STORE;
  if ((stored && st.size != st.comp_size) || (!stored && st.size / 1032 > st.comp_size))
    fail("record '" + record + "' claims " + std::to_string(st.size) + " bytes from " + std::to_string(st.comp_size) +
         " compressed ones (corrupt archive)");
  return st.size;
}

std::vector<uint8_t> ZipArchive::read(const std::string& record, uint64_t expected_size) const {
  const uint64_t stated = size_of(record);
  // torch stores its records uncompressed, so none can be larger than the
  // archive: a bound on what a forged record makes this allocate.
  if (expected_size > archive_size_)
    fail("record '" + record + "' would be " + std::to_string(expected_size) + " bytes, more than the archive's " +
         std::to_string(archive_size_));
  if (stated != expected_size)
    fail("record '" + record + "' holds " + std::to_string(stated) + " bytes, expected " +
         std::to_string(expected_size));
  const std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(zip_, index_of(record), 0), zip_fclose);
  if (!f) fail("cannot read record '" + record + "': " + zip_strerror(zip_));
  std::vector<uint8_t> out(expected_size);  // bounded by the caller: never more than the file can back
  uint64_t got = 0;
  while (got < expected_size) {
    const zip_int64_t n = zip_fread(f.get(), out.data() + got, expected_size - got);
    if (n < 0) fail("cannot read record '" + record + "': " + zip_file_strerror(f.get()));
    if (n == 0) break;
    got += static_cast<uint64_t>(n);
  }
  uint8_t extra;
  if (got != expected_size || zip_fread(f.get(), &extra, 1) != 0)  // reading to the end checks the CRC too
    fail("record '" + record + "' is not " + std::to_string(expected_size) + " bytes long (corrupt archive)");
  return out;
}

}  // namespace nst
