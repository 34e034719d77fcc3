// VGG19 weights files and telling VGG16 from VGG19 by a file's layer names:
// round trips of VGG19 in both Keras flavours, detection of generated and
// real files, and the errors for files of the wrong or of neither model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "nst/error.hpp"
#include "nst/weights.hpp"
#include "weights/keras_write.hpp"
#include "tests/weights/weights_test_util.hpp"
#include "weights/hdf5.hpp"

namespace fs = std::filesystem;
using namespace nst;
using nst::testing::expect_same_weights;

namespace {

// Real, trained VGG16 weights kept beside the project (not in it); see
// ../shared/weights/README.md.
const std::string kHedVgg16 = std::string(NST_SOURCE_DIR) + "/../shared/weights/hed_vgg16_notop.h5";

class ModelDetectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_model_detection_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string p(const std::string& name) const { return (dir_ / name).string(); }

  // A random width/8 file of `model`.
  std::string model_file(ModelKind model, KerasFlavor flavor = KerasFlavor::Keras1) const {
    const std::string path = p(std::string(model_name(model)) + ".h5");
    const auto layers = model_layers(model, 8);
    save_keras_weights(path, make_random_weights(layers, 3), layers, flavor);
    return path;
  }

  // Rewrites the root's layer_names of `path` as `names`.
  static void set_layer_names(const std::string& path, const std::vector<std::string>& names) {
    h5::File f = h5::File::open(path, h5::File::Mode::ReadWrite);
    f.root().write_strings("layer_names", names, h5::StringKind::Fixed);
  }

  static std::vector<std::string> layer_names(const std::string& path) {
    return h5::File::open(path).root().read_strings("layer_names");
  }

  fs::path dir_;
};

// The FileError message of detect_keras_model(path).
std::string detect_error(const std::string& path) {
  try {
    const ModelKind m = detect_keras_model(path);
    ADD_FAILURE() << "detecting " << path << " should have thrown nst::FileError, got " << model_name(m);
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

void expect_contains(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "should contain '" << part << "':\n" << msg;
}

// --- VGG19 files, both Keras flavours ----------------------------------------

class Vgg19FileTest : public ModelDetectionTest, public ::testing::WithParamInterface<KerasFlavor> {};

TEST_P(Vgg19FileTest, RoundTripsEveryFloat) {
  const auto layers = vgg19_layers(8);
  const NetworkWeights w = make_random_weights(layers, 3);
  const NetworkWeights loaded = load_keras_weights(model_file(ModelKind::Vgg19, GetParam()), layers);
  EXPECT_EQ(loaded.convs.size(), 16u);
  expect_same_weights(loaded, w);
}

TEST_P(Vgg19FileTest, IsDetectedAsVgg19) {
  EXPECT_EQ(detect_keras_model(model_file(ModelKind::Vgg19, GetParam())), ModelKind::Vgg19);
}

TEST_P(Vgg19FileTest, ListsItsPoolsAmongTheLayerNames) {
  const std::vector<std::string> names = layer_names(model_file(ModelKind::Vgg19, GetParam()));
  EXPECT_EQ(names.size(), 21u);  // 16 convs, 5 pools
  EXPECT_EQ(names[10], "block3_pool");
}

TEST_P(Vgg19FileTest, Vgg16FileIsDetectedAsVgg16) {
  EXPECT_EQ(detect_keras_model(model_file(ModelKind::Vgg16, GetParam())), ModelKind::Vgg16);
}

INSTANTIATE_TEST_SUITE_P(Flavor, Vgg19FileTest, ::testing::Values(KerasFlavor::Keras1, KerasFlavor::Keras2),
                         [](const auto& info) { return info.param == KerasFlavor::Keras1 ? "keras1" : "keras2"; });

// --- the wrong model ----------------------------------------------------------

TEST_F(ModelDetectionTest, Vgg16FileLoadedAsVgg19NamesTheFirstMissingLayer) {
  const std::string path = model_file(ModelKind::Vgg16);
  try {
    load_keras_weights(path, vgg19_layers(8));
    FAIL() << "expected nst::FileError";
  } catch (const FileError& e) {
    expect_contains(e.what(), "'" + path + "'");
    expect_contains(e.what(), "layer 'block3_conv4' is missing");
  }
}

TEST_F(ModelDetectionTest, Vgg19FilePassesTheVgg16LoaderSoOnlyDetectionTellsThemApart) {
  // Every VGG16 conv exists in VGG19 at the same shape: loading with the
  // VGG16 table succeeds and would silently skip the fourth convs.
  const std::string path = model_file(ModelKind::Vgg19);
  EXPECT_EQ(load_keras_weights(path, vgg16_layers(8)).convs.size(), 13u);
  EXPECT_EQ(detect_keras_model(path), ModelKind::Vgg19);
}

TEST_F(ModelDetectionTest, AnyFourthConvOfBlocks3To5MakesItVgg19) {
  // Detection decides the table; the loader then names what else is missing.
  const std::string path = model_file(ModelKind::Vgg16);
  std::vector<std::string> names = layer_names(path);
  names.push_back("block5_conv4");
  set_layer_names(path, names);
  EXPECT_EQ(detect_keras_model(path), ModelKind::Vgg19);
}

// --- neither model ------------------------------------------------------------

TEST_F(ModelDetectionTest, FileOfAnotherNetworkIsNamedWithWhatItLists) {
  const std::string path = model_file(ModelKind::Vgg16);
  set_layer_names(path, {"input_1", "dense_1", "flatten"});
  const std::string msg = detect_error(path);
  expect_contains(msg, "weights file '" + path + "'");
  expect_contains(msg, "neither a VGG16 nor a VGG19");
  expect_contains(msg, "lists 3 layer(s) (input_1, dense_1, flatten)");
  expect_contains(msg, "without 13 of VGG16's 13 convs (block1_conv1, block1_conv2,");
}

TEST_F(ModelDetectionTest, Vgg16FileMissingAConvNamesIt) {
  const std::string path = model_file(ModelKind::Vgg16);
  std::vector<std::string> names = layer_names(path);
  names.erase(std::find(names.begin(), names.end(), "block2_conv1"));
  set_layer_names(path, names);
  const std::string msg = detect_error(path);
  expect_contains(msg, "'" + path + "'");
  expect_contains(msg, "without 1 of VGG16's 13 convs (block2_conv1)");
}

TEST_F(ModelDetectionTest, LongLayerListsAreShortened) {
  const std::string path = model_file(ModelKind::Vgg16);
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) names.push_back("dense_" + std::to_string(i));
  set_layer_names(path, names);
  const std::string msg = detect_error(path);
  expect_contains(msg, "dense_7, ... (22 more)");
  EXPECT_EQ(msg.find("dense_8"), std::string::npos) << msg;
}

TEST_F(ModelDetectionTest, FileWithoutLayerNamesIsNamed) {
  const std::string path = model_file(ModelKind::Vgg19);
  h5::File::open(path, h5::File::Mode::ReadWrite).root().remove_attribute("layer_names");
  const std::string msg = detect_error(path);
  expect_contains(msg, "'" + path + "'");
  expect_contains(msg, "no 'layer_names' attribute");
}

TEST_F(ModelDetectionTest, MissingFileSaysNoSuchFile) {
  EXPECT_EQ(detect_error(p("nope.h5")), "cannot open weights file '" + p("nope.h5") + "': no such file");
}

// --- variants the loader reads, read alike -------------------------------------

TEST_F(ModelDetectionTest, LayerNamesSplitIntoNumberedChunksAreRead) {
  const std::string path = model_file(ModelKind::Vgg19);
  {
    h5::File f = h5::File::open(path, h5::File::Mode::ReadWrite);
    const std::vector<std::string> names = f.root().read_strings("layer_names");
    f.root().remove_attribute("layer_names");
    f.root().write_strings("layer_names0", {names.begin(), names.begin() + 12}, h5::StringKind::Fixed);
    f.root().write_strings("layer_names1", {names.begin() + 12, names.end()}, h5::StringKind::Fixed);
  }
  EXPECT_EQ(detect_keras_model(path), ModelKind::Vgg19);
}

TEST_F(ModelDetectionTest, WeightsUnderAModelWeightsGroupAreRead) {
  const std::string flat = model_file(ModelKind::Vgg19), nested = p("model.h5");
  {
    h5::File dst = h5::File::create(nested);
    dst.root().create_group("model_weights").write_strings("layer_names", layer_names(flat), h5::StringKind::Fixed);
  }
  EXPECT_EQ(detect_keras_model(nested), ModelKind::Vgg19);
}

// --- the real file --------------------------------------------------------------

TEST_F(ModelDetectionTest, RealHedVgg16FileIsDetectedAsVgg16) {
  if (!fs::exists(kHedVgg16)) GTEST_SKIP() << kHedVgg16 << " is absent (see ../shared/weights/README.md)";
  EXPECT_EQ(detect_keras_model(kHedVgg16), ModelKind::Vgg16);
  // Its first layer loads at full width with the table detection picked.
  EXPECT_EQ(load_keras_weights(kHedVgg16, {model_layers(detect_keras_model(kHedVgg16)).front()}).convs[0].cout, 64);
}

}  // namespace
