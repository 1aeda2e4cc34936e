// The heed command line end to end: the MovieLens-100K recipe reaches its expected AUC and
// `heed eval` agrees with training, and user mistakes exit non-zero with a useful message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../support/sanitizer_build.h"
#include "../support/synthetic_data.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kMovieLens = HEED_SOURCE_DIR "/../shared/datasets/ml-100k/original";

std::string quoted(const fs::path& p) {
  std::string s = "'";  // not "'" + ...: GCC 12 warns falsely about it at -O3
  s += p.string();
  s += "'";
  return s;
}

TEST(MovieLensEndToEnd, RecipeReachesItsAucAndEvalAgrees) {
  if (!fs::exists(kMovieLens / "u.data"))
    GTEST_SKIP() << "MovieLens-100K not found at " << kMovieLens
                 << " (put the GroupLens ml-100k folder there to run this test)";
  if (testing::kSanitizerBuild)
    GTEST_SKIP() << "trains 80,000 rows for its AUC check, tens of minutes under sanitizers; the Release "
                    "suite runs it (prepare, train and eval run under sanitizers in smaller tests)";
  testing::TempDir dir("ml100k");
  const std::string heed = testing::heed_binary();
  auto r = testing::run_command(
      heed + " prepare ml-100k --source " + quoted(kMovieLens) + " --out " + quoted(dir / "data"),
      dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(fs::exists(dir / "data" / "train.tsv"));
  ASSERT_TRUE(fs::exists(dir / "data" / "test.tsv"));

  // The example config as shipped, shortened to two epochs on one thread.
  r = testing::run_command(
      heed + " train " + quoted(fs::path(HEED_SOURCE_DIR) / "examples/ml-100k/config.toml") +
          " --set data.dir=" + quoted(dir / "data") +
          " --set train.epochs=2 --set train.threads=1 --set train.progress=none --out " +
          quoted(dir / "run"),
      dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const Json metrics = Json::parse(testing::read_file(dir / "run" / "metrics.json"));
  const double auc = metrics["test"]["auc"].get<double>();
  EXPECT_GE(auc, 0.76);
  EXPECT_EQ(metrics["test"]["rows"], 20000);
  EXPECT_GT(metrics["test"]["gauc"].get<double>(), 0.6) << "eval.group = user_id gives a gAUC";
  // train ends with a summary of the test metrics, the kept epoch and the run's files.
  EXPECT_THAT(r.out, HasSubstr(fmt::format("test   auc {:.4f}  gauc", auc)));
  EXPECT_THAT(r.out, HasSubstr("metrics.json"));

  r = testing::run_command(heed + " eval " + quoted(dir / "run" / "model") + " --data " +
                               quoted(dir / "data" / "test.tsv") + " --threads 1",
                           dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const Json printed = Json::parse(r.out);
  EXPECT_EQ(printed["auc"].get<double>(), auc);
  EXPECT_EQ(printed, metrics["test"]);
}

TEST(PrepareTaobaoCli, BucketMbSetsTheMemoryBudget) {
  testing::TempDir dir("cli_taobao");
  std::string log;
  for (int i = 0; i < 200; ++i) log += fmt::format("{},{},1,pv,{}\n", i % 9, 100 + i % 13, 1511539200 + i * 3000);
  testing::write_file(dir / "UserBehavior.csv", log);
  const std::string command = testing::heed_binary() + " prepare taobao --source " +
                              quoted(dir / "UserBehavior.csv") + " --out " + quoted(dir / "out");
  auto r = testing::run_command(command + " --bucket-mb 3", dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const Json buckets = Json::parse(testing::read_file(dir / "out" / "prepare.json"))["buckets"];
  EXPECT_EQ(buckets["bucket_bytes"], 3 << 20);
  EXPECT_EQ(buckets["count"], 1);
  r = testing::run_command(command + " --bucket-mb 0", dir.path());
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("--bucket-mb"));
}

TEST(PrepareTaobaoCli, OnErrorSkipReportsTheTruncatedLastLine) {
  testing::TempDir dir("cli_taobao_skip");
  std::string log;
  for (int i = 0; i < 200; ++i) log += fmt::format("{},{},1,pv,{}\n", i % 9, 100 + i % 13, 1511539200 + i * 3000);
  log += "3,104,1,pv";  // the truncated last line of a head of the log
  testing::write_file(dir / "UserBehavior.csv", log);
  const std::string command = testing::heed_binary() + " prepare taobao --source " +
                              quoted(dir / "UserBehavior.csv") + " --out " + quoted(dir / "out");
  auto r = testing::run_command(command, dir.path());
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("UserBehavior.csv:201: column 5 (timestamp): expected 5 fields"));
  r = testing::run_command(command + " --on-error skip", dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("skipped 1 of 201 rows (field_count: 1); rejected lines in"));
  EXPECT_THAT(testing::read_file(dir / "out" / "rejected_lines.txt"), HasSubstr("\n3,104,1,pv\n"));
}

TEST(SynthCli, ShopWorldPrintsItsCeilingAndWritesTheNextItemTask) {
  testing::TempDir dir("cli_shop");
  const std::string command = testing::heed_binary() + " synth --world shop --rows 2000 --out " + quoted(dir / "shop");
  auto r = testing::run_command(command, dir.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("the planted probability itself reaches test AUC"));
  EXPECT_EQ(testing::read_file(dir / "shop" / "test.tsv").substr(0, 6), "label\t");
  r = testing::run_command(testing::heed_binary() + " synth --format userbehavior --out " + quoted(dir / "demo"),
                           dir.path());
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("--format applies to --world shop only"));
}

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override { files_ = testing::write_synthetic_data(dir_.path()); }
  testing::CommandResult heed(const std::string& arguments) {
    return testing::run_command(testing::heed_binary() + " " + arguments, dir_.path());
  }
  testing::TempDir dir_{"cli"};
  testing::SyntheticFiles files_;
};

TEST_F(CliErrors, UnknownKeyInTheConfigSuggestsTheRightOne) {
  testing::write_file(dir_ / "typo.toml", "[features.item]\n[train]\nepoch = 2\n");
  const auto r = heed("train " + quoted(dir_ / "typo.toml") + " --out " + quoted(dir_ / "run"));
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("typo.toml:3"));
  EXPECT_THAT(r.err, HasSubstr("did you mean 'train.epochs'"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "model"));
}

TEST_F(CliErrors, UnknownKeyInSetSuggestsTheRightOne) {
  const auto r = heed("train " + quoted(files_.config) +
                      " --set features.genres.poling=mean --out " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("did you mean 'features.genres.pooling'"));
  const auto c = heed("config " + quoted(files_.config) + " --set train.epoch=3");
  EXPECT_EQ(c.status, 1);
  EXPECT_THAT(c.err, HasSubstr("did you mean 'train.epochs'"));
}

TEST_F(CliErrors, MissingDataFileNamesThePath) {
  const auto r = heed("train " + quoted(files_.config) + " --set data.train=nowhere.tsv --out " +
                      quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr((dir_ / "nowhere.tsv").string()));
  EXPECT_THAT(r.err, Not(HasSubstr("internal error")));
  const auto e = heed("eval " + quoted(dir_ / "no_model") + " --data " + quoted(files_.test));
  EXPECT_EQ(e.status, 1);
  EXPECT_THAT(e.err, HasSubstr("no_model"));
}

TEST_F(CliErrors, MissingConfigAndBadArguments) {
  auto r = heed("train " + quoted(dir_ / "absent.toml") + " --out " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("absent.toml"));
  r = heed("train " + quoted(files_.config));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("--out"));
  r = heed("no-such-command");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("'no-such-command' is not a command of heed"));
  EXPECT_THAT(r.err, HasSubstr("train, eval, predict"));
  r = heed("evaluate model --data x.tsv");
  EXPECT_THAT(r.err, HasSubstr("did you mean 'eval'?"));
  r = heed("prepare ml100k --source x");
  EXPECT_THAT(r.err, HasSubstr("'ml100k' is not a command of heed prepare (did you mean 'ml-100k'?)"));
  r = heed("");
  EXPECT_NE(r.status, 0);
}

TEST_F(CliErrors, MalformedRowNamesFileLineAndColumn) {
  testing::write_file(dir_ / "bad.tsv",
                      testing::read_file(files_.test) + "7\tu1\t3\tg1\t\t1.0\t4\n");
  const auto r =
      heed("train " + quoted(files_.config) +
           " --set data.test=bad.tsv --set train.epochs=1 --out " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr((dir_ / "bad.tsv").string() + ":1002: column 1 (label)"));
}

TEST_F(CliErrors, ResumeThroughTheCommandLine) {
  const std::string config = quoted(files_.config);
  ASSERT_EQ(
      heed("train " + config + " --set train.epochs=2 --out " + quoted(dir_ / "straight")).status,
      0);
  ASSERT_EQ(
      heed("train " + config + " --set train.epochs=1 --out " + quoted(dir_ / "resumed")).status,
      0);
  const auto r =
      heed("train " + config + " --set train.epochs=2 --resume " + quoted(dir_ / "resumed"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json straight = Json::parse(testing::read_file(dir_ / "straight" / "metrics.json"));
  const Json resumed = Json::parse(testing::read_file(dir_ / "resumed" / "metrics.json"));
  EXPECT_EQ(resumed["test"], straight["test"]);
  EXPECT_EQ(resumed["epochs_run"], 2);
  // --out and --resume naming different folders is a mistake.
  const auto both = heed("train " + config + " --out " + quoted(dir_ / "a") + " --resume " +
                         quoted(dir_ / "resumed"));
  EXPECT_EQ(both.status, 1);
  EXPECT_THAT(both.err, HasSubstr("different folders"));
}

TEST_F(CliErrors, ConfigCommandPrintsTheResolvedConfig) {
  const auto r = heed("config " + quoted(files_.config) + " --set train.epochs=9");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("epochs = 9"));
  EXPECT_THAT(r.out, HasSubstr("[features.history]"));
  const auto keys = heed("config --keys");
  ASSERT_EQ(keys.status, 0) << keys.err;
  EXPECT_THAT(keys.out, HasSubstr("train.epochs"));
  EXPECT_THAT(keys.out, HasSubstr("features.NAME.pooling"));
}

// --- the first hour of a new user (issue 19) ------------------------------------------------

TEST_F(CliErrors, ResumeAfterEarlyStoppingTrainsOnWhenPatienceIsRaised) {
  const std::string train = "train " + quoted(files_.config) + " --set train.progress=log";
  auto r = heed(train + " --set train.epochs=40 --set train.patience=1 --out " + quoted(dir_ / "run"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json first = Json::parse(testing::read_file(dir_ / "run" / "metrics.json"));
  ASSERT_TRUE(first["stopped_early"].get<bool>()) << "40 epochs with patience 1 should stop early";
  const auto epochs = first["epochs_run"].get<std::int64_t>();
  ASSERT_LT(epochs, 40);
  EXPECT_THAT(r.err, HasSubstr(fmt::format("early stopping after epoch {}", epochs)));
  EXPECT_THAT(r.out, HasSubstr("early stopping ended training"));
  const std::string model = testing::read_file(dir_ / "run" / "model");

  // More epochs alone would train nothing: refused, saying which key to raise.
  r = heed(train + " --set train.epochs=60 --set train.patience=1 --resume " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("raise train.patience above 1"));
  EXPECT_EQ(testing::read_file(dir_ / "run" / "model"), model);

  r = heed(train + " --set train.epochs=60 --set train.patience=4 --resume " + quoted(dir_ / "run"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json second = Json::parse(testing::read_file(dir_ / "run" / "metrics.json"));
  EXPECT_GT(second["epochs_run"].get<std::int64_t>(), epochs) << "the resumed run trained more epochs";
  EXPECT_EQ(second["history"].size(), second["epochs_run"].get<std::size_t>());
}

TEST_F(CliErrors, OutOnAnExistingRunIsRefusedUnlessOverwrite) {
  const std::string train = "train " + quoted(files_.config) + " --set train.epochs=1 --out " + quoted(dir_ / "run");
  ASSERT_EQ(heed(train).status, 0);
  const std::string model = testing::read_file(dir_ / "run" / "model");
  auto r = heed(train + " --set train.seed=9");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("already holds a run"));
  EXPECT_THAT(r.err, HasSubstr("--resume " + (dir_ / "run").string()));
  EXPECT_THAT(r.err, HasSubstr("--overwrite"));
  EXPECT_EQ(testing::read_file(dir_ / "run" / "model"), model) << "the run is untouched";
  r = heed(train + " --set train.seed=9 --overwrite");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(testing::read_file(dir_ / "run" / "model"), model);
}

TEST_F(CliErrors, TrainEndsWithASummaryAndPrintsJsonOnlyWhenAsked) {
  auto r = heed("train " + quoted(files_.config) + " --set train.epochs=2 --out " + quoted(dir_ / "run"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json metrics = Json::parse(testing::read_file(dir_ / "run" / "metrics.json"));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("test   auc {:.4f}  gauc {:.4f}  logloss {:.4f}  (1000 rows)",
                                           metrics["test"]["auc"].get<double>(), metrics["test"]["gauc"].get<double>(),
                                           metrics["test"]["logloss"].get<double>())));
  EXPECT_THAT(r.out, HasSubstr(fmt::format("kept epoch {} of 2", metrics["best_epoch"].get<int>())));
  EXPECT_THAT(r.out, HasSubstr((dir_ / "run").string() + ": model"));
  EXPECT_THAT(r.out, Not(HasSubstr("{")));
  EXPECT_LE(std::count(r.out.begin(), r.out.end(), '\n'), 6);

  r = heed("train " + quoted(files_.config) + " --set train.epochs=2 --json --out " + quoted(dir_ / "json"));
  ASSERT_EQ(r.status, 0) << r.err;
  Json printed = Json::parse(r.out), written = Json::parse(testing::read_file(dir_ / "json" / "metrics.json"));
  EXPECT_EQ(printed, written);
}

TEST_F(CliErrors, NoGaucWithoutEvalGroup) {
  const auto r = heed("train " + quoted(files_.config) +
                      " --set eval.group= --set train.epochs=2 --set train.progress=log --out " + quoted(dir_ / "run"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("valid auc"));
  EXPECT_THAT(r.err, Not(HasSubstr("gauc")));
  EXPECT_THAT(r.out, Not(HasSubstr("gauc")));
}

TEST_F(CliErrors, CsvReadAsTsvSaysWhichFormatToSet) {
  std::string text = testing::read_file(files_.train);
  std::replace(text.begin(), text.end(), '\t', ',');
  testing::write_file(dir_ / "train.csv", text);
  const auto r = heed("train " + quoted(files_.config) + " --set data.train=train.csv --out " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("train.csv"));
  EXPECT_THAT(r.err, HasSubstr("this looks comma-separated: set data.format = \"csv\""));
}

TEST_F(CliErrors, PredictNeedsTheModelsFeaturesOnly) {
  // A slice column that only evaluation reads: training files have it, rows to score do not.
  for (const fs::path& file : {files_.train, files_.test}) {
    std::string text, line;
    std::istringstream in(testing::read_file(file));
    for (bool header = true; std::getline(in, line); header = false) text += line + (header ? "\tsegment\n" : "\ts1\n");
    testing::write_file(file, text);
  }
  ASSERT_EQ(heed("train " + quoted(files_.config) + " --set eval.slice=segment --set train.epochs=1 --out " +
                 quoted(dir_ / "run"))
                .status,
            0);
  const auto r = heed("predict " + quoted(dir_ / "run" / "model") + " --data " + quoted(files_.unlabeled));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1000);
}

TEST_F(CliErrors, PredictAndEvalTakeAPrecisionAndTheFallbackKernels) {
  ASSERT_EQ(heed("train " + quoted(files_.config) + " --set train.epochs=1 --out " + quoted(dir_ / "run")).status, 0);
  const std::string predict = "predict " + quoted(dir_ / "run" / "model") + " --data " + quoted(files_.unlabeled);
  const auto fp32 = heed(predict);
  ASSERT_EQ(fp32.status, 0) << fp32.err;
  EXPECT_EQ(heed(predict + " --precision fp32").out, fp32.out);
  for (const char* precision : {"bf16", "int8"}) {
    const auto native = heed(predict + " --precision " + precision);
    ASSERT_EQ(native.status, 0) << native.err;
    EXPECT_NE(native.out, fp32.out) << precision;
    // The portable kernels, as on a CPU without AVX512-BF16/VNNI: the same scores to the
    // sigmoid's rounding.
    const auto portable = testing::run_command("HEED_LOWP_ISA=portable " + testing::heed_binary() + " " + predict +
                                                   " --precision " + precision,
                                               dir_.path());
    ASSERT_EQ(portable.status, 0) << portable.err;
    std::istringstream a(native.out), b(portable.out);
    std::size_t rows = 0;
    for (float x = 0, y = 0; a >> x && b >> y; ++rows) EXPECT_NEAR(x, y, 1e-5) << precision << " row " << rows;
    EXPECT_EQ(rows, 1000u);
  }
  const auto bad = heed(predict + " --precision fp16");
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.err, HasSubstr("--precision: 'fp16' is not a precision; choose fp32, bf16 or int8"));
  const auto bad_isa = testing::run_command(
      "HEED_LOWP_ISA=avx " + testing::heed_binary() + " " + predict + " --precision bf16", dir_.path());
  EXPECT_EQ(bad_isa.status, 1);
  EXPECT_THAT(bad_isa.err, HasSubstr("HEED_LOWP_ISA must be 'portable' or 'native', got 'avx'"));
  const auto eval = heed("eval " + quoted(dir_ / "run" / "model") + " --data " + quoted(files_.test) + " --precision int8");
  EXPECT_EQ(eval.status, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("\"auc\""));
}

TEST_F(CliErrors, PrepareFrappeWithoutTrainSaysWhatToDo) {
  fs::create_directories(dir_ / "frappe");
  const std::string line = "1 0:1 957:1 5039:1 5046:1 5053:1 5055:1 5058:1 5060:1 5069:1 5149:1\n";
  testing::write_file(dir_ / "frappe" / "frappe.validation.libfm", line + line);
  testing::write_file(dir_ / "frappe" / "frappe.test.libfm", line);
  const auto r = heed("prepare frappe --source " + quoted(dir_ / "frappe") + " --out " + quoted(dir_ / "data"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote 2 valid and 1 test rows"));
  EXPECT_THAT(r.out, Not(HasSubstr("0 train")));
  EXPECT_THAT(r.out, HasSubstr("no train.tsv"));
  EXPECT_THAT(r.out, HasSubstr("--set data.train=valid.tsv --set data.valid="));
}

TEST_F(CliErrors, VersionAndExactDefaults) {
  auto r = heed("--version");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::string("heed ") + HEED_VERSION + "\n");
  r = heed("config --keys");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("default 0.1 "));
  EXPECT_THAT(r.out, Not(HasSubstr("0000000")));
  EXPECT_THAT(r.out, Not(HasSubstr("9999999")));
  r = heed("config " + quoted(files_.config));
  EXPECT_THAT(r.out, HasSubstr("valid_fraction = 0.2\n"));
  EXPECT_THAT(r.out, HasSubstr("hidden = [ 16, 8 ]\n"));
}

TEST_F(CliErrors, Utf16AndBinaryFilesAreNotUtf8Text) {
  std::string utf16 = "\xff\xfe";
  for (char c : testing::read_file(files_.train)) utf16 += std::string{c, '\0'};
  testing::write_file(dir_ / "utf16.tsv", utf16);
  auto r = heed("train " + quoted(files_.config) + " --set data.train=utf16.tsv --out " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr((dir_ / "utf16.tsv").string() + ":1"));
  EXPECT_THAT(r.err, HasSubstr("not UTF-8 text"));
  EXPECT_THAT(r.err, Not(HasSubstr(std::string(1, '\0'))));
  // No byte-order mark: UTF-16 text is ASCII bytes and NULs.
  testing::write_file(dir_ / "utf16.tsv", utf16.substr(2));
  r = heed("train " + quoted(files_.config) + " --set data.train=utf16.tsv --out " + quoted(dir_ / "run"));
  EXPECT_THAT(r.err, HasSubstr("not UTF-8 text: a NUL byte"));
  testing::write_file(dir_ / "binary.tsv", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xd8", 18));
  r = heed("train " + quoted(files_.config) + " --set data.train=binary.tsv --out " + quoted(dir_ / "run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr((dir_ / "binary.tsv").string() + ":1"));
  EXPECT_THAT(r.err, HasSubstr("not UTF-8 text"));
}

TEST_F(CliErrors, DownloadOfflineSaysTheNetworkIsUnreachableAndLeavesNoPartFile) {
  const auto r = testing::run_command("https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 " +
                                          testing::heed_binary() + " download frappe --out " + quoted(dir_ / "dl"),
                                      dir_.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("the network is unreachable"));
  EXPECT_THAT(r.err, HasSubstr("nothing was saved"));
  EXPECT_THAT(r.err, Not(HasSubstr("run again to resume")));
  std::error_code none;
  for (auto it = fs::recursive_directory_iterator(dir_ / "dl", none); it != fs::recursive_directory_iterator(); ++it)
    EXPECT_NE(it->path().extension(), ".part") << it->path();
}

}  // namespace
}  // namespace heed
