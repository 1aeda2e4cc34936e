#include "run_summary.h"

#include <fmt/format.h>

namespace heed::cli {
namespace {

// "auc 0.7712  gauc 0.7101  logloss 0.5234  (20000 rows)"; gAUC only with eval.group.
std::string metrics_line(const nlohmann::ordered_json& m, bool with_gauc) {
  auto number = [&](const char* key) {
    return m.contains(key) && m[key].is_number() ? fmt::format("{:.4f}", m[key].get<double>()) : std::string("n/a");
  };
  std::string line = "auc " + number("auc");
  if (with_gauc) line += "  gauc " + number("gauc");
  line += "  logloss " + number("logloss");
  if (m.contains("rows")) line += fmt::format("  ({} rows)", m["rows"].get<std::size_t>());
  return line;
}

}  // namespace

bool holds_a_run(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return false;
  for (const char* name : {"model", "checkpoint", "metrics.json"})
    if (std::filesystem::exists(dir / name, ec)) return true;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().starts_with("checkpoint.step-")) return true;
  return false;
}

std::string run_summary(const nlohmann::ordered_json& report, const Config& config,
                        const std::filesystem::path& run_dir) {
  const bool gauc = !config.eval.group.empty();
  std::string out;
  if (report.contains("test")) out += "test   " + metrics_line(report["test"], gauc) + "\n";
  if (report.contains("valid")) out += "valid  " + metrics_line(report["valid"], gauc) + "\n";
  const auto kept = report.value("best_epoch", std::int64_t{0});
  const auto run = report.value("epochs_run", std::int64_t{0});
  if (report.value("stopped_early", false))
    out += fmt::format("kept epoch {} of {}: early stopping ended training (no better validation score for "
                       "train.patience = {} epochs)\n",
                       kept, run, config.train.patience);
  else
    out += fmt::format("kept epoch {} of {}\n", kept, run);
  out += fmt::format("run folder {}: model (the kept model), checkpoint (for --resume), metrics.json (every "
                     "metric, per-epoch history), config.toml\n",
                     run_dir.string());
  return out;
}

}  // namespace heed::cli
