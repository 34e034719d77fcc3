// 8-bit RGB images: load (JPEG, PNG, GIF, BMP, TGA via stb_image; binary
// PNM by nst itself), resize, and atomic save (PNG or JPEG by extension).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nst {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // (height, width, 3), row-major, interleaved

  size_t pixels() const { return static_cast<size_t>(width) * height; }
};

// Uniform random bytes, seeded (nst::Rng): a reproducible stand-in image
// for tests, benchmarks and trials.
Image noise_image(int width, int height, uint64_t seed);

// What a decoder may be asked to allocate. The limit is checked from the
// file's header, before any pixel is decoded (a 49-byte PPM can declare
// 16000x16000).
struct ImageLimits {
  static constexpr uint64_t kDefaultMaxPixels = 64ull << 20;  // 64 Mpx: 8192x8192, a 192 MB decode
  uint64_t max_pixels = kDefaultMaxPixels;
};

// Reads and decodes the file. Throws nst::FileError naming the path and the
// reason (missing, unreadable, corrupt, truncated, too large).
Image load_image(const std::string& path, const ImageLimits& limits = {});

// Decodes an encoded image held in memory; `name` is what errors call it
// (the file's path, or e.g. "<fuzz input>").
//
// The format comes from the magic bytes, and the file's structure is walked
// before anything is decoded, so that a truncated or damaged file is an
// error rather than an image with a black or grey part (which is what
// stb_image alone returns):
//   PNG   every chunk within the file and its CRC-32 right, IHDR first, IDAT, IEND;
//   JPEG  the marker segments within the file, EOI after the scans, every
//         table a scan uses defined; baseline and progressive 8-bit only;
//   GIF   header, colour tables, extension blocks and the first image's LZW
//         sub-blocks up to their terminator;
//   BMP   uncompressed or BI_BITFIELDS (RLE refused), offset + rows within the file;
//   TGA   raw pixels, or RLE packets walked to the pixel count, within the file;
//   PNM   binary P5/P6, 8 or 16 bit, the samples within the file.
// The other formats stb_image knows (PSD, HDR, PIC, ASCII PNM) are refused as
// unsupported, not validated: nst does not need them. Errors read
//   "image 'P' is truncated: N bytes, <part> needs M"
//   "image 'P' is corrupt: <why>"
//   "cannot decode image 'P': unsupported format (<what>); nst reads ..."
//   "image 'P' is WxH (N pixels), above the limit of M pixels (--max-pixels raises it)"
// and the structure is checked before the pixel limit, so a truncated file
// says so at any limit. A JPEG's EXIF orientation (2-8) is applied: the
// result is upright. Peak memory is the decoder's own (one decoded image
// plus stb's working buffers), not that plus a copy; EXIF orientations 5-8
// add one image for the transpose.
Image decode_image(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits = {});

// Scales so that the longer side is `longest` pixels, keeping the aspect
// ratio (each side at least 1 pixel). Returns a copy when already that size.
Image resize_longest_side(const Image& img, int longest);
Image resize(const Image& img, int width, int height);

// Writes PNG (.png) or JPEG (.jpg/.jpeg, quality 95) to a temporary file in
// the same directory (.nst-PID-N.tmp), syncs it and renames it over `path`,
// so an error, a full disk or a crash never leaves a partial file or
// destroys the previous one. SIGINT, SIGTERM and SIGHUP are held for the
// few milliseconds of the write and delivered after it. Throws
// nst::FileError; unknown extensions are rejected before anything is
// written.
void save_image(const std::string& path, const Image& img);

// Throws nst::FileError (nst::InvalidArgument for the extension) when
// save_image(path) is sure to fail: unsupported extension, a directory at
// `path`, a missing or unwritable directory, a name too long. Creates and
// removes a temporary file there; `path` itself is not touched. For a
// command line to call before hours of work.
void check_output_writable(const std::string& path);
// The same for a file opened in place (a log): no extension check; an
// existing file must be writable itself. `what` starts the message
// ("--log-json").
void check_writable(const std::string& path, const std::string& what);

// Removes the temporary file save_image is writing, if any; async-signal-
// safe, for a signal handler that is about to _exit (signals are held only
// in the saving thread: another thread may handle one meanwhile).
void remove_temporary_output() noexcept;

// True when save_image accepts the extension of `path`.
bool is_supported_output(const std::string& path);

}  // namespace nst
