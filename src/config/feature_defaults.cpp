#include "config/feature_defaults.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"

namespace heed {
namespace {

bool is_bare_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool is_attended_companion(const Config& config, const std::string& name) {
  for (const FeatureConfig& f : config.features)
    if (std::find(f.attend_with.begin(), f.attend_with.end(), name) != f.attend_with.end()) return true;
  return false;
}

template <class Fail>
const FeatureConfig& embedding_feature(const Config& config, const std::string& name, const std::string& used_by,
                                       Fail fail) {
  const FeatureConfig* f = config.find_feature(name);
  if (!f) fail(fmt::format("{} names '{}', which is not a feature", used_by, name));
  if (f->kind == FeatureKind::kNumeric && f->bucketize == Bucketize::kNone)
    fail(fmt::format("{} names '{}', a dense numeric input without an embedding", used_by, name));
  return *f;
}

// DIN: every attended feature has a query per key feature; companions are sequences or
// multi features attended only by their lead. SENet and POSO name embedding features.
template <class Fail>
void check_attention_modules(Config& config, Fail fail) {
  std::map<std::string, std::string> companion_of;
  for (const FeatureConfig& f : config.features) {
    if (f.pooling != Pooling::kDin || (is_attended_companion(config, f.name) && f.query.empty())) continue;
    const std::string key = "features." + f.name;
    if (f.query.empty()) fail(fmt::format("{} has pooling = \"din\" but no query feature", key));
    if (f.query.size() != 1 + f.attend_with.size())
      fail(fmt::format("{} attends a tuple of {} feature(s) ({} and attend_with) but names {} query feature(s)", key,
                       1 + f.attend_with.size(), f.name, f.query.size()));
    for (const std::string& q : f.query) {
      const FeatureConfig& query = embedding_feature(config, q, key + ".query", fail);
      if (query.kind == FeatureKind::kMulti || query.kind == FeatureKind::kSequence)
        fail(fmt::format("{}.query names '{}', which holds several values; a query is one value per row", key, q));
    }
    for (const std::string& c : f.attend_with) {
      if (c == f.name) fail(fmt::format("{}.attend_with names the feature itself", key));
      const FeatureConfig* companion = config.find_feature(c);
      if (!companion || !(companion->kind == FeatureKind::kMulti || companion->kind == FeatureKind::kSequence))
        fail(fmt::format("{}.attend_with names '{}', which is not a multi or sequence feature", key, c));
      if (!companion_of.emplace(c, f.name).second)
        fail(fmt::format("'{}' is attended with both {} and {}", c, companion_of[c], f.name));
    }
  }
  for (FeatureConfig& f : config.features) {
    auto it = companion_of.find(f.name);
    if (it == companion_of.end()) continue;
    const FeatureConfig& lead = *config.find_feature(it->second);
    if (f.max_len == 0) f.max_len = lead.max_len;  // aligned sequences are cut alike
    if (f.padding.empty()) f.padding = lead.padding;  // ... and padded alike, as a rule
    if (f.max_len != lead.max_len)
      fail(fmt::format("'{}' (max_len {}) is attended with {} (max_len {}); aligned features need the same max_len",
                       f.name, f.max_len, lead.name, lead.max_len));
    if (f.pooling && *f.pooling != Pooling::kDin)
      fail(fmt::format("'{}' is attended with {}, so its pooling is DIN's; remove its pooling = \"{}\"", f.name,
                       it->second, choice_name(*f.pooling)));
    if (!f.query.empty())
      fail(fmt::format("'{}' is attended with {} and cannot lead an attention of its own", f.name, it->second));
    f.pooling = Pooling::kDin;  // pooled by its lead's attention
  }
  // A list that names something twice is a typo more often than a wish.
  auto once_each = [&](const auto& list, const std::string& key) {
    for (std::size_t i = 0; i < list.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (list[i] == list[j]) fail(fmt::format("{} lists {} twice", key, list[i]));
  };
  once_each(config.senet.fields, "senet.fields");
  once_each(config.poso.features, "poso.features");
  once_each(config.poso.layers, "poso.layers");
  // The L1 pull drives weights to 0, where a relu gate passes no gradient: every field would
  // switch off for good, the model left with nothing.
  if (config.senet.enabled && config.senet.weight_l1 > 0 && config.senet.gate == SenetGate::kRelu)
    fail("senet.weight_l1 pulls SENet's weights towards 0, where senet.gate = \"relu\" passes no gradient, so "
         "fields switch off for good; use it with the sigmoid gate, or set senet.weight_l1 = 0");
  for (const std::string& name : config.senet.fields) embedding_feature(config, name, "senet.fields", fail);
  if (config.poso.enabled && config.poso.features.empty())
    fail("poso.enabled needs poso.features: the personalization features that feed the gates");
  for (const std::string& name : config.poso.features) embedding_feature(config, name, "poso.features", fail);
  for (std::int64_t layer : config.poso.layers)
    if (layer < 0 || layer >= static_cast<std::int64_t>(config.model.hidden.size()))
      fail(fmt::format("poso.layers names hidden layer {}, but model.hidden has {} layers (0..{})", layer,
                       config.model.hidden.size(), static_cast<std::int64_t>(config.model.hidden.size()) - 1));
}

}  // namespace

void resolve_feature_defaults(Config& config, const std::string& source_name) {
  auto fail = [&](const std::string& message) { throw Error(fmt::format("{}: {}", source_name, message)); };
  if (config.features.empty()) fail("no features: add at least one [features.NAME] section");
  // Without a group column gAUC is never computed: early stopping on it would keep every epoch.
  if (config.train.early_stop_metric == EarlyStopMetric::kGauc && config.eval.group.empty())
    fail("train.early_stop_metric = \"gauc\" needs eval.group, the column that identifies a user");
  if (!config.data.valid_by.empty() && !config.data.valid_by_time.empty())
    fail("data.valid_by and data.valid_by_time both choose how validation is carved; set one");
  if (!std::isnan(config.data.label_threshold) && !config.data.label_texts.empty())
    fail("data.label_threshold and data.label_texts both say how to read the label; set one");

  std::map<std::string, std::string> table_kinds;  // table -> "keys" of which kind, for sharing checks
  for (FeatureConfig& f : config.features) {
    const std::string key = "features." + f.name;
    if (!is_bare_name(f.name)) fail(fmt::format("feature name '{}' may only hold letters, digits, _ and -", f.name));
    if (f.column.empty()) f.column = f.name;
    if (f.column == config.data.label) fail(fmt::format("{} reads the label column '{}'", key, f.column));
    const bool has_values = f.kind == FeatureKind::kMulti || f.kind == FeatureKind::kSequence;
    const bool bucketized = f.kind == FeatureKind::kNumeric && f.bucketize != Bucketize::kNone;
    const bool dense = f.kind == FeatureKind::kNumeric && f.bucketize == Bucketize::kNone;

    if (!has_values && f.pooling) fail(fmt::format("{}.pooling applies only to multi and sequence features", key));
    if (f.pooling != Pooling::kDin && (!f.query.empty() || !f.attend_with.empty()))
      fail(fmt::format("{}.query and .attend_with need pooling = \"din\"", key));
    if (has_values && !f.pooling && !is_attended_companion(config, f.name))
      f.pooling = plain_pooling(config, f.kind);
    if (!has_values && f.max_len != 0) fail(fmt::format("{}.max_len applies only to multi and sequence features", key));
    if (!has_values && !f.padding.empty())
      fail(fmt::format("{}.padding applies only to multi and sequence features", key));
    if (f.padding.find(f.separator.empty() ? '|' : f.separator[0]) != std::string::npos)
      fail(fmt::format("{}.padding '{}' holds the separator '{}', so no single value can equal it", key, f.padding,
                       f.separator));
    if (f.kind != FeatureKind::kNumeric) {
      if (f.transform != NumericTransform::kNone) fail(fmt::format("{}.transform applies only to numeric features", key));
      if (f.bucketize != Bucketize::kNone) fail(fmt::format("{}.bucketize applies only to numeric features", key));
    }
    if (f.bucketize == Bucketize::kQuantile) {
      // Empty until training computes them; a resolved config (a model's) carries them.
      if (!std::is_sorted(f.boundaries.begin(), f.boundaries.end()))
        fail(fmt::format("{}.boundaries must be sorted ascending", key));
    } else if (f.bucketize == Bucketize::kBoundaries) {
      if (f.boundaries.empty()) fail(fmt::format("{}.boundaries must list the bucket edges", key));
      if (!std::is_sorted(f.boundaries.begin(), f.boundaries.end()))
        fail(fmt::format("{}.boundaries must be sorted ascending", key));
    } else if (!f.boundaries.empty()) {
      fail(fmt::format("{}.boundaries needs bucketize = \"boundaries\" (or \"quantile\")", key));
    }
    if (bucketized && f.transform != NumericTransform::kNone)
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
  check_attention_modules(config, fail);
}

Pooling plain_pooling(const Config& config, FeatureKind kind) {
  return kind == FeatureKind::kMulti ? config.embedding.multi_pooling : config.embedding.sequence_pooling;
}

}  // namespace heed
