// Keras 3 .weights.h5 files read directly by load_keras_weights and
// detect_keras_model. tests/data/keras3_vgg16_w64.weights.h5 was written by
// Keras 3.15 itself (tools/make_keras3_weights.py): the layout
// layers/conv2d[_N]/vars/{0,1} with a `name` attribute on each vars group.
// Its values are compared with the datasets read independently through the
// HDF5 wrapper, and with its Keras 1 conversion.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "nst/error.hpp"
#include "nst/weights.hpp"
#include "tests/weights/weights_test_util.hpp"
#include "weights/hdf5.hpp"
#include "weights/import.hpp"
#include "weights/keras_write.hpp"

namespace fs = std::filesystem;
using namespace nst;

namespace {

const std::string kFile = std::string(NST_TEST_DATA) + "/keras3_vgg16_w64.weights.h5";

class Keras3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_keras3_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  // A copy of the committed file to edit.
  std::string copy() const {
    fs::copy_file(kFile, p("k3.weights.h5"));
    return p("k3.weights.h5");
  }
  static h5::File edit(const std::string& path) { return h5::File::open(path, h5::File::Mode::ReadWrite); }

  std::string load_error(const std::string& path) const {
    try {
      load_keras_weights(path, layers_);
    } catch (const FileError& e) {
      return e.what();
    }
    ADD_FAILURE() << "loading " << path << " should have thrown nst::FileError";
    return "";
  }

  fs::path dir_;
  std::vector<LayerSpec> layers_ = vgg16_layers(64);
};

TEST_F(Keras3Test, IsDetectedAsVgg16) { EXPECT_EQ(detect_keras_model(kFile), ModelKind::Vgg16); }

// Conv k of the table is group conv2d_k: read those datasets independently.
TEST_F(Keras3Test, ReadsTheValuesKerasWrote) {
  const NetworkWeights w = load_keras_weights(kFile, layers_);
  ASSERT_EQ(w.convs.size(), 13u);
  const h5::File f = h5::File::open(kFile);
  for (size_t k = 0; k < w.convs.size(); ++k) {
    const std::string group = "layers/conv2d" + (k ? "_" + std::to_string(k) : "") + "/vars";
    EXPECT_EQ(f.root().open_group(group).read_strings("name").at(0), w.convs[k].name);
    EXPECT_EQ(w.convs[k].kernel, f.root().open_dataset(group + "/0").read_floats()) << w.convs[k].name;
    EXPECT_EQ(w.convs[k].bias, f.root().open_dataset(group + "/1").read_floats()) << w.convs[k].name;
  }
}

TEST_F(Keras3Test, ImportWritesAKeras1FileWithTheSameWeights) {
  const ImportedWeights in = import_weights(kFile);
  EXPECT_EQ(in.width_divisor, 64);
  save_keras_weights(p("k1.h5"), in.weights, layers_);
  nst::testing::expect_same_weights(load_keras_weights(p("k1.h5"), layers_), load_keras_weights(kFile, layers_));
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
  nst::testing::expect_same_weights(load_keras_weights(path, layers_), load_keras_weights(kFile, layers_));
}

TEST_F(Keras3Test, MissingLayerIsNamed) {
  const std::string path = copy();
  edit(path).root().remove("layers/conv2d_5");
  const std::string msg = load_error(path);
  EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer 'block3_conv2' is missing"), std::string::npos) << msg;
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
  const std::string msg = load_error(path);
  EXPECT_NE(msg.find("block2_conv2 kernel has shape 3x3x2x3, expected 3x3x2x2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/layers/conv2d_3/vars/0"), std::string::npos) << msg;
}

}  // namespace
