// Hostile and corrupt .pth files: each must give nst::FileError naming the
// file (and what is wrong), never a crash, an out-of-bounds read (these run
// under ASan/UBSan in tools/sanitize.sh) or an allocation from an unchecked
// count. Truncations and bit flips of the committed files; hand-built
// pickles in the legacy container and hand-built zip archives for each
// specific fault; state dicts with the wrong keys or shapes.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "nst/error.hpp"
#include "weights/pickle.hpp"
#include "weights/torch_pth.hpp"
#include "weights/torchvision_vgg.hpp"

namespace fs = std::filesystem;
using namespace nst;
using Bytes = std::vector<uint8_t>;

namespace {

const std::string kData = NST_TEST_DATA;
const std::string kName = "weights file 'hostile.pth'";

Bytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

bool all_keys(const std::string&) { return true; }

// What reading `b` throws; "" when it reads (which a bit flip in data may).
std::string read_error(const Bytes& b) {
  try {
    torch::read_state_dict(b.data(), b.size(), kName, all_keys);
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const Bytes& b, const std::string& part) {
  const std::string msg = read_error(b);
  ASSERT_FALSE(msg.empty()) << "should have thrown nst::FileError naming '" << part << "'";
  EXPECT_NE(msg.find(kName), std::string::npos) << "should name the file:\n" << msg;
  EXPECT_NE(msg.find(part), std::string::npos) << "should say '" << part << "':\n" << msg;
}

// --- a small pickle writer for hand-built files -----------------------------

struct Pickle {
  Bytes b;
  Pickle() { op(0x80).op(0x02); }  // PROTO 2
  Pickle& op(uint8_t o) {
    b.push_back(o);
    return *this;
  }
  Pickle& str(const std::string& s) {
    op('X');
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(s.size() >> (8 * i)));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Pickle& integer(int64_t v) {  // BININT (4 bytes) or LONG1 of 8
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
    } else {
      op(0x8a).op(8);
      for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
    }
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    op('c');
    b.insert(b.end(), module.begin(), module.end());
    op('\n');
    b.insert(b.end(), name.begin(), name.end());
    return op('\n');
  }
  Pickle& ints(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    return op('t');
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  Pickle& stop() { return op('.'); }
};

// One tensor of a state dict: key, storage and the window on it.
struct TensorSpec {
  std::string key = "features.0.weight";
  std::string storage_type = "FloatStorage";
  std::string storage_key = "0";
  int64_t storage_numel = 6, offset = 0;
  std::vector<int64_t> shape{2, 3}, stride{3, 1};
};

void tensor(Pickle& p, const TensorSpec& t) {
  p.str(t.key).global("torch._utils", "_rebuild_tensor_v2").op('(');
  p.op('(').str("storage").global("torch", t.storage_type).str(t.storage_key).str("cpu").integer(t.storage_numel);
  p.op('N').op('t').op('Q');  // legacy persistent id, view None
  p.integer(t.offset).ints(t.shape).ints(t.stride).op(0x89).ordered_dict().op('t').op('R');
}

Bytes state_dict_pickle(const std::vector<TensorSpec>& tensors) {
  Pickle p;
  p.ordered_dict().op('(');
  for (const TensorSpec& t : tensors) tensor(p, t);
  return p.op('u').stop().b;
}

// The legacy container around `body`: header pickles, the key list, and
// for each key a storage of `numel[i]` count and `data_bytes[i]` bytes.
Bytes legacy_file(const Bytes& body, const std::vector<std::string>& keys, const std::vector<uint64_t>& counts,
                  const std::vector<size_t>& data_bytes) {
  Bytes f = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
  for (uint8_t c : Bytes{0x80, 0x02, 'M', 0xe9, 0x03, '.'}) f.push_back(c);  // protocol 1001
  Pickle info;
  info.op('}').str("little_endian").op(0x88).op('s').stop();
  f.insert(f.end(), info.b.begin(), info.b.end());
  f.insert(f.end(), body.begin(), body.end());
  Pickle list;
  list.op(']').op('(');
  for (const std::string& k : keys) list.str(k);
  list.op('e').stop();
  f.insert(f.end(), list.b.begin(), list.b.end());
  for (size_t i = 0; i < counts.size(); ++i) {
    for (int j = 0; j < 8; ++j) f.push_back(static_cast<uint8_t>(counts[i] >> (8 * j)));
    f.insert(f.end(), data_bytes[i], 0);
  }
  return f;
}

Bytes one_tensor_file(const TensorSpec& t, uint64_t count = 6, size_t data = 24) {
  return legacy_file(state_dict_pickle({t}), {t.storage_key}, {count}, {data});
}

// A zip archive of `records` (name -> bytes), through libzip as torch's are.
Bytes zip_file(const std::vector<std::pair<std::string, Bytes>>& records) {
  const std::string path = (fs::temp_directory_path() / ("nst_hostile_" + std::to_string(::getpid()) + ".zip")).string();
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  for (const auto& [name, bytes] : records) {
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    const zip_int64_t i = zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
    EXPECT_GE(i, 0);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(i), ZIP_CM_STORE, 0);
  }
  EXPECT_EQ(zip_close(z), 0);
  Bytes out = read_file(path);
  fs::remove(path);
  return out;
}

// The zip pickle: persistent ids without the legacy view element.
Bytes zip_pickle(const TensorSpec& t) {
  Bytes b = state_dict_pickle({t});
  // state_dict_pickle writes the legacy 6-tuple ( ... numel None t Q ); drop the None.
  for (size_t i = 0; i + 2 < b.size(); ++i)
    if (b[i] == 'N' && b[i + 1] == 't' && b[i + 2] == 'Q') {
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  return b;
}

// --- the committed files, cut and flipped ------------------------------------

class CommittedFile : public ::testing::TestWithParam<std::string> {};

TEST_P(CommittedFile, ReadsWhole) {
  const Bytes b = read_file(kData + "/" + GetParam());
  ASSERT_GT(b.size(), 1000u);
  EXPECT_EQ(read_error(b), "");
}

// Every prefix through the pickles and the first storages, then a sample:
// each is refused with a FileError (a prefix is never a whole file).
TEST_P(CommittedFile, EveryTruncationIsAFileError) {
  const Bytes whole = read_file(kData + "/" + GetParam());
  size_t checked = 0;
  for (size_t n = 0; n < whole.size(); n += n < 4096 ? 1 : 61) {
    const Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string msg = read_error(cut);
    ASSERT_FALSE(msg.empty()) << "a prefix of " << n << " bytes was accepted";
    ASSERT_NE(msg.find(kName), std::string::npos) << msg;
    ++checked;
  }
  EXPECT_GT(checked, 4096u);
}

// Single bit flips anywhere: read or refused, nothing else.
TEST_P(CommittedFile, BitFlipsAreReadOrRefusedNeverACrash) {
  const Bytes whole = read_file(kData + "/" + GetParam());
  std::mt19937_64 rng(2024);
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes b = whole;
    // Most flips where the structure is: the first 4 KB and the last 1 KB.
    const size_t pos = i % 3 == 0 ? rng() % b.size()
                       : i % 3 == 1 ? rng() % std::min<size_t>(4096, b.size())
                                    : b.size() - 1 - rng() % std::min<size_t>(1024, b.size());
    b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    try {
      torch::read_state_dict(b.data(), b.size(), kName, all_keys);
    } catch (const FileError& e) {
      ++refused;
      ASSERT_NE(std::string(e.what()).find(kName), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(refused, 100);
}

INSTANTIATE_TEST_SUITE_P(Pth, CommittedFile,
                         ::testing::Values("torch_vgg16_w32_zip.pth", "torch_vgg16_w32_legacy.pth"),
                         [](const auto& info) { return info.param.find("zip") != std::string::npos ? "zip" : "legacy"; });

// --- hand-built legacy files ---------------------------------------------------

TEST(HostilePickle, AWellFormedHandBuiltFileReads) {
  const Bytes b = one_tensor_file({});
  ASSERT_EQ(read_error(b), "");
  const torch::StateDict d = torch::read_state_dict(b.data(), b.size(), kName, all_keys);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].first, "features.0.weight");
  EXPECT_EQ(d[0].second.shape, (std::vector<int64_t>{2, 3}));
}

// Python 2.7 pickled an OrderedDict as OrderedDict([[key, value], ...]),
// with keys as byte strings (SHORT_BINSTRING): older legacy files do.
TEST(HostilePickle, APython2StyleStateDictReads) {
  Pickle p;
  p.global("collections", "OrderedDict").op(']').op('(').op('(');
  p.op('U').op(17);
  const std::string key = "features.0.weight";
  p.b.insert(p.b.end(), key.begin(), key.end());
  p.global("torch._utils", "_rebuild_tensor").op('(');
  p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(6).op('N').op('t').op('Q');
  p.integer(0).ints({2, 3}).ints({3, 1}).op('t').op('R');
  p.op('l').op('e').op(0x85).op('R').stop();
  const Bytes b = legacy_file(p.b, {"0"}, {6}, {24});
  ASSERT_EQ(read_error(b), "");
  const torch::StateDict d = torch::read_state_dict(b.data(), b.size(), kName, all_keys);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].first, key);
  EXPECT_EQ(d[0].second.values.size(), 6u);
}

TEST(HostilePickle, DisallowedGlobalIsRefusedByName) {
  Pickle p;
  p.global("os", "system").str("echo pwned").op(0x85).op('R').stop();
  expect_error(legacy_file(p.b, {}, {}, {}), "global 'os.system' is not allowed");
  const std::string msg = read_error(legacy_file(p.b, {}, {}, {}));
  EXPECT_NE(msg.find("at offset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opcode 'c'"), std::string::npos) << msg;
}

TEST(HostilePickle, AllowedGlobalsAreOnlyCalledAsAllowed) {
  Pickle p;  // a storage type is a value, not a call
  p.global("torch", "FloatStorage").op(')').op('R').stop();
  expect_error(legacy_file(p.b, {}, {}, {}), "allowed as a value, not as a call");
  Pickle q;  // OrderedDict(1)
  q.global("collections", "OrderedDict").integer(1).op(0x85).op('R').stop();
  expect_error(legacy_file(q.b, {}, {}, {}), "OrderedDict called with something other than");
  Pickle r;  // OrderedDict([1])
  r.global("collections", "OrderedDict").op(']').integer(1).op('a').op(0x85).op('R').stop();
  expect_error(legacy_file(r.b, {}, {}, {}), "OrderedDict item is a int, expected a (key, value) pair");
}

TEST(HostilePickle, UnknownOpcodeIsRefused) {
  Pickle p;
  p.op('}').op('i').stop();  // INST: a class instantiation opcode, never allowed
  expect_error(legacy_file(p.b, {}, {}, {}), "unsupported opcode");
  Pickle q;
  q.op(0xff).stop();
  expect_error(legacy_file(q.b, {}, {}, {}), "opcode 0xff");
}

TEST(HostilePickle, StackAndMemoAbuseIsRefused) {
  Pickle underflow;
  underflow.op('t').stop();  // TUPLE without MARK
  expect_error(legacy_file(underflow.b, {}, {}, {}), "no MARK");
  Pickle memo;
  memo.op('h').op(7).stop();  // BINGET of an index never PUT
  expect_error(legacy_file(memo.b, {}, {}, {}), "memo index 7 was never stored");
  Pickle cycle;  // a list appended to itself: no leak, no endless walk
  cycle.op(']').op('q').op(0).op('h').op(0).op('a').stop();
  expect_error(legacy_file(cycle.b, {}, {}, {}), "expected a state dict");
  Pickle two;
  two.op('}').op('}').stop();
  expect_error(legacy_file(two.b, {}, {}, {}), "2 values on the stack");
  Pickle huge;  // a string claiming 4 GB in a tiny file: refused before allocating
  huge.op('X').op(0xff).op(0xff).op(0xff).op(0xff).stop();
  expect_error(legacy_file(huge.b, {}, {}, {}), "truncated");
}

TEST(HostilePickle, StorageCountDisagreeingWithThePickleIsRefused) {
  expect_error(one_tensor_file({}, 5, 20), "holds 5 element(s) but its tensors were pickled with 6");
}

TEST(HostilePickle, StorageBeyondTheFileIsRefused) {
  expect_error(one_tensor_file({}, 6, 23), "truncated inside storage '0'");
  TensorSpec huge;
  huge.storage_numel = int64_t{1} << 50;
  huge.shape = {int64_t{1} << 25, int64_t{1} << 25};
  huge.stride = {int64_t{1} << 25, 1};
  expect_error(one_tensor_file(huge, uint64_t{1} << 50, 24), "truncated inside storage '0'");
  TensorSpec impossible;
  impossible.storage_numel = int64_t{1} << 60;
  expect_error(one_tensor_file(impossible, 6, 24), "impossible size");
}

TEST(HostilePickle, TensorOutsideItsStorageIsRefused) {
  TensorSpec t;
  t.offset = 1;  // 6 elements from offset 1 of a 6-element storage
  expect_error(one_tensor_file(t), "does not fit its storage '0'");
  TensorSpec neg;
  neg.offset = -1;
  expect_error(one_tensor_file(neg), "does not fit");
  TensorSpec overflow;
  overflow.shape = {int64_t{1} << 40, int64_t{1} << 40};
  overflow.stride = {int64_t{1} << 40, 1};
  expect_error(one_tensor_file(overflow), "overflows");
}

TEST(HostilePickle, NonContiguousStridesAreRefused) {
  TensorSpec t;
  t.stride = {1, 2};  // a transposed view
  expect_error(one_tensor_file(t), "not contiguous");
  TensorSpec rank;
  rank.stride = {1};
  expect_error(one_tensor_file(rank), "2 dimension(s) but 1 stride(s)");
}

TEST(HostilePickle, NonFloatStorageIsRefusedWhenRead) {
  TensorSpec t;
  t.storage_type = "DoubleStorage";
  const Bytes b = one_tensor_file(t, 6, 48);
  expect_error(b, "stored as torch.DoubleStorage, expected float32");
  // Not wanted: not read, so not refused (classifier tensors of any type pass).
  EXPECT_NO_THROW(torch::read_state_dict(b.data(), b.size(), kName, [](const std::string&) { return false; }));
  TensorSpec unknown;
  unknown.storage_type = "ComplexFloatStorage";
  expect_error(one_tensor_file(unknown), "global 'torch.ComplexFloatStorage' is not allowed");
}

TEST(HostilePickle, DuplicateKeysAreRefused) {
  TensorSpec a, b;
  b.storage_key = "1";
  const Bytes f = legacy_file(state_dict_pickle({a, b}), {"0", "1"}, {6, 6}, {24, 24});
  expect_error(f, "has the key 'features.0.weight' twice");
}

TEST(HostilePickle, KeyListMustMatchTheStorages) {
  const Bytes body = state_dict_pickle({TensorSpec{}});
  expect_error(legacy_file(body, {}, {}, {}), "storage '0' is missing from the legacy key list");
  expect_error(legacy_file(body, {"0", "0"}, {6, 6}, {24, 24}), "listed twice");
  expect_error(legacy_file(body, {"9"}, {6}, {24}), "storage '9' is used by no tensor");
}

TEST(HostilePickle, WrongMagicOrEndiannessIsRefused) {
  Bytes b = one_tensor_file({});
  b[5] ^= 1;  // inside the magic number
  expect_error(b, "wrong magic number");
  Bytes be = one_tensor_file({});
  for (size_t i = 0; i + 1 < be.size(); ++i)
    if (be[i] == 0x88 && be[i + 1] == 's') {  // little_endian True -> False
      be[i] = 0x89;
      break;
    }
  expect_error(be, "not little-endian");
}

// --- hand-built zip archives ---------------------------------------------------

TEST(HostileZip, AWellFormedHandBuiltArchiveReads) {
  const Bytes z = zip_file({{"archive/data.pkl", zip_pickle({})}, {"archive/data/0", Bytes(24, 0)}});
  EXPECT_EQ(read_error(z), "");
}

TEST(HostileZip, StorageRecordOfTheWrongSizeIsRefused) {
  const Bytes z = zip_file({{"archive/data.pkl", zip_pickle({})}, {"archive/data/0", Bytes(20, 0)}});
  expect_error(z, "record 'archive/data/0' holds 20 bytes, expected 24");
}

TEST(HostileZip, MissingRecordsAreRefused) {
  expect_error(zip_file({{"archive/data.pkl", zip_pickle({})}}), "record 'archive/data/0' is missing");
  expect_error(zip_file({{"archive/data/0", Bytes(24, 0)}}), "without <archive>/data.pkl");
}

TEST(HostileZip, DisallowedGlobalInDataPklIsRefused) {
  Pickle p;
  p.global("builtins", "eval").str("1").op(0x85).op('R').stop();
  expect_error(zip_file({{"archive/data.pkl", p.b}}), "global 'builtins.eval' is not allowed");
  expect_error(zip_file({{"archive/data.pkl", p.b}}), "record archive/data.pkl");
}

TEST(HostileZip, StorageLargerThanTheArchiveIsRefusedBeforeAllocating) {
  TensorSpec t;
  t.storage_numel = int64_t{1} << 40;
  expect_error(zip_file({{"archive/data.pkl", zip_pickle(t)}, {"archive/data/0", Bytes(24, 0)}}),
               "more than the archive's");
}

// --- state dicts that are not torchvision VGGs ---------------------------------

class VggDictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<LayerSpec> layers = vgg16_layers(64);
    const std::vector<int> idx = torchvision_conv_indices(layers);
    size_t k = 0;
    for (const LayerSpec& l : layers) {
      if (l.kind != LayerKind::Conv3x3) continue;
      const std::string base = "features." + std::to_string(idx[k++]);
      dict_.push_back({base + ".weight", {{l.cout, l.cin, 3, 3}, std::vector<float>(size_t{9} * l.cout * l.cin, 0.1f)}});
      dict_.push_back({base + ".bias", {{l.cout}, std::vector<float>(l.cout, 0.f)}});
    }
    dict_.push_back({"classifier.0.weight", {{4, 8}, std::vector<float>(32, 0.f)}});
  }
  void expect_refused(const std::string& part, std::optional<ModelKind> model = std::nullopt) const {
    try {
      torchvision_vgg(dict_, kName, model);
      ADD_FAILURE() << "should have thrown naming '" << part << "'";
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(kName), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
  torch::Tensor& at(const std::string& key) {
    for (auto& [k, t] : dict_)
      if (k == key) return t;
    throw std::runtime_error("no " + key);
  }
  torch::StateDict dict_;
};

TEST_F(VggDictTest, TheBaseDictConverts) {
  const ImportedWeights w = torchvision_vgg(dict_, kName, std::nullopt);
  EXPECT_EQ(w.model, ModelKind::Vgg16);
  EXPECT_EQ(w.width_divisor, 64);
  EXPECT_EQ(w.weights.convs.size(), 13u);
}

TEST_F(VggDictTest, MissingLayerIsNamed) {
  dict_.erase(dict_.begin() + 6);  // features.7.weight, block2_conv2
  expect_refused("'features.7.weight' is missing", ModelKind::Vgg16);
  expect_refused("neither torchvision's VGG16");
}

TEST_F(VggDictTest, MissingBiasIsNamed) {
  dict_.erase(dict_.begin() + 1);
  expect_refused("'features.0.bias' (block1_conv1) is missing");
}

TEST_F(VggDictTest, WrongShapeIsNamed) {
  at("features.7.weight").shape = {2, 2, 1, 9};
  expect_refused("'features.7.weight' has shape 2x2x1x9, expected 2x2x3x3 (block2_conv2)");
}

TEST_F(VggDictTest, NonFiniteValueIsNamed) {
  at("features.10.bias").values[0] = std::numeric_limits<float>::quiet_NaN();
  expect_refused("'features.10.bias' (block3_conv1) contains a non-finite value");
}

TEST_F(VggDictTest, BatchNormKeysAreRefused) {
  dict_.push_back({"features.1.running_mean", {{1}, {0.f}}});
  expect_refused("batch-norm VGGs are not supported");
}

TEST_F(VggDictTest, FeaturesKeyWithoutAConvIsRefused) {
  dict_.push_back({"features.3.bias", {{1}, {0.f}}});
  expect_refused("has 'features.3.bias', which vgg16 has no conv for");
}

TEST_F(VggDictTest, WidthThatIsNoDivisorIsRefused) {
  at("features.0.weight").shape = {3, 3, 3, 3};
  expect_refused("its width is not 64 divided by");
}

TEST_F(VggDictTest, NoFeaturesAtAllIsRefused) {
  dict_.erase(dict_.begin(), dict_.end() - 1);
  expect_refused("not a torchvision VGG state dict");
}

}  // namespace
