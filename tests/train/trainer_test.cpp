// Training end to end on small generated data: the run folder's files, reproducibility from a
// seed (for one and two threads), agreement of `heed eval` / `heed predict` with the library,
// and resuming from a checkpoint exactly where a straight run would be.
#include "train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/synthetic_data.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "core/lowp.h"
#include "data/dataset_loader.h"
#include "model/scorer.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("train");
    files_ = new testing::SyntheticFiles(testing::write_synthetic_data(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete files_;
    delete dir_;
  }

  static Config config(const std::vector<std::string>& overrides = {}) {
    return load_config(files_->config, overrides);
  }

  // Trains into a fresh run folder named `run` and returns metrics.json as read back from disk.
  static Json run(const std::string& name, const std::vector<std::string>& overrides = {},
                  bool resume = false) {
    TrainOptions options;
    options.run_dir = dir_->path() / name;
    options.resume = resume;
    train(config(overrides), options);
    return Json::parse(testing::read_file(options.run_dir / "metrics.json"));
  }

  // metrics.json without what depends on the clock.
  static Json without_timings(Json metrics) {
    for (auto& entry : metrics["history"]) {
      entry.erase("seconds");
      entry.erase("samples_per_second");
    }
    return metrics;
  }

  static testing::TempDir* dir_;
  static testing::SyntheticFiles* files_;
};

testing::TempDir* TrainerTest::dir_ = nullptr;
testing::SyntheticFiles* TrainerTest::files_ = nullptr;

TEST_F(TrainerTest, WritesTheRunFolder) {
  const Json m = run("basic");
  const fs::path folder = dir_->path() / "basic";
  EXPECT_TRUE(fs::exists(folder / "model"));
  EXPECT_TRUE(fs::exists(folder / "checkpoint"));
  EXPECT_TRUE(fs::exists(folder / "config.toml"));
  // metrics.json: test metrics of the kept model and the per-epoch history.
  ASSERT_TRUE(m.contains("test"));
  const Json& test = m["test"];
  EXPECT_GT(test["auc"].get<double>(), 0.7) << "the planted signal is learned";
  EXPECT_LE(test["auc"].get<double>(), 1.0);
  EXPECT_GT(test["gauc"].get<double>(), 0.5);
  EXPECT_GT(test["logloss"].get<double>(), 0.0);
  EXPECT_LT(test["logloss"].get<double>(), 0.69);
  EXPECT_EQ(test["rows"], 1000);
  ASSERT_TRUE(m.contains("valid"));
  EXPECT_GT(m["valid"]["rows"].get<int>(), 400);  // 20% of 3000 by hash
  EXPECT_LT(m["valid"]["rows"].get<int>(), 800);
  EXPECT_EQ(m["train_rows"].get<int>() + m["valid"]["rows"].get<int>(), 3000);
  ASSERT_TRUE(m["history"].is_array());
  EXPECT_EQ(m["history"].size(), 3u);
  EXPECT_EQ(m["epochs_run"], 3);
  for (std::size_t e = 0; e < m["history"].size(); ++e) {
    const Json& entry = m["history"][e];
    EXPECT_EQ(entry["epoch"], e + 1);
    EXPECT_TRUE(entry.contains("train_logloss"));
    EXPECT_TRUE(entry["valid"].contains("auc"));
  }
  // The kept epoch is the best validation AUC in the history.
  double best = -1;
  int best_epoch = 0;
  for (const Json& entry : m["history"])
    if (entry["valid"]["auc"].get<double>() > best)
      best = entry["valid"]["auc"], best_epoch = entry["epoch"];
  EXPECT_EQ(m["best_epoch"], best_epoch);
  // config.toml is the resolved config.
  EXPECT_EQ(testing::read_file(folder / "config.toml"), to_toml(config()));
}


TEST_F(TrainerTest, AValidationSetOfOneLabelStopsOnLoglossInstead) {
  // Only the test file's non-clicks: AUC is undefined every epoch, and keeping the first epoch
  // because no NaN beats another would keep a model that later epochs improve on.
  std::istringstream test(testing::read_file(files_->test));
  std::string line, negatives;
  while (std::getline(test, line))
    if (negatives.empty() || line.rfind("0\t", 0) == 0) negatives += line + "\n";
  const fs::path valid = dir_->path() / "negatives.tsv";
  testing::write_file(valid, negatives);
  const Json m = run("one-label", {"data.valid=" + valid.string(), "train.epochs=4", "train.patience=1"});
  ASSERT_FALSE(m["history"].empty());
  double best = 1e9;
  int best_epoch = 0;
  for (const Json& entry : m["history"]) {
    EXPECT_EQ(entry["early_stop_metric"], "logloss");
    if (entry["valid"]["logloss"].get<double>() < best)
      best = entry["valid"]["logloss"], best_epoch = entry["epoch"];
  }
  EXPECT_EQ(m["best_epoch"], best_epoch);
}

TEST_F(TrainerTest, AnUntrustworthyValidationSetIsReportedInMetricsJson) {
  // The one-label set above: no positives at all, so its AUC cannot guide early stopping.
  std::istringstream test(testing::read_file(files_->test));
  std::string line, negatives;
  while (std::getline(test, line))
    if (negatives.empty() || line.rfind("0\t", 0) == 0) negatives += line + "\n";
  const fs::path valid = dir_->path() / "negatives_only.tsv";
  testing::write_file(valid, negatives);
  const Json m = run("untrusted-valid", {"data.valid=" + valid.string(), "train.epochs=1"});
  ASSERT_TRUE(m.contains("warnings"));
  // No positives, hence also no user with both labels for gAUC.
  ASSERT_EQ(m["warnings"].size(), 2u);
  EXPECT_THAT(m["warnings"][0].get<std::string>(), HasSubstr("validation holds 0 positive"));
  EXPECT_THAT(m["warnings"][1].get<std::string>(), HasSubstr("only 0 validation users have both labels"));
  // 600 carved rows with both labels raise nothing (gAUC's user count is left out: 150 users
  // with four validation rows each sit near its threshold).
  const Json trusted = run("trusted-valid", {"train.epochs=1", "eval.group="});
  EXPECT_FALSE(trusted.contains("warnings")) << trusted.dump(1);
}
TEST_F(TrainerTest, SameSeedSameNumbersOneThread) {
  const Json a = run("seed_a1"), b = run("seed_b1");
  EXPECT_EQ(a["test"], b["test"]);
  EXPECT_EQ(without_timings(a), without_timings(b));
}

TEST_F(TrainerTest, SameSeedSameNumbersTwoThreads) {
  const Json a = run("seed_a2", {"train.threads=2"}), b = run("seed_b2", {"train.threads=2"});
  EXPECT_EQ(a["threads"], 2);
  EXPECT_EQ(a["test"], b["test"]);
  EXPECT_EQ(without_timings(a), without_timings(b));
}

TEST_F(TrainerTest, AnotherSeedOtherNumbers) {
  const Json a = run("seed_1"), b = run("seed_2", {"train.seed=2"});
  EXPECT_NE(a["test"]["auc"], b["test"]["auc"]);
  EXPECT_NE(a["test"]["logloss"], b["test"]["logloss"]);
}

TEST_F(TrainerTest, ResumeEqualsAStraightRun) {
  const Json straight = run("straight", {"train.epochs=4"});
  run("resumed", {"train.epochs=2"});
  const Json resumed = run("resumed", {"train.epochs=4"}, /*resume=*/true);
  EXPECT_EQ(resumed["epochs_run"], 4);
  EXPECT_EQ(resumed["test"], straight["test"]);
  EXPECT_EQ(resumed["valid"], straight["valid"]);
  EXPECT_EQ(resumed["best_epoch"], straight["best_epoch"]);
  EXPECT_EQ(without_timings(resumed)["history"], without_timings(straight)["history"]);
  // The kept models hold the same weights, bit for bit.
  const Checkpoint a = load_checkpoint(dir_->path() / "resumed" / "model");
  const Checkpoint b = load_checkpoint(dir_->path() / "straight" / "model");
  ASSERT_EQ(a.model->params().size(), b.model->params().size());
  for (std::size_t i = 0; i < a.model->params().size(); ++i)
    EXPECT_TRUE(a.model->params()[i] == b.model->params()[i]) << a.model->params().param(i).name;
  ASSERT_EQ(a.model->tables().size(), b.model->tables().size());
  for (std::size_t t = 0; t < a.model->tables().size(); ++t) {
    const EmbeddingTable &ta = a.model->tables()[t], &tb = b.model->tables()[t];
    ASSERT_EQ(ta.rows(), tb.rows());
    EXPECT_TRUE(std::equal(ta.row(0), ta.row(0) + ta.rows() * ta.dim(), tb.row(0))) << ta.name();
  }
}

// The per-batch hook hears every step in order; stopping there leaves a checkpoint that
// --resume continues exactly where a straight run would be.
TEST_F(TrainerTest, ABatchCallbackHearsEveryStepAndCanStopForAResume) {
  const Json straight = run("hook_straight", {"train.epochs=2"});
  std::vector<TrainingUpdate> heard;
  TrainOptions options;
  options.run_dir = dir_->path() / "hook_stopped";
  options.on_update = [&](const TrainingUpdate& update) {
    if (update.epoch_end) return true;  // an epoch's end: heard in TrainHooksTest
    heard.push_back(update);
    return heard.size() < 25;
  };
  EXPECT_THAT(HEED_ERROR_MESSAGE(train(config({"train.epochs=2"}), options), TrainingStopped),
              HasSubstr("training stopped at step 25 (epoch 2"));
  EXPECT_FALSE(fs::exists(options.run_dir / "metrics.json"));
  ASSERT_EQ(heard.size(), 25u);
  const std::size_t rows = straight["train_rows"].get<std::size_t>();
  const std::size_t steps_per_epoch = (rows + 127) / 128;
  ASSERT_LT(steps_per_epoch, 25u);  // the stop falls inside the second epoch
  for (std::size_t i = 0; i < heard.size(); ++i) {
    const TrainingUpdate& d = heard[i];
    EXPECT_EQ(d.epochs, 2);
    EXPECT_EQ(d.step, static_cast<std::int64_t>(i + 1));
    const bool first_epoch = i < steps_per_epoch;
    EXPECT_EQ(d.epoch, first_epoch ? 1 : 2);
    const std::size_t step_in_epoch = first_epoch ? i + 1 : i + 1 - steps_per_epoch;
    EXPECT_EQ(d.rows_done, std::min(rows, step_in_epoch * 128));
    EXPECT_EQ(d.rows_per_epoch, rows);
    EXPECT_GT(d.train_logloss, 0.0);
  }
  const Checkpoint cp = load_checkpoint(options.run_dir / "checkpoint");
  EXPECT_EQ((*cp.trainer)["step"], 25);

  const Json resumed = run("hook_stopped", {"train.epochs=2"}, /*resume=*/true);
  EXPECT_EQ(resumed["test"], straight["test"]);
  EXPECT_EQ(resumed["valid"], straight["valid"]);
  EXPECT_EQ(without_timings(resumed)["history"], without_timings(straight)["history"]);
}

TEST_F(TrainerTest, ResumeWithoutValidationEqualsAStraightRun) {
  const std::vector<std::string> keys = {"train.early_stop_metric=none", "train.threads=2"};
  auto with = [&](std::string extra) {
    auto all = keys;
    all.push_back(std::move(extra));
    return all;
  };
  const Json straight = run("straight_none", with("train.epochs=3"));
  run("resumed_none", with("train.epochs=1"));
  const Json resumed = run("resumed_none", with("train.epochs=3"), true);
  EXPECT_EQ(resumed["test"], straight["test"]);
  EXPECT_EQ(resumed["best_epoch"], 3);
}

TEST_F(TrainerTest, Bf16TrainingIsReproducibleAndDiffersFromFp32) {
  const Json a = run("bf16_a", {"train.threads=2", "train.precision=\"bf16\""});
  const Json b = run("bf16_b", {"train.threads=2", "train.precision=\"bf16\""});
  const Json fp32 = run("bf16_fp32", {"train.threads=2"});
  EXPECT_EQ(without_timings(a), without_timings(b));
  // The products ran in bf16: the numbers move, by little.
  EXPECT_NE(a["test"]["logloss"], fp32["test"]["logloss"]);
  EXPECT_NEAR(a["test"]["auc"].get<double>(), fp32["test"]["auc"].get<double>(), 0.02);
  EXPECT_NEAR(a["test"]["logloss"].get<double>(), fp32["test"]["logloss"].get<double>(), 0.02);
}

TEST_F(TrainerTest, Bf16TrainingOnThePortableKernelsEqualsTheCpusUnits) {
  // The portable code follows vdpbf16ps's arithmetic, so a run does not depend on the CPU.
  const Json native = run("bf16_native", {"train.epochs=1", "train.precision=\"bf16\""});
  Json portable;
  {
    struct Portable {
      Portable() { lowp::force_portable(true); }
      ~Portable() { lowp::force_portable(false); }
    } scope;
    portable = run("bf16_portable", {"train.epochs=1", "train.precision=\"bf16\""});
  }
  if (lowp::isa_for(Precision::kBf16) == lowp::Isa::kPortable) GTEST_SKIP() << "no AVX512-BF16: both runs were portable";
  EXPECT_EQ(without_timings(native), without_timings(portable));
}

TEST_F(TrainerTest, ResumeRefusesAChangedTrainingPrecision) {
  run("refuse_precision", {"train.epochs=1"});
  TrainOptions options;
  options.run_dir = dir_->path() / "refuse_precision";
  options.resume = true;
  const std::string message =
      HEED_ERROR_MESSAGE(train(config({"train.epochs=2", "train.precision=\"bf16\""}), options), Error);
  EXPECT_THAT(message, HasSubstr("[train] ('precision = 'bf16'' vs 'precision = 'fp32'')"));
}

TEST_F(TrainerTest, ResumeRefusesAChangedModel) {
  run("refuse", {"train.epochs=1"});
  TrainOptions options;
  options.run_dir = dir_->path() / "refuse";
  options.resume = true;
  const std::string message =
      HEED_ERROR_MESSAGE(train(config({"train.epochs=2", "model.hidden=[32, 8]"}), options), Error);
  EXPECT_THAT(message, HasSubstr("--resume"));
  EXPECT_THAT(message, HasSubstr("hidden"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(train(config({"train.epochs=2", "train.seed=9"}), options), Error),
              HasSubstr("seed"));
  // Nothing was trained by the refused attempts.
  const Checkpoint cp = load_checkpoint(options.run_dir / "checkpoint");
  EXPECT_EQ((*cp.trainer)["epochs_done"], 1);
}

TEST_F(TrainerTest, ResumeWithoutACheckpointIsAnError) {
  TrainOptions options;
  options.run_dir = dir_->path() / "never_trained";
  options.resume = true;
  EXPECT_THAT(HEED_ERROR_MESSAGE(train(config(), options), Error), HasSubstr("checkpoint"));
}

TEST_F(TrainerTest, MissingDataFileIsNamed) {
  TrainOptions options;
  options.run_dir = dir_->path() / "missing";
  const std::string message =
      HEED_ERROR_MESSAGE(train(config({"data.train=absent.tsv"}), options), Error);
  EXPECT_THAT(message, HasSubstr((dir_->path() / "absent.tsv").string()));
}

TEST_F(TrainerTest, ARunThatFailsBeforeItsFirstStepLeavesNoFolderItMade) {
  TrainOptions options;
  options.run_dir = dir_->path() / "never-started";
  EXPECT_THAT(HEED_ERROR_MESSAGE(train(config({"data.test=absent.tsv"}), options), Error), HasSubstr("absent.tsv"));
  EXPECT_FALSE(fs::exists(options.run_dir));
  // A folder that was there before stays, and so does what it held.
  options.run_dir = dir_->path() / "kept";
  fs::create_directories(options.run_dir);
  testing::write_file(options.run_dir / "notes.txt", "mine");
  EXPECT_THROW(train(config({"data.test=absent.tsv"}), options), Error);
  EXPECT_EQ(testing::read_file(options.run_dir / "notes.txt"), "mine");
}

// --- the CLI agrees with the library ------------------------------------------------------------

std::vector<float> parse_scores(const std::string& text) {
  std::vector<float> scores;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) scores.push_back(std::strtof(line.c_str(), nullptr));
  return scores;
}

TEST_F(TrainerTest, EvalCommandPrintsTheTestMetrics) {
  const Json m = run("cli_eval");  // trained and evaluated on one thread
  const fs::path model = dir_->path() / "cli_eval" / "model";
  for (const char* threads : {"1", "2", "0"}) {
    const auto r =
        testing::run_command(testing::heed_binary() + " eval '" + model.string() + "' --data '" +
                                 files_->test.string() + "' --threads " + threads,
                             dir_->path());
    ASSERT_EQ(r.status, 0) << r.err;
    const Json printed = Json::parse(r.out);
    EXPECT_EQ(printed["auc"], m["test"]["auc"]) << threads << " threads";
    EXPECT_EQ(printed, m["test"]) << threads << " threads";
  }
}

TEST_F(TrainerTest, PredictCommandWritesTheScorersScores) {
  run("cli_predict");
  const fs::path model = dir_->path() / "cli_predict" / "model";
  Checkpoint cp = load_checkpoint(model);
  const Dataset test = load_dataset(files_->test, cp.model->config(), cp.model->schema());
  const std::vector<float> expected = score_dataset(*cp.model, test, 1);

  const fs::path out = dir_->path() / "predictions.txt";
  auto r =
      testing::run_command(testing::heed_binary() + " predict '" + model.string() + "' --data '" +
                               files_->test.string() + "' --threads 1 --out '" + out.string() + "'",
                           dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(parse_scores(testing::read_file(out)), expected);

  // Without the label column, to standard output, on two threads: the same scores.
  r = testing::run_command(testing::heed_binary() + " predict '" + model.string() + "' --data '" +
                               files_->unlabeled.string() + "' --threads 2",
                           dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(parse_scores(r.out), expected);
}

TEST_F(TrainerTest, ScoresDoNotDependOnThreads) {
  // `heed eval` defaults to every core; it must print what training computed on its threads.
  run("threads");
  Checkpoint cp = load_checkpoint(dir_->path() / "threads" / "model");
  const Dataset test = load_dataset(files_->test, cp.model->config(), cp.model->schema());
  const std::vector<float> one = score_dataset(*cp.model, test, 1);
  for (const int threads : {2, 3, 7}) {
    const std::vector<float> many = score_dataset(*cp.model, test, threads);
    ASSERT_EQ(one.size(), many.size());
    for (std::size_t i = 0; i < one.size(); ++i)
      ASSERT_EQ(one[i], many[i]) << threads << " threads, row " << i;
  }
}

}  // namespace
}  // namespace heed
