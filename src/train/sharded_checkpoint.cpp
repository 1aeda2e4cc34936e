#include "train/sharded_checkpoint.h"

#include <fmt/ranges.h>

#include "checkpoint/shard_file.h"
#include "core/error.h"

namespace heed {
namespace fs = std::filesystem;
namespace {

// What each rank said, the non-empty ones as "rank R: ..." (the same text on every rank that
// has every rank's words).
std::string failures_of(const std::vector<std::string>& said) {
  std::vector<std::string> failures;
  for (std::size_t r = 0; r < said.size(); ++r)
    if (!said[r].empty()) failures.push_back(said.size() > 1 ? fmt::format("rank {}: {}", r, said[r]) : said[r]);
  return fmt::format("{}", fmt::join(failures, "; "));
}

// Every rank checks and reads its shard of the set `manifest` lists (`held`: the manifest when
// this rank has loaded it already, else it is loaded into `loaded`); returns every rank's
// failures (empty: the set is taken), the same on every rank.
std::string try_set(Communicator& peers, const CheckpointFiles& files, const fs::path& manifest,
                    const Checkpoint* held, const std::function<void(const Checkpoint&, std::istream&)>& read_rows,
                    Checkpoint& loaded) {
  const int me = peers.rank(), ranks = peers.size();
  std::string mine;
  try {
    if (!held) loaded = load_checkpoint_or_manifest(manifest);
    const Checkpoint& cp = held ? *held : loaded;
    if (!cp.shards) throw Error(fmt::format("{}: is not a sharded checkpoint's manifest", manifest.string()));
    const ShardSet set = ShardSet::from_json(*cp.shards, manifest.string());
    if (set.ranks != ranks)
      throw Error(fmt::format("{}: written by {} ranks, not {}", manifest.string(), set.ranks, ranks));
    const ShardFacts& own = set.shards[static_cast<std::size_t>(me)];
    read_shard(files.run_dir() / own.file, own, me, ranks, set.step,
               [&](std::istream& rows) { read_rows(cp, rows); });
  } catch (const Error& e) {
    mine = e.what();
  }
  return failures_of(peers.all_to_all(std::vector<std::string>(static_cast<std::size_t>(ranks), mine)));
}

}  // namespace

void save_sharded(Communicator& peers, CheckpointFiles& files, std::int64_t step,
                  const std::function<void(std::ostream&)>& rows,
                  const std::function<void(const nlohmann::json& shards)>& commit) {
  const int me = peers.rank(), ranks = peers.size();
  // To rank 0: the shard's facts as the manifest lists them, or why it could not be written.
  std::string report;
  try {
    const ShardFacts facts = write_shard(files.shard(step, me, ranks), me, ranks, step, rows);
    report = ShardSet{step, 1, {facts}}.to_json().dump();
  } catch (const std::exception& e) {
    report = fmt::format("!{}", e.what());
  }
  std::vector<std::string> out(static_cast<std::size_t>(ranks));
  out[0] = std::move(report);
  const std::vector<std::string> got = peers.all_to_all(std::move(out));

  std::string outcome;  // empty: committed
  if (peers.leader()) {
    ShardSet set{step, ranks, {}};
    std::vector<std::string> said(got.size());
    for (std::size_t r = 0; r < got.size(); ++r) {
      if (!got[r].empty() && got[r][0] == '!')
        said[r] = got[r].substr(1);
      else
        set.shards.push_back(ShardSet::from_json(nlohmann::json::parse(got[r]), "a rank's report").shards[0]);
    }
    outcome = failures_of(said);
    if (outcome.empty()) {
      try {
        commit(set.to_json());
      } catch (const std::exception& e) {
        outcome = e.what();
      }
    }
  }
  peers.broadcast(outcome, 0);
  if (!outcome.empty()) throw Error(outcome);
}

Checkpoint load_newest_everywhere(Communicator& peers, CheckpointFiles& files,
                                  const std::function<void(const std::string&)>& warn,
                                  const std::function<void(const Checkpoint& manifest, std::istream& rows)>& read_rows) {
  const int ranks = peers.size();
  // Rank 0 names each candidate to the others: "w" + a whole checkpoint's path (every rank
  // loads it), "s" + a manifest's (every rank checks its shard), "x" + why none is resumed.
  if (!peers.leader()) {
    for (;;) {
      std::string said;
      peers.broadcast(said, 0);
      if (said.empty()) throw Error("--resume: rank 0 named no checkpoint");
      const fs::path path = said.substr(1);
      if (said[0] == 'x') throw Error(said.substr(1));
      if (said[0] == 'w') return load_checkpoint(path);
      Checkpoint cp;
      if (try_set(peers, files, path, nullptr, read_rows, cp).empty()) return cp;
    }
  }
  const auto say = [&](const std::string& what) {
    std::string bytes = what;
    if (ranks > 1) peers.broadcast(bytes, 0);
  };
  try {
    return files.load_newest(warn, [&](const fs::path& path, const Checkpoint& candidate) {
      if (!candidate.shards) return say("w" + path.string());
      const ShardSet set = ShardSet::from_json(*candidate.shards, path.string());
      if (set.ranks != ranks)
        throw NotResumableHere(fmt::format(
            "{}: a checkpoint written by {} ranks as per-rank shards, and this run has {}; resume it under "
            "`mpirun -np {}` (a sharded checkpoint is not re-sharded to another number of ranks)",
            path.string(), set.ranks, ranks, set.ranks));
      say("s" + path.string());
      Checkpoint unused;
      const std::string failures = try_set(peers, files, path, &candidate, read_rows, unused);
      if (!failures.empty()) throw Error(failures);
    });
  } catch (const std::exception& e) {
    say(fmt::format("x{}", e.what()));
    throw;
  }
}

}  // namespace heed
