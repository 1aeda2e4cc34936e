#include "train/checkpoint_files.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>

#include <fmt/ranges.h>

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

void CheckpointFiles::forget_previous_run() {
  for (const fs::path& p : present())
    if (p != latest_) fs::remove(p);
  latest_step_ = -1;
}

void CheckpointFiles::save(std::int64_t step, const Model& model, const nlohmann::json& meta,
                           const std::string& optimizer, const nlohmann::json& trainer,
                           const std::string& row_optimizer) {
  if (keep_ > 1 && latest_step_ >= 0 && latest_step_ != step && fs::exists(latest_)) {
    const fs::path kept = older(latest_step_);
    fs::remove(kept);
    if (::link(latest_.c_str(), kept.c_str()) != 0)
      throw Error(fmt::format("cannot keep the previous checkpoint as {}: {}", kept.string(), std::strerror(errno)));
  }
  save_checkpoint(latest_, model, meta, optimizer, &trainer, row_optimizer);
  latest_step_ = step;
  prune();
}

void CheckpointFiles::prune() const {
  const std::vector<fs::path> files = present();
  for (std::size_t i = static_cast<std::size_t>(keep_); i < files.size(); ++i)
    if (files[i] != latest_) fs::remove(files[i]);
}

Checkpoint CheckpointFiles::load_newest(const std::function<void(const std::string&)>& warn) {
  const std::vector<fs::path> files = present();
  if (files.empty()) throw Error(fmt::format("{}: no checkpoint to resume from", latest_.string()));
  std::vector<std::string> refused;
  for (const fs::path& path : files) {
    try {
      Checkpoint cp = load_checkpoint(path);
      if (!cp.trainer) throw Error(fmt::format("{} holds no training state to resume", path.string()));
      if (path == latest_) {
        latest_step_ = cp.trainer->value("step", std::int64_t{-1});
      } else {
        // `checkpoint` itself was refused (and moved aside) or is missing: the next save
        // writes it fresh, and this older one stays under its own name.
        latest_step_ = -1;
      }
      return cp;
    } catch (const Error& e) {
      refused.push_back(e.what());
      // A name no earlier refusal took: each refused file stays for a person to inspect.
      fs::path aside = path;
      aside += ".refused";
      for (int n = 2; fs::exists(aside); ++n) aside = fs::path(path.string() + fmt::format(".refused-{}", n));
      std::error_code ec;
      fs::rename(path, aside, ec);
      warn(fmt::format("refused {} ({}), moved to {}{}", path.string(), e.what(), aside.string(),
                       &path == &files.back() ? "" : "; trying the previous checkpoint"));
    }
  }
  throw Error(fmt::format("no checkpoint in {} can be resumed from: {}", run_dir_.string(), fmt::join(refused, "; ")));
}

}  // namespace heed
