// The HDF5 wrapper (weights/hdf5.hpp): string attributes in both storage
// kinds, float datasets, and failures that name the file and the object
// without HDF5 printing its error stack.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "nst/error.hpp"
#include "weights/hdf5.hpp"

namespace fs = std::filesystem;
using nst::h5::File;
using nst::h5::StringKind;

namespace {

class Hdf5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_hdf5_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "t.h5").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The message of the nst::FileError that `f` throws ("" if none).
  template <class F>
  static std::string error_of(F&& f) {
    try {
      f();
    } catch (const nst::FileError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected nst::FileError";
    return "";
  }

  fs::path dir_;
  std::string path_;
};

const std::vector<std::string> kNames = {"block1_conv1", "block1_pool", "x"};

TEST_F(Hdf5Test, FixedLengthStringArrayReadsBackWithoutPadding) {
  File::create(path_).root().write_strings("names", kNames, StringKind::Fixed);
  EXPECT_EQ(File::open(path_).root().read_strings("names"), kNames);
}

TEST_F(Hdf5Test, VariableLengthStringArrayReadsBack) {
  File::create(path_).root().write_strings("names", kNames, StringKind::Variable);
  EXPECT_EQ(File::open(path_).root().read_strings("names"), kNames);
}

TEST_F(Hdf5Test, FixedLengthStringsPaddedWithNulsAreCutAtTheFirstNul) {
  {
    File f = File::create(path_);
    nst::h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), 16);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    const hsize_t n = 2;
    nst::h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    nst::h5::Handle attr(H5Acreate2(f.root().id(), "names", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose);
    char data[32] = "abc";  // "abc" then 13 NULs, then "de" then NULs
    std::memcpy(data + 16, "de", 2);
    ASSERT_GE(H5Awrite(attr.get(), type.get(), data), 0);
  }
  EXPECT_EQ(File::open(path_).root().read_strings("names"), (std::vector<std::string>{"abc", "de"}));
}

TEST_F(Hdf5Test, ScalarStringAttributeReadsAsOneString) {
  File::create(path_).root().write_string("keras_version", "1.2.2", StringKind::Fixed);
  EXPECT_EQ(File::open(path_).root().read_strings("keras_version"), std::vector<std::string>{"1.2.2"});
}

TEST_F(Hdf5Test, EmptyFloatArrayAttributeReadsAsNoStrings) {
  File::create(path_).root().write_empty_array("weight_names");
  EXPECT_TRUE(File::open(path_).root().read_strings("weight_names").empty());
}

TEST_F(Hdf5Test, NonStringAttributeIsRejectedNamingItAndItsType) {
  {
    File f = File::create(path_);
    nst::h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    nst::h5::Handle attr(H5Acreate2(f.root().id(), "n", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose);
    const int v = 3;
    H5Awrite(attr.get(), H5T_NATIVE_INT, &v);
  }
  const std::string msg = error_of([&] { File::open(path_).root().read_strings("n"); });
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
  EXPECT_NE(msg.find("attribute 'n'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("int32"), std::string::npos) << msg;
}

TEST_F(Hdf5Test, FloatDatasetRoundTripsWithItsShapeAndDtype) {
  const std::vector<float> data = {1.5f, -2.f, 3.25f, 0.f, 1e-30f, 7.f};
  File::create(path_).root().write_dataset("g/d:0", {2, 3}, data);
  const File f = File::open(path_);
  const nst::h5::Dataset d = f.root().open_dataset("g/d:0");
  EXPECT_EQ(d.shape(), (std::vector<hsize_t>{2, 3}));
  EXPECT_EQ(d.dtype(), "float32");
  EXPECT_EQ(d.read_floats(), data);
  EXPECT_TRUE(f.root().has_group("g"));
}

TEST_F(Hdf5Test, DatasetStoredAsFloat64ReportsItsDtype) {
  File::create(path_).root().write_dataset("d", {2}, {1.f, 2.f}, H5T_IEEE_F64LE);
  const nst::h5::Dataset d = File::open(path_).root().open_dataset("d");
  EXPECT_EQ(d.dtype(), "float64");
  EXPECT_FALSE(d.is_float32());
  EXPECT_EQ(d.read_floats(), (std::vector<float>{1.f, 2.f}));
}

TEST_F(Hdf5Test, HasIsFalseWhenAParentIsMissing) {
  File::create(path_).root().write_dataset("a/b", {1}, {1.f});
  const File f = File::open(path_);
  EXPECT_TRUE(f.root().has("a/b"));
  EXPECT_FALSE(f.root().has("a/c"));
  EXPECT_FALSE(f.root().has("x/y/z"));
  EXPECT_FALSE(f.root().has_group("a/b"));  // a dataset, not a group
}

TEST_F(Hdf5Test, OpeningAMissingDatasetNamesTheFileAndTheDataset) {
  File::create(path_).root().create_group("g");
  const std::string msg = error_of([&] { File::open(path_).root().open_group("g").open_dataset("k:0"); });
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
  EXPECT_NE(msg.find("/g/k:0"), std::string::npos) << msg;
}

TEST_F(Hdf5Test, OpeningAMissingFileSaysNoSuchFile) {
  const std::string msg = error_of([&] { File::open(path_); });
  EXPECT_EQ(msg, "cannot open HDF5 file '" + path_ + "': no such file");
}

TEST_F(Hdf5Test, OpeningATextFileSaysItIsNotHdf5) {
  std::ofstream(path_) << "just text\n";
  const std::string msg = error_of([&] { File::open(path_); });
  EXPECT_NE(msg.find("not an HDF5 file"), std::string::npos) << msg;
}

TEST_F(Hdf5Test, CreatingInAMissingDirectoryNamesThePath) {
  const std::string bad = (dir_ / "no" / "such" / "dir.h5").string();
  const std::string msg = error_of([&] { File::create(bad); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
}

TEST_F(Hdf5Test, FailuresPrintNothingToStderr) {
  File::create(path_);
  ::testing::internal::CaptureStderr();
  error_of([&] { File::open(path_).root().open_dataset("missing"); });
  error_of([&] { File::open(path_).root().read_strings("missing"); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(Hdf5Test, TheCallersErrorHandlerIsRestoredAfterAFileCloses) {
  H5E_auto2_t before = nullptr;
  void* before_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &before, &before_data);
  { File::create(path_); }
  H5E_auto2_t after = nullptr;
  void* after_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &after, &after_data);
  EXPECT_EQ(before, after);
  EXPECT_EQ(before_data, after_data);
}

TEST_F(Hdf5Test, HandlesCloseOnDestructionAndMove) {
  const ssize_t open_before = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  {
    File f = File::create(path_);
    File moved = std::move(f);
    nst::h5::Group g = moved.root().create_group("g");
    nst::h5::Group g2 = std::move(g);
  }
  EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), open_before);
}

}  // namespace
