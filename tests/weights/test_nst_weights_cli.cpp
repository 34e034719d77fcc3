// `nst-weights` (make-random, inspect, import) and weights/fetch_vgg16.sh end
// to end: exit codes, what they print, and that a failed fetch or import
// installs nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/run_command.hpp"
#include "weights/hdf5.hpp"

namespace fs = std::filesystem;

namespace {

using Result = nst::testing::CommandResult;
using nst::testing::run_command;
Result run(const std::string& cmd) { return run_command(cmd); }

std::string tool(const std::string& args) { return std::string(NST_WEIGHTS_CLI) + " " + args; }

std::string md5_of(const std::string& path) {
  const Result r = run("md5sum '" + path + "'");
  return r.output.substr(0, 32);
}

bool has_curl() { return run("command -v curl").code == 0; }

class NstWeightsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_weights_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  void make(const std::string& name, const std::string& extra = "") const {
    const Result r = run(tool("make-random --out " + p(name) + " --seed 5 --width-divisor 8 " + extra));
    ASSERT_EQ(r.code, 0) << r.output;
  }

  fs::path dir_;
};

void expect_contains(const Result& r, const std::string& what) {
  EXPECT_NE(r.output.find(what), std::string::npos) << "output should contain '" << what << "':\n" << r.output;
}

TEST_F(NstWeightsCliTest, InspectOfAMadeFileListsTheLayersAndSaysOk) {
  make("w.h5");
  const Result r = run(tool("inspect " + p("w.h5")));
  EXPECT_EQ(r.code, 0) << r.output;
  expect_contains(r, "width divisor 8 (inferred)");
  expect_contains(r, "block5_conv3");
  expect_contains(r, "3x3x64x64");
  expect_contains(r, "block3_pool");
  expect_contains(r, "230,568 parameters");
  expect_contains(r, "\nOK\n");
}

TEST_F(NstWeightsCliTest, Keras2FlavorIsInspectedAsOk) {
  make("w.h5", "--flavor keras2");
  EXPECT_EQ(run(tool("inspect " + p("w.h5"))).code, 0);
}

TEST_F(NstWeightsCliTest, MakeRandomWithTheSameSeedWritesTheSameBytes) {
  make("a.h5");
  make("b.h5");
  EXPECT_EQ(md5_of(p("a.h5")), md5_of(p("b.h5")));
}

TEST_F(NstWeightsCliTest, InspectOfABrokenLayerMarksItAndExitsOne) {
  make("w.h5");
  {
    nst::h5::File f = nst::h5::File::open(p("w.h5"), nst::h5::File::Mode::ReadWrite);
    nst::h5::Group g = f.root().open_group("block3_conv2");
    g.remove("block3_conv2_W_1:0");
    g.write_dataset("block3_conv2_W_1:0", {3, 3, 32, 16}, std::vector<float>(3 * 3 * 32 * 16));
  }
  const Result r = run(tool("inspect " + p("w.h5")));
  EXPECT_EQ(r.code, 1);
  expect_contains(r, "block3_conv2   INVALID");
  expect_contains(r, "block3_conv1   3x3x16x32");
  expect_contains(r, "INVALID: weights file '" + p("w.h5") + "': block3_conv2 kernel has shape 3x3x32x16");
}

TEST_F(NstWeightsCliTest, InspectOfATextFileSaysItIsNotHdf5) {
  std::ofstream(p("t.h5")) << "hello\n";
  const Result r = run(tool("inspect " + p("t.h5")));
  EXPECT_EQ(r.code, 1);
  expect_contains(r, "not an HDF5 file");
}

TEST_F(NstWeightsCliTest, InspectOfAMissingFileSaysNoSuchFile) {
  const Result r = run(tool("inspect " + p("nope.h5")));
  EXPECT_EQ(r.code, 1);
  expect_contains(r, "cannot open weights file '" + p("nope.h5") + "': no such file");
}

TEST_F(NstWeightsCliTest, MakeRandomRejectsAWidthDivisorThatDoesNotDivideTheWidths) {
  const Result r = run(tool("make-random --out " + p("w.h5") + " --seed 1 --width-divisor 3"));
  EXPECT_EQ(r.code, 1);
  expect_contains(r, "--width-divisor");
  EXPECT_FALSE(fs::exists(p("w.h5")));
}

// Bad flags exit 2, as for nst and nst-score; other errors 1.
TEST_F(NstWeightsCliTest, MissingRequiredOptionExitsTwoNamingIt) {
  const Result r = run(tool("make-random --out " + p("w.h5")));
  EXPECT_EQ(r.code, 2);
  expect_contains(r, "--seed");
}

TEST_F(NstWeightsCliTest, HelpOfEachSubcommandExplainsItsOptions) {
  const Result mk = run(tool("make-random --help"));
  EXPECT_EQ(mk.code, 0);
  expect_contains(mk, "--flavor");
  expect_contains(mk, "--width-divisor");
  expect_contains(mk, "--model");
  expect_contains(mk, "vgg19");
  const Result ins = run(tool("inspect --help"));
  EXPECT_EQ(ins.code, 0);
  expect_contains(ins, "OK");
}

// --- VGG19 and model detection ---------------------------------------------

TEST_F(NstWeightsCliTest, MakeRandomVgg19WritesSixteenConvs) {
  const Result r = run(tool("make-random --out " + p("w.h5") + " --seed 5 --width-divisor 8 --model vgg19"));
  EXPECT_EQ(r.code, 0) << r.output;
  expect_contains(r, "VGG19 notop, width divisor 8, 16 conv layers, 313,672 parameters");
}

TEST_F(NstWeightsCliTest, InspectOfAVgg19FileDetectsItAndChecksItsTable) {
  make("w.h5", "--model vgg19 --flavor keras2");
  const Result r = run(tool("inspect " + p("w.h5")));
  EXPECT_EQ(r.code, 0) << r.output;
  expect_contains(r, "model: vgg19 (detected from layer_names)");
  expect_contains(r, "network: VGG19 notop (Keras layout), width divisor 8 (inferred)");
  expect_contains(r, "block3_conv4   3x3x32x32");
  expect_contains(r, "block5_conv4   3x3x64x64");
  expect_contains(r, "16 conv layers, 313,672 parameters");
  expect_contains(r, "\nOK\n");
}

TEST_F(NstWeightsCliTest, InspectOfAVgg16FileSaysVgg16) {
  make("w.h5", "--model vgg16");
  const Result r = run(tool("inspect " + p("w.h5")));
  EXPECT_EQ(r.code, 0) << r.output;
  expect_contains(r, "model: vgg16 (detected from layer_names)");
  expect_contains(r, "network: VGG16 notop");
  EXPECT_EQ(r.output.find("conv4 "), std::string::npos) << r.output;
}

TEST_F(NstWeightsCliTest, InspectOfAFileOfNeitherModelSaysWhatItListsAndExitsOne) {
  make("w.h5");
  {
    nst::h5::File f = nst::h5::File::open(p("w.h5"), nst::h5::File::Mode::ReadWrite);
    std::vector<std::string> names = f.root().read_strings("layer_names");
    names.erase(std::find(names.begin(), names.end(), "block2_conv1"));
    f.root().write_strings("layer_names", names, nst::h5::StringKind::Fixed);
  }
  const Result r = run(tool("inspect " + p("w.h5")));
  EXPECT_EQ(r.code, 1);
  expect_contains(r, "model: not detected, checked as vgg16");
  expect_contains(r, "block2_conv1   INVALID");  // the VGG16 table still shows what is fine
  expect_contains(r, "block2_conv2   3x3x16x16");
  expect_contains(r, "INVALID: weights file '" + p("w.h5") + "': neither a VGG16 nor a VGG19");
  expect_contains(r, "without 1 of VGG16's 13 convs (block2_conv1)");
}

TEST_F(NstWeightsCliTest, MakeRandomRejectsANegativeSeedInsteadOfWrappingIt) {
  const Result r = run(tool("make-random --out " + p("w.h5") + " --seed -1"));
  EXPECT_EQ(r.code, 2);
  expect_contains(r, "--seed");
  EXPECT_FALSE(fs::exists(p("w.h5")));
}

TEST_F(NstWeightsCliTest, MakeRandomRejectsAnUnknownModel) {
  const Result r = run(tool("make-random --out " + p("w.h5") + " --seed 1 --model vgg11"));
  EXPECT_EQ(r.code, 2);
  expect_contains(r, "--model");
  expect_contains(r, "vgg11");
  EXPECT_FALSE(fs::exists(p("w.h5")));
}

// --- import -------------------------------------------------------------------

const std::string kData = NST_TEST_DATA;

TEST_F(NstWeightsCliTest, ImportOfTorchvisionFilesGivesFilesInspectAccepts) {
  for (const char* in : {"torch_vgg16_w32_zip.pth", "torch_vgg16_w32_legacy.pth", "torch_vgg19_w64_zip.pth"}) {
    const std::string out = p(std::string(in) + ".h5");
    const Result r = run(tool("import " + kData + "/" + in + " " + out));
    EXPECT_EQ(r.code, 0) << r.output;
    expect_contains(r, "from torchvision .pth");
    expect_contains(r, "border");
    const Result i = run(tool("inspect " + out));
    EXPECT_EQ(i.code, 0) << i.output;
    expect_contains(i, "\nOK\n");
  }
}

TEST_F(NstWeightsCliTest, ImportOfAKeras3FileGivesAFileInspectAccepts) {
  const Result r = run(tool("import " + kData + "/keras3_vgg16_w64.weights.h5 " + p("k1.h5")));
  EXPECT_EQ(r.code, 0) << r.output;
  expect_contains(r, "VGG16 notop, width divisor 64");
  EXPECT_EQ(run(tool("inspect " + p("k1.h5"))).code, 0);
}

TEST_F(NstWeightsCliTest, ImportOfABadFileExitsOneAndWritesNothing) {
  {
    std::ifstream in(kData + "/torch_vgg16_w32_legacy.pth", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(p("cut.pth"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  std::ofstream(p("text.pth")) << "not a weights file";
  for (const char* in : {"cut.pth", "text.pth", "missing.pth"}) {
    const Result r = run(tool("import " + p(in) + " " + p("out.h5")));
    EXPECT_EQ(r.code, 1) << in << ":\n" << r.output;
    expect_contains(r, p(in));
    EXPECT_FALSE(fs::exists(p("out.h5"))) << in;
  }
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "temp file left: " << e.path();
}

TEST_F(NstWeightsCliTest, ImportWithTheWrongModelExitsOne) {
  const Result r = run(tool("import " + kData + "/torch_vgg19_w64_zip.pth " + p("out.h5") + " --model vgg16"));
  EXPECT_EQ(r.code, 1) << r.output;
  expect_contains(r, "features.17.weight' is missing");
  EXPECT_FALSE(fs::exists(p("out.h5")));
  EXPECT_EQ(run(tool("import " + kData + "/torch_vgg19_w64_zip.pth " + p("out.h5") + " --model vgg11")).code, 2);
}

// --- weights/fetch_vgg16.sh, offline through file:// URLs -------------------

TEST_F(NstWeightsCliTest, FetchScriptThatCannotDownloadNamesTheOtherFilesAccepted) {
  if (!has_curl()) GTEST_SKIP() << "curl is needed to fetch file:// URLs";
  const Result r = run("NST_WEIGHTS_URL=file://" + p("nowhere.h5") + " " + NST_FETCH_SCRIPT + " " + p("cache/v.h5"));
  EXPECT_EQ(r.code, 1);
  expect_contains(r, "download of file://");
  expect_contains(r, "vgg16-397923af.pth");
  expect_contains(r, "vgg19-dcbb9e9d.pth");
  expect_contains(r, "Keras 3 .weights.h5");
  expect_contains(r, "nst-weights import FILE OUT.h5");
  EXPECT_TRUE(fs::is_empty(p("cache")));
}

TEST_F(NstWeightsCliTest, FetchScriptRejectsAChecksumMismatchAndInstallsNothing) {
  if (!has_curl()) GTEST_SKIP() << "curl is needed to fetch file:// URLs";
  make("w.h5");
  const Result r = run("NST_WEIGHTS_URL=file://" + p("w.h5") + " " + NST_FETCH_SCRIPT + " " + p("cache/v.h5"));
  EXPECT_NE(r.code, 0);
  expect_contains(r, "checksum mismatch");
  expect_contains(r, "6d6bbae143d832006294945121d1f1fc");
  EXPECT_TRUE(fs::is_empty(p("cache"))) << "neither the file nor a temp file may remain";
}

TEST_F(NstWeightsCliTest, FetchScriptInstallsAFileWhoseChecksumMatches) {
  if (!has_curl()) GTEST_SKIP() << "curl is needed to fetch file:// URLs";
  make("w.h5");
  const Result r = run("NST_WEIGHTS_MD5=" + md5_of(p("w.h5")) + " NST_WEIGHTS_URL=file://" + p("w.h5") + " " +
                       NST_FETCH_SCRIPT + " " + p("cache/v.h5"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(md5_of(p("cache/v.h5")), md5_of(p("w.h5")));
}

TEST_F(NstWeightsCliTest, FetchScriptDefaultsToTheCachePathNstReads) {
  const Result r = run(std::string(NST_FETCH_SCRIPT) + " --help");
  EXPECT_EQ(r.code, 0);
  expect_contains(r, "${XDG_CACHE_HOME:-$HOME/.cache}/nst/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
}

}  // namespace
