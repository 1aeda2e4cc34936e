#pragma once
// A distributed run's checkpoints as per-rank shards plus a manifest (docs/distributed.md), so
// that no rank ever holds another rank's embedding rows to write or resume a checkpoint.
//
// Writing is two-phase: every rank writes its shard (its rows and their optimizer state) under a
// name of its own, atomically; once every rank has reported its shard written, rank 0 writes
// the manifest (the dense weights, Adam, the normalizer, the trainer's state and the list of
// shards with their sizes and checksums), and its rename commits the set. A crash before that
// rename leaves the previous checkpoint as it was.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "distributed/communicator.h"
#include "train/checkpoint_files.h"

namespace heed {

// Collective. Every rank writes its shard of the checkpoint at step `step` (`rows` streams its
// rows); when all have, rank 0 calls `commit` with the manifest's list of shards (which calls
// CheckpointFiles::save_manifest). Every rank returns once the set is committed, or throws the
// same heed::Error naming each rank that failed and why.
void save_sharded(Communicator& peers, CheckpointFiles& files, std::int64_t step,
                  const std::function<void(std::ostream&)>& rows,
                  const std::function<void(const nlohmann::json& shards)>& commit);

// Collective. The newest checkpoint this run resumes from, the same on every rank: rank 0 goes
// through them newest first (CheckpointFiles::load_newest sets refused ones aside and tells
// `warn`). A whole checkpoint is loaded by every rank. A sharded one must have been written by
// as many ranks (otherwise NotResumableHere, on every rank); each rank checks only its own
// shard against the manifest and hands its rows to `read_rows` (which may throw heed::Error);
// one rank's missing or damaged shard refuses the set on every rank, and the next older
// checkpoint is tried. Throws the same error on every rank when none can be resumed.
Checkpoint load_newest_everywhere(Communicator& peers, CheckpointFiles& files,
                                  const std::function<void(const std::string&)>& warn,
                                  const std::function<void(const Checkpoint& manifest, std::istream& rows)>& read_rows);

}  // namespace heed
