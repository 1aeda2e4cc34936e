// The run folder's checkpoints: the last K are kept under known names, and a newest checkpoint
// that is refused on load costs only the steps since the one before it (the resumed run still
// ends exactly where an uninterrupted one does).
#include "train/checkpoint_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../support/synthetic_data.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "train/trainer.h"

namespace heed {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

class CheckpointFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("checkpoint_files");
    files_ = new testing::SyntheticFiles(testing::write_synthetic_data(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete files_;
    delete dir_;
  }

  static void run(const fs::path& run_dir, const std::vector<std::string>& extra, bool resume = false) {
    std::vector<std::string> overrides{"train.checkpoint_steps=5", "train.keep_checkpoints=3", "train.threads=2"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    TrainOptions options;
    options.run_dir = run_dir;
    options.resume = resume;
    train(load_config(files_->config, overrides), options);
  }

  static Json metrics_without_timings(const fs::path& run_dir) {
    Json m = Json::parse(testing::read_file(run_dir / "metrics.json"));
    for (auto& entry : m["history"]) {
      entry.erase("seconds");
      entry.erase("samples_per_second");
    }
    return m;
  }

  static testing::TempDir* dir_;
  static testing::SyntheticFiles* files_;
};

testing::TempDir* CheckpointFilesTest::dir_ = nullptr;
testing::SyntheticFiles* CheckpointFilesTest::files_ = nullptr;

TEST_F(CheckpointFilesTest, KeepsTheLastK) {
  const fs::path run_dir = dir_->path() / "keep";
  run(run_dir, {"train.epochs=2"});
  const auto present = CheckpointFiles(run_dir, 3).present();
  ASSERT_EQ(present.size(), 3u);
  EXPECT_EQ(present[0].filename(), "checkpoint");
  std::int64_t previous = std::numeric_limits<std::int64_t>::max();
  for (const fs::path& path : present) {
    const Checkpoint cp = load_checkpoint(path);
    const auto step = (*cp.trainer)["step"].get<std::int64_t>();
    EXPECT_LT(step, previous) << "newest first";
    if (path != present[0]) {
      EXPECT_EQ(path.filename().string(), "checkpoint.step-" + std::to_string(step));
      EXPECT_FALSE((*cp.trainer)["epoch_in_progress"].is_null()) << "a checkpoint from inside an epoch";
    }
    previous = step;
  }
  // The newest is the end of the last epoch.
  EXPECT_EQ((*load_checkpoint(present[0]).trainer)["epochs_done"], 2);
}

TEST_F(CheckpointFilesTest, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  const fs::path straight = dir_->path() / "straight", broken = dir_->path() / "broken";
  run(straight, {"train.epochs=2"});
  run(broken, {"train.epochs=1"});
  const fs::path newest = broken / "checkpoint";
  std::string bytes = testing::read_file(newest);
  bytes[bytes.size() - 3] ^= 0x10;  // inside the last section's payload
  testing::write_file(newest, bytes);

  run(broken, {"train.epochs=2"}, /*resume=*/true);
  EXPECT_TRUE(fs::exists(broken / "checkpoint.refused")) << "the refused file is kept aside";
  EXPECT_EQ(metrics_without_timings(broken).dump(), metrics_without_timings(straight).dump());
}

TEST_F(CheckpointFilesTest, NoLoadableCheckpointNamesEveryReason) {
  const fs::path run_dir = dir_->path() / "all_bad";
  fs::create_directories(run_dir);
  testing::write_file(run_dir / "checkpoint", "HEEDMODL");
  testing::write_file(run_dir / "checkpoint.step-10", "not a model");
  CheckpointFiles files(run_dir, 2);
  const std::string message = HEED_ERROR_MESSAGE(files.load_newest([](const std::string&) {}), Error);
  EXPECT_THAT(message, ::testing::HasSubstr("checkpoint: checkpoint data ends early"));
  EXPECT_THAT(message, ::testing::HasSubstr("checkpoint.step-10: not a heed model file"));
}

// A second refusal keeps the first refused file: each may be what a person needs to inspect.
TEST_F(CheckpointFilesTest, ASecondRefusalKeepsTheFirstRefusedFile) {
  const fs::path run_dir = dir_->path() / "refused_twice";
  fs::create_directories(run_dir);
  CheckpointFiles files(run_dir, 1);
  testing::write_file(run_dir / "checkpoint", "first bad bytes");
  EXPECT_THROW(files.load_newest([](const std::string&) {}), Error);
  testing::write_file(run_dir / "checkpoint", "second bad bytes");
  std::vector<std::string> said;
  EXPECT_THROW(files.load_newest([&](const std::string& line) { said.push_back(line); }), Error);
  EXPECT_EQ(testing::read_file(run_dir / "checkpoint.refused"), "first bad bytes");
  EXPECT_EQ(testing::read_file(run_dir / "checkpoint.refused-2"), "second bad bytes");
  ASSERT_EQ(said.size(), 1u);
  EXPECT_THAT(said[0], ::testing::HasSubstr("moved to " + (run_dir / "checkpoint.refused-2").string()));
}

}  // namespace
}  // namespace heed
