// The bad-input table: `nst` run on bad or unusual files, flags, outputs,
// signals, numeric and file-system faults, one row each. Every row runs in
// a directory of its own that already holds an out.png, and asserts:
//   - the exit status (non-zero for bad input; 0, or 128+signal, where the
//     input is fine or the run was interrupted);
//   - a message naming the file, flag or value and the reason;
//   - the previous out.png untouched (bad input) or replaced by a whole
//     image (success, interrupt);
//   - no other file left behind: no temporary file, no empty log.
// The rows are data: a shell setup, the arguments, what to expect.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "nst/image.hpp"
#include "tests/run_command.hpp"

namespace fs = std::filesystem;

namespace {

enum class Expect {
  Fails,        // non-zero exit, out.png untouched, nothing new in the directory
  Succeeds,     // exit 0, out.png replaced by a whole image
  Interrupted,  // exit `code`, out.png replaced by a whole image
};

struct Row {
  const char* name;
  std::string args;                // appended to the base arguments ({d}: the row's directory)
  std::vector<std::string> names;  // the message must contain each
  Expect expect = Expect::Fails;
  std::string setup = "";          // shell commands run in {d} first
  std::string style = "{d}/style.png";
  std::string wrap = "";           // shell around the command: {cmd} is replaced ("" = as is)
  int code = 0;                    // for Interrupted
  std::vector<std::string> creates = {};  // files a successful row may add ({d}-relative)
  bool needs_mount = false;        // skipped where tmpfs cannot be mounted
  bool not_under_asan = false;     // address-space limits and ASan's shadow memory do not mix
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

const std::string kLongName(251, 'n');  // + ".png": 255, the longest name ext4 and tmpfs take
const std::string kTooLongName(252, 'n');

// clang-format off
const std::vector<Row> kRows = {
  // --- input files -----------------------------------------------------------------------------
  {"MissingContent", "--content {d}/nothing.png", {"--content", "nothing.png"}},
  {"ContentIsADirectory", "--content {d}/sub", {"--content", "sub"}, Expect::Fails, "mkdir sub"},
  {"EmptyContent", "--content {d}/empty.png", {"empty.png"}, Expect::Fails, ": > empty.png"},
  {"GarbageContent", "--content {d}/garbage.jpg", {"garbage.jpg"}, Expect::Fails, "head -c 3000 /dev/urandom > garbage.jpg"},
  {"TextAsContent", "--content {d}/notes.png", {"notes.png"}, Expect::Fails, "echo 'not an image' > notes.png"},
  {"ContentOverThePixelLimit", "--max-pixels 100", {"content.png", "--max-pixels"}},
  {"TruncatedPngContent", "--content {d}/cut.png", {"cut.png", "truncated"}, Expect::Fails, "head -c 300 content.png > cut.png"},
  {"PngWithABadCrc", "--content {d}/bad.png", {"bad.png", "CRC"}, Expect::Fails,
   "cp content.png bad.png && printf '\\377' | dd of=bad.png bs=1 seek=60 conv=notrunc 2>/dev/null"},
  {"PpmThatDeclaresAHugeImage", "--content {d}/huge.ppm", {"huge.ppm", "truncated"}, Expect::Fails,
   "printf 'P6\\n16000 16000\\n255\\n' > huge.ppm && head -c 30 /dev/zero >> huge.ppm"},
  {"TruncatedJpegStyle", "", {"cut.jpg", "truncated"}, Expect::Fails, "head -c 300 {data}/progressive.jpg > cut.jpg", "{d}/cut.jpg"},
  {"PsdContent", "--content {d}/x.psd", {"x.psd", "unsupported format"}, Expect::Fails,
   "printf '8BPS\\000\\001' > x.psd && head -c 200 /dev/zero >> x.psd"},
  {"MissingStyle", "", {"nothing.png"}, Expect::Fails, "", "{d}/nothing.png"},
  {"GarbageStyle", "", {"garbage.png"}, Expect::Fails, "head -c 500 /dev/urandom > garbage.png", "{d}/garbage.png"},
  {"OneStyleOfAListMissing", "", {"gone.png"}, Expect::Fails, "", "{d}/style.png,{d}/gone.png"},
  {"EmptyNameInAStyleList", "", {"empty name"}, Expect::Fails, "", "{d}/style.png,"},
  {"StyleIsADirectory", "", {"sub", "directory"}, Expect::Fails, "mkdir sub", "{d}/sub"},
  {"MissingInitImage", "--init-image {d}/nothing.png", {"--init-image", "nothing.png"}},
  {"GarbageInitImage", "--init-image {d}/garbage.png", {"garbage.png"}, Expect::Fails, "head -c 900 /dev/urandom > garbage.png"},
  {"InitImageWithRandomInit", "--init random --init-image {d}/style.png", {"--init-image", "--init image"}},
  {"MissingWeights", "--weights {d}/nothing.h5", {"nothing.h5"}},
  {"GarbageWeights", "--weights {d}/garbage.h5", {"garbage.h5"}, Expect::Fails, "head -c 4096 /dev/urandom > garbage.h5"},
  {"EmptyWeights", "--weights {d}/empty.h5", {"empty.h5"}, Expect::Fails, ": > empty.h5"},
  {"AnImageAsWeights", "--weights {d}/style.png", {"style.png"}},
  {"TruncatedWeights", "--weights {d}/cut.h5", {"cut.h5"}, Expect::Fails, "head -c 20000 {suite}/narrow.h5 > cut.h5"},
  {"WeightsOfTheWrongWidth", "--weights {suite}/narrow.h5", {"narrow.h5", "block1_conv1"}},
  {"WeightsDirectory", "--weights {d}", {"{d}", "directory"}},
  {"UnknownRandomWeightsSpelling", "--weights randomly", {"randomly"}},
  {"RandomWeightsSeedWithTrailingText", "--weights random:12abc", {"random:12abc", "12abc"}},
  {"RandomWeightsNegativeSeed", "--weights random:-3", {"random:-3"}},
  {"RandomWeightsSeedThatWraps", "--weights random:18446744073709551616", {"18446744073709551616"}},

  // --- flags -------------------------------------------------------------------------------------
  {"UnknownFlag", "--frobnicate 3", {"--frobnicate"}},
  {"EmptyValueAfterEquals", "--content= --iterations 1", {"--content", "empty value"}},
  {"NegativeIterations", "--iterations -1", {"--iterations", "'-1'", "whole number from 0"}},
  {"FractionalIterations", "--iterations 1.5", {"--iterations", "1.5"}},
  {"TextIterations", "--iterations many", {"--iterations", "many"}},
  {"HugeIterations", "--iterations 99999999999", {"--iterations", "99999999999"}},
  {"TextContentWeight", "--content-weight abc", {"--content-weight", "abc", ">= 0"}},
  {"NegativeContentWeight", "--content-weight -1", {"--content-weight", "-1"}},
  {"NanStyleWeight", "--style-weight nan", {"--style-weight", "nan"}},
  {"InfiniteTvWeight", "--tv-weight inf", {"--tv-weight", "inf"}},
  {"ZeroLearningRate", "--learning-rate 0", {"--learning-rate", "> 0"}},
  {"NegativeLearningRate", "--learning-rate -2", {"--learning-rate", "-2"}},
  {"ZeroImageSize", "--image-size 0", {"--image-size", "0"}},
  {"HugeImageSize", "--image-size 99999", {"--image-size", "99999"}},
  {"ImageTooSmallForTheNetwork", "--image-size 8", {"too small", "16 px"}},
  {"NegativeSeed", "--seed -1", {"--seed", "-1"}},
  {"SeedThatWraps", "--seed 18446744073709551616", {"--seed", "18446744073709551616"}},
  {"SeedWithTrailingText", "--seed 12abc", {"--seed", "12abc"}},
  {"UnknownOptimizer", "--optimizer sgd", {"--optimizer", "sgd"}},
  {"UnknownInit", "--init noise", {"--init", "noise"}},
  {"UnknownDevice", "--device tpu", {"--device", "tpu"}},
  {"UnknownConvAlgo", "--conv-algo fast", {"--conv-algo", "fast"}},
  {"UnknownGramAlgo", "--gram-algo fast", {"--gram-algo", "fast"}},
  {"UnknownPooling", "--pooling min", {"--pooling", "min"}},
  {"UnknownModel", "--model vgg11", {"--model", "vgg11"}},
  {"UnknownColorTransfer", "--color-transfer fancy", {"--color-transfer", "fancy"}},
  {"UnknownContentLayer", "--content-layers block9_conv9", {"block9_conv9"}},
  {"Vgg19LayerOnVgg16", "--style-layers relu3_4", {"relu3_4"}},
  {"TextLayerWeight", "--style-layers block1_conv1:abc", {"--style-layers", "block1_conv1:abc"}},
  {"NegativeLayerWeight", "--style-layers block1_conv1:-1", {"--style-layers", "block1_conv1:-1"}},
  {"BlendWeightsForMoreStylesThanGiven", "--style-blend-weights 1,2", {"--style-blend-weights", "2 weights"}},
  {"NegativeBlendWeight", "--style-blend-weights -1", {"--style-blend-weights", "-1"}},
  {"MissingStyleMask", "--style-mask {d}/none.png", {"--style-mask", "none.png"}},
  {"TruncatedStyleMask", "--style-mask {d}/cut.png", {"cut.png", "truncated"}, Expect::Fails, "head -c 300 content.png > cut.png"},
  {"BlackStyleMask", "--style-mask {d}/black.pgm", {"--style-mask", "black.pgm", "black everywhere"}, Expect::Fails,
   "printf 'P5 40 30 255\\n' > black.pgm && head -c 1200 /dev/zero >> black.pgm"},
  {"StyleMaskOfAnotherShape", "--style-mask {d}/tall.pgm", {"--style-mask", "tall.pgm", "aspect ratios"}, Expect::Fails,
   "printf 'P5 30 40 255\\n' > tall.pgm && head -c 1200 /dev/zero | tr '\\000' '\\377' >> tall.pgm"},
  {"MoreStyleMasksThanStyles", "--style-mask {d}/content.png --style-mask {d}/content.png", {"--style-mask", "2 masks for 1 style"}},
  {"BlackContentMask", "--content-mask {d}/black.pgm", {"--content-mask", "black.pgm", "black everywhere"}, Expect::Fails,
   "printf 'P5 40 30 255\\n' > black.pgm && head -c 1200 /dev/zero >> black.pgm"},
  {"MasksThatFit", "--style-mask {d}/content.png --content-mask {d}/content.png", {}, Expect::Succeeds},
  {"ZeroScale", "--scales 0", {"--scales", "0"}},
  {"TextScale", "--scales 16,abc", {"--scales", "abc"}},
  {"ScaleIterationsOfTheWrongCount", "--scales 16 --scale-iterations 1,2,3", {"scale iterations", "3 values for 2 scales"}},
  {"ZeroStyleScale", "--style-scale 0", {"--style-scale", "> 0"}},
  {"HugeStyleScale", "--style-scale 100", {"style scale"}},
  {"ZeroLbfgsHistory", "--lbfgs-history 0", {"--lbfgs-history"}},
  {"NegativeLbfgsInitialStep", "--lbfgs-initial-step -1", {"--lbfgs-initial-step", "-1"}},
  {"NegativeThreads", "--threads -1", {"--threads", "-1"}},
  {"ZeroMaxPixels", "--max-pixels 0", {"--max-pixels", "0"}},
  {"NegativePrintEvery", "--print-every -1", {"--print-every", "-1"}},
  {"NegativeSaveEvery", "--save-every -1", {"--save-every", "-1"}},
  {"MissingOutputFlag", "--output=", {"--output"}},

  // --- outputs -----------------------------------------------------------------------------------
  {"UnsupportedOutputExtension", "--output {d}/out.gif", {"out.gif", "extension"}},
  {"OutputWithoutExtension", "--output {d}/out", {"extension"}},
  {"OutputIsADirectory", "--output {d}/dir.png", {"dir.png", "is a directory"}, Expect::Fails, "mkdir dir.png"},
  {"OutputInAMissingDirectory", "--output {d}/no/such/dir/out.png", {"no/such/dir", "does not exist"}},
  {"OutputWhereNoFileCanBeMade", "--output /proc/nst_out.png", {"/proc/nst_out.png", "cannot create"}},
  {"OutputNameTooLong", "--output {d}/" + kTooLongName + ".png", {kTooLongName, "256 characters"}},
  {"OutputIsTheContent", "--output {d}/content.png", {"--output", "--content", "overwritten"}},
  {"OutputIsTheStyle", "--output {d}/style.png", {"--output", "--style", "overwritten"}},
  {"OutputIsTheInitImage", "--init-image {d}/init.png --output {d}/init.png", {"--init-image", "overwritten"}, Expect::Fails, "cp content.png init.png"},
  {"OutputIsTheContentThroughALink", "--output {d}/link.png", {"--content", "overwritten"}, Expect::Fails, "ln -s content.png link.png"},
  {"CheckpointNameTooLong", "--save-every 1 --output {d}/" + kLongName + ".png", {"_99999", "characters"}},
  {"LogIsTheContent", "--log-json {d}/content.png", {"--log-json", "--content"}},
  {"LogIsTheOutput", "--log-json {d}/out.png", {"--log-json", "--output"}},
  {"LogIsADirectory", "--log-json {d}/sub", {"--log-json", "is a directory"}, Expect::Fails, "mkdir sub"},
  {"LogInAMissingDirectory", "--log-json {d}/no/log.jsonl", {"--log-json", "does not exist"}},
  {"LogOnAFullDevice", "--log-json /dev/full", {"--log-json", "/dev/full"}},

  // --- several content images (--output-dir {d}: a result written before the error would be left behind) ---
  {"SeveralContentsWithOutput", "--content {d}/content.png --content {d}/c2.png", {"--output", "2 --content", "--output-dir"},
   Expect::Fails, "cp content.png c2.png"},
  {"SecondContentMissing", "--content {data}/grey.jpg,{d}/nothing.png --output-dir {d}", {"--content", "nothing.png"}},
  {"SecondContentGarbage", "--content {data}/grey.jpg --content {d}/garbage.jpg --output-dir {d}", {"garbage.jpg"},
   Expect::Fails, "head -c 3000 /dev/urandom > garbage.jpg"},
  {"SecondContentOverThePixelLimit", "--content {data}/grey.jpg,{d}/content.png --output-dir {d}/res --max-pixels 200",
   {"content.png", "--max-pixels"}, Expect::Fails, "mkdir res"},
  {"TwoContentsOfOneName", "--content {data}/grey.jpg,{d}/grey.png --output-dir {d}", {"grey.jpg", "grey.png", "both be written"},
   Expect::Fails, "cp content.png grey.png"},
  {"OutputDirMissing", "--content {data}/grey.jpg --output-dir {d}/nodir", {"--output-dir", "nodir", "no such directory"}},
  {"OutputDirIsAFile", "--content {data}/grey.jpg --output-dir {d}/out.png", {"--output-dir", "out.png", "not a directory"}},
  {"OutputAndOutputDir", "--output {d}/out.png --output-dir {d}", {"--output", "excludes", "--output-dir"}},
  {"OutputDirWouldOverwriteAContent", "--content {d}/content.png --output-dir {d}", {"--output-dir", "--content", "overwritten"}},
  {"MaskThatFitsOnlyTheFirstContent", "--content {d}/in/c.png,{data}/grey.jpg --output-dir {d} --style-mask {d}/content.png",
   {"--style-mask", "grey.jpg"}, Expect::Fails, "mkdir in && cp content.png in/c.png"},
  {"CheckpointNameTooLongForTheSecondContent", "--save-every 1 --content {data}/grey.jpg,{d}/in/" + kLongName + ".png --output-dir {d}",
   {"_99999", "characters"}, Expect::Fails, "mkdir in && cp content.png in/" + kLongName + ".png"},
  {"ContentsIntoAnOutputDir", "--content {d}/content.png,{data}/grey.jpg --output-dir {d}/res", {"[2/2] wrote"},
   Expect::Succeeds, "mkdir res", "{d}/style.png", "", 0, {"res/grey.png"}},
  {"OneContentIntoAnOutputDir", "--content {data}/grey.jpg --output-dir {d}", {"wrote {d}/grey.png"},
   Expect::Succeeds, "", "{d}/style.png", "", 0, {"grey.png"}},

  // --- numeric faults ------------------------------------------------------------------------------
  {"AdamThatDivergesOnItsLastStep", "--optimizer adam --learning-rate 1e30 --iterations 1", {"not finite after 1 steps", "learning rate"}},
  {"LossWeightsThatOverflowAtTheStart", "--style-weight 3e38", {"not finite at the start image"}},
  {"AnImageTooLargeForTheMemory", "--image-size 6000 --scales 6000", {"cannot allocate", "--image-size"},
   Expect::Fails, "", "{d}/style.png", "ulimit -v 4000000; {cmd}", 0, {}, false, true},

  // --- file-system faults ----------------------------------------------------------------------------
  // RLIMIT_FSIZE stands in for a full disk where no tmpfs can be mounted: the write fails with EFBIG.
  {"OutputOnAFullDisk", "", {"out.png", "cannot write"}, Expect::Fails, "", "{d}/style.png",
   "trap '' XFSZ; ulimit -f 1; {cmd}"},
  {"CheckpointOnAFullDisk", "--save-every 1 --iterations 3", {"out_00001.png", "cannot write"}, Expect::Fails, "", "{d}/style.png",
   "trap '' XFSZ; ulimit -f 1; {cmd}"},
  {"OutputOnAFullTmpfs", "--output {d}/full/out.png", {"full/out.png", "cannot write"}, Expect::Fails,
   "mkdir full && mount -t tmpfs -o size=16k tmpfs full && cp out.png full/out.png && "
   "(dd if=/dev/zero of=full/fill bs=1k count=64 2>/dev/null; true)", "{d}/style.png", "", 0, {}, true},

  // --- signals ----------------------------------------------------------------------------------------
  {"SigintWritesTheCurrentImage", "--iterations 1000000", {"interrupted by SIGINT", "wrote the current image"},
   Expect::Interrupted, "", "{d}/style.png", "{cmd} & p=$!; sleep 2; kill -INT $p; wait $p", 130},
  {"SigtermWritesTheCurrentImage", "--iterations 1000000", {"interrupted by SIGTERM"},
   Expect::Interrupted, "", "{d}/style.png", "{cmd} & p=$!; sleep 2; kill -TERM $p; wait $p", 143},
  {"SighupWritesTheCurrentImage", "--iterations 1000000", {"interrupted by SIGHUP"},
   Expect::Interrupted, "", "{d}/style.png", "{cmd} & p=$!; sleep 2; kill -HUP $p; wait $p", 129},
  {"SigintWithALogKeepsTheLog", "--iterations 1000000 --log-json {d}/log.jsonl", {"interrupted by SIGINT"},
   Expect::Interrupted, "", "{d}/style.png", "{cmd} & p=$!; sleep 2; kill -INT $p; wait $p", 130, {"log.jsonl"}},

  // --- sensible inputs that must keep working ------------------------------------------------------------
  {"ProgressiveJpegContent", "--content {data}/progressive.jpg", {"wrote"}, Expect::Succeeds},
  {"CmykJpegStyle", "", {"wrote"}, Expect::Succeeds, "", "{data}/cmyk.jpg"},
  {"GreyJpegContent", "--content {data}/grey.jpg", {"wrote"}, Expect::Succeeds},
  {"StyleNamedWithAComma", "", {"wrote"}, Expect::Succeeds, "cp style.png 'sty,le.png'", "'{d}/sty,le.png'"},
  {"StylesAsAList", "", {"wrote"}, Expect::Succeeds, "cp style.png style2.png", "{d}/style.png,{d}/style2.png"},
  {"StyleFlagRepeated", "--style {d}/style2.png", {"wrote"}, Expect::Succeeds, "cp style.png style2.png"},
  {"UnicodePaths", "--content '{d}/inhalt ü.png' --output '{d}/aus é.png'", {"wrote"}, Expect::Succeeds,
   "cp content.png 'inhalt ü.png' && cp style.png 'stíl ✓.png'", "'{d}/stíl ✓.png'", "", 0, {"aus é.png"}},
  {"JpegOutput", "--output {d}/out.jpg", {"wrote"}, Expect::Succeeds, "", "{d}/style.png", "", 0, {"out.jpg"}},
  {"LongestOutputName", "--output {d}/" + kLongName + ".png", {"wrote"}, Expect::Succeeds, "", "{d}/style.png", "", 0,
   {kLongName + ".png"}},
  {"LogToDevNull", "--log-json /dev/null", {"wrote"}, Expect::Succeeds},
  {"OutputOverwritesThePreviousOne", "", {"wrote"}, Expect::Succeeds},
};
// clang-format on

class BadInput : public ::testing::TestWithParam<Row> {
 protected:
  static void SetUpTestSuite() {
    suite_ = fs::temp_directory_path() / ("nst_bad_input_" + std::to_string(::getpid()));
    fs::create_directories(suite_);
    // A VGG16 with 1/16 of the channels: a real file of the wrong widths.
    const std::string make = std::string(NST_WEIGHTS_CLI) + " make-random --out " + (suite_ / "narrow.h5").string() +
                             " --seed 3 --width-divisor 16 > /dev/null";
    ASSERT_EQ(std::system(make.c_str()), 0);
  }
  static void TearDownTestSuite() { fs::remove_all(suite_); }

  void SetUp() override {
    dir_ = suite_ / GetParam().name;
    fs::create_directories(dir_);
    nst::save_image((dir_ / "content.png").string(), nst::noise_image(40, 30, 1));
    nst::save_image((dir_ / "style.png").string(), nst::noise_image(24, 24, 2));
    nst::save_image((dir_ / "out.png").string(), nst::noise_image(8, 8, 99));
  }
  void TearDown() override {
    if (fs::exists(dir_ / "full")) std::system(("umount " + (dir_ / "full").string() + " 2>/dev/null").c_str());
    fs::remove_all(dir_);
  }

  std::string expand(const std::string& s) const {
    return replace_all(replace_all(replace_all(s, "{d}", dir_.string()), "{suite}", suite_.string()), "{data}",
                       std::string(NST_SOURCE_DIR) + "/tests/data/images");
  }

  static fs::path suite_;
  fs::path dir_;
};

fs::path BadInput::suite_;

bool under_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}

TEST_P(BadInput, FailsCleanlyOrWorks) {
  const Row& row = GetParam();
  if (row.not_under_asan && under_address_sanitizer()) GTEST_SKIP() << "address-space limit under ASan";
  if (!row.setup.empty()) {
    const int rc = std::system(("cd '" + dir_.string() + "' && " + expand(row.setup)).c_str());
    if (rc != 0 && row.needs_mount) GTEST_SKIP() << "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)";
    ASSERT_EQ(rc, 0) << row.setup;
  }
  const fs::path out = row.needs_mount ? dir_ / "full" / "out.png" : dir_ / "out.png";
  const std::string before = read_file(out);
  const std::set<std::string> files_before = listing(dir_);

  // A row that gives --content gives every content image (the flag adds to
  // a list), and one that gives --output-dir gives no --output.
  const bool own_content = row.args.find("--content ") != std::string::npos;
  const bool own_output = row.args.find("--output-dir") != std::string::npos;
  const std::string base = std::string(NST_CLI) + (own_content ? "" : " --content {d}/content.png") + " --style " +
                           row.style + (own_output ? "" : " --output {d}/out.png") +
                           " --weights random:1 --image-size 32 --iterations 2 --print-every 0 ";
  std::string cmd = expand(base + row.args);
  if (!row.wrap.empty()) cmd = replace_all(row.wrap, "{cmd}", cmd);
  const nst::testing::CommandResult r = nst::testing::run_command("cd '" + dir_.string() + "' && { " + cmd + "; }");

  for (const std::string& name : row.names) {
    EXPECT_NE(r.output.find(expand(name)), std::string::npos) << "the message should name '" << name << "':\n"
                                                              << r.output;
  }
  std::set<std::string> allowed = files_before;
  for (const std::string& f : row.creates) allowed.insert(f);
  const std::set<std::string> files_after = listing(dir_);
  for (const std::string& f : files_after) {
    EXPECT_TRUE(allowed.count(f)) << "left behind: " << f << "\n" << r.output;
  }
  switch (row.expect) {
    case Expect::Fails:
      EXPECT_NE(r.code, 0) << r.output;
      EXPECT_EQ(r.output.find(" wrote "), std::string::npos) << r.output;  // "nst: wrote", "nst: [1/2] wrote"
      EXPECT_TRUE(read_file(out) == before) << "the previous output must stay as it was\n" << r.output;
      EXPECT_EQ(r.output.rfind("\n", 0), std::string::npos) << "no blank line before the message:\n" << r.output;
      break;
    case Expect::Succeeds:
    case Expect::Interrupted: {
      EXPECT_EQ(r.code, row.expect == Expect::Succeeds ? 0 : row.code) << r.output;
      const fs::path written = row.creates.empty() || row.expect == Expect::Interrupted
                                   ? out
                                   : dir_ / row.creates.front();
      ASSERT_TRUE(fs::exists(written)) << r.output;
      const nst::Image img = nst::load_image(written.string());
      EXPECT_EQ(std::max(img.width, img.height), 32) << "the output has the requested size";
      break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, BadInput, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

TEST(BadInputTable, HasAtLeastSixtyRows) { EXPECT_GE(kRows.size(), 60u); }

}  // namespace
