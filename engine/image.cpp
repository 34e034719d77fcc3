// Image I/O over stb_image / stb_image_resize / stb_image_write (Debian's
// libstb ships the implementations, so no STB_*_IMPLEMENTATION here).
//
// stb_image trusts its input: a truncated BMP, TGA, PNM or GIF decodes
// "successfully" with the missing part black, a truncated JPEG with it grey,
// and PNG CRCs are never checked. So decode_image first walks each file's
// structure itself (validate_*), every offset bounds-checked because every
// offset is the file's to choose (fuzzers call decode_image), and lets stb
// decode only a file that holds everything stb is going to read. Binary PNM
// nst decodes itself (stb 2.27 gets 16-bit samples wrong: see parse_pnm).
#include "nst/image.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <csignal>
#include <initializer_list>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

#include "engine/random.hpp"
#include "nst/error.hpp"

namespace nst {
namespace {

std::string lower_extension(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

// ---------------------------------------------------------------------------
// Reading a file that may lie about its own layout

constexpr char kSupportedFormats[] = "nst reads JPEG, PNG, GIF, BMP, TGA and PNM (binary P5/P6)";
// stb_image refuses wider or taller images (STBI_MAX_DIMENSIONS); checking it
// here first also keeps every size product below in 64 bits.
constexpr uint64_t kMaxSide = 1u << 24;

std::string hex_byte(unsigned v) {
  char s[8];
  std::snprintf(s, sizeof s, "%02x", v & 0xffu);
  return s;
}

// The encoded file, read only through bounds checks; the errors it throws
// name the file.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

  size_t size() const { return size_; }
  const uint8_t* at(uint64_t offset) const { return data_ + offset; }  // after need(offset + n)

  // Throws "truncated" unless the file holds `end` bytes; `what` names the
  // part that needs them (a const char*: this runs once per TGA packet).
  void need(uint64_t end, const char* what) const {
    if (end > size_) truncated(std::to_string(size_) + " bytes, " + what + " needs " + std::to_string(end));
  }
  uint8_t u8(uint64_t at, const char* what) const {
    need(at + 1, what);
    return data_[at];
  }
  uint32_t le16(uint64_t at, const char* what) const {
    need(at + 2, what);
    return data_[at + 1] << 8 | data_[at];
  }
  uint32_t be16(uint64_t at, const char* what) const {
    need(at + 2, what);
    return data_[at] << 8 | data_[at + 1];
  }
  uint32_t le32(uint64_t at, const char* what) const { return le16(at + 2, what) << 16 | le16(at, what); }
  uint32_t be32(uint64_t at, const char* what) const { return be16(at, what) << 16 | be16(at + 2, what); }
  bool starts_with(const char* magic) const {
    const size_t n = std::strlen(magic);
    return size_ >= n && std::memcmp(data_, magic, n) == 0;
  }

  [[noreturn]] void truncated(const std::string& why) const {
    throw FileError("image '" + name_ + "' is truncated: " + why);
  }
  [[noreturn]] void corrupt(const std::string& why) const {
    throw FileError("image '" + name_ + "' is corrupt: " + why);
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw FileError("cannot decode image '" + name_ + "': unsupported format (" + what + "); " + kSupportedFormats);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
};

enum class Format { kJpeg, kPng, kGif, kBmp, kPnm, kTga };

// The TGA header has no magic number; these are the fields stb_image's own
// test checks, so a file called TGA here is one stb decodes as TGA.
bool looks_like_tga(const Reader& r) {
  if (r.size() < 18) return false;
  const unsigned colour_map = r.u8(1, ""), type = r.u8(2, ""), bpp = r.u8(16, "");
  const auto bits_ok = [](unsigned b) { return b == 8 || b == 15 || b == 16 || b == 24 || b == 32; };
  if (colour_map > 1) return false;
  if (colour_map == 1 && !((type == 1 || type == 9) && bits_ok(r.u8(7, "")) && (bpp == 8 || bpp == 16))) return false;
  if (colour_map == 0 && type != 2 && type != 3 && type != 10 && type != 11) return false;
  return r.le16(12, "") >= 1 && r.le16(14, "") >= 1 && bits_ok(bpp);
}

// By magic bytes. The formats stb_image also reads but nst does not need
// (PSD, HDR, PIC, the ASCII PNMs) are refused rather than validated: less
// decoder reachable from a hostile file.
Format identify(const Reader& r) {
  if (r.size() == 0) r.truncated("the file is empty");
  if (r.starts_with("\xff\xd8\xff")) return Format::kJpeg;
  if (r.starts_with("\x89PNG\r\n\x1a\n")) return Format::kPng;
  if (r.starts_with("GIF87a") || r.starts_with("GIF89a")) return Format::kGif;
  if (r.starts_with("BM")) return Format::kBmp;
  if (r.starts_with("P5") || r.starts_with("P6")) return Format::kPnm;
  if (r.starts_with("8BPS")) r.unsupported("Photoshop PSD");
  if (r.starts_with("#?RADIANCE") || r.starts_with("#?RGBE")) r.unsupported("Radiance HDR");
  if (r.starts_with("S\x80\xf6\x34")) r.unsupported("Softimage PIC");
  if (r.size() >= 2 && r.u8(0, "") == 'P' && r.u8(1, "") >= '1' && r.u8(1, "") <= '7') {
    r.unsupported(std::string("PNM P") + char(r.u8(1, "")) + ", not binary P5 or P6");
  }
  if (looks_like_tga(r)) return Format::kTga;
  std::string magic;
  for (size_t i = 0; i < std::min<size_t>(r.size(), 4); ++i) magic += (i ? " " : "") + hex_byte(r.u8(i, ""));
  r.unsupported("unrecognised signature " + magic);
}

// What a file's headers say, learnt while validating it.
struct Header {
  uint64_t width = 0, height = 0;  // as stored, before any EXIF turn
  int orientation = 1;             // EXIF (JPEG only): 1 upright, 2-8 flipped or turned
};

// ---------------------------------------------------------------------------
// PNG: signature, then chunks of length, type, data, CRC-32 (of type + data)

std::string chunk_name(const Reader& r, uint64_t at) {
  std::string name;
  for (int i = 0; i < 4; ++i) {
    const uint8_t c = *r.at(at + i);
    name += std::isalpha(c) ? std::string(1, char(c)) : "\\x" + hex_byte(c);
  }
  return name;
}

Header validate_png(const Reader& r) {
  Header header;
  uint64_t pos = 8;
  bool first = true, seen_idat = false;
  for (;;) {
    if (pos == r.size()) r.truncated(std::to_string(r.size()) + " bytes, the file ends before the IEND chunk");
    const uint32_t length = r.be32(pos, "a chunk header");
    r.need(pos + 8, "a chunk header");
    const std::string type = chunk_name(r, pos + 4);
    if (length > 0x7fffffffu) r.corrupt("chunk " + type + " declares " + std::to_string(length) + " bytes");
    const uint64_t end = pos + 12 + length;
    r.need(end, ("chunk " + type).c_str());
    if (first && type != "IHDR") r.corrupt("the first chunk is " + type + ", not IHDR");
    if (first) header = {r.be32(pos + 8, ""), r.be32(pos + 12, "")};
    const uint32_t crc = static_cast<uint32_t>(::crc32(0, r.at(pos + 4), 4 + length));
    if (crc != r.be32(pos + 8 + length, "")) r.corrupt("chunk " + type + " fails its CRC");
    if (type == "IDAT") seen_idat = true;
    if (type == "IEND") {
      if (!seen_idat) r.corrupt("no IDAT chunk before IEND");
      return header;  // what follows IEND is not PNG's business, nor stb's
    }
    first = false;
    pos = end;
  }
}

// ---------------------------------------------------------------------------
// EXIF orientation: APP1 holds a TIFF file; IFD0's tag 0x0112 (a SHORT, 1-8)
// says how the stored pixels must be turned to stand upright. A phone
// writes the sensor's rows as they come and records the turn here.
//
// Cameras and editors write broken EXIF often enough, and the pixels are
// fine regardless, so any inconsistency here means "no orientation" (1),
// never an error.

struct Span {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

class TiffReader {
 public:
  explicit TiffReader(Span s) : s_(s) {}
  bool read_byte_order() {
    if (s_.size < 8) return false;
    big_endian_ = std::memcmp(s_.data, "MM\0*", 4) == 0;
    return big_endian_ || std::memcmp(s_.data, "II*\0", 4) == 0;
  }
  bool u16(uint64_t at, uint32_t& v) const {
    if (at > s_.size || s_.size - at < 2) return false;
    const uint8_t* p = s_.data + at;
    v = big_endian_ ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]);
    return true;
  }
  bool u32(uint64_t at, uint32_t& v) const {
    uint32_t a = 0, b = 0;
    if (!u16(at, a) || !u16(at + 2, b)) return false;
    v = big_endian_ ? (a << 16 | b) : (b << 16 | a);
    return true;
  }

 private:
  Span s_;
  bool big_endian_ = false;
};

int exif_orientation(Span exif) {
  constexpr uint32_t kOrientationTag = 0x0112, kShort = 3;
  TiffReader tiff(exif);
  uint32_t ifd0 = 0, entries = 0;
  if (!tiff.read_byte_order() || !tiff.u32(4, ifd0) || !tiff.u16(ifd0, entries)) return 1;
  for (uint32_t i = 0; i < entries; ++i) {
    const uint64_t entry = uint64_t(ifd0) + 2 + 12 * uint64_t(i);
    uint32_t tag = 0, type = 0, count = 0, value = 0;
    if (!tiff.u16(entry, tag) || !tiff.u16(entry + 2, type) || !tiff.u32(entry + 4, count) ||
        !tiff.u16(entry + 8, value)) {
      return 1;
    }
    if (tag == kOrientationTag) return type == kShort && count == 1 && value >= 1 && value <= 8 ? int(value) : 1;
  }
  return 1;
}

// ---------------------------------------------------------------------------
// JPEG: marker segments up to the first scan (SOS), then entropy-coded data
// in which FF is always followed by 00 (a stuffed byte), D0-D7 (a restart)
// or FF (fill), so any other FF xx is the next marker: between scans of a
// progressive file a table segment, and at the end EOI (FF D9).

// What the segments seen so far define. stb_image 2.27 decodes a scan with
// whatever heap garbage stands in for a table the file never defined (found
// by fuzzing: a wild read, a crash), so every table a scan uses must be
// defined before it.
struct JpegTables {
  struct Component {
    unsigned id, quant;
  };
  bool dc[4] = {}, ac[4] = {}, quant[4] = {};  // Huffman DC/AC and quantisation tables, by id
  std::vector<Component> components;           // the frame's (SOF)
  bool progressive = false;
};

// The SOF segment [pos, end) (pos at the length field) says how the image is
// coded, its size and components; stb_image decodes baseline, extended
// sequential (Huffman, 8 bit) and progressive only.
void read_frame_header(const Reader& r, unsigned marker, uint64_t pos, uint64_t end, JpegTables& tables,
                       Header& header) {
  if (marker == 0xc3 || marker == 0xc7 || marker == 0xcb || marker == 0xcf) r.unsupported("lossless JPEG");
  if (marker >= 0xc9) r.unsupported("arithmetic-coded JPEG");
  if (marker == 0xc5 || marker == 0xc6) r.unsupported("hierarchical JPEG");
  const unsigned precision = r.u8(pos + 2, "the frame header");
  if (precision != 8) r.unsupported(std::to_string(precision) + "-bit JPEG, stb_image decodes 8-bit only");
  const unsigned count = r.u8(pos + 7, "the frame header");
  if (count != 1 && count != 3 && count != 4) {
    r.corrupt("the frame header declares " + std::to_string(count) + " colour components");
  }
  if (pos + 8 + 3 * count > end) r.corrupt("the frame header is too short for its components");
  header = {r.be16(pos + 5, ""), r.be16(pos + 3, "")};
  tables.progressive = marker == 0xc2;
  tables.components.clear();
  for (unsigned i = 0; i < count; ++i) tables.components.push_back({*r.at(pos + 8 + 3 * i), *r.at(pos + 10 + 3 * i)});
}

// A DHT segment's payload [pos, end): tables of class (DC 0, AC 1) and id,
// 16 code counts, then that many symbols.
void note_huffman_tables(const Reader& r, uint64_t pos, uint64_t end, JpegTables& tables) {
  while (pos < end) {
    const unsigned kind = *r.at(pos) >> 4, id = *r.at(pos) & 15;
    if (kind > 1 || id > 3)
      r.corrupt("a DHT segment defines Huffman table " + std::to_string(kind) + "/" + std::to_string(id));
    if (pos + 17 > end) r.corrupt("a DHT segment ends inside a table");
    uint64_t symbols = 0;
    for (int i = 1; i <= 16; ++i) symbols += *r.at(pos + i);
    pos += 17 + symbols;
    if (pos > end) r.corrupt("a DHT segment ends inside a table");
    (kind == 0 ? tables.dc : tables.ac)[id] = true;
  }
}

// A DQT segment's payload [pos, end): tables of precision (0: 8 bit,
// 1: 16 bit) and id, then 64 values.
void note_quant_tables(const Reader& r, uint64_t pos, uint64_t end, JpegTables& tables) {
  while (pos < end) {
    const unsigned precision = *r.at(pos) >> 4, id = *r.at(pos) & 15;
    if (precision > 1 || id > 3)
      r.corrupt("a DQT segment defines quantisation table " + std::to_string(id) + " of precision " +
                std::to_string(precision));
    pos += 1 + 64 * (precision + 1);
    if (pos > end) r.corrupt("a DQT segment ends inside a table");
    tables.quant[id] = true;
  }
}

// An SOS segment's payload [pos, end): its components with their Huffman
// table ids, then the spectral range and approximation bits. Which tables
// stb uses: baseline, both; progressive, the DC table for a first DC scan,
// none to refine DC, the AC table for an AC scan.
void check_scan_tables(const Reader& r, uint64_t pos, uint64_t end, const JpegTables& tables) {
  const unsigned count = pos < end ? *r.at(pos) : 0;
  if (count < 1 || count > 4 || end - pos != 1 + 2 * uint64_t(count) + 3) r.corrupt("a scan header (SOS) is malformed");
  const unsigned spectral_start = *r.at(pos + 1 + 2 * count), high_bit = *r.at(pos + 3 + 2 * count) >> 4;
  const bool uses_dc = !tables.progressive || (spectral_start == 0 && high_bit == 0);
  const bool uses_ac = !tables.progressive || spectral_start > 0;
  const auto need_table = [&](bool defined, const char* kind, unsigned id) {
    if (!defined)
      r.corrupt(std::string("a scan uses ") + kind + " table " + std::to_string(id) + ", which the file never defines");
  };
  for (unsigned i = 0; i < count; ++i) {
    const unsigned id = *r.at(pos + 1 + 2 * i), dc = *r.at(pos + 2 + 2 * i) >> 4, ac = *r.at(pos + 2 + 2 * i) & 15;
    const auto c =
        std::find_if(tables.components.begin(), tables.components.end(), [&](const auto& k) { return k.id == id; });
    if (c == tables.components.end())
      r.corrupt("a scan names component " + std::to_string(id) + ", which the frame lacks");
    need_table(c->quant <= 3 && tables.quant[c->quant], "quantisation", c->quant);
    if (uses_dc) need_table(dc <= 3 && tables.dc[dc], "Huffman DC", dc);
    if (uses_ac) need_table(ac <= 3 && tables.ac[ac], "Huffman AC", ac);
  }
}

// Where the entropy-coded data starting at `pos` ends: the FF of the next
// marker.
uint64_t end_of_scan_data(const Reader& r, uint64_t pos) {
  for (;;) {
    const auto* ff = static_cast<const uint8_t*>(std::memchr(r.at(pos), 0xff, r.size() - pos));
    if (!ff || ff + 1 == r.at(r.size())) {
      r.truncated(std::to_string(r.size()) + " bytes, the scan data runs to the end with no EOI marker");
    }
    pos = static_cast<uint64_t>(ff - r.at(0)) + 1;
    const uint8_t next = *r.at(pos);
    const bool in_scan = next == 0x00 || (next >= 0xd0 && next <= 0xd7) || next == 0xff;
    if (!in_scan) return pos - 1;
  }
}

// Checks the marker structure up to EOI; the size comes from the first
// frame header (SOF), the orientation from the first APP1 "Exif" segment.
Header validate_jpeg(const Reader& r) {
  Header header;
  Span exif;
  JpegTables tables;
  bool seen_frame = false, seen_scan = false;
  uint64_t pos = 2;
  for (;;) {
    if (r.u8(pos, "the next marker") != 0xff) {
      // Some writers pad between segments; stb_image skips it, so does this.
      ++pos;
      continue;
    }
    unsigned marker = 0xff;
    while (marker == 0xff) marker = r.u8(++pos, "the next marker");
    ++pos;  // now at the segment's length field
    if (marker == 0xd9) {
      if (!seen_scan) r.corrupt("EOI before any scan (SOS)");
      header.orientation = exif_orientation(exif);
      return header;  // what follows EOI is ignored: cameras append data
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;  // no length
    const uint32_t length = r.be16(pos, "a segment header");
    if (length < 2) r.corrupt("segment FF " + hex_byte(marker) + " declares a length of " + std::to_string(length));
    const uint64_t end = pos + length;
    r.need(end, ("segment FF " + hex_byte(marker)).c_str());
    const bool frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (frame && seen_frame) r.corrupt("a second frame header (SOF)");
    if (frame) read_frame_header(r, marker, pos, end, tables, header);
    seen_frame = seen_frame || frame;
    if (marker == 0xc4) note_huffman_tables(r, pos + 2, end, tables);
    if (marker == 0xdb) note_quant_tables(r, pos + 2, end, tables);
    if (marker == 0xe1 && exif.size == 0 && length >= 8 && std::memcmp(r.at(pos + 2), "Exif\0\0", 6) == 0) {
      exif = {r.at(pos + 8), static_cast<size_t>(length - 8)};
    }
    if (marker == 0xda) {
      if (!seen_frame) r.corrupt("a scan (SOS) before the frame header (SOF)");
      check_scan_tables(r, pos + 2, end, tables);
      seen_scan = true;
      pos = end_of_scan_data(r, end);
    } else {
      pos = end;
    }
  }
}

// ---------------------------------------------------------------------------
// GIF: header, logical screen, global colour table, then blocks up to the
// first image: extensions (label + sub-blocks) and the image descriptor with
// its local colour table and LZW data in sub-blocks (length byte + data, a
// zero length ends them). stb_image decodes the first image only.

uint64_t colour_table_bytes(unsigned flags) { return flags & 0x80 ? 3u << ((flags & 7) + 1) : 0; }

uint64_t skip_sub_blocks(const Reader& r, uint64_t pos, const char* what) {
  for (;;) {
    const unsigned length = r.u8(pos++, what);
    if (length == 0) return pos;
    pos += length;
    r.need(pos, what);
  }
}

Header validate_gif(const Reader& r) {
  const Header header = {r.le16(6, "the header"), r.le16(8, "the header")};  // stb decodes to the screen's size
  uint64_t pos = 13 + colour_table_bytes(r.u8(10, "the header"));
  r.need(pos, "the global colour table");
  for (;;) {
    const unsigned block = r.u8(pos, "the next block");
    if (block == 0x21) {
      pos = skip_sub_blocks(r, pos + 2, "an extension block");
    } else if (block == 0x2c) {
      pos += 10 + colour_table_bytes(r.u8(pos + 9, "the image descriptor"));
      const unsigned lzw_bits = r.u8(pos, "the image data");
      if (lzw_bits > 12) r.corrupt("LZW minimum code size " + std::to_string(lzw_bits) + " (at most 12)");
      skip_sub_blocks(r, pos + 1, "the image data");
      return header;
    } else if (block == 0x3b) {
      r.corrupt("the trailer comes before any image");
    } else {
      r.corrupt("unknown block 0x" + hex_byte(block) + " at byte " + std::to_string(pos));
    }
  }
}

// ---------------------------------------------------------------------------
// BMP: file header, info header, pixel rows (each padded to 4 bytes) from
// the offset the file header gives.

Header validate_bmp(const Reader& r) {
  const uint32_t offset = r.le32(10, "the file header");
  const uint32_t header = r.le32(14, "the file header");
  if (header != 12 && header != 40 && header != 56 && header != 108 && header != 124) {
    r.unsupported("BMP with a " + std::to_string(header) + "-byte info header");
  }
  r.need(14 + header, "the info header");
  const bool core = header == 12;  // OS/2 1.x: 16-bit sizes, no compression field
  const int64_t width = core ? int64_t(r.le16(18, "")) : int64_t(int32_t(r.le32(18, "")));
  // stb reads a core header's height as unsigned; only a 32-bit one is negative for top-down rows.
  const int64_t height = core ? int64_t(r.le16(20, "")) : int64_t(int32_t(r.le32(22, "")));
  const unsigned bpp = r.le16(core ? 24 : 28, "");
  const uint32_t compression = core ? 0 : r.le32(30, "");
  if (compression == 1 || compression == 2) {
    r.unsupported("RLE-compressed BMP; stb_image reads uncompressed and BI_BITFIELDS BMPs");
  }
  if (compression != 0 && compression != 3) {
    r.unsupported("BMP compression " + std::to_string(compression) +
                  "; stb_image reads uncompressed and BI_BITFIELDS BMPs");
  }
  const uint64_t rows = static_cast<uint64_t>(height < 0 ? -height : height);
  if (width <= 0 || rows == 0 || uint64_t(width) > kMaxSide || rows > kMaxSide) {
    r.corrupt("it declares " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
    r.corrupt("it declares " + std::to_string(bpp) + " bits per pixel");
  }
  const uint64_t stride = (uint64_t(width) * bpp + 31) / 32 * 4;
  r.need(uint64_t(offset) + stride * rows, "the pixel data");
  return {uint64_t(width), rows};
}

// ---------------------------------------------------------------------------
// PNM (binary P5 grey / P6 RGB): "P6", width, height, maxval as decimal
// text separated by whitespace and # comments, one whitespace byte, then
// big-endian samples, two bytes each when maxval > 255.
//
// nst decodes PNM itself, the header being parsed anyway: stb_image 2.27
// reads 16-bit samples in the machine's byte order and keeps the high byte,
// so on x86 a 16-bit PPM comes out as its low bytes (noise), and it ignores
// maxval (a maxval-15 image comes out nearly black).

bool pnm_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// Reads the decimal field at `pos` (after whitespace and comments, as stb
// skips them) and leaves `pos` on the byte after its last digit.
uint64_t pnm_field(const Reader& r, uint64_t& pos, const char* what) {
  for (;;) {
    while (pnm_space(r.u8(pos, "the header"))) ++pos;
    if (*r.at(pos) != '#') break;
    while (*r.at(pos) != '\n' && *r.at(pos) != '\r') r.u8(++pos, "the header");
  }
  if (!std::isdigit(*r.at(pos))) r.corrupt(std::string("the header has no ") + what);
  uint64_t value = 0;
  while (pos < r.size() && std::isdigit(*r.at(pos))) {
    value = std::min<uint64_t>(value * 10 + (*r.at(pos) - '0'), uint64_t(1) << 40);  // the cap only avoids overflow
    ++pos;
  }
  return value;
}

struct PnmLayout {
  Header header;
  uint64_t channels = 0, maxval = 0, raster = 0;  // raster: the first sample's offset
};

PnmLayout parse_pnm(const Reader& r) {
  const uint64_t channels = *r.at(1) == '6' ? 3 : 1;
  uint64_t pos = 2;
  const uint64_t width = pnm_field(r, pos, "width");
  const uint64_t height = pnm_field(r, pos, "height");
  const uint64_t maxval = pnm_field(r, pos, "maximum value");
  if (!pnm_space(r.u8(pos, "the header"))) r.corrupt("no whitespace after the header");
  ++pos;
  if (width == 0 || height == 0 || width > kMaxSide || height > kMaxSide) {
    r.corrupt("it declares " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  }
  if (maxval == 0 || maxval > 65535) r.corrupt("maximum value " + std::to_string(maxval) + " (1 to 65535)");
  r.need(pos + width * height * channels * (maxval > 255 ? 2 : 1), "the pixel data");
  return {{width, height}, channels, maxval, pos};
}

Header validate_pnm(const Reader& r) { return parse_pnm(r).header; }

Image decode_pnm(const Reader& r) {
  const PnmLayout pnm = parse_pnm(r);
  Image img;
  img.width = static_cast<int>(pnm.header.width);
  img.height = static_cast<int>(pnm.header.height);
  img.rgb.resize(img.pixels() * 3);
  const uint8_t* in = r.at(pnm.raster);
  const bool wide = pnm.maxval > 255;
  const size_t samples = img.pixels() * pnm.channels;
  for (size_t i = 0; i < samples; ++i) {
    const uint64_t v = wide ? uint64_t(in[2 * i]) << 8 | in[2 * i + 1] : in[i];
    // Scaled to 0-255, rounded; a sample above maxval (a lying file) saturates.
    const auto byte = static_cast<uint8_t>(std::min<uint64_t>(255, (v * 255 + pnm.maxval / 2) / pnm.maxval));
    if (pnm.channels == 3) {
      img.rgb[i] = byte;
    } else {
      std::fill_n(img.rgb.begin() + 3 * i, 3, byte);
    }
  }
  return img;
}

// ---------------------------------------------------------------------------
// TGA: 18-byte header, image ID, colour map (read only for colour-mapped
// images, after skipping "first entry" bytes: that is what stb_image reads),
// then pixels, raw or as RLE packets (a count byte, then one pixel repeated
// or that many raw pixels).

Header validate_tga(const Reader& r) {
  const unsigned id_length = r.u8(0, "the header"), type = r.u8(2, "the header");
  const bool colour_mapped = r.u8(1, "the header") == 1;
  const uint64_t width = r.le16(12, "the header"), height = r.le16(14, "the header");
  const uint64_t pixel_bytes = (r.u8(16, "the header") + 7) / 8;
  uint64_t pos = 18 + id_length;
  if (colour_mapped) {
    const uint64_t first = r.le16(3, ""), entries = r.le16(5, ""), entry_bytes = (r.u8(7, "") + 7) / 8;
    if (entries == 0) r.corrupt("a colour-mapped image with an empty colour map");
    pos += first + entries * entry_bytes;
    r.need(pos, "the colour map");
  }
  const uint64_t pixels = width * height;
  if (type < 8) {
    r.need(pos + pixels * pixel_bytes, "the pixel data");
    return {width, height};
  }
  for (uint64_t done = 0; done < pixels;) {
    const unsigned packet = r.u8(pos++, "an RLE packet");
    // stb stops reading at the last pixel, even inside a packet.
    const uint64_t count = std::min<uint64_t>((packet & 0x7f) + 1, pixels - done);
    pos += packet & 0x80 ? pixel_bytes : count * pixel_bytes;
    r.need(pos, "an RLE packet");
    done += count;
  }
  return {width, height};
}

// ---------------------------------------------------------------------------
// From stb's buffer to an upright Image

// Image keeps its pixels in a vector and stb mallocs its own, so they are
// copied once: in slices, handing each slice's source pages back to the
// kernel as soon as they are copied, so that the two whole images never
// coexist (the peak is one image and a slice, not two images). The source
// is stb's malloc block and still ours: its released pages are never read
// again, and the block's bookkeeping lies before its first whole page, so
// free() is unaffected.
std::vector<uint8_t> copy_releasing(const uint8_t* pixels, size_t bytes) {
  constexpr size_t kSlice = size_t(1) << 20;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto page_floor = [&](const uint8_t* p) { return reinterpret_cast<uintptr_t>(p) & ~(page - 1); };
  uintptr_t released = page_floor(pixels + page - 1);  // up to here, handed back
  std::vector<uint8_t> out;
  out.reserve(bytes);  // reserved, not resized: its pages fault in as the copy reaches them
  for (size_t done = 0; done < bytes;) {
    const size_t n = std::min(kSlice, bytes - done);
    out.insert(out.end(), pixels + done, pixels + done + n);
    done += n;
    const uintptr_t copied = page_floor(pixels + done);
    if (copied > released) {
      ::madvise(reinterpret_cast<void*>(released), copied - released, MADV_DONTNEED);
      released = copied;
    }
  }
  return out;
}

void swap_pixels(uint8_t* a, uint8_t* b) { std::swap_ranges(a, a + 3, b); }

void mirror_rows(Image& img) {  // left <-> right
  for (int y = 0; y < img.height; ++y) {
    uint8_t* row = img.rgb.data() + size_t(y) * img.width * 3;
    for (int l = 0, r = img.width - 1; l < r; ++l, --r) swap_pixels(row + l * 3, row + r * 3);
  }
}

void flip_rows(Image& img) {  // top <-> bottom
  const size_t stride = size_t(img.width) * 3;
  for (int t = 0, b = img.height - 1; t < b; ++t, --b) {
    std::swap_ranges(img.rgb.begin() + t * stride, img.rgb.begin() + (t + 1) * stride, img.rgb.begin() + b * stride);
  }
}

void rotate_180(Image& img) {  // the pixel order reversed
  if (img.pixels() < 2) return;
  for (size_t l = 0, r = img.pixels() - 1; l < r; ++l, --r) swap_pixels(img.rgb.data() + l * 3, img.rgb.data() + r * 3);
}

// Rows become columns: a new buffer (a non-square transpose in place is not
// worth its cost); in tiles, so that both sides stay in cache.
void transpose(Image& img) {
  constexpr int kTile = 32;
  const int w = img.width, h = img.height;
  std::vector<uint8_t> out(img.rgb.size());
  for (int y0 = 0; y0 < h; y0 += kTile) {
    for (int x0 = 0; x0 < w; x0 += kTile) {
      for (int y = y0; y < std::min(h, y0 + kTile); ++y) {
        for (int x = x0; x < std::min(w, x0 + kTile); ++x) {
          std::copy_n(img.rgb.data() + (size_t(y) * w + x) * 3, 3, out.data() + (size_t(x) * h + y) * 3);
        }
      }
    }
  }
  img.rgb.swap(out);
  std::swap(img.width, img.height);
}

// EXIF orientations 5-8 are 1-4 applied after a transpose (5: transpose,
// 6: then mirror = 90 degrees clockwise, 7: then rotate 180 = transverse,
// 8: then flip = 90 degrees anticlockwise).
void apply_orientation(Image& img, int orientation) {
  if (orientation >= 5) {
    transpose(img);
    orientation -= 4;
  }
  if (orientation == 2) mirror_rows(img);
  if (orientation == 3) rotate_180(img);
  if (orientation == 4) flip_rows(img);
}

// Throws unless the file holds everything its decoder will read.
Header validate(const Reader& r, Format format) {
  switch (format) {
    case Format::kJpeg:
      return validate_jpeg(r);
    case Format::kPng:
      return validate_png(r);
    case Format::kGif:
      return validate_gif(r);
    case Format::kBmp:
      return validate_bmp(r);
    case Format::kPnm:
      return validate_pnm(r);
    case Format::kTga:
      return validate_tga(r);
  }
  return {};
}

// From the validated header, not stb's: stb_info refuses some sizes it
// cannot decode (a PNG over 2^30 bytes) with a bare "unknown image type".
void check_size(const Header& header, const std::string& name, const ImageLimits& limits) {
  const std::string size = std::to_string(header.width) + "x" + std::to_string(header.height);
  if (header.width == 0 || header.height == 0) throw FileError("image '" + name + "' has no pixels (" + size + ")");
  const uint64_t pixels = header.width * header.height;
  if (pixels > limits.max_pixels) {
    throw FileError("image '" + name + "' is " + size + " (" + std::to_string(pixels) +
                    " pixels), above the limit of " + std::to_string(limits.max_pixels) +
                    " pixels (--max-pixels raises it)");
  }
}

[[noreturn]] void stb_failed(const std::string& name, const Header& header) {
  const std::string reason = stbi_failure_reason() ? stbi_failure_reason() : "unknown error";
  const std::string size = std::to_string(header.width) + "x" + std::to_string(header.height);
  if (reason == "outofmem") throw FileError("cannot decode image '" + name + "' (" + size + "): out of memory");
  if (reason == "too large")
    throw FileError("cannot decode image '" + name + "': " + size + " is too large for stb_image");
  throw FileError("image '" + name + "' is corrupt: stb_image says '" + reason + "'");
}

Image decode_with_stb(const uint8_t* data, size_t size, const std::string& name, const Header& header) {
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &channels, 3), stbi_image_free);
  if (!decoded) stb_failed(name, header);
  if (uint64_t(w) != header.width || uint64_t(h) != header.height) {  // would mean validating the wrong layout
    throw FileError("image '" + name + "' is corrupt: stb_image decoded " + std::to_string(w) + "x" +
                    std::to_string(h) + " pixels, its header says " + std::to_string(header.width) + "x" +
                    std::to_string(header.height));
  }
  Image img;
  img.width = w;
  img.height = h;
  img.rgb = copy_releasing(decoded.get(), img.pixels() * 3);
  return img;
}

// The encoded file in memory: stb_image_write's file functions ignore the
// results of fwrite and fclose (a full disk "succeeds" with a truncated
// file), so nst encodes first and writes the bytes itself.
std::vector<uint8_t> encode(const std::string& ext, const Image& img) {
  std::vector<uint8_t> bytes;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  const int ok = ext == "png" ? stbi_write_png_to_func(append, &bytes, img.width, img.height, 3, img.rgb.data(),
                                                       img.width * 3)
                              : stbi_write_jpg_to_func(append, &bytes, img.width, img.height, 3, img.rgb.data(), 95);
  if (!ok) throw Error("cannot encode a " + std::to_string(img.width) + "x" + std::to_string(img.height) + " " + ext);
  return bytes;
}

// Writes every byte to the open `fd` and makes it durable, or throws naming
// `path` (what the user asked for) and the reason.
void write_all(int fd, const std::string& path, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FileError("cannot write image '" + path + "': " + std::strerror(n < 0 ? errno : ENOSPC));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) throw FileError("cannot write image '" + path + "': " + std::strerror(errno));
}

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A short, fresh name beside `path` (rename() is atomic only within one
// file system, and `path`.tmp.PID would not fit a 254-character name).
// Hidden, and named after nst, so that a file left by a SIGKILL says whose
// it is. Created with O_EXCL: never an existing file.
//
// The name is also kept for remove_temporary_output(): signals are held
// only in the saving thread, and a process-directed one may be handled by
// another (an OpenMP worker) while the file exists.
char g_live_temp[4096];
std::atomic<bool> g_temp_is_live{false};

void forget_live_temp() { g_temp_is_live.store(false); }

int create_temp_beside(const std::string& path, std::string& tmp) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp = directory_of(path) + "/.nst-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp";
    if (tmp.size() < sizeof g_live_temp) {
      forget_live_temp();
      std::memcpy(g_live_temp, tmp.c_str(), tmp.size() + 1);
      g_temp_is_live.store(true);
    }
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) forget_live_temp();
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

// SIGINT, SIGTERM and SIGHUP wait while the temporary file exists, so
// that neither the default action nor a handler that exits can leave it
// behind; they are delivered as soon as the file is renamed or removed.
// This holds them in the saving thread only: where other threads run
// (OpenMP), a handler there must call remove_temporary_output().
class TerminationSignalsHeld {
 public:
  TerminationSignalsHeld() {
    sigset_t held;
    sigemptyset(&held);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&held, sig);
    pthread_sigmask(SIG_BLOCK, &held, &previous_);
  }
  ~TerminationSignalsHeld() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  TerminationSignalsHeld(const TerminationSignalsHeld&) = delete;
  TerminationSignalsHeld& operator=(const TerminationSignalsHeld&) = delete;

 private:
  sigset_t previous_;
};

void write_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  TerminationSignalsHeld held;
  struct Forget {
    ~Forget() { forget_live_temp(); }
  } forget;  // renamed or removed by the time this goes
  std::string tmp;
  const int fd = create_temp_beside(path, tmp);
  if (fd < 0) {
    throw FileError("cannot write image '" + path + "': cannot create a file in '" + directory_of(path) +
                    "': " + std::strerror(errno));
  }
  try {
    write_all(fd, path, bytes);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  const bool closed = ::close(fd) == 0;
  const int close_err = errno;
  if (!closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = closed ? errno : close_err;
    ::unlink(tmp.c_str());
    throw FileError("cannot write image '" + path + "': " + std::strerror(err));
  }
}

}  // namespace

Image noise_image(int width, int height, uint64_t seed) {
  Rng rng(seed);
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(img.pixels() * 3);
  for (auto& v : img.rgb) v = static_cast<uint8_t>(rng.uniform() * 256);
  return img;
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw FileError("image '" + name + "' is too large a file (" + std::to_string(size) + " bytes)");
  }
  // The structure first: a truncated file is truncated whatever the limit.
  const Reader file(data, size, name);
  const Format format = identify(file);
  const Header header = validate(file, format);
  check_size(header, name, limits);
  Image img = format == Format::kPnm ? decode_pnm(file) : decode_with_stb(data, size, name, header);
  apply_orientation(img, header.orientation);
  return img;
}

Image load_image(const std::string& path, const ImageLimits& limits) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw FileError("cannot open image '" + path + "': is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("cannot open image '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw FileError("cannot read image '" + path + "': " + std::strerror(errno));
  return decode_image(bytes.data(), bytes.size(), path, limits);
}

Image resize(const Image& img, int width, int height) {
  if (width <= 0 || height <= 0) {
    throw InvalidArgument("cannot resize image to " + std::to_string(width) + "x" + std::to_string(height));
  }
  if (width == img.width && height == img.height) return img;
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  // sRGB-aware filtering, as photo tools do when scaling.
  if (!stbir_resize_uint8_srgb(img.rgb.data(), img.width, img.height, 0, out.rgb.data(), width, height, 0,
                               3, STBIR_ALPHA_CHANNEL_NONE, 0)) {
    throw Error("image resize to " + std::to_string(width) + "x" + std::to_string(height) + " failed");
  }
  return out;
}

Image resize_longest_side(const Image& img, int longest) {
  if (longest <= 0) throw InvalidArgument("image size must be positive, got " + std::to_string(longest));
  const double scale = static_cast<double>(longest) / std::max(img.width, img.height);
  const int w = std::max(1, static_cast<int>(std::lround(img.width * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(img.height * scale)));
  return resize(img, w, h);
}

void remove_temporary_output() noexcept {
  if (g_temp_is_live.load()) ::unlink(g_live_temp);
}

bool is_supported_output(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == "png" || ext == "jpg" || ext == "jpeg";
}

void save_image(const std::string& path, const Image& img) {
  if (!is_supported_output(path)) {
    throw InvalidArgument("output '" + path + "': unsupported extension (use .png, .jpg or .jpeg)");
  }
  if (img.width <= 0 || img.height <= 0 || img.rgb.size() != img.pixels() * 3) {
    throw InvalidArgument("cannot save '" + path + "': image buffer does not match its size");
  }
  write_atomically(path, encode(lower_extension(path), img));
}

namespace {

// A file at `path` must be creatable: not a directory, in an existing
// directory, with a name the file system takes.
void check_creatable_name(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw FileError(what + " '" + path + "' is a directory");
  }
  const std::string dir = directory_of(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw FileError(what + " '" + path + "': directory '" + dir + "' does not exist");
  }
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const size_t name_length = file_name_of(path).size();
  if (name_max > 0 && name_length > static_cast<size_t>(name_max)) {
    throw FileError(what + " '" + path + "': the file name is " + std::to_string(name_length) +
                    " characters, more than the " + std::to_string(name_max) + " its directory allows");
  }
}

// Proven by creating a file there, not by access(): read-only mounts,
// /proc and ACLs all answer then.
void check_directory_takes_files(const std::string& path, const std::string& what) {
  TerminationSignalsHeld held;
  struct Forget {
    ~Forget() { forget_live_temp(); }
  } forget;
  std::string tmp;
  const int fd = create_temp_beside(path, tmp);
  if (fd < 0) {
    throw FileError(what + " '" + path + "': cannot create a file in '" + directory_of(path) +
                    "': " + std::strerror(errno));
  }
  ::close(fd);
  ::unlink(tmp.c_str());
}

}  // namespace

void check_output_writable(const std::string& path) {
  if (!is_supported_output(path)) {
    throw InvalidArgument("output '" + path + "': unsupported extension (use .png, .jpg or .jpeg)");
  }
  // save_image renames a new file over `path`: the directory must take one.
  check_creatable_name(path, "output");
  check_directory_takes_files(path, "output");
}

void check_writable(const std::string& path, const std::string& what) {
  check_creatable_name(path, what);
  // Opened in place (a log, maybe /dev/stderr or /dev/full): an existing
  // file must be writable itself; a new one needs the directory.
  if (::access(path.c_str(), F_OK) == 0) {
    if (::access(path.c_str(), W_OK) != 0) {
      throw FileError(what + " '" + path + "' is not writable: " + std::strerror(errno));
    }
    return;
  }
  check_directory_takes_files(path, what);
}

}  // namespace nst
