#include "train/checkpoint_files.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>

#include <fmt/ranges.h>

#include "checkpoint/shard_file.h"
#include "core/error.h"

namespace heed {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kOlderPrefix = "checkpoint.step-";

// The step in "checkpoint.step-N", or -1 for any other name.
std::int64_t step_of(const fs::path& path) {
  const std::string name = path.filename().string();
  if (name.rfind(kOlderPrefix, 0) != 0) return -1;
  const std::string digits = name.substr(kOlderPrefix.size());
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

bool all_digits(std::string_view text) {
  return !text.empty() && text.size() <= 18 && std::all_of(text.begin(), text.end(), ::isdigit);
}

// The step in "checkpoint.step-S.shard-R-of-N" (or its ".tmp" while it is written), or -1.
std::int64_t shard_step_of(const fs::path& path) {
  const std::string filename = path.filename().string();
  std::string_view name = filename;
  if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") name.remove_suffix(4);
  if (name.rfind(kOlderPrefix, 0) != 0) return -1;
  name.remove_prefix(kOlderPrefix.size());
  const std::size_t shard_at = name.find(".shard-"), of_at = name.find("-of-");
  if (shard_at == std::string_view::npos || of_at == std::string_view::npos || of_at < shard_at) return -1;
  const std::string_view step = name.substr(0, shard_at), rank = name.substr(shard_at + 7, of_at - shard_at - 7),
                         ranks = name.substr(of_at + 4);
  if (!all_digits(step) || !all_digits(rank) || !all_digits(ranks)) return -1;
  return std::stoll(std::string(step));
}

// `path` + ".refused", or ".refused-2", ...: a name no earlier refusal took.
fs::path refused_name(const fs::path& path) {
  fs::path aside = path;
  aside += ".refused";
  for (int n = 2; fs::exists(aside); ++n) aside = fs::path(path.string() + fmt::format(".refused-{}", n));
  return aside;
}

}  // namespace

CheckpointFiles::CheckpointFiles(fs::path run_dir, std::int64_t keep)
    : run_dir_(std::move(run_dir)), latest_(run_dir_ / "checkpoint"), keep_(std::max<std::int64_t>(keep, 1)) {}

fs::path CheckpointFiles::older(std::int64_t step) const {
  return run_dir_ / fmt::format("{}{}", kOlderPrefix, step);
}

std::vector<fs::path> CheckpointFiles::present() const {
  std::vector<std::pair<std::int64_t, fs::path>> olders;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir_, ec))
    if (const std::int64_t step = step_of(entry.path()); step >= 0) olders.emplace_back(step, entry.path());
  std::sort(olders.begin(), olders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  if (fs::exists(latest_)) out.push_back(latest_);
  for (auto& [step, path] : olders) out.push_back(std::move(path));
  return out;
}

fs::path CheckpointFiles::shard(std::int64_t step, int rank, int ranks) const {
  return run_dir_ / fmt::format("{}{}.shard-{}-of-{}", kOlderPrefix, step, rank, ranks);
}

void CheckpointFiles::forget_previous_run() {
  for (const fs::path& p : present())
    if (p != latest_) fs::remove(p);
  // A previous distributed run's shards (its `checkpoint` manifest is replaced by the first save).
  std::error_code ec;
  std::vector<fs::path> shards;
  for (const auto& entry : fs::directory_iterator(run_dir_, ec))
    if (shard_step_of(entry.path()) >= 0) shards.push_back(entry.path());
  for (const fs::path& p : shards) fs::remove(p, ec);
  latest_step_ = -1;
}

// Keeps the checkpoint now under `checkpoint` as checkpoint.step-N (a hard link), `write`s the
// new one under `checkpoint`, then prunes.
template <class Write>
void CheckpointFiles::replace_latest(std::int64_t step, Write&& write) {
  if (keep_ > 1 && latest_step_ >= 0 && latest_step_ != step && fs::exists(latest_)) {
    const fs::path kept = older(latest_step_);
    fs::remove(kept);
    if (::link(latest_.c_str(), kept.c_str()) != 0)
      throw Error(fmt::format("cannot keep the previous checkpoint as {}: {}", kept.string(), std::strerror(errno)));
  }
  write();
  latest_step_ = step;
  prune();
}

void CheckpointFiles::save(std::int64_t step, const Model& model, const nlohmann::json& meta,
                           const std::string& optimizer, const nlohmann::json& trainer,
                           const std::string& row_optimizer) {
  replace_latest(step, [&] { save_checkpoint(latest_, model, meta, optimizer, &trainer, row_optimizer); });
}

void CheckpointFiles::save_manifest(std::int64_t step, const Model& model, const nlohmann::json& meta,
                                    const std::string& optimizer, const nlohmann::json& trainer,
                                    const nlohmann::json& shards) {
  replace_latest(step, [&] { heed::save_manifest(latest_, model, meta, optimizer, trainer, shards); });
}

// Removes the checkpoints beyond `keep`, then every shard that belongs to no kept checkpoint's
// step (the sets just pruned, and any a manifest never committed).
void CheckpointFiles::prune() const {
  const std::vector<fs::path> files = present();
  std::vector<std::int64_t> kept_steps{latest_step_};
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (files[i] == latest_) continue;
    if (i < static_cast<std::size_t>(keep_))
      kept_steps.push_back(step_of(files[i]));
    else
      fs::remove(files[i]);
  }
  if (latest_step_ < 0) return;  // `checkpoint`'s step unknown: its shards cannot be told apart
  std::error_code ec;
  std::vector<fs::path> unkept;
  for (const auto& entry : fs::directory_iterator(run_dir_, ec)) {
    const std::int64_t step = shard_step_of(entry.path());
    if (step >= 0 && std::find(kept_steps.begin(), kept_steps.end(), step) == kept_steps.end())
      unkept.push_back(entry.path());
  }
  for (const fs::path& p : unkept) fs::remove(p, ec);
}

Checkpoint CheckpointFiles::load_newest(const std::function<void(const std::string&)>& warn, const Accept& accept) {
  const std::vector<fs::path> files = present();
  if (files.empty()) throw Error(fmt::format("{}: no checkpoint to resume from", latest_.string()));
  std::vector<std::string> refused;
  for (const fs::path& path : files) {
    std::vector<fs::path> its_shards;  // a manifest's, set aside with it when refused
    try {
      Checkpoint cp = load_checkpoint_or_manifest(path);
      if (!cp.trainer) throw Error(fmt::format("{} holds no training state to resume", path.string()));
      if (cp.shards) {
        const ShardSet set = ShardSet::from_json(*cp.shards, path.string());
        for (const ShardFacts& s : set.shards) its_shards.push_back(run_dir_ / s.file);
        if (!accept)
          throw NotResumableHere(fmt::format("{}: a checkpoint written by {} ranks as per-rank shards; resume it "
                                             "under `mpirun -np {}`",
                                             path.string(), set.ranks, set.ranks));
      }
      if (accept) accept(path, cp);
      if (path == latest_) {
        latest_step_ = cp.trainer->value("step", std::int64_t{-1});
      } else {
        // `checkpoint` itself was refused (and moved aside) or is missing: the next save
        // writes it fresh, and this older one stays under its own name.
        latest_step_ = -1;
      }
      return cp;
    } catch (const NotResumableHere&) {
      throw;
    } catch (const Error& e) {
      refused.push_back(e.what());
      // A name no earlier refusal took: each refused file stays for a person to inspect.
      const fs::path aside = refused_name(path);
      std::error_code ec;
      fs::rename(path, aside, ec);
      for (const fs::path& shard : its_shards)
        if (fs::exists(shard, ec)) fs::rename(shard, refused_name(shard), ec);
      warn(fmt::format("refused {} ({}), moved to {}{}{}", path.string(), e.what(), aside.string(),
                       its_shards.empty() ? "" : " with its shards",
                       &path == &files.back() ? "" : "; trying the previous checkpoint"));
    }
  }
  throw Error(fmt::format("no checkpoint in {} can be resumed from: {}", run_dir_.string(), fmt::join(refused, "; ")));
}

}  // namespace heed
