#pragma once
// One rank's shard of a sharded checkpoint (docs/distributed.md): a small header that says whose
// shard it is, then the rows' payload (ShardedEmbeddings::save). Layout:
//   "HEEDSHRD"  u32 format version  u32 rank  u32 ranks  i64 step  payload
// The manifest that commits the checkpoint records each shard's size and the XXH64 of its
// whole file, so a shard is verified before a byte of it is parsed. Written like every
// checkpoint file: a temporary name, fsync, rename (AtomicFile).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace heed {

constexpr std::uint32_t kShardVersion = 1;

// A shard as a manifest lists it.
struct ShardFacts {
  std::string file;  // the name in the run folder
  std::uint64_t bytes = 0;
  std::uint64_t xxh64 = 0;
};

// A manifest's "shards" section: the step, the number of ranks and each rank's shard, in rank
// order. As JSON: {"step": S, "ranks": N, "shards": [{"file": ..., "bytes": ..., "xxh64": "<hex>"}]}.
struct ShardSet {
  std::int64_t step = 0;
  int ranks = 0;
  std::vector<ShardFacts> shards;

  nlohmann::json to_json() const;
  // Throws heed::Error naming `manifest` when the section is unreadable or inconsistent.
  static ShardSet from_json(const nlohmann::json& j, const std::string& manifest);
};

// Writes the shard `rank` of `ranks` of the checkpoint at `step` to `path`; `payload` streams
// the rows (never assembled in memory). Returns its size and checksum; throws heed::Error.
ShardFacts write_shard(const std::filesystem::path& path, int rank, int ranks, std::int64_t step,
                       const std::function<void(std::ostream&)>& payload);

// Checks `path` against what the manifest says of it (present, its size, its checksum) and its
// header against the rank, ranks and step it must be, then hands the payload to `read`, which
// must read all of it. Throws heed::Error naming the file and what is wrong.
void read_shard(const std::filesystem::path& path, const ShardFacts& expected, int rank, int ranks, std::int64_t step,
                const std::function<void(std::istream&)>& read);

}  // namespace heed
