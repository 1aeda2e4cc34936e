// `mpirun -np N heed train` on this one machine (docs/distributed.md): one rank is a plain run,
// N ranks are deterministic, reach the single process's test AUC, resume exactly, and a rank
// that fails or dies ends the job instead of leaving the others waiting. Skipped when the heed
// binary was built without MPI (HEED_MPI) or mpirun is not installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/test_files.h"
#include "checkpoint/checkpoint.h"
#include "checkpoint/shard_file.h"
#include "core/error.h"
#include "train/checkpoint_files.h"

namespace heed {
namespace {

using testing::CommandResult;
using testing::TempDir;
namespace fs = std::filesystem;

// N ranks draw other batches than one process (each from its own part of the files), so a run
// follows another path to the same model: on these 8,000 training rows, 2 epochs, seeds 1 to 6
// put N ranks within 0.0082 of one process's test AUC. A bound at 2.5 times that passes on any
// machine's arithmetic and still fails a step that trains on the wrong rows or scale.
constexpr double kSameModelAuc = 0.02;

bool can_run_mpirun() {
  return HEED_BINARY_HAS_MPI && std::system("command -v mpirun > /dev/null 2>&1") == 0;
}

// Ranks share this machine's two cores: --oversubscribe lets more ranks than cores start, and
// yield_when_idle keeps a waiting rank from spinning on the core another one needs. CI runs as
// root, which mpirun refuses unless asked.
std::string mpirun(int ranks) {
  return "OMPI_MCA_mpi_yield_when_idle=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 300 "
         "mpirun --oversubscribe --bind-to none -np " + std::to_string(ranks) + " ";
}

class Mpirun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!can_run_mpirun()) return;
    dir_ = new TempDir("mpirun");
    const CommandResult made = testing::run_command(
        testing::heed_binary() + " synth --rows 10000 --seed 3 --out '" + (dir_->path() / "data").string() + "'",
        dir_->path());
    ASSERT_EQ(made.status, 0) << made.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!can_run_mpirun()) GTEST_SKIP() << "heed built without HEED_MPI, or no mpirun";
  }

  // `heed train` of the demo model on `ranks` ranks (0: a plain run, no mpirun) into `run`, and
  // the same command continuing the run in `run` (--resume).
  static CommandResult train(int ranks, const fs::path& run, const std::string& extra = "") {
    return testing::run_command(train_command(ranks, extra) + " --out '" + run.string() + "'", dir_->path());
  }
  static CommandResult resume(int ranks, const fs::path& run, const std::string& extra = "") {
    return testing::run_command(train_command(ranks, extra) + " --resume '" + run.string() + "'", dir_->path());
  }
  static std::string train_command(int ranks, const std::string& extra) {
    return (ranks == 0 ? "" : mpirun(ranks)) + testing::heed_binary() + " train " + std::string(HEED_SOURCE_DIR) +
           "/examples/synth/config.toml --set data.dir='" + (dir_->path() / "data").string() +
           "' --set train.epochs=2 --set train.threads=1 --set train.progress=none --set train.batch_size=256 " + extra;
  }

  // The model's test-set predictions (the bytes `heed predict` writes).
  static std::string predictions(const fs::path& run) {
    const fs::path out = run / "predictions.tsv";
    const CommandResult r = testing::run_command(testing::heed_binary() + " predict '" + (run / "model").string() +
                                                     "' --data '" + (dir_->path() / "data" / "test.tsv").string() +
                                                     "' --out '" + out.string() + "'",
                                                 dir_->path());
    EXPECT_EQ(r.status, 0) << r.err;
    return testing::read_file(out);
  }

  // metrics.json without what a clock decides (each epoch's seconds and samples per second).
  static nlohmann::json metrics(const fs::path& run) {
    nlohmann::json m = nlohmann::json::parse(testing::read_file(run / "metrics.json"));
    for (auto& epoch : m["history"]) {
      epoch.erase("seconds");
      epoch.erase("samples_per_second");
    }
    return m;
  }

  // A command's output with the run folder's path taken out.
  static std::string without(const std::string& text, const fs::path& run) {
    std::string out = text;
    for (std::size_t at; (at = out.find(run.string())) != std::string::npos;) out.replace(at, run.string().size(), "RUN");
    return out;
  }

  static TempDir* dir_;
};

TempDir* Mpirun::dir_ = nullptr;

TEST_F(Mpirun, OneRankIsAPlainRun) {
  const fs::path plain = dir_->path() / "plain", one = dir_->path() / "one";
  const CommandResult a = train(0, plain), b = train(1, one);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(metrics(plain), metrics(one));
  EXPECT_EQ(predictions(plain), predictions(one));
  EXPECT_EQ(without(a.out, plain), without(b.out, one));  // the summary, the same words and numbers
}

TEST_F(Mpirun, TwoRanksAreDeterministic) {
  const fs::path first = dir_->path() / "two_a", second = dir_->path() / "two_b";
  const CommandResult a = train(2, first, "--set train.progress=log"), b = train(2, second);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(metrics(first), metrics(second));
  EXPECT_EQ(predictions(first), predictions(second));
  // Only rank 0 wrote the summary and the run folder.
  EXPECT_EQ(without(a.out, first), without(b.out, second));
  EXPECT_NE(a.out.find("test "), std::string::npos) << a.out;
  EXPECT_NE(a.err.find("2 ranks"), std::string::npos) << a.err;
}

// Every embedding row of every table in a model file.
std::size_t rows_in(const fs::path& model) {
  const Checkpoint loaded = load_checkpoint(model);
  std::size_t rows = 0;
  for (const EmbeddingTable& table : loaded.model->tables()) rows += table.rows();
  return rows;
}

// Global batches of the same size, each rank drawing its share from its own part of the files:
// the model learns what one process learns (within kSameModelAuc), on the same number of
// training rows. The embedding rows are sharded: each lives on one rank, none holds them all, and they add up to
// one process's rows, which rank 0 gathers into one ordinary model file.
TEST_F(Mpirun, ThreeRanksShardTheRowsAndReachTheSingleProcessAuc) {
  const fs::path single = dir_->path() / "single", three = dir_->path() / "three";
  const CommandResult a = train(0, single), b = train(3, three);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  const double auc_single = metrics(single)["test"]["auc"], auc_three = metrics(three)["test"]["auc"];
  EXPECT_NEAR(auc_three, auc_single, kSameModelAuc);
  EXPECT_EQ(metrics(three)["train_rows"], metrics(single)["train_rows"]);
  // Not the single process's model bit for bit: the ranks really split the work.
  EXPECT_NE(predictions(single), predictions(three));

  const std::size_t rows = rows_in(single / "model");
  EXPECT_EQ(rows_in(three / "model"), rows);
  const nlohmann::json spread = metrics(three)["distributed"];
  ASSERT_EQ(spread["ranks"], 3) << spread;
  ASSERT_EQ(spread["embedding_rows_per_rank"].size(), 3u) << spread;
  std::size_t total = 0;
  for (const auto& held : spread["embedding_rows_per_rank"]) {
    EXPECT_GT(held.get<std::size_t>(), rows / 6) << spread;  // about a third each
    EXPECT_LT(held.get<std::size_t>(), rows / 2) << spread;
    total += held.get<std::size_t>();
  }
  EXPECT_EQ(total, rows);
  EXPECT_FALSE(metrics(single).contains("distributed"));
}

TEST_F(Mpirun, TwoRanksResumeExactly) {
  const fs::path straight = dir_->path() / "straight", resumed = dir_->path() / "resumed";
  const CommandResult a = train(2, straight, "--set train.checkpoint_steps=7");
  ASSERT_EQ(a.status, 0) << a.err;
  const CommandResult b = train(2, resumed, "--set train.checkpoint_steps=7 --set train.epochs=1");
  ASSERT_EQ(b.status, 0) << b.err;
  const CommandResult c = resume(2, resumed, "--set train.checkpoint_steps=7");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(metrics(straight), metrics(resumed));
  EXPECT_EQ(predictions(straight), predictions(resumed));
}

// Each rank reads its own part of the training files: a bad row near the start is rank 0's to
// skip and list, one at the end rank 1's, and together they train on the rows one process reads.
TEST_F(Mpirun, EachRankReadsItsPartOfTheTrainingFiles) {
  const fs::path data = dir_->path() / "two_bad_rows";
  fs::create_directories(data);
  for (const char* name : {"valid.tsv", "test.tsv"})
    fs::copy_file(dir_->path() / "data" / name, data / name, fs::copy_options::overwrite_existing);
  const std::string rows = testing::read_file(dir_->path() / "data" / "train.tsv");
  const std::size_t first_row = rows.find('\n') + 1;
  testing::write_file(data / "train.tsv",
                      rows.substr(0, first_row) + "early\tbad\trow\n" + rows.substr(first_row) + "late\tbad\trow\n");
  const std::string skip = "--set data.on_error=skip --set data.dir='" + data.string() + "'";
  const fs::path single = dir_->path() / "bad_rows_single", two = dir_->path() / "bad_rows_two";
  const CommandResult a = train(0, single, skip), b = train(2, two, skip);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  const std::string rank0 = testing::read_file(two / "rejected_train.rank0.txt");
  const std::string rank1 = testing::read_file(two / "rejected_train.rank1.txt");
  EXPECT_NE(rank0.find("early\tbad"), std::string::npos) << rank0;
  EXPECT_EQ(rank0.find("late\tbad"), std::string::npos) << rank0;
  EXPECT_NE(rank1.find("late\tbad"), std::string::npos) << rank1;
  EXPECT_EQ(rank1.find("early\tbad"), std::string::npos) << rank1;
  const std::string both = testing::read_file(single / "rejected_train.txt");
  EXPECT_NE(both.find("early\tbad"), std::string::npos);
  EXPECT_NE(both.find("late\tbad"), std::string::npos);
  EXPECT_EQ(metrics(two)["train_rows"], metrics(single)["train_rows"]);
  EXPECT_NEAR(metrics(two)["test"]["auc"].get<double>(), metrics(single)["test"]["auc"].get<double>(),
              kSameModelAuc);
}

// Streamed, each rank streams its part through a shuffle buffer of its own: the ranks train on
// every row once an epoch, deterministically, and learn what one process learns.
TEST_F(Mpirun, TwoRanksStreamTheirParts) {
  const fs::path single = dir_->path() / "stream_single", first = dir_->path() / "stream_a",
                 second = dir_->path() / "stream_b";
  const std::string stream = "--set data.stream=on --set data.shuffle_buffer=2000";
  const CommandResult a = train(0, single, stream), b = train(2, first, stream), c = train(2, second, stream);
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(metrics(first), metrics(second));
  EXPECT_EQ(metrics(first)["train_rows"], metrics(single)["train_rows"]);
  EXPECT_EQ(metrics(first)["streamed"], true);
  EXPECT_NEAR(metrics(first)["test"]["auc"].get<double>(), metrics(single)["test"]["auc"].get<double>(),
              kSameModelAuc);
}

// Two ranks checkpoint as per-rank shards plus a manifest: the run folder holds no whole
// checkpoint (no rank gathered the rows for one), each rank's shard holds about half the rows,
// and a damaged shard of the newest set makes --resume fall back to the older set, from which
// the run still ends exactly as one that never stopped; `model` stays one ordinary model file.
TEST_F(Mpirun, TwoRanksCheckpointAsShardsAndFallBackPastADamagedOne) {
  const fs::path straight = dir_->path() / "shards_straight", resumed = dir_->path() / "shards_resumed";
  const CommandResult a = train(2, straight, "--set train.checkpoint_steps=7");
  ASSERT_EQ(a.status, 0) << a.err;
  const CommandResult b = train(2, resumed, "--set train.checkpoint_steps=7 --set train.epochs=1");
  ASSERT_EQ(b.status, 0) << b.err;

  EXPECT_THROW(load_checkpoint(resumed / "checkpoint"), Error) << "the checkpoint is a manifest, not a whole file";
  std::vector<ShardSet> sets;
  const std::vector<fs::path> kept = CheckpointFiles(resumed, 2).present();  // the epoch's end and a step inside it
  ASSERT_EQ(kept.size(), 2u);
  for (const fs::path& path : kept) {
    const std::string name = path.filename().string();
    const Checkpoint manifest = load_checkpoint_or_manifest(path);
    ASSERT_TRUE(manifest.shards.has_value()) << name;
    sets.push_back(ShardSet::from_json(*manifest.shards, name));
    EXPECT_EQ(sets.back().ranks, 2);
    EXPECT_EQ(manifest.trainer->at("step"), sets.back().step);
    for (int r = 0; r < 2; ++r) {
      const ShardFacts& shard = sets.back().shards[static_cast<std::size_t>(r)];
      EXPECT_EQ(shard.file, "checkpoint.step-" + std::to_string(sets.back().step) + ".shard-" + std::to_string(r) + "-of-2");
      EXPECT_EQ(fs::file_size(resumed / shard.file), shard.bytes);
    }
    // The rows are split: neither shard is much more than half of both.
    const double both = static_cast<double>(sets.back().shards[0].bytes + sets.back().shards[1].bytes);
    for (const ShardFacts& shard : sets.back().shards) EXPECT_LT(static_cast<double>(shard.bytes), 0.6 * both) << name;
  }
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(resumed))
    files += entry.path().filename().string().rfind("checkpoint", 0) == 0;
  EXPECT_EQ(files, 6u) << "two manifests and their two shards each, nothing else";

  const fs::path damaged = resumed / sets[0].shards[1].file;
  std::string bytes = testing::read_file(damaged);
  bytes[bytes.size() / 2] ^= 0x01;
  testing::write_file(damaged, bytes);
  const CommandResult c = resume(2, resumed, "--set train.checkpoint_steps=7");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.err.find("refused " + (resumed / "checkpoint").string()), std::string::npos) << c.err;
  EXPECT_NE(c.err.find(damaged.string() + ": rank 1's shard is corrupt"), std::string::npos) << c.err;
  EXPECT_TRUE(fs::exists(resumed / (sets[0].shards[1].file + ".refused")));
  EXPECT_EQ(metrics(straight), metrics(resumed));
  EXPECT_EQ(predictions(straight), predictions(resumed));  // heed predict loads the run's model
}

// Each rank draws its own batches, so a checkpoint inside an epoch records the steps taken and
// a resumed rank passes that many of its own batches: resuming from a checkpoint in the middle
// of epoch 2 (the later sets removed) ends exactly as the run that never stopped.
TEST_F(Mpirun, TwoRanksResumeInsideAnEpochExactly) {
  const fs::path straight = dir_->path() / "mid_straight", resumed = dir_->path() / "mid_resumed";
  const std::string keep = "--set train.checkpoint_steps=5 --set train.keep_checkpoints=100";
  const CommandResult a = train(2, straight, keep);
  ASSERT_EQ(a.status, 0) << a.err;
  fs::copy(straight, resumed, fs::copy_options::recursive);
  // 8,000 training rows in batches of 256: epoch 2 runs from step 33 to 64 or so; resume at 45.
  const std::string mid = "checkpoint.step-45";
  ASSERT_TRUE(fs::exists(resumed / mid));
  const Checkpoint at = load_checkpoint_or_manifest(resumed / mid);
  ASSERT_FALSE(at.trainer->at("epoch_in_progress").is_null()) << "step 45 is inside an epoch";
  ASSERT_GT(at.trainer->at("epoch_in_progress").at("batches").get<int>(), 0);
  std::vector<fs::path> later;
  for (const auto& entry : fs::directory_iterator(resumed)) {
    const std::string name = entry.path().filename().string();
    if (name == "checkpoint" || name == "metrics.json") later.push_back(entry.path());
    if (name.rfind("checkpoint.step-", 0) == 0 && std::stoi(name.substr(16)) > 45) later.push_back(entry.path());
  }
  for (const fs::path& p : later) fs::remove(p);
  const CommandResult c = resume(2, resumed, keep);
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(metrics(straight), metrics(resumed));
  EXPECT_EQ(predictions(straight), predictions(resumed));
}

// A rank whose part of the data does not load fails alone (the bad row is at the end of the
// file: rank 1's part); the other is already waiting for it. The failing rank says why, with
// the row's file and line, and ends the job.
TEST_F(Mpirun, AFailingRankEndsTheJob) {
  const fs::path bad = dir_->path() / "bad_data";
  fs::create_directories(bad);
  for (const char* name : {"train.tsv", "valid.tsv", "test.tsv"})
    fs::copy_file(dir_->path() / "data" / name, bad / name, fs::copy_options::overwrite_existing);
  const std::string rows = testing::read_file(bad / "train.tsv");
  const auto lines = std::count(rows.begin(), rows.end(), '\n');
  testing::write_file(bad / "train.tsv", rows + "not\ta\trow\n");
  const CommandResult r = train(2, dir_->path() / "failed", "--set data.dir='" + bad.string() + "'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "mpirun hung until the timeout";
  EXPECT_NE(r.err.find("error on rank 1 of 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("train.tsv:" + std::to_string(lines + 1)), std::string::npos) << r.err;
}

// Ranks started with different configs would drift apart without a word: they stop at once.
TEST_F(Mpirun, RanksGivenDifferentConfigsStop) {
  const std::string config = std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml";
  testing::write_file(dir_->path() / "differ.sh",
                      "seed=1\n[ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && seed=2\nexec " + testing::heed_binary() + " train " +
                          config + " --set train.progress=none --set train.threads=1 --set train.seed=$seed --set data.dir=" +
                          (dir_->path() / "data").string() + " --out " + (dir_->path() / "differ").string() + "\n");
  const CommandResult r = testing::run_command(mpirun(2) + "sh " + (dir_->path() / "differ.sh").string(), dir_->path());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "mpirun hung until the timeout";
  EXPECT_NE(r.err.find("rank 1 was given another config"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "differ" / "metrics.json"));
}

// A rank killed outright (no message, no MPI_Abort): mpirun notices and ends the others. The
// run must outlast the kill: 50 epochs with early stopping off (on a quiet machine the example's
// patience ended it before the kill, and the job exited 0).
TEST_F(Mpirun, AKilledRankEndsTheJob) {
  const std::string config = std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml";
  testing::write_file(dir_->path() / "kill.sh",
                      testing::heed_binary() + " train " + config +
                          " --set train.progress=none --set train.threads=1 --set train.epochs=50"
                          " --set train.early_stop_metric=none --set data.dir=" +
                          (dir_->path() / "data").string() + " --out " + (dir_->path() / "killed").string() +
                          " --overwrite &\npid=$!\n[ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && { sleep 3; kill -9 $pid; }\nwait "
                          "$pid\n");
  const CommandResult r = testing::run_command(mpirun(2) + "sh " + (dir_->path() / "kill.sh").string(), dir_->path());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "mpirun hung until the timeout";
}

// A rank that stops without dying (SIGSTOP here; a hung disk or a silent network alike) is
// not noticed by mpirun: the others' watchdog ends them after HEED_MPI_TIMEOUT_SECONDS.
TEST_F(Mpirun, AStoppedRankTimesOut) {
  const std::string config = std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml";
  testing::write_file(dir_->path() / "stop.sh",
                      testing::heed_binary() + " train " + config +
                          " --set train.progress=none --set train.threads=1 --set train.epochs=50"
                          " --set train.early_stop_metric=none --set data.dir=" +
                          (dir_->path() / "data").string() + " --out " + (dir_->path() / "stopped").string() +
                          " --overwrite &\npid=$!\n[ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && { sleep 3; kill -STOP $pid; }\n"
                          "wait $pid\n");
  const CommandResult r = testing::run_command(
      "HEED_MPI_TIMEOUT_SECONDS=3 " + mpirun(2) + "sh " + (dir_->path() / "stop.sh").string(), dir_->path());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "mpirun hung until the timeout";
  EXPECT_NE(r.err.find("error on rank 0 of 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("waited 3 s for the other ranks"), std::string::npos) << r.err;
}

// MPI_Init waits for every rank too: a rank that never starts heed is timed out there.
TEST_F(Mpirun, ARankThatNeverArrivesTimesOut) {
  const std::string config = std::string(HEED_SOURCE_DIR) + "/examples/synth/config.toml";
  testing::write_file(dir_->path() / "absent.sh",
                      "[ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && exec sleep 600\nexec " + testing::heed_binary() + " train " +
                          config + " --set train.progress=none --set data.dir=" + (dir_->path() / "data").string() +
                          " --out " + (dir_->path() / "absent").string() + "\n");
  const CommandResult r = testing::run_command(
      "HEED_MPI_TIMEOUT_SECONDS=3 " + mpirun(2) + "sh " + (dir_->path() / "absent.sh").string(), dir_->path());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, 124) << "mpirun hung until the timeout";
  EXPECT_NE(r.err.find("MPI_Init waited 3 s for the other ranks"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace heed
