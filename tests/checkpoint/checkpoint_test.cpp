// Model files: a saved model scores exactly like the one that was saved; damaged, truncated,
// foreign and future-version files are refused with a message saying which; saving leaves no
// temporary file behind.
#include "checkpoint/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "../support/synthetic_data.h"
#include "config/config_loader.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "model/scorer.h"
#include "train/trainer.h"

namespace heed {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// One short training run shared by the tests of this file.
class CheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("checkpoint");
    files_ = new testing::SyntheticFiles(testing::write_synthetic_data(dir_->path()));
    config_ = new Config(load_config(files_->config, {"train.epochs=1"}));
    TrainOptions options;
    options.run_dir = dir_->path() / "run";
    train(*config_, options);
  }
  static void TearDownTestSuite() {
    delete config_;
    delete files_;
    delete dir_;
  }
  static fs::path model_path() { return dir_->path() / "run" / "model"; }

  // The error message loading `bytes` as a model file gives.
  static std::string load_error(const std::string& bytes, const std::string& name) {
    const fs::path path = dir_->path() / name;
    testing::write_file(path, bytes);
    const std::string message = HEED_ERROR_MESSAGE(load_checkpoint(path), Error);
    EXPECT_THAT(message, HasSubstr(path.string())) << "the message names the file";
    return message;
  }

  static testing::TempDir* dir_;
  static testing::SyntheticFiles* files_;
  static Config* config_;
};

testing::TempDir* CheckpointTest::dir_ = nullptr;
testing::SyntheticFiles* CheckpointTest::files_ = nullptr;
Config* CheckpointTest::config_ = nullptr;

TEST_F(CheckpointTest, SaveLoadGivesIdenticalScores) {
  Checkpoint first = load_checkpoint(model_path());
  ASSERT_TRUE(first.model);
  const Dataset test = load_dataset(files_->test, first.model->config(), first.model->schema());
  const std::vector<float> scores = score_dataset(*first.model, test, 1);
  ASSERT_EQ(scores.size(), 1000u);

  const fs::path again = dir_->path() / "again";
  save_checkpoint(again, *first.model, first.meta, "", nullptr);
  Checkpoint second = load_checkpoint(again);
  EXPECT_EQ(to_toml(second.model->config()), to_toml(first.model->config()));
  EXPECT_EQ(score_dataset(*second.model, test, 1), scores);
  // Saving the loaded model again gives the same bytes.
  const fs::path third = dir_->path() / "third";
  save_checkpoint(third, *second.model, second.meta, "", nullptr);
  EXPECT_EQ(testing::read_file(third), testing::read_file(again));
  EXPECT_FALSE(second.trainer.has_value()) << "a scoring model has no trainer state";
}

TEST_F(CheckpointTest, MetaAndResumableCheckpoint) {
  const Checkpoint model = load_checkpoint(model_path());
  EXPECT_EQ(model.meta["format_version"], kCheckpointVersion);
  EXPECT_EQ(model.meta["epoch"], 1);
  const Checkpoint resumable = load_checkpoint(dir_->path() / "run" / "checkpoint");
  EXPECT_FALSE(resumable.optimizer.empty());
  ASSERT_TRUE(resumable.trainer.has_value());
  EXPECT_EQ((*resumable.trainer)["epochs_done"], 1);
}

TEST_F(CheckpointTest, NoTemporaryFileIsLeft) {
  const fs::path run = dir_->path() / "run";
  for (const auto& entry : fs::directory_iterator(run))
    EXPECT_NE(entry.path().extension(), ".tmp") << "left behind: " << entry.path();
  EXPECT_FALSE(fs::exists(run / "model.tmp"));
  EXPECT_FALSE(fs::exists(run / "checkpoint.tmp"));
  const Checkpoint cp = load_checkpoint(model_path());
  const fs::path fresh = dir_->path() / "fresh_model";
  save_checkpoint(fresh, *cp.model, cp.meta, "", nullptr);
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_FALSE(fs::exists(fresh.string() + ".tmp"));
}

TEST_F(CheckpointTest, FlippedPayloadByteIsCaughtByTheChecksum) {
  const std::string bytes = testing::read_file(model_path());
  // Flip bytes across the file: in the payloads of several sections, and the last byte.
  for (const std::size_t at :
       {bytes.size() / 3, bytes.size() / 2, bytes.size() * 3 / 4, bytes.size() - 1}) {
    SCOPED_TRACE(at);
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    EXPECT_THAT(load_error(damaged, "flipped"), AnyOf(HasSubstr("checksum"), HasSubstr("corrupt")));
  }
}

TEST_F(CheckpointTest, TruncatedFileIsRefused) {
  const std::string bytes = testing::read_file(model_path());
  for (const std::size_t keep :
       {bytes.size() - 1, bytes.size() / 2, std::size_t{20}, std::size_t{10}, std::size_t{3}}) {
    SCOPED_TRACE(keep);
    const std::string message = load_error(bytes.substr(0, keep), "truncated");
    if (keep >= 16) {
      EXPECT_THAT(message, AnyOf(HasSubstr("truncated"), HasSubstr("ends early")));
    }
  }
}

TEST_F(CheckpointTest, WrongMagicIsRefused) {
  std::string bytes = testing::read_file(model_path());
  bytes[0] = 'X';
  EXPECT_THAT(load_error(bytes, "magic"), HasSubstr("not a heed model file"));
  EXPECT_THAT(load_error("label\titem\n1\ta\n", "a.tsv"), HasSubstr("not a heed model file"));
  EXPECT_THAT(load_error("", "empty"), HasSubstr("not a heed model file"));
}

TEST_F(CheckpointTest, OtherFormatVersionIsRefused) {
  std::string bytes = testing::read_file(model_path());
  const std::uint32_t future = kCheckpointVersion + 1;
  std::memcpy(bytes.data() + 8, &future, sizeof future);
  const std::string message = load_error(bytes, "future");
  EXPECT_THAT(message, HasSubstr("version 2"));
  EXPECT_THAT(message, HasSubstr("not supported"));
}

TEST_F(CheckpointTest, MissingFileIsNamed) {
  const fs::path absent = dir_->path() / "absent_model";
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_checkpoint(absent), Error), HasSubstr(absent.string()));
}

TEST_F(CheckpointTest, ARunFolderGivenForTheModelPointsToItsModelFile) {
  const std::string message = HEED_ERROR_MESSAGE(load_checkpoint(dir_->path()), Error);
  EXPECT_THAT(message, HasSubstr("is a folder, not a model file"));
  EXPECT_THAT(message, HasSubstr((dir_->path() / "model").string()));
}

TEST(WriteFileAtomically, ReplacesTheFileAndLeavesNoTemporary) {
  testing::TempDir dir("atomic");
  write_file_atomically(dir / "out.txt", "first");
  write_file_atomically(dir / "out.txt", "second, longer");
  EXPECT_EQ(testing::read_file(dir / "out.txt"), "second, longer");
  EXPECT_FALSE(fs::exists(dir / "out.txt.tmp"));
  EXPECT_THROW(write_file_atomically(dir / "no_such_folder" / "x", "y"), Error);
}

TEST(WriteFileAtomically, AFailedRenameLeavesTheOldEntryAndNoTemporary) {
  testing::TempDir dir("atomic_rename");
  // A non-empty folder under the target name cannot be replaced by a file.
  fs::create_directories(dir / "taken" / "inside");
  EXPECT_THAT(HEED_ERROR_MESSAGE(write_file_atomically(dir / "taken", "bytes"), Error),
              HasSubstr("cannot replace"));
  EXPECT_TRUE(fs::is_directory(dir / "taken" / "inside"));
  EXPECT_FALSE(fs::exists(dir / "taken.tmp"));
}

TEST(WriteFileAtomically, LargeContentCrossesTheWriteBufferWhole) {
  testing::TempDir dir("atomic_large");
  std::string bytes(3u << 20, '\0');  // three of AtomicFile's 1 MiB buffers
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 2654435761u >> 13);
  write_file_atomically(dir / "big", bytes);
  EXPECT_EQ(testing::read_file(dir / "big"), bytes);
}

}  // namespace
}  // namespace heed
