// The `nst-score` command end to end on tiny images with a random VGG16
// (widths / 8) written by `nst-weights make-random`: the JSON and text
// output, and exit status 1 (bad input) or 2 (bad flags) naming the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "nst/image.hpp"
#include "tests/run_command.hpp"

namespace fs = std::filesystem;

namespace {

using Result = nst::testing::CommandResult;

class ScoreCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nst_score_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    nst::save_image(p("content.png"), nst::noise_image(48, 40, 1));
    nst::save_image(p("style.png"), nst::noise_image(40, 40, 2));
    nst::save_image(p("out.png"), nst::noise_image(48, 40, 3));
    const Result made = nst::testing::run_command(std::string(NST_WEIGHTS_CLI) + " make-random --out " + p("w.h5") +
                                                  " --seed 5 --width-divisor 8");
    ASSERT_EQ(made.code, 0) << made.output;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  std::string args(const std::string& output = "out.png") const {
    return "--output " + p(output) + " --content " + p("content.png") + " --style " + p("style.png") +
           " --weights " + p("w.h5") + " --device cpu";
  }
  Result run(const std::string& a) const { return nst::testing::run_command(std::string(NST_SCORE_CLI) + " " + a); }
  void expect_failure_naming(const Result& r, int code, const std::string& what) const {
    EXPECT_EQ(r.code, code) << r.output;
    EXPECT_NE(r.output.find(what), std::string::npos) << "message should name '" << what << "':\n" << r.output;
  }

  fs::path dir_;
};

TEST_F(ScoreCliTest, JsonHasTheFourScores) {
  const Result r = run(args() + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  for (const char* key : {"style_ratio", "edge_correlation", "style_loss_output", "style_loss_content"}) {
    ASSERT_TRUE(j.contains(key) && j[key].is_number()) << key << " in " << r.output;
  }
  EXPECT_GT(j["style_loss_output"].get<double>(), 0);
  EXPECT_NEAR(j["style_ratio"].get<double>(),
              j["style_loss_output"].get<double>() / j["style_loss_content"].get<double>(), 1e-12);
  EXPECT_LT(std::fabs(j["edge_correlation"].get<double>()), 0.5) << "independent noise images";
}

TEST_F(ScoreCliTest, TheContentItselfScoresOne) {
  const Result r = run(args("content.png") + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_NEAR(j["style_ratio"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(j["edge_correlation"].get<double>(), 1.0, 1e-12);
}

TEST_F(ScoreCliTest, TextOutputIsOneLineWithBothNumbers) {
  const Result r = run(args());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("style ratio ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("  edge correlation "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(style loss output "), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST_F(ScoreCliTest, MissingImageExitsOneNamingThePath) {
  expect_failure_naming(run(args("missing.png")), 1, p("missing.png"));
}

TEST_F(ScoreCliTest, MissingWeightsExitOneNamingThePath) {
  expect_failure_naming(run(args() + " --weights " + p("nowhere.h5")), 1, p("nowhere.h5"));
}

TEST_F(ScoreCliTest, BlendWeightCountMustMatchStyles) {
  expect_failure_naming(run(args() + " --style-blend-weights 1,2"), 1, "--style-blend-weights");
}

TEST_F(ScoreCliTest, BadFlagsExitTwo) {
  expect_failure_naming(run(args() + " --frobnicate 3"), 2, "--frobnicate");
  expect_failure_naming(run("--output " + p("out.png")), 2, "--content");
}

TEST_F(ScoreCliTest, HelpDefinesBothNumbers) {
  const Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* what : {"style ratio", "edge correlation", "Gram", "Sobel", "Pearson", "--json"}) {
    EXPECT_NE(r.output.find(what), std::string::npos) << what;
  }
}

}  // namespace
