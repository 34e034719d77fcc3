#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "nst/error.hpp"
#include "nst/image.hpp"

namespace fs = std::filesystem;

namespace nst {
namespace {

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_image_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t files_in_dir() const { return std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}); }

  fs::path dir_;
};

TEST_F(ImageTest, PngRoundTripIsExact) {
  const Image img = noise_image(7, 5, 1);
  save_image(path("a.png"), img);
  const Image back = load_image(path("a.png"));
  EXPECT_EQ(back.width, 7);
  EXPECT_EQ(back.height, 5);
  EXPECT_EQ(back.rgb, img.rgb);
}

TEST_F(ImageTest, JpegRoundTripIsClose) {
  Image img;  // smooth gradient: JPEG's home ground
  img.width = 32;
  img.height = 24;
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 32; ++x) img.rgb.insert(img.rgb.end(), {uint8_t(x * 8), uint8_t(y * 10), 128});
  save_image(path("a.jpg"), img);
  const Image back = load_image(path("a.jpg"));
  ASSERT_EQ(back.rgb.size(), img.rgb.size());
  double err = 0;
  for (size_t i = 0; i < img.rgb.size(); ++i) err += std::abs(int(back.rgb[i]) - int(img.rgb[i]));
  EXPECT_LT(err / img.rgb.size(), 3.0);
}

TEST_F(ImageTest, SaveLeavesNoTemporaryFile) {
  save_image(path("a.png"), noise_image(4, 3, 2));
  EXPECT_EQ(files_in_dir(), 1u);
}

// A write that fails part-way (the file-size limit stands in for a full
// disk: the same short write, EFBIG instead of ENOSPC) throws, naming the
// output; the previous file stays whole and no temporary is left.
TEST_F(ImageTest, AFailedWriteKeepsThePreviousFileAndSaysSo) {
  const auto bytes_of = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  save_image(path("out.png"), noise_image(8, 8, 1));
  const std::string before = bytes_of(path("out.png"));
  std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the process at the limit
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit limit = old;
  limit.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    save_image(path("out.png"), noise_image(256, 256, 2));  // ~200 KB of PNG
  } catch (const FileError& e) {
    message = e.what();
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_NE(message.find(path("out.png")), std::string::npos) << "no error naming the output: '" << message << "'";
  EXPECT_EQ(bytes_of(path("out.png")), before) << "the previous output was damaged";
  EXPECT_EQ(files_in_dir(), 1u) << "a temporary file was left behind";
}

TEST_F(ImageTest, UnsupportedExtensionWritesNothing) {
  EXPECT_THROW(save_image(path("a.gif"), noise_image(4, 3, 2)), InvalidArgument);
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(ImageTest, MissingFileNamesThePath) {
  try {
    load_image(path("nope.png"));
    FAIL();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.png"), std::string::npos);
  }
}

TEST_F(ImageTest, CorruptFileNamesThePath) {
  std::ofstream(path("bad.png")) << "\x89PNG\r\n\x1a\n this is not really a png";
  try {
    load_image(path("bad.png"));
    FAIL();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("image '" + path("bad.png") + "' is truncated"), std::string::npos)
        << e.what();
  }
}

TEST_F(ImageTest, ADirectoryIsNotAnImage) {
  try {
    load_image(dir_.string());
    FAIL();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open image '" + dir_.string() + "': is a directory"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ImageTest, ResizeKeepsTheAspectRatio) {
  const Image img = noise_image(40, 30, 3);
  const Image r = resize_longest_side(img, 20);
  EXPECT_EQ(r.width, 20);
  EXPECT_EQ(r.height, 15);
  EXPECT_EQ(r.rgb.size(), 20u * 15 * 3);
  const Image tall = resize_longest_side(noise_image(10, 100, 4), 50);
  EXPECT_EQ(tall.width, 5);
  EXPECT_EQ(tall.height, 50);
}

TEST_F(ImageTest, ResizeOfAConstantImageIsConstant) {
  Image img;
  img.width = 9;
  img.height = 7;
  img.rgb.assign(9 * 7 * 3, 77);
  const Image r = resize(img, 13, 4);
  for (auto v : r.rgb) EXPECT_NEAR(v, 77, 1);
}

// ---------------------------------------------------------------------------
// Files that lie about themselves, and unusual ones that must keep working.
// Each is made here from a valid encode (stb_image_write, zlib, or bytes by
// hand), then cut or damaged; stb_image alone decodes most of the damaged
// ones "successfully", the missing part black or grey.

using Bytes = std::vector<uint8_t>;

void append_to(void* context, void* data, int size) {
  auto* out = static_cast<Bytes*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

Bytes png_of(int w, int h, int comp, const Bytes& px) {
  Bytes out;
  EXPECT_TRUE(stbi_write_png_to_func(append_to, &out, w, h, comp, px.data(), w * comp));
  return out;
}
Bytes png_of(const Image& img) { return png_of(img.width, img.height, 3, img.rgb); }

Bytes jpeg_of(const Image& img, int quality = 95) {
  Bytes out;
  EXPECT_TRUE(stbi_write_jpg_to_func(append_to, &out, img.width, img.height, 3, img.rgb.data(), quality));
  return out;
}

Bytes bmp_of(const Image& img) {
  Bytes out;
  EXPECT_TRUE(stbi_write_bmp_to_func(append_to, &out, img.width, img.height, 3, img.rgb.data()));
  return out;
}

Bytes tga_of(const Image& img, bool rle) {
  Bytes out;
  stbi_write_tga_with_rle = rle ? 1 : 0;
  EXPECT_TRUE(stbi_write_tga_to_func(append_to, &out, img.width, img.height, 3, img.rgb.data()));
  stbi_write_tga_with_rle = 1;
  return out;
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes cut(Bytes b, size_t size) {
  b.resize(size);
  return b;
}
void put_be16(Bytes& b, uint32_t v) { b.insert(b.end(), {uint8_t(v >> 8), uint8_t(v)}); }
void put_be32(Bytes& b, uint32_t v) {
  b.insert(b.end(), {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
}
void put_le16(Bytes& b, uint32_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); }

// A PNG chunk: length, type, data, CRC-32 of type and data.
void add_chunk(Bytes& png, const char* type, const Bytes& data) {
  put_be32(png, static_cast<uint32_t>(data.size()));
  Bytes body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put_be32(png, static_cast<uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}

// A PNG stb_image_write cannot make (palette, 16-bit, or a header that
// lies): `rows` are the filtered scanlines, each a filter byte and samples.
Bytes png_file(uint32_t w, uint32_t h, uint8_t depth, uint8_t colour_type, const Bytes& rows, const Bytes& plte = {}) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {depth, colour_type, 0, 0, 0});
  add_chunk(png, "IHDR", ihdr);
  if (!plte.empty()) add_chunk(png, "PLTE", plte);
  uLongf packed_size = compressBound(static_cast<uLong>(rows.size()));
  Bytes packed(packed_size);
  EXPECT_EQ(compress(packed.data(), &packed_size, rows.data(), static_cast<uLong>(rows.size())), Z_OK);
  packed.resize(packed_size);
  add_chunk(png, "IDAT", packed);
  add_chunk(png, "IEND", {});
  return png;
}

// Where the first chunk of `type` starts in a PNG.
size_t find_chunk(const Bytes& png, const char* type) {
  for (size_t pos = 8; pos + 8 <= png.size();) {
    const uint32_t length = uint32_t(png[pos]) << 24 | png[pos + 1] << 16 | png[pos + 2] << 8 | png[pos + 3];
    if (std::memcmp(&png[pos + 4], type, 4) == 0) return pos;
    pos += 12 + length;
  }
  ADD_FAILURE() << "no " << type << " chunk";
  return 0;
}

// The GIF palette used here: index i is (i, 255 - i, 7i mod 256).
std::array<uint8_t, 3> gif_colour(int i) { return {uint8_t(i), uint8_t(255 - i), uint8_t(i * 7)}; }

// A GIF of 256-colour palette indices, LZW-coded as literals only (9-bit
// codes, a clear code every 100 pixels so that the code size never grows),
// with a graphic control extension before the image to walk over.
Bytes gif_file(int w, int h, const Bytes& indices) {
  Bytes gif = bytes_of("GIF89a");
  put_le16(gif, w);
  put_le16(gif, h);
  gif.insert(gif.end(), {0xf7, 0, 0});  // global table of 256 entries
  for (int i = 0; i < 256; ++i) {
    const auto c = gif_colour(i);
    gif.insert(gif.end(), c.begin(), c.end());
  }
  gif.insert(gif.end(), {0x21, 0xf9, 4, 0, 0, 0, 0, 0});  // graphic control extension
  gif.push_back(0x2c);
  put_le16(gif, 0);
  put_le16(gif, 0);
  put_le16(gif, w);
  put_le16(gif, h);
  gif.insert(gif.end(), {0, 8});  // no local table; LZW minimum code size 8
  Bytes lzw;
  uint32_t bits = 0;
  int nbits = 0;
  const auto code = [&](uint32_t c) {
    bits |= c << nbits;
    for (nbits += 9; nbits >= 8; nbits -= 8, bits >>= 8) lzw.push_back(uint8_t(bits));
  };
  for (size_t i = 0; i < indices.size(); ++i) {
    if (i % 100 == 0) code(256);  // clear
    code(indices[i]);
  }
  code(257);  // end of information
  if (nbits > 0) lzw.push_back(uint8_t(bits));
  for (size_t i = 0; i < lzw.size(); i += 255) {
    const size_t n = std::min<size_t>(255, lzw.size() - i);
    gif.push_back(uint8_t(n));
    gif.insert(gif.end(), lzw.begin() + i, lzw.begin() + i + n);
  }
  gif.insert(gif.end(), {0, 0x3b});  // block terminator, trailer
  return gif;
}

// An asymmetric test picture: a gradient with noise on top, so that every
// flip and turn of it differs.
Image test_picture(int w, int h) {
  Image img = noise_image(w, h, 7);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &img.rgb[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(p[0] / 4 + x * 150 / w);
      p[1] = uint8_t(p[1] / 4 + y * 150 / h);
    }
  return img;
}

constexpr char kName[] = "in.img";

Image decode(const Bytes& b, const ImageLimits& limits = {}) { return decode_image(b.data(), b.size(), kName, limits); }

// Decoding `bytes` throws FileError naming the input, its message holding
// every one of `parts`.
::testing::AssertionResult FailsWith(const Bytes& bytes, std::initializer_list<std::string> parts,
                                     const ImageLimits& limits = {}) {
  try {
    const Image img = decode(bytes, limits);
    return ::testing::AssertionFailure() << "decoded as " << img.width << "x" << img.height << " without an error";
  } catch (const FileError& e) {
    const std::string message = e.what();
    if (message.find(std::string("'") + kName + "'") == std::string::npos) {
      return ::testing::AssertionFailure() << "'" << message << "' does not name the input";
    }
    for (const auto& part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure() << "'" << message << "' lacks '" << part << "'";
      }
    }
    return ::testing::AssertionSuccess() << message;
  }
}

TEST(ImageDecode, TruncatedPngIsRejected) {
  const Bytes png = png_of(noise_image(32, 32, 1));
  const size_t idat = find_chunk(png, "IDAT");
  EXPECT_TRUE(FailsWith(cut(png, idat + 100), {"is truncated: ", "chunk IDAT needs"}));
  EXPECT_TRUE(FailsWith(cut(png, png.size() - 12), {"is truncated: ", "before the IEND chunk"}));
  EXPECT_TRUE(
      FailsWith(cut(png, png.size() - 1), {"is truncated: ", "chunk IEND needs " + std::to_string(png.size())}));
}

TEST(ImageDecode, PngWithABadCrcIsRejected) {
  Bytes png = png_of(noise_image(32, 32, 1));
  png[find_chunk(png, "IDAT") + 20] ^= 0x10;  // one bit of the compressed pixels
  EXPECT_TRUE(FailsWith(png, {"is corrupt: chunk IDAT fails its CRC"}));
}

TEST(ImageDecode, PngMustStartWithIhdr) {
  Bytes png = png_of(noise_image(4, 4, 1));
  Bytes text = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  add_chunk(text, "tEXt", bytes_of(std::string("k\0v", 3)));
  png.insert(png.begin() + 8, text.begin() + 8, text.end());
  EXPECT_TRUE(FailsWith(png, {"is corrupt: the first chunk is tEXt, not IHDR"}));
}

// The header alone says it: 20000x20000 is refused before any pixel is
// decoded (the IDAT here holds a single row, CRCs all right).
TEST(ImageDecode, PngAboveThePixelLimitIsRejectedFromItsHeader) {
  const Bytes png = png_file(20000, 20000, 8, 2, Bytes(1 + 20000 * 3, 0));
  EXPECT_TRUE(FailsWith(
      png, {"is 20000x20000 (400000000 pixels), above the limit of 67108864 pixels (--max-pixels raises it)"}));
  // Raised, the limit is stb's own: 2^30 bytes of decoded PNG.
  ImageLimits raised;
  raised.max_pixels = 1ull << 40;
  EXPECT_TRUE(FailsWith(png, {"cannot decode image 'in.img': 20000x20000 is too large for stb_image"}, raised));
}

TEST(ImageDecode, TruncatedJpegIsRejected) {
  const Bytes jpeg = jpeg_of(test_picture(64, 48));
  EXPECT_TRUE(FailsWith(cut(jpeg, jpeg.size() * 6 / 10), {"is truncated: ", "no EOI marker"}));
  EXPECT_TRUE(FailsWith(cut(jpeg, jpeg.size() - 2), {"is truncated: ", "no EOI marker"}));  // all but EOI
  EXPECT_TRUE(FailsWith(cut(jpeg, 100), {"is truncated: "}));                               // inside the tables
}

TEST(ImageDecode, BytesAfterAJpegsEoiAreAccepted) {
  const Image img = test_picture(16, 16);
  Bytes jpeg = jpeg_of(img);
  const Image plain = decode(jpeg);
  jpeg.insert(jpeg.end(), {0xff, 0xd8, 'c', 'a', 'm', 'e', 'r', 'a', 0});  // as some phones append
  EXPECT_EQ(decode(jpeg).rgb, plain.rgb);
}

TEST(ImageDecode, ArithmeticCodedJpegSaysStbCannotDecodeIt) {
  Bytes jpeg = jpeg_of(test_picture(16, 16));
  for (size_t i = 2; i + 1 < jpeg.size(); ++i)
    if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {
      jpeg[i + 1] = 0xc9;  // SOF9: the same frame header, arithmetic coding
      break;
    }
  EXPECT_TRUE(FailsWith(jpeg, {"unsupported format (arithmetic-coded JPEG)"}));
}

// The JPEG with its first segment of `marker` (FF xx) taken out.
Bytes without_segment(Bytes jpeg, uint8_t marker) {
  for (size_t pos = 2; pos + 4 <= jpeg.size();) {
    const size_t length = size_t(jpeg[pos + 2]) << 8 | jpeg[pos + 3];
    if (jpeg[pos + 1] == marker) {
      jpeg.erase(jpeg.begin() + pos, jpeg.begin() + pos + 2 + length);
      return jpeg;
    }
    pos += 2 + length;
  }
  ADD_FAILURE() << "no FF " << std::hex << int(marker) << " segment";
  return jpeg;
}

// stb_image 2.27 decodes a scan with heap garbage for a table the file never
// defined (fuzzing found it reading wild addresses), so such a file is
// refused first.
TEST(ImageDecode, JpegScanUsingAnUndefinedTableIsRejected) {
  const Bytes jpeg = jpeg_of(test_picture(16, 16));
  EXPECT_TRUE(FailsWith(without_segment(jpeg, 0xc4),
                        {"is corrupt: a scan uses Huffman DC table 0, which the file never defines"}));
  EXPECT_TRUE(FailsWith(without_segment(jpeg, 0xdb),
                        {"is corrupt: a scan uses quantisation table 0, which the file never defines"}));
}

TEST(ImageDecode, TruncatedBmpIsRejected) {
  const Bytes bmp = bmp_of(noise_image(10, 10, 1));  // rows of 30 + 2 padding bytes
  EXPECT_TRUE(FailsWith(cut(bmp, bmp.size() - 1), {"is truncated: " + std::to_string(bmp.size() - 1) +
                                                   " bytes, the pixel data needs " + std::to_string(bmp.size())}));
  EXPECT_TRUE(FailsWith(cut(bmp, 20), {"is truncated: 20 bytes, the info header needs 54"}));
}

TEST(ImageDecode, RleBmpSaysStbCannotDecodeIt) {
  Bytes bmp = bmp_of(noise_image(4, 4, 1));
  bmp[30] = 1;  // BI_RLE8
  EXPECT_TRUE(FailsWith(bmp, {"unsupported format (RLE-compressed BMP"}));
}

TEST(ImageDecode, TruncatedTgaIsRejected) {
  const Image img = noise_image(12, 9, 1);  // noise: RLE packets of raw pixels
  const Bytes raw = tga_of(img, false), rle = tga_of(img, true);
  ASSERT_EQ(raw[2], 2);
  ASSERT_EQ(rle[2], 10);
  EXPECT_TRUE(FailsWith(cut(raw, raw.size() - 1), {"is truncated: ", "the pixel data needs"}));
  EXPECT_TRUE(FailsWith(cut(rle, rle.size() - 1), {"is truncated: ", "an RLE packet needs"}));
  EXPECT_TRUE(FailsWith(cut(rle, rle.size() / 2), {"is truncated: ", "an RLE packet needs"}));
}

TEST(ImageDecode, TruncatedPpmIsRejected) {
  const Bytes ppm = bytes_of("P6\n4 4\n255\n" + std::string(4 * 4 * 3 - 1, 'x'));
  EXPECT_TRUE(FailsWith(ppm, {"is truncated: 58 bytes, the pixel data needs 59"}));
}

// 49 bytes that declare 16000x16000: truncated, whatever the pixel limit.
TEST(ImageDecode, TinyPpmDeclaringAHugeImageIsTruncatedAtAnyLimit) {
  const std::string header = "P6\n16000 16000\n255\n";
  const Bytes ppm = bytes_of(header + std::string(49 - header.size(), '\0'));
  ASSERT_EQ(ppm.size(), 49u);
  const std::string why = "is truncated: 49 bytes, the pixel data needs " + std::to_string(19 + 16000ull * 16000 * 3);
  EXPECT_TRUE(FailsWith(ppm, {why}));
  ImageLimits raised;
  raised.max_pixels = 1ull << 40;
  EXPECT_TRUE(FailsWith(ppm, {why}, raised));
}

TEST(ImageDecode, TruncatedGifIsRejected) {
  Bytes indices(40 * 30);
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = uint8_t(i * 13);
  const Bytes gif = gif_file(40, 30, indices);
  ASSERT_EQ(decode(gif).width, 40);  // the whole file decodes
  EXPECT_TRUE(FailsWith(cut(gif, gif.size() - 2), {"is truncated: ", "the image data needs"}));  // no terminator
  EXPECT_TRUE(FailsWith(cut(gif, gif.size() - 300), {"is truncated: ", "the image data needs"}));
  EXPECT_TRUE(FailsWith(cut(gif, 13 + 768 + 4), {"is truncated: ", "an extension block needs"}));
  EXPECT_TRUE(FailsWith(cut(gif, 13 + 700), {"is truncated: ", "the global colour table needs 781"}));
}

TEST(ImageDecode, FormatsNstDoesNotReadAreNamed) {
  const std::string supported = "nst reads JPEG, PNG, GIF, BMP, TGA and PNM (binary P5/P6)";
  EXPECT_TRUE(
      FailsWith(bytes_of("8BPS" + std::string(40, '\0')), {"unsupported format (Photoshop PSD); " + supported}));
  EXPECT_TRUE(FailsWith(bytes_of("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n...."), {"Radiance HDR"}));
  EXPECT_TRUE(FailsWith(bytes_of("P3\n1 1\n255\n0 0 0\n"), {"unsupported format (PNM P3, not binary P5 or P6)"}));
  EXPECT_TRUE(FailsWith(bytes_of("not an image at all"),
                        {"unsupported format (unrecognised signature 6e 6f 74 20); " + supported}));
  EXPECT_TRUE(FailsWith({}, {"is truncated: the file is empty"}));
}

// --- inputs that must keep working

TEST(ImageDecode, GreyGreyAlphaAndRgbaPngs) {
  const Bytes ga = {10, 255, 20, 0, 30, 128, 40, 7};  // 2x2 grey + alpha
  const Image grey = decode(png_of(2, 2, 1, {10, 20, 30, 40}));
  EXPECT_EQ(grey.rgb, Bytes({10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40}));
  EXPECT_EQ(decode(png_of(2, 2, 2, ga)).rgb, grey.rgb) << "alpha is dropped, not blended";
  const Bytes rgba = {1, 2, 3, 255, 4, 5, 6, 0, 7, 8, 9, 9, 10, 11, 12, 99};
  EXPECT_EQ(decode(png_of(2, 2, 4, rgba)).rgb, Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

TEST(ImageDecode, PaletteAndSixteenBitPngs) {
  const Bytes palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  const Image p = decode(png_file(3, 1, 8, 3, {0, 2, 0, 1}, palette));
  EXPECT_EQ(p.rgb, Bytes({0, 0, 255, 255, 0, 0, 0, 255, 0}));
  // 16-bit RGB, big-endian samples: stb keeps the high byte.
  const Image deep =
      decode(png_file(2, 1, 16, 2, {0, 0x12, 0x34, 0xab, 0xcd, 0xff, 0xff, 0x00, 0x01, 0x80, 0x00, 0x7f, 0xff}));
  EXPECT_EQ(deep.rgb, Bytes({0x12, 0xab, 0xff, 0x00, 0x80, 0x7f}));
}

const std::string kFixtures = std::string(NST_SOURCE_DIR) + "/tests/data/images/";

// The mean of each channel over the columns [x0, x1) of every row.
std::array<double, 3> mean_colour(const Image& img, int x0, int x1) {
  std::array<double, 3> sum{};
  for (int y = 0; y < img.height; ++y)
    for (int x = x0; x < x1; ++x)
      for (int c = 0; c < 3; ++c) sum[c] += img.rgb[(size_t(y) * img.width + x) * 3 + c];
  for (auto& s : sum) s /= double(img.height) * (x1 - x0);
  return sum;
}

void expect_colour_near(const std::array<double, 3>& got, std::array<double, 3> want, double tolerance) {
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want[c], tolerance) << "channel " << c;
}

// ImageMagick made these (16x8: the left half red, the right half blue;
// grey: 40 then 200), as stb_image_write writes baseline YCbCr only.
TEST(ImageDecode, ProgressiveCmykAndGreyJpegs) {
  for (const char* file : {"progressive.jpg", "cmyk.jpg"}) {
    SCOPED_TRACE(file);
    const Image img = load_image(kFixtures + file);
    ASSERT_EQ(img.width, 16);
    ASSERT_EQ(img.height, 8);
    expect_colour_near(mean_colour(img, 0, 6), {255, 0, 0}, 25);
    expect_colour_near(mean_colour(img, 10, 16), {0, 0, 255}, 25);
  }
  const Image grey = load_image(kFixtures + "grey.jpg");
  ASSERT_EQ(grey.width, 16);
  expect_colour_near(mean_colour(grey, 0, 6), {40, 40, 40}, 4);
  expect_colour_near(mean_colour(grey, 10, 16), {200, 200, 200}, 4);
}

TEST(ImageDecode, GifDecodesExactly) {
  Bytes indices(23 * 11);
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = uint8_t(i * 31 + i / 23);
  const Image img = decode(gif_file(23, 11, indices));
  ASSERT_EQ(img.width, 23);
  ASSERT_EQ(img.height, 11);
  for (size_t i = 0; i < indices.size(); ++i) {
    const auto c = gif_colour(indices[i]);
    ASSERT_EQ(Bytes(img.rgb.begin() + i * 3, img.rgb.begin() + i * 3 + 3), Bytes(c.begin(), c.end())) << "pixel " << i;
  }
}

TEST(ImageDecode, UncompressedAndRleTgaAndBmpDecodeExactly) {
  const Image img = noise_image(13, 7, 3);
  EXPECT_EQ(decode(tga_of(img, false)).rgb, img.rgb);
  EXPECT_EQ(decode(tga_of(img, true)).rgb, img.rgb);
  Image flat = img;  // long runs: RLE packets of repeated pixels
  std::fill(flat.rgb.begin(), flat.rgb.begin() + 60, 9);
  EXPECT_EQ(decode(tga_of(flat, true)).rgb, flat.rgb);
  EXPECT_EQ(decode(bmp_of(img)).rgb, img.rgb);
}

// stb_image 2.27 gets these wrong (16-bit samples read little-endian,
// maxval ignored); nst decodes PNM itself.
TEST(ImageDecode, SixteenBitPpmAndPgmWithAComment) {
  const char samples[] = "\x12\x34\xab\xcd\xff\xff\x00\x01\x80\x00\x7f\xff";  // big-endian
  const Bytes ppm16 = bytes_of("P6\n# a comment\n2 1\n65535\n" + std::string(samples, 12));
  EXPECT_EQ(decode(ppm16).rgb, Bytes({0x12, 0xab, 0xff, 0x00, 0x80, 0x7f}));
  const Bytes pgm = bytes_of("P5 3 1 255\n\x01\x02\x03");
  EXPECT_EQ(decode(pgm).rgb, Bytes({1, 1, 1, 2, 2, 2, 3, 3, 3}));
  // Samples are fractions of maxval: 15 is white when maxval is 15.
  const Bytes pgm15 = bytes_of(std::string("P5 3 1 15\n\x00\x0f\x08", 13));
  EXPECT_EQ(decode(pgm15).rgb, Bytes({0, 0, 0, 255, 255, 255, 136, 136, 136}));
}

TEST_F(ImageTest, UnicodeFileName) {
  const Image img = noise_image(5, 4, 8);
  const std::string name = path("风景 — Ünïcode.png");
  save_image(name, img);
  EXPECT_EQ(load_image(name).rgb, img.rgb);
}

// --- EXIF orientation

// An APP1 segment: "Exif\0\0" and a TIFF holding `tiff`.
Bytes exif_segment(const Bytes& tiff) {
  Bytes seg = {0xff, 0xe1};
  put_be16(seg, static_cast<uint32_t>(2 + 6 + tiff.size()));
  const Bytes tag = bytes_of(std::string("Exif\0\0", 6));
  seg.insert(seg.end(), tag.begin(), tag.end());
  seg.insert(seg.end(), tiff.begin(), tiff.end());
  return seg;
}

// A TIFF header and IFD0 with two entries, the orientation second (a
// SHORT), in either byte order.
Bytes tiff_with_orientation(uint32_t orientation, bool big_endian, uint32_t type = 3) {
  Bytes t;
  const auto u16 = [&](uint32_t v) { big_endian ? put_be16(t, v) : put_le16(t, v); };
  const auto u32 = [&](uint32_t v) { big_endian ? (u16(v >> 16), u16(v & 0xffff)) : (u16(v & 0xffff), u16(v >> 16)); };
  const Bytes order = big_endian ? bytes_of("MM") : bytes_of("II");
  t.insert(t.end(), order.begin(), order.end());
  u16(42);
  u32(8);  // IFD0 right after the header
  u16(2);
  u16(0x010f), u16(2), u32(4), t.insert(t.end(), {'n', 's', 't', 0});  // Make, ASCII, inline
  u16(0x0112), u16(type), u32(1), u16(orientation), u16(0);
  u32(0);  // no next IFD
  return t;
}

Bytes with_segment(Bytes jpeg, const Bytes& segment) {
  jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());  // right after SOI
  return jpeg;
}

// Where displayed pixel (x, y) comes from in the stored w x h image, per
// the EXIF definitions (e.g. 6: "the 0th row is the visual right-hand side,
// the 0th column the visual top").
std::pair<int, int> stored_position(int orientation, int x, int y, int w, int h) {
  switch (orientation) {
    case 2:
      return {w - 1 - x, y};
    case 3:
      return {w - 1 - x, h - 1 - y};
    case 4:
      return {x, h - 1 - y};
    case 5:
      return {y, x};
    case 6:
      return {y, h - 1 - x};
    case 7:
      return {w - 1 - y, h - 1 - x};
    case 8:
      return {w - 1 - y, x};
    default:
      return {x, y};
  }
}

Image displayed(const Image& stored, int orientation) {
  Image out;
  const bool turned = orientation >= 5;
  out.width = turned ? stored.height : stored.width;
  out.height = turned ? stored.width : stored.height;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const auto [sx, sy] = stored_position(orientation, x, y, stored.width, stored.height);
      const auto* p = &stored.rgb[(size_t(sy) * stored.width + sx) * 3];
      out.rgb.insert(out.rgb.end(), p, p + 3);
    }
  return out;
}

// The same JPEG bytes with and without the APP1 segment decode to the same
// stored pixels, so the turned image must match exactly.
TEST(ImageDecode, JpegExifOrientationsOneToEight) {
  const Bytes jpeg = jpeg_of(test_picture(24, 16));
  const Image stored = decode(jpeg);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    for (bool big_endian : {false, true}) {
      SCOPED_TRACE("orientation " + std::to_string(orientation) + (big_endian ? " MM" : " II"));
      const Image img = decode(with_segment(jpeg, exif_segment(tiff_with_orientation(orientation, big_endian))));
      const Image want = displayed(stored, orientation);
      EXPECT_EQ(img.width, want.width);
      EXPECT_EQ(img.height, want.height);
      EXPECT_TRUE(img.rgb == want.rgb);
    }
  }
  // Orientation 6, a phone held upright: the stored top-left pixel ends at the top right.
  const Image six = decode(with_segment(jpeg, exif_segment(tiff_with_orientation(6, true))));
  EXPECT_EQ(Bytes(six.rgb.begin() + (six.width - 1) * 3, six.rgb.begin() + six.width * 3),
            Bytes(stored.rgb.begin(), stored.rgb.begin() + 3));
}

// Broken EXIF is common and the pixels are fine regardless: it is ignored.
TEST(ImageDecode, BrokenExifLeavesTheImageAsStored) {
  const Bytes jpeg = jpeg_of(test_picture(24, 16));
  const Image stored = decode(jpeg);
  Bytes far_ifd = tiff_with_orientation(6, false);
  far_ifd[4] = 0xf0;  // IFD0 offset 0xf0 + 8, past the end
  Bytes many_entries = tiff_with_orientation(6, true);
  many_entries[8] = many_entries[9] = 0xff;  // 65535 entries in 38 bytes,
  many_entries[23] = 0x10;                   // none of them the orientation
  Bytes bad_order = tiff_with_orientation(6, false);
  bad_order[0] = 'X';
  const Bytes cases[] = {
      tiff_with_orientation(9, false),
      tiff_with_orientation(0, true),
      tiff_with_orientation(6, false, 4),
      far_ifd,
      many_entries,
      bad_order,
      Bytes(),
      bytes_of("II*"),
      cut(tiff_with_orientation(6, false), 20),
  };
  for (const Bytes& tiff : cases) {
    const Image img = decode(with_segment(jpeg, exif_segment(tiff)));
    EXPECT_EQ(img.width, 24);
    EXPECT_TRUE(img.rgb == stored.rgb);
  }
  // An APP1 whose length runs past the end of the file is a truncated file.
  Bytes runaway = exif_segment(tiff_with_orientation(6, false));
  runaway[2] = 0x7f;
  EXPECT_TRUE(FailsWith(with_segment(jpeg, runaway), {"is truncated: ", "segment FF e1 needs"}));
}

}  // namespace
}  // namespace nst
