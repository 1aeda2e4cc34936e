// The failures a long run meets, on a real `heed train` process: killed with SIGKILL at an
// arbitrary moment and resumed, it ends with exactly the metrics of a run never interrupted;
// a full disk (a file-size limit) during a checkpoint stops it with a clear error and leaves
// the previous checkpoint whole.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/synthetic_data.h"
#include "checkpoint/checkpoint.h"

extern char** environ;

namespace heed {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

// `text` as one shell word: in single quotes, each ' inside written as '\''.
std::string shell_quoted(const std::string& text) {
  std::string s = "'";
  for (char c : text) {
    if (c == '\'') {
      s += "'\\''";
    } else {
      s += c;
    }
  }
  s += "'";
  return s;
}

class KillResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("kill_resume");
    fs::create_directories(dir_->path() / "data");
    testing::write_file(dir_->path() / "data" / "train.tsv", testing::synthetic_rows(16000, 21, true));
    testing::write_file(dir_->path() / "data" / "test.tsv", testing::synthetic_rows(1000, 22, true));
    testing::write_file(dir_->path() / "run.toml", testing::synthetic_config_text(dir_->path() / "data"));
  }
  static void TearDownTestSuite() { delete dir_; }

  // `heed train` arguments for run folder `run` (`flag` is --out or --resume).
  static std::vector<std::string> train_args(const std::string& flag, const fs::path& run,
                                             const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{testing::heed_binary(), "train", (dir_->path() / "run.toml").string(), flag, run.string()};
    for (const char* s : {"train.epochs=2", "train.threads=2", "train.batch_size=32", "train.checkpoint_steps=9",
                                  "model.dropout=0.2"}) {
      args.push_back("--set");
      args.push_back(s);
    }
    for (const std::string& s : extra) args.push_back(s);
    return args;
  }
  static std::string command(const std::vector<std::string>& args) {
    std::string line;
    for (const auto& a : args) line += shell_quoted(a) + " ";
    return line;
  }

  // Starts `args` as a child process, output thrown away; returns its pid.
  static pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot start " << argv[0];
    return pid;
  }

  // Inode of `path` (0 when absent): a checkpoint rename shows up as a new inode.
  static ino_t inode_of(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }

  // Runs `args` until a checkpoint newer than the one present appears, lets it go on for
  // `extra_ms`, then kills it with SIGKILL. Returns false when the run ended on its own first.
  static bool kill_after_a_checkpoint(const std::vector<std::string>& args, const fs::path& run, int extra_ms) {
    const ino_t before = inode_of(run / "checkpoint");
    const pid_t pid = spawn(args);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (inode_of(run / "checkpoint") == before || inode_of(run / "checkpoint") == 0) {
      if (::waitpid(pid, &status, WNOHANG) == pid) return false;
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

  static Json metrics_without_timings(const fs::path& run) {
    Json m = Json::parse(testing::read_file(run / "metrics.json"));
    for (auto& entry : m["history"]) {
      entry.erase("seconds");
      entry.erase("samples_per_second");
    }
    return m;
  }

  static testing::TempDir* dir_;
};

testing::TempDir* KillResumeTest::dir_ = nullptr;

TEST_F(KillResumeTest, SigkilledRunResumesToIdenticalMetrics) {
  const fs::path straight = dir_->path() / "straight", killed = dir_->path() / "killed";
  auto r = testing::run_command(command(train_args("--out", straight)), dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;

  // Killed twice, at different moments after a checkpoint, and resumed each time.
  ASSERT_TRUE(kill_after_a_checkpoint(train_args("--out", killed), killed, 15)) << "the run ended before the kill";
  const Checkpoint first = load_checkpoint(killed / "checkpoint");
  EXPECT_FALSE(fs::exists(killed / "metrics.json"));
  ASSERT_TRUE(kill_after_a_checkpoint(train_args("--resume", killed), killed, 40)) << "the run ended before the kill";
  const Checkpoint second = load_checkpoint(killed / "checkpoint");
  EXPECT_GT((*second.trainer)["step"].get<std::int64_t>(), (*first.trainer)["step"].get<std::int64_t>());
  EXPECT_FALSE(fs::exists(killed / "metrics.json"));

  r = testing::run_command(command(train_args("--resume", killed)), dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(metrics_without_timings(killed).dump(), metrics_without_timings(straight).dump());
  EXPECT_EQ(testing::read_file(killed / "model").size(), testing::read_file(straight / "model").size());
}

TEST_F(KillResumeTest, FullDiskStopsWithAClearErrorAndKeepsThePreviousCheckpoint) {
  const fs::path run = dir_->path() / "full_disk";
  auto r = testing::run_command(command(train_args("--out", run, {"--set", "train.epochs=1"})), dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string before = testing::read_file(run / "checkpoint");
  const std::size_t limit_kb = before.size() / 1024 / 2;
  ASSERT_GE(limit_kb, 8u) << "the checkpoint is too small for this test";

  // A file-size limit makes every write past it fail with EFBIG, as a full disk fails with
  // ENOSPC; SIGXFSZ is ignored so the write returns the error instead of killing the process.
  r = testing::run_command("bash -c " + shell_quoted("ulimit -f " + std::to_string(limit_kb) + "; trap '' XFSZ; exec " +
                                               command(train_args("--resume", run))),
                           dir_->path());
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("training stopped at step"));
  EXPECT_THAT(r.err, HasSubstr("File too large"));
  EXPECT_THAT(r.err, HasSubstr("intact"));
  EXPECT_EQ(testing::read_file(run / "checkpoint"), before) << "the previous checkpoint is untouched";
  EXPECT_FALSE(fs::exists(run / "checkpoint.tmp"));
  EXPECT_NO_THROW(load_checkpoint(run / "checkpoint"));

  // With room again the run resumes from it and finishes.
  r = testing::run_command(command(train_args("--resume", run)), dir_->path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(run / "metrics.json"));
}

}  // namespace
}  // namespace heed
