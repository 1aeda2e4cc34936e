#pragma once
// The resumable checkpoints of a run folder. The newest is always `checkpoint`; when more than
// one is kept, the one it replaces stays as `checkpoint.step-N` (a hard link made before the
// replacement, so some complete checkpoint exists under a known name at every instant), and
// the oldest beyond `keep` are removed. Each file is written whole to a temporary name, fsynced
// and renamed (save_checkpoint), so a crash, a kill or a full disk never damages the previous one.
//
// Resuming loads the newest checkpoint that is whole: a file refused on load (truncated,
// corrupt, another format version) is reported, renamed to `<name>.refused` (`.refused-2`, ... when an earlier refusal has that name) so it is never
// mistaken for a good one again, and the next older one is tried.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace heed {

class CheckpointFiles {
 public:
  CheckpointFiles(std::filesystem::path run_dir, std::int64_t keep);

  const std::filesystem::path& latest() const { return latest_; }

  // A fresh run: removes the older checkpoints a previous run left in the folder (`checkpoint`
  // itself is replaced by the first save).
  void forget_previous_run();

  // Writes a checkpoint taken at global optimizer step `step`.
  void save(std::int64_t step, const Model& model, const nlohmann::json& meta, const std::string& optimizer,
            const nlohmann::json& trainer, const std::string& row_optimizer = {});

  // The newest whole checkpoint; `warn` hears about each refused one. Throws when none loads.
  Checkpoint load_newest(const std::function<void(const std::string&)>& warn);

  // Every checkpoint file present, newest first.
  std::vector<std::filesystem::path> present() const;

 private:
  std::filesystem::path older(std::int64_t step) const;
  void prune() const;

  std::filesystem::path run_dir_;
  std::filesystem::path latest_;
  std::int64_t keep_;
  std::int64_t latest_step_ = -1;  // step of the file now under `checkpoint`; -1: none we trust
};

}  // namespace heed
