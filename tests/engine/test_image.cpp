#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <iterator>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "nst/image.hpp"
#include "nst/error.hpp"

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
    EXPECT_NE(std::string(e.what()).find("bad.png"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cannot decode"), std::string::npos);
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

}  // namespace
}  // namespace nst
