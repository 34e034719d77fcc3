// VGG16 weights in the Keras HDF5 layout (and Keras 3 .weights.h5 files,
// read directly): round trips in both flavours,
// seeded random weights, and one test per way a file can be wrong, each
// expecting nst::FileError naming the file and the exact culprit. Bad files
// are good files edited through the HDF5 wrapper.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <thread>

#include "nst/error.hpp"
#include "nst/weights.hpp"
#include "weights/keras_write.hpp"
#include "tests/weights/weights_test_util.hpp"
#include "weights/hdf5.hpp"
#include "weights/import.hpp"

namespace fs = std::filesystem;
using namespace nst;
using nst::testing::expect_same_weights;

namespace {

class KerasWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_keras_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string p(const std::string& name) const { return (dir_ / name).string(); }

  // A valid width/8 VGG16 file (Keras 1 layout unless asked otherwise).
  std::string good_file(KerasFlavor flavor = KerasFlavor::Keras1) {
    const std::string path = p("w.h5");
    save_keras_weights(path, w_, layers_, flavor);
    return path;
  }

  static h5::File edit(const std::string& path) { return h5::File::open(path, h5::File::Mode::ReadWrite); }

  // Replaces dataset `name` of group `layer` with `data` of `shape` stored as `type`.
  static void replace_dataset(const std::string& path, const std::string& layer, const std::string& name,
                              const std::vector<hsize_t>& shape, hid_t type = H5T_IEEE_F32LE) {
    h5::File f = edit(path);
    h5::Group g = f.root().open_group(layer);
    g.remove(name);
    size_t n = 1;
    for (hsize_t d : shape) n *= d;
    g.write_dataset(name, shape, std::vector<float>(n, 0.5f), type);
  }

  // The message of the FileError that loading `path` throws.
  std::string load_error(const std::string& path) const {
    try {
      load_keras_weights(path, layers_);
    } catch (const FileError& e) {
      return e.what();
    }
    ADD_FAILURE() << "loading " << path << " should have thrown nst::FileError";
    return "";
  }

  // Loading `path` fails with a message naming the file and each of `parts`.
  void expect_load_error_naming(const std::string& path, const std::vector<std::string>& parts) const {
    const std::string msg = load_error(path);
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << "should name the file:\n" << msg;
    for (const std::string& part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "should name '" << part << "':\n" << msg;
  }

  fs::path dir_;
  std::vector<LayerSpec> layers_ = vgg16_layers(8);
  NetworkWeights w_ = make_random_weights(layers_, 7);
};

bool layer_names_are_variable_length(const std::string& path) {
  const h5::File f = h5::File::open(path);
  h5::Handle attr(H5Aopen(f.root().id(), "layer_names", H5P_DEFAULT), H5Aclose);
  h5::Handle type(H5Aget_type(attr.get()), H5Tclose);
  return H5Tis_variable_str(type.get()) > 0;
}

// --- round trips and layout -------------------------------------------------

TEST_F(KerasWeightsTest, RoundTripKeepsEveryFloatInTheKeras1Layout) {
  expect_same_weights(load_keras_weights(good_file(KerasFlavor::Keras1), layers_), w_);
}

TEST_F(KerasWeightsTest, RoundTripKeepsEveryFloatInTheKeras2Layout) {
  expect_same_weights(load_keras_weights(good_file(KerasFlavor::Keras2), layers_), w_);
}

TEST_F(KerasWeightsTest, Keras1FileHasFixedLengthStringsAndTheOfficialDatasetNames) {
  const std::string path = good_file(KerasFlavor::Keras1);
  EXPECT_FALSE(layer_names_are_variable_length(path));
  const h5::File f = h5::File::open(path);
  EXPECT_TRUE(f.root().has("block1_conv1/block1_conv1_W_1:0"));
  EXPECT_TRUE(f.root().has("block1_conv1/block1_conv1_b_1:0"));
  EXPECT_EQ(f.root().read_strings("layer_names").size(), 18u);  // pools included
  EXPECT_TRUE(f.root().open_group("block1_pool").read_strings("weight_names").empty());
}

TEST_F(KerasWeightsTest, Keras2FileHasVariableLengthStringsAndNestedDatasetNames) {
  const std::string path = good_file(KerasFlavor::Keras2);
  EXPECT_TRUE(layer_names_are_variable_length(path));
  const h5::File f = h5::File::open(path);
  EXPECT_TRUE(f.root().has("block1_conv1/block1_conv1/kernel:0"));
  EXPECT_EQ(f.root().open_group("block1_conv1").read_strings("weight_names"),
            (std::vector<std::string>{"block1_conv1/kernel:0", "block1_conv1/bias:0"}));
}

TEST_F(KerasWeightsTest, FullWidthVgg16FileLoadsWithTheKerasShapes) {
  const auto layers = vgg16_layers(1);
  const std::string path = p("full.h5");
  save_keras_weights(path, make_random_weights(layers, 1), layers);
  const NetworkWeights w = load_keras_weights(path, layers);
  const int expected[13][2] = {{3, 64},    {64, 64},   {64, 128},  {128, 128}, {128, 256}, {256, 256}, {256, 256},
                               {256, 512}, {512, 512}, {512, 512}, {512, 512}, {512, 512}, {512, 512}};
  ASSERT_EQ(w.convs.size(), 13u);
  size_t params = 0;
  for (size_t i = 0; i < 13; ++i) {
    EXPECT_EQ(w.convs[i].cin, expected[i][0]) << w.convs[i].name;
    EXPECT_EQ(w.convs[i].cout, expected[i][1]) << w.convs[i].name;
    EXPECT_EQ(w.convs[i].kernel.size(), size_t{9} * expected[i][0] * expected[i][1]);
    params += w.convs[i].kernel.size() + w.convs[i].bias.size();
  }
  EXPECT_EQ(params, 14714688u);                                            // Keras' VGG16(include_top=False)
  EXPECT_NEAR(static_cast<double>(fs::file_size(path)), 58889256.0, 1e5);  // the official file's size
}

TEST_F(KerasWeightsTest, LoadedWeightsAreDescribedByTheirPath) {
  const std::string path = good_file();
  EXPECT_EQ(load_keras_weights(path, layers_).description, path);
}

TEST_F(KerasWeightsTest, ThreadsCanLoadAtTheSameTime) {
  const std::string path = good_file();
  std::vector<NetworkWeights> loaded(4);
  std::vector<std::thread> threads;
  for (auto& w : loaded) threads.emplace_back([&] { w = load_keras_weights(path, layers_); });
  for (auto& t : threads) t.join();
  for (const auto& w : loaded) expect_same_weights(w, w_);
}

TEST_F(KerasWeightsTest, SavingTheSameWeightsTwiceWritesByteIdenticalFiles) {
  save_keras_weights(p("a.h5"), w_, layers_);
  save_keras_weights(p("b.h5"), w_, layers_);
  std::ifstream a(p("a.h5"), std::ios::binary), b(p("b.h5"), std::ios::binary);
  const std::string bytes_a{std::istreambuf_iterator<char>(a), {}}, bytes_b{std::istreambuf_iterator<char>(b), {}};
  EXPECT_TRUE(bytes_a == bytes_b) << "files written from the same weights differ (timestamps?)";
}

// --- random weights ---------------------------------------------------------

TEST_F(KerasWeightsTest, SameSeedGivesIdenticalWeights) { expect_same_weights(make_random_weights(layers_, 7), w_); }

TEST_F(KerasWeightsTest, DifferentSeedsGiveDifferentWeights) {
  const NetworkWeights other = make_random_weights(layers_, 8);
  for (size_t i = 0; i < w_.convs.size(); ++i) EXPECT_NE(other.convs[i].kernel, w_.convs[i].kernel);
}

TEST_F(KerasWeightsTest, RandomWeightsFollowTheSequencePinnedForSeed42) {
  // Pinned so that a change of generator or draw order is noticed: files
  // and test results made on one platform must repeat on every other.
  const NetworkWeights w = make_random_weights(layers_, 42);
  const std::vector<float> first = {-0.13097086548805237f, -0.1563691347837448f, 0.1346086710691452f,
                                    0.15516743063926697f};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_FLOAT_EQ(w.convs[0].kernel[i], first[i]) << i;
  EXPECT_FLOAT_EQ(w.convs[0].bias[0], 0.013760503381490707f);
  EXPECT_FLOAT_EQ(w.convs.back().kernel.back(), 0.033210527151823044f);
  EXPECT_EQ(w.description, "random (seed 42)");
}

TEST_F(KerasWeightsTest, RandomKernelsHaveHeNormalScaleAndBiasesAreSmall) {
  const auto layers = vgg16_layers(2);
  const NetworkWeights w = make_random_weights(layers, 3);
  for (const ConvWeights& c : w.convs) {
    const double n = static_cast<double>(c.kernel.size());
    const double mean = std::accumulate(c.kernel.begin(), c.kernel.end(), 0.0) / n;
    double var = 0;
    for (float v : c.kernel) var += (v - mean) * (v - mean);
    const double std_he = std::sqrt(2.0 / (9.0 * c.cin));
    EXPECT_NEAR(std::sqrt(var / n) / std_he, 1.0, 5.0 / std::sqrt(n)) << c.name;  // ~7 standard errors
    EXPECT_NEAR(mean, 0.0, 5.0 * std_he / std::sqrt(n)) << c.name;
    for (float b : c.bias) EXPECT_LT(std::fabs(b), 0.06f) << c.name;  // 6 sigma of N(0, 0.01^2)
  }
}

TEST_F(KerasWeightsTest, LookingUpAnAbsentLayerThrowsInvalidArgumentNamingIt) {
  try {
    w_.conv("block6_conv1");
    FAIL() << "expected nst::InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("block6_conv1"), std::string::npos) << e.what();
  }
}

// --- saving -----------------------------------------------------------------

TEST_F(KerasWeightsTest, SaveLeavesOnlyTheFinishedFileBehind) {
  good_file();
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"w.h5"});
}

TEST_F(KerasWeightsTest, SaveIntoAMissingDirectoryNamesThePathAndWritesNothing) {
  const std::string path = p("missing_dir/w.h5");
  try {
    save_keras_weights(path, w_, layers_);
    FAIL() << "expected nst::FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(p("missing_dir")));
}

TEST_F(KerasWeightsTest, SaveRejectsWeightsThatDoNotFitTheLayerTable) {
  EXPECT_THROW(save_keras_weights(p("w.h5"), w_, vgg16_layers(4)), InvalidArgument);
  EXPECT_FALSE(fs::exists(p("w.h5")));
}

// --- files that are not weights files ---------------------------------------

TEST_F(KerasWeightsTest, NonexistentPathSaysNoSuchFile) {
  const std::string path = p("nope.h5");
  EXPECT_EQ(load_error(path), "cannot open weights file '" + path + "': no such file");
}

TEST_F(KerasWeightsTest, TextFileIsReportedAsNotHdf5) {
  std::ofstream(p("w.h5")) << "this is not HDF5\n";
  expect_load_error_naming(p("w.h5"), {"not an HDF5 file"});
}

TEST_F(KerasWeightsTest, EmptyFileIsReportedEmpty) {
  std::ofstream{p("w.h5")};
  expect_load_error_naming(p("w.h5"), {"empty"});
}

TEST_F(KerasWeightsTest, TruncatedFileIsReportedTruncated) {
  const std::string good = good_file(), cut = p("cut.h5");
  fs::copy_file(good, cut);
  fs::resize_file(cut, fs::file_size(good) / 2);
  expect_load_error_naming(cut, {"truncated"});
}

// --- files with the wrong layout ---------------------------------------------

TEST_F(KerasWeightsTest, MissingLayerNamesAttributeIsNamed) {
  const std::string path = good_file();
  edit(path).root().remove_attribute("layer_names");
  expect_load_error_naming(path, {"layer_names"});
}

TEST_F(KerasWeightsTest, LayerAbsentFromLayerNamesIsNamed) {
  const std::string path = good_file();
  {
    h5::File f = edit(path);
    std::vector<std::string> names = f.root().read_strings("layer_names");
    names.erase(std::find(names.begin(), names.end(), "block3_conv2"));
    f.root().write_strings("layer_names", names, h5::StringKind::Fixed);
  }
  expect_load_error_naming(path, {"layer 'block3_conv2' is missing", "layer_names"});
}

TEST_F(KerasWeightsTest, LayerListedButWithoutItsGroupIsNamed) {
  const std::string path = good_file();
  edit(path).root().remove("block3_conv2");
  expect_load_error_naming(path, {"block3_conv2", "group '/block3_conv2' is missing"});
}

TEST_F(KerasWeightsTest, MissingWeightNamesAttributeIsNamed) {
  const std::string path = good_file();
  edit(path).root().open_group("block2_conv1").remove_attribute("weight_names");
  expect_load_error_naming(path, {"block2_conv1", "weight_names"});
}

TEST_F(KerasWeightsTest, WeightNamesWithoutTheBiasIsRejected) {
  const std::string path = good_file();
  edit(path)
      .root()
      .open_group("block2_conv1")
      .write_strings("weight_names", {"block2_conv1_W_1:0"}, h5::StringKind::Fixed);
  expect_load_error_naming(path, {"block2_conv1", "1 weight(s)", "expected 2"});
}

TEST_F(KerasWeightsTest, MissingKernelDatasetIsNamed) {
  const std::string path = good_file();
  edit(path).root().open_group("block4_conv1").remove("block4_conv1_W_1:0");
  expect_load_error_naming(path, {"block4_conv1 kernel is missing", "'/block4_conv1/block4_conv1_W_1:0'"});
}

TEST_F(KerasWeightsTest, WrongKernelShapeNamesTheLayerAndBothShapes) {
  const std::string path = good_file();
  replace_dataset(path, "block3_conv2", "block3_conv2_W_1:0", {3, 3, 32, 16});
  expect_load_error_naming(
      path, {"block3_conv2 kernel has shape 3x3x32x16, expected 3x3x32x32", "/block3_conv2/block3_conv2_W_1:0"});
}

TEST_F(KerasWeightsTest, WrongBiasShapeNamesTheLayerAndBothShapes) {
  const std::string path = good_file();
  replace_dataset(path, "block5_conv3", "block5_conv3_b_1:0", {1, 64});
  expect_load_error_naming(path, {"block5_conv3 bias has shape 1x64, expected 64"});
}

TEST_F(KerasWeightsTest, Float64KernelIsRejectedByDtype) {
  const std::string path = good_file();
  replace_dataset(path, "block1_conv2", "block1_conv2_W_1:0", {3, 3, 8, 8}, H5T_IEEE_F64LE);
  expect_load_error_naming(path, {"block1_conv2 kernel has dtype float64, expected float32"});
}

TEST_F(KerasWeightsTest, IntegerBiasIsRejectedByDtype) {
  const std::string path = good_file();
  replace_dataset(path, "block1_conv2", "block1_conv2_b_1:0", {8}, H5T_STD_I32LE);
  expect_load_error_naming(path, {"block1_conv2 bias has dtype int32, expected float32"});
}

TEST_F(KerasWeightsTest, NanInAKernelIsNamedWithItsIndex) {
  const std::string path = good_file();
  {
    h5::File f = edit(path);
    h5::Dataset d = f.root().open_dataset("block2_conv1/block2_conv1_W_1:0");  // (3,3,8,16)
    std::vector<float> k = d.read_floats();
    k[((1 * 3 + 2) * 8 + 4) * 16 + 5] = std::numeric_limits<float>::quiet_NaN();
    d.write_floats(k);
  }
  expect_load_error_naming(path, {"block2_conv1 kernel contains 1 non-finite value(s)", "NaN", "(1,2,4,5)"});
}

TEST_F(KerasWeightsTest, InfInABiasIsNamed) {
  const std::string path = good_file();
  {
    h5::File f = edit(path);
    h5::Dataset d = f.root().open_dataset("block4_conv3/block4_conv3_b_1:0");
    std::vector<float> b = d.read_floats();
    b[3] = -std::numeric_limits<float>::infinity();
    d.write_floats(b);
  }
  expect_load_error_naming(path, {"block4_conv3 bias contains", "Inf", "(3)"});
}

TEST_F(KerasWeightsTest, FileOfAnotherWidthFailsAtTheFirstLayer) {
  const std::string path = good_file();
  try {
    load_keras_weights(path, vgg16_layers(1));
    FAIL() << "expected nst::FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("block1_conv1 kernel has shape 3x3x3x8, expected 3x3x3x64"), std::string::npos)
        << e.what();
  }
}

// --- variants Keras itself reads ----------------------------------------------

TEST_F(KerasWeightsTest, LayerNamesPaddedWithExtraNulsLoad) {
  const std::string path = good_file();
  {
    h5::File f = edit(path);
    const std::vector<std::string> names = f.root().read_strings("layer_names");
    f.root().remove_attribute("layer_names");
    const size_t width = 32;  // far more than the longest name
    std::vector<char> data(names.size() * width, '\0');
    for (size_t i = 0; i < names.size(); ++i) std::copy(names[i].begin(), names[i].end(), data.begin() + i * width);
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), width);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    const hsize_t n = names.size();
    h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    h5::Handle attr(H5Acreate2(f.root().id(), "layer_names", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
    ASSERT_GE(H5Awrite(attr.get(), type.get(), data.data()), 0);
  }
  expect_same_weights(load_keras_weights(path, layers_), w_);
}

TEST_F(KerasWeightsTest, LayerNamesSplitIntoNumberedChunksLoad) {
  // Keras splits attributes over 64 KiB into layer_names0, layer_names1, ...
  const std::string path = good_file();
  {
    h5::File f = edit(path);
    const std::vector<std::string> names = f.root().read_strings("layer_names");
    f.root().remove_attribute("layer_names");
    f.root().write_strings("layer_names0", {names.begin(), names.begin() + 9}, h5::StringKind::Fixed);
    f.root().write_strings("layer_names1", {names.begin() + 9, names.end()}, h5::StringKind::Fixed);
  }
  expect_same_weights(load_keras_weights(path, layers_), w_);
}

TEST_F(KerasWeightsTest, WeightsUnderAModelWeightsGroupLoad) {
  // model.save() puts the save_weights() layout under /model_weights.
  const std::string flat = good_file(), nested = p("model.h5");
  {
    const h5::File src = h5::File::open(flat);
    h5::File dst = h5::File::create(nested);
    h5::Group mw = dst.root().create_group("model_weights");
    const std::vector<std::string> names = src.root().read_strings("layer_names");
    mw.write_strings("layer_names", names, h5::StringKind::Fixed);
    for (const std::string& n : names)
      ASSERT_GE(H5Ocopy(src.root().id(), n.c_str(), mw.id(), n.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0) << n;
  }
  expect_same_weights(load_keras_weights(nested, layers_), w_);
}

// --- Keras 3 .weights.h5 ---------------------------------------------------
// tests/data/keras3_vgg16_w64.weights.h5 was written by Keras 3.15 itself
// (tools/make_keras3_weights.py): layers/conv2d[_N]/vars/{0,1}, a `name`
// attribute on each vars group. Its values are compared with the datasets
// read independently through the HDF5 wrapper, and with its Keras 1
// conversion.

const std::string kKeras3File = std::string(NST_TEST_DATA) + "/keras3_vgg16_w64.weights.h5";

class Keras3Test : public KerasWeightsTest {
 protected:
  void SetUp() override {
    KerasWeightsTest::SetUp();
    layers_ = vgg16_layers(64);
  }
  // A copy of the committed file to edit.
  std::string copy() const {
    fs::copy_file(kKeras3File, p("k3.weights.h5"));
    return p("k3.weights.h5");
  }
};

TEST_F(Keras3Test, IsDetectedAsVgg16) { EXPECT_EQ(detect_keras_model(kKeras3File), ModelKind::Vgg16); }

// Conv k of the table is group conv2d_k: read those datasets independently.
TEST_F(Keras3Test, ReadsTheValuesKerasWrote) {
  const NetworkWeights w = load_keras_weights(kKeras3File, layers_);
  ASSERT_EQ(w.convs.size(), 13u);
  const h5::File f = h5::File::open(kKeras3File);
  for (size_t k = 0; k < w.convs.size(); ++k) {
    const std::string group = "layers/conv2d" + (k ? "_" + std::to_string(k) : "") + "/vars";
    EXPECT_EQ(f.root().open_group(group).read_strings("name").at(0), w.convs[k].name);
    EXPECT_EQ(w.convs[k].kernel, f.root().open_dataset(group + "/0").read_floats()) << w.convs[k].name;
    EXPECT_EQ(w.convs[k].bias, f.root().open_dataset(group + "/1").read_floats()) << w.convs[k].name;
  }
}

TEST_F(Keras3Test, ImportWritesAKeras1FileWithTheSameWeights) {
  const ImportedWeights in = import_weights(kKeras3File);
  EXPECT_EQ(in.width_divisor, 64);
  save_keras_weights(p("k1.h5"), in.weights, layers_);
  expect_same_weights(load_keras_weights(p("k1.h5"), layers_), load_keras_weights(kKeras3File, layers_));
}

// Keras 3 versions that do not name vars: the conv2d groups in suffix
// order (conv2d, conv2d_1, ..., conv2d_10, not the name order) are the table's convs.
TEST_F(Keras3Test, UnnamedVarsAreTakenInModelOrder) {
  const std::string path = copy();
  {
    h5::File f = edit(path);
    for (const std::string& g : f.root().open_group("layers").children()) {
      h5::Group vars = f.root().open_group("layers/" + g + "/vars");
      if (vars.has_attribute("name")) vars.remove_attribute("name");
    }
  }
  EXPECT_EQ(detect_keras_model(path), ModelKind::Vgg16);
  expect_same_weights(load_keras_weights(path, layers_), load_keras_weights(kKeras3File, layers_));
}

TEST_F(Keras3Test, MissingLayerIsNamed) {
  const std::string path = copy();
  edit(path).root().remove("layers/conv2d_5");
  expect_load_error_naming(path, {"layer 'block3_conv2' is missing", "Keras 3 layout"});
  EXPECT_THROW(detect_keras_model(path), FileError);
}

TEST_F(Keras3Test, WrongShapeAndDtypeAreNamed) {
  const std::string path = copy();
  {
    h5::File f = edit(path);
    h5::Group vars = f.root().open_group("layers/conv2d_3/vars");  // block2_conv2
    vars.remove("0");
    vars.write_dataset("0", {3, 3, 2, 3}, std::vector<float>(54, 0.f));
    vars.remove("1");
    vars.write_dataset("1", {2}, {0.f, 0.f}, H5T_IEEE_F64LE);
  }
  expect_load_error_naming(path, {"block2_conv2 kernel has shape 3x3x2x3, expected 3x3x2x2", "/layers/conv2d_3/vars/0"});
}

}  // namespace
