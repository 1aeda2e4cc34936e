#include "config/feature_defaults.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace heed {
namespace {

bool is_bare_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace

void resolve_feature_defaults(Config& config, const std::string& source_name) {
  auto fail = [&](const std::string& message) { throw Error(fmt::format("{}: {}", source_name, message)); };
  if (config.features.empty()) fail("no features: add at least one [features.NAME] section");
  // Without a group column gAUC is never computed: early stopping on it would keep every epoch.
  if (config.train.early_stop_metric == "gauc" && config.eval.group.empty())
    fail("train.early_stop_metric = \"gauc\" needs eval.group, the column that identifies a user");

  std::map<std::string, std::string> table_kinds;  // table -> "keys" of which kind, for sharing checks
  for (FeatureConfig& f : config.features) {
    const std::string key = "features." + f.name;
    if (!is_bare_name(f.name)) fail(fmt::format("feature name '{}' may only hold letters, digits, _ and -", f.name));
    if (f.column.empty()) f.column = f.name;
    if (f.column == config.data.label) fail(fmt::format("{} reads the label column '{}'", key, f.column));
    const bool has_values = f.kind == FeatureKind::kMulti || f.kind == FeatureKind::kSequence;
    const bool bucketized = f.kind == FeatureKind::kNumeric && !f.bucketize.empty();
    const bool dense = f.kind == FeatureKind::kNumeric && f.bucketize.empty();

    if (!has_values && !f.pooling.empty()) fail(fmt::format("{}.pooling applies only to multi and sequence features", key));
    if (has_values && f.pooling.empty()) f.pooling = f.kind == FeatureKind::kMulti ? "sum" : "mean";
    if (!has_values && f.max_len != 0) fail(fmt::format("{}.max_len applies only to multi and sequence features", key));
    if (f.kind != FeatureKind::kNumeric) {
      if (f.transform != "none") fail(fmt::format("{}.transform applies only to numeric features", key));
      if (!f.bucketize.empty()) fail(fmt::format("{}.bucketize applies only to numeric features", key));
    }
    if (f.bucketize == "boundaries") {
      if (f.boundaries.empty()) fail(fmt::format("{}.boundaries must list the bucket edges", key));
      if (!std::is_sorted(f.boundaries.begin(), f.boundaries.end()))
        fail(fmt::format("{}.boundaries must be sorted ascending", key));
    } else if (!f.boundaries.empty()) {
      fail(fmt::format("{}.boundaries needs bucketize = \"boundaries\"", key));
    }
    if (bucketized && f.transform != "none")
      fail(fmt::format("{}.transform does not apply to a bucketized feature (buckets read the raw value)", key));
    if (dense) {
      if (!f.table.empty()) fail(fmt::format("{} is a dense numeric input and has no embedding table", key));
      continue;
    }
    if (f.table.empty()) f.table = f.name;
    const std::string value_kind = bucketized ? "numeric buckets" : "string values";
    auto [it, inserted] = table_kinds.emplace(f.table, value_kind);
    if (!inserted && it->second != value_kind)
      fail(fmt::format("{} shares table '{}' with features of {}, but holds {}", key, f.table, it->second, value_kind));
  }
  for (std::size_t i = 0; i < config.features.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (config.features[i].name == config.features[j].name)
        fail(fmt::format("feature '{}' is declared twice", config.features[i].name));
}

}  // namespace heed
