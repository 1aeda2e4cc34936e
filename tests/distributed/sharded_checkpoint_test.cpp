// A distributed run's checkpoint files (train/sharded_checkpoint.h) on ranks run as threads: a
// set is committed by its manifest alone; a missing, damaged or stray shard refuses the whole set
// on every rank, which then resume the older one, with a warning naming the shard's file; a set
// written by another number of ranks stops --resume; older sets are pruned with their shards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <mutex>
#include <sstream>

#include "../support/test_files.h"
#include "checkpoint/shard_file.h"
#include "config/config_loader.h"
#include "thread_world.h"
#include "train/sharded_checkpoint.h"

namespace heed {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const Model& manifest_model() {
  static const Model model(parse_config("[data]\ndir = \"data\"\ntrain = \"train.tsv\"\n[features.user]\n"
                                        "[features.item]\n[embedding]\ndim = 4\n[model]\nhidden = [4]\n",
                                        "manifest.toml", {}));
  return model;
}

// Rank r's rows at step s, as a shard's payload: different for every rank and step.
std::string rows_of(int rank, std::int64_t step) {
  return fmt::format("rows of rank {} at step {}|", rank, step) + std::string(1000 + 10 * static_cast<std::size_t>(rank), 'x');
}

// Each of `ranks` ranks writes its shard of a checkpoint at every step in `steps` (`resumed`: a
// run resumed from the newest checkpoint there).
void write_sets(const fs::path& run_dir, int ranks, const std::vector<std::int64_t>& steps, std::int64_t keep = 3,
                bool resumed = false) {
  testing::ThreadWorld world(ranks);
  world.run([&](Communicator& peers) {
    CheckpointFiles files(run_dir, keep);
    if (resumed)
      load_newest_everywhere(peers, files, [](const std::string&) {},
                             [](const Checkpoint&, std::istream& rows) { rows.ignore(std::numeric_limits<std::streamsize>::max()); });
    for (std::int64_t step : steps)
      save_sharded(peers, files, step, [&](std::ostream& out) { out << rows_of(peers.rank(), step); },
                   [&](const nlohmann::json& shards) {
                     files.save_manifest(step, manifest_model(), {}, "", nlohmann::json{{"step", step}}, shards);
                   });
  });
}

struct Resumed {
  std::vector<std::int64_t> step;     // per rank, the step of the checkpoint it resumed
  std::vector<std::string> rows;      // per rank, the rows its shard gave it
  std::vector<std::string> errors;    // per rank, what it threw
  std::vector<std::string> warnings;  // rank 0's
  std::vector<int> whole;             // per rank, 1 when it resumed a whole checkpoint file
};

Resumed resume(const fs::path& run_dir, int ranks) {
  Resumed out;
  out.step.assign(static_cast<std::size_t>(ranks), -1);
  out.rows.resize(static_cast<std::size_t>(ranks));
  out.errors.resize(static_cast<std::size_t>(ranks));
  out.whole.assign(static_cast<std::size_t>(ranks), 0);
  std::mutex said;
  testing::ThreadWorld world(ranks);
  world.run([&](Communicator& peers) {
    const auto me = static_cast<std::size_t>(peers.rank());
    CheckpointFiles files(run_dir, 3);
    try {
      const Checkpoint cp = load_newest_everywhere(
          peers, files,
          [&](const std::string& line) {
            std::lock_guard<std::mutex> lock(said);
            out.warnings.push_back(line);
          },
          [&](const Checkpoint&, std::istream& rows) {
            std::ostringstream all;
            all << rows.rdbuf();
            out.rows[me] = all.str();
          });
      out.step[me] = (*cp.trainer)["step"].get<std::int64_t>();
      out.whole[me] = cp.shards ? 0 : 1;
    } catch (const Error& e) {
      out.errors[me] = e.what();
    }
  });
  return out;
}

void flip_a_byte(const fs::path& path) {
  std::string bytes = testing::read_file(path);
  bytes[bytes.size() / 2] ^= 0x20;
  testing::write_file(path, bytes);
}

TEST(ShardedCheckpoint, EachRankResumesItsOwnRowsOfTheNewestSet) {
  testing::TempDir dir("sharded_ok");
  write_sets(dir.path(), 3, {5, 9});
  for (int r = 0; r < 3; ++r) EXPECT_TRUE(fs::exists(dir.path() / fmt::format("checkpoint.step-9.shard-{}-of-3", r)));
  const Resumed got = resume(dir.path(), 3);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(got.errors[static_cast<std::size_t>(r)], "");
    EXPECT_EQ(got.step[static_cast<std::size_t>(r)], 9);
    EXPECT_EQ(got.rows[static_cast<std::size_t>(r)], rows_of(r, 9));
  }
  EXPECT_TRUE(got.warnings.empty());
  EXPECT_EQ(got.whole, (std::vector<int>{0, 0, 0}));
  // The manifest lists the shards as they are on disk.
  const Checkpoint manifest = load_checkpoint_or_manifest(dir.path() / "checkpoint");
  ASSERT_TRUE(manifest.shards.has_value());
  const ShardSet set = ShardSet::from_json(*manifest.shards, "checkpoint");
  EXPECT_EQ(set.step, 9);
  EXPECT_EQ(set.ranks, 3);
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(set.shards[static_cast<std::size_t>(r)].bytes,
              fs::file_size(dir.path() / set.shards[static_cast<std::size_t>(r)].file));
}

TEST(ShardedCheckpoint, ADamagedShardRefusesTheSetOnEveryRankAndTheOlderOneIsUsed) {
  testing::TempDir dir("sharded_damaged");
  write_sets(dir.path(), 2, {5, 9});
  const fs::path damaged = dir.path() / "checkpoint.step-9.shard-1-of-2";
  flip_a_byte(damaged);
  const Resumed got = resume(dir.path(), 2);
  EXPECT_EQ(got.step, (std::vector<std::int64_t>{5, 5})) << "every rank resumes the same, older, set";
  EXPECT_EQ(got.rows, (std::vector<std::string>{rows_of(0, 5), rows_of(1, 5)}));
  ASSERT_EQ(got.warnings.size(), 1u);
  EXPECT_THAT(got.warnings[0], HasSubstr(damaged.string() + ": rank 1's shard is corrupt (checksum mismatch)"));
  EXPECT_THAT(got.warnings[0], HasSubstr("refused " + (dir.path() / "checkpoint").string()));
  EXPECT_THAT(got.warnings[0], HasSubstr("trying the previous checkpoint"));
  // The refused set is kept aside for a person to look at, under names no resume takes.
  EXPECT_TRUE(fs::exists(dir.path() / "checkpoint.refused"));
  EXPECT_TRUE(fs::exists(dir.path() / "checkpoint.step-9.shard-1-of-2.refused"));
  EXPECT_TRUE(fs::exists(dir.path() / "checkpoint.step-9.shard-0-of-2.refused"));
  EXPECT_FALSE(fs::exists(dir.path() / "checkpoint"));
}

TEST(ShardedCheckpoint, AMissingOrTruncatedShardRefusesTheSet) {
  testing::TempDir dir("sharded_missing");
  write_sets(dir.path(), 3, {4, 8, 12});
  fs::remove(dir.path() / "checkpoint.step-12.shard-0-of-3");
  const fs::path cut = dir.path() / "checkpoint.step-8.shard-2-of-3";
  testing::write_file(cut, testing::read_file(cut).substr(0, 100));
  const Resumed got = resume(dir.path(), 3);
  EXPECT_EQ(got.step, (std::vector<std::int64_t>{4, 4, 4}));
  ASSERT_EQ(got.warnings.size(), 2u);
  EXPECT_THAT(got.warnings[0], HasSubstr((dir.path() / "checkpoint.step-12.shard-0-of-3").string() +
                                         ": cannot read rank 0's shard"));
  EXPECT_THAT(got.warnings[1], HasSubstr(cut.string() + ": rank 2's shard is 100 bytes, the manifest says"));
  EXPECT_THAT(got.warnings[1], HasSubstr("refused " + (dir.path() / "checkpoint.step-8").string()));
}

// When no set can be resumed, every rank stops with the same reasons (none waits for the others).
TEST(ShardedCheckpoint, NoResumableSetStopsEveryRank) {
  testing::TempDir dir("sharded_none");
  write_sets(dir.path(), 2, {5});
  flip_a_byte(dir.path() / "checkpoint.step-5.shard-0-of-2");
  const Resumed got = resume(dir.path(), 2);
  for (const std::string& e : got.errors) {
    EXPECT_THAT(e, HasSubstr("no checkpoint in"));
    EXPECT_THAT(e, HasSubstr("checkpoint.step-5.shard-0-of-2: rank 0's shard is corrupt"));
  }
  EXPECT_EQ(got.errors[0], got.errors[1]);
}

// A set of 2 ranks is not re-sharded for 3, nor read by one process: --resume stops, saying how
// to resume it, and sets nothing aside (the checkpoint is good).
TEST(ShardedCheckpoint, AnotherNumberOfRanksIsRefusedWithoutFallingBack) {
  testing::TempDir dir("sharded_other_n");
  write_sets(dir.path(), 2, {5, 9});
  const Resumed three = resume(dir.path(), 3);
  for (const std::string& e : three.errors) {
    EXPECT_THAT(e, HasSubstr("written by 2 ranks as per-rank shards, and this run has 3"));
    EXPECT_THAT(e, HasSubstr("mpirun -np 2"));
  }
  const Resumed one = resume(dir.path(), 1);
  EXPECT_THAT(one.errors[0], HasSubstr("written by 2 ranks as per-rank shards, and this run has 1"));
  CheckpointFiles files(dir.path(), 3);
  EXPECT_THAT(HEED_ERROR_MESSAGE(files.load_newest([](const std::string&) {}), NotResumableHere),
              HasSubstr("mpirun -np 2"));
  EXPECT_TRUE(fs::exists(dir.path() / "checkpoint"));
  EXPECT_FALSE(fs::exists(dir.path() / "checkpoint.refused"));
}

// Shards written without their manifest (a crash between the two) leave the previous set as it
// was; the next save, and the pruning of sets beyond keep, remove shards no kept manifest names.
TEST(ShardedCheckpoint, UncommittedAndPrunedShardsGoAndThePreviousSetStays) {
  testing::TempDir dir("sharded_prune");
  write_sets(dir.path(), 2, {5, 9}, /*keep=*/2);
  CheckpointFiles files(dir.path(), 2);
  for (int r = 0; r < 2; ++r)  // step 13's shards, whose manifest never came
    write_shard(files.shard(13, r, 2), r, 2, 13, [&](std::ostream& out) { out << rows_of(r, 13); });
  testing::write_file(dir.path() / "checkpoint.step-13.shard-1-of-2.tmp", "half");
  EXPECT_EQ(resume(dir.path(), 2).step, (std::vector<std::int64_t>{9, 9}));

  write_sets(dir.path(), 2, {17}, /*keep=*/2, /*resumed=*/true);  // a resumed run's next checkpoint
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path())) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint", "checkpoint.step-17.shard-0-of-2", "checkpoint.step-17.shard-1-of-2",
                                             "checkpoint.step-9", "checkpoint.step-9.shard-0-of-2",
                                             "checkpoint.step-9.shard-1-of-2"}));
  EXPECT_EQ(resume(dir.path(), 2).rows, (std::vector<std::string>{rows_of(0, 17), rows_of(1, 17)}));
}

// A whole checkpoint (a single process's, or one a distributed run wrote before shards) is
// still resumed by every rank, from the file itself, also when it is the fallback from a set.
TEST(ShardedCheckpoint, AWholeCheckpointIsStillResumedByEveryRank) {
  testing::TempDir dir("sharded_whole");
  testing::ThreadWorld world(2);
  world.run([&](Communicator& peers) {
    CheckpointFiles files(dir.path(), 3);
    if (peers.leader()) files.save(5, manifest_model(), {}, "", nlohmann::json{{"step", 5}});  // as rank 0 wrote them
    peers.barrier();  // (its pruning would take the other rank's new shard for a stray one)
    save_sharded(peers, files, 9, [&](std::ostream& out) { out << rows_of(peers.rank(), 9); },
                 [&](const nlohmann::json& shards) {
                   files.save_manifest(9, manifest_model(), {}, "", nlohmann::json{{"step", 9}}, shards);
                 });
  });
  EXPECT_EQ(resume(dir.path(), 2).step, (std::vector<std::int64_t>{9, 9}));
  fs::remove(dir.path() / "checkpoint.step-9.shard-0-of-2");
  const Resumed got = resume(dir.path(), 2);
  EXPECT_EQ(got.step, (std::vector<std::int64_t>{5, 5}));
  EXPECT_EQ(got.whole, (std::vector<int>{1, 1})) << "the rows are in the file";
  EXPECT_EQ(got.errors, (std::vector<std::string>{"", ""}));
  ASSERT_EQ(got.warnings.size(), 1u);
  EXPECT_THAT(got.warnings[0], HasSubstr("checkpoint.step-9.shard-0-of-2"));
}

// A rank that cannot write its shard stops every rank with its reason, and commits nothing.
TEST(ShardedCheckpoint, AShardThatCannotBeWrittenCommitsNothing) {
  testing::TempDir dir("sharded_unwritable");
  write_sets(dir.path(), 2, {5});
  fs::create_directories(dir.path() / "checkpoint.step-9.shard-1-of-2.tmp");  // rank 1's temporary name is taken
  std::vector<std::string> errors(2);
  testing::ThreadWorld world(2);
  world.run([&](Communicator& peers) {
    CheckpointFiles files(dir.path(), 3);
    try {
      save_sharded(peers, files, 9, [&](std::ostream& out) { out << rows_of(peers.rank(), 9); },
                   [&](const nlohmann::json& shards) {
                     files.save_manifest(9, manifest_model(), {}, "", nlohmann::json{{"step", 9}}, shards);
                   });
    } catch (const Error& e) {
      errors[static_cast<std::size_t>(peers.rank())] = e.what();
    }
  });
  EXPECT_THAT(errors[0], HasSubstr("rank 1: cannot write"));
  EXPECT_EQ(errors[0], errors[1]);
  EXPECT_EQ(resume(dir.path(), 2).step, (std::vector<std::int64_t>{5, 5}));
}

}  // namespace
}  // namespace heed
