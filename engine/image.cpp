// Image I/O over stb_image / stb_image_resize / stb_image_write (Debian's
// libstb ships the implementations, so no STB_*_IMPLEMENTATION here).
#include "nst/image.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <initializer_list>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

#include "nst/error.hpp"
#include "nst/random.hpp"

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
  const int len = static_cast<int>(size);
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &channels)) {
    throw FileError("cannot decode image '" + name + "': " + stbi_failure_reason() +
                    " (supported: JPEG, PNG, BMP, TGA, GIF, PSD, HDR, PIC, PNM)");
  }
  const uint64_t pixels = static_cast<uint64_t>(w) * static_cast<uint64_t>(h);
  if (w <= 0 || h <= 0) throw FileError("image '" + name + "' has no pixels");
  if (pixels > limits.max_pixels) {
    throw FileError("image '" + name + "' is " + std::to_string(w) + "x" + std::to_string(h) + " (" +
                    std::to_string(pixels) + " pixels), above the limit of " + std::to_string(limits.max_pixels) +
                    " pixels (--max-pixels raises it)");
  }
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels_rgb(stbi_load_from_memory(data, len, &w, &h, &channels, 3),
                                                         stbi_image_free);
  if (!pixels_rgb) {
    throw FileError("cannot decode image '" + name + "': " + stbi_failure_reason() +
                    " (supported: JPEG, PNG, BMP, TGA, GIF, PSD, HDR, PIC, PNM)");
  }
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(pixels_rgb.get(), pixels_rgb.get() + static_cast<size_t>(w) * h * 3);
  return img;
}

Image load_image(const std::string& path, const ImageLimits& limits) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw FileError("cannot open image '" + path + "': it is a directory");
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
