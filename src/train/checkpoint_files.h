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
//
// A distributed run's checkpoint is a set (docs/distributed.md): each rank's shard,
// `checkpoint.step-S.shard-R-of-N` (S the step, so the shards of an older set are never
// overwritten by a newer one), and a manifest under the names above (`checkpoint`, then
// `checkpoint.step-S`), written last: its rename commits the set. Pruning an older set removes
// its shards with it, and a shard that no kept manifest names (a set whose manifest never came,
// a crashed write's `.tmp`) goes at the next save. A refused manifest's shards are set aside
// with it (`<shard>.refused`).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "core/error.h"

namespace heed {

// A checkpoint that is whole but cannot be resumed by this run (a sharded one written by another
// number of ranks): --resume stops with it instead of falling back to an older checkpoint.
class NotResumableHere : public Error {
 public:
  using Error::Error;
};

class CheckpointFiles {
 public:
  CheckpointFiles(std::filesystem::path run_dir, std::int64_t keep);

  const std::filesystem::path& latest() const { return latest_; }
  const std::filesystem::path& run_dir() const { return run_dir_; }

  // A fresh run: removes the older checkpoints a previous run left in the folder (`checkpoint`
  // itself is replaced by the first save).
  void forget_previous_run();

  // Writes a checkpoint taken at global optimizer step `step`.
  void save(std::int64_t step, const Model& model, const nlohmann::json& meta, const std::string& optimizer,
            const nlohmann::json& trainer, const std::string& row_optimizer = {});

  // Where rank `rank` of `ranks` writes its shard of the checkpoint taken at step `step`.
  std::filesystem::path shard(std::int64_t step, int rank, int ranks) const;
  // Commits a sharded checkpoint taken at step `step` whose shards are all written: its manifest
  // (`shards` lists them) becomes `checkpoint`, as save() does with a whole one.
  void save_manifest(std::int64_t step, const Model& model, const nlohmann::json& meta, const std::string& optimizer,
                     const nlohmann::json& trainer, const nlohmann::json& shards);

  // The newest checkpoint that loads (a whole one, or a sharded one's manifest) and that `accept`
  // takes: `accept` refuses one by throwing heed::Error, and stops the search by throwing
  // NotResumableHere. `warn` hears about each refused one. Throws when none loads. Without
  // `accept`, a manifest is not resumable here (a single process holds no shards).
  using Accept = std::function<void(const std::filesystem::path&, const Checkpoint&)>;
  Checkpoint load_newest(const std::function<void(const std::string&)>& warn, const Accept& accept = {});

  // Every checkpoint file present (whole checkpoints and manifests; not shards), newest first.
  std::vector<std::filesystem::path> present() const;

 private:
  std::filesystem::path older(std::int64_t step) const;
  template <class Write>
  void replace_latest(std::int64_t step, Write&& write);
  void prune() const;

  std::filesystem::path run_dir_;
  std::filesystem::path latest_;
  std::int64_t keep_;
  std::int64_t latest_step_ = -1;  // step of the file now under `checkpoint`; -1: none we trust
};

}  // namespace heed
