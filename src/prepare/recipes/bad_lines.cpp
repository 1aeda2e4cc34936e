#include "prepare/recipes/bad_lines.h"

#include "config/options.h"

namespace heed::recipes {
namespace {

DataConfig as_data_policy(const BadLinePolicy& policy) {
  if (!(policy.max_skip_fraction >= 0.0 && policy.max_skip_fraction <= 1.0)) {
    throw Error(fmt::format("max_skip_fraction must be in [0, 1], got {}", policy.max_skip_fraction));
  }
  DataConfig data = default_config().data;
  data.on_error = policy.on_error;
  data.max_skip_fraction = policy.max_skip_fraction;
  return data;
}

}  // namespace

BadLines::BadLines(const BadLinePolicy& policy, const std::filesystem::path& out)
    : log_(as_data_policy(policy), out / "rejected_lines.txt") {}

void BadLines::finish(PrepareSummary& summary, nlohmann::ordered_json& json) const {
  log_.check_fraction();
  if (log_.skipped() == 0) return;
  json["skipped_lines"] = log_.skipped();
  json["skipped_by_reason"] = log_.by_reason();
  summary.notes.push_back(log_.summary());
}

}  // namespace heed::recipes
