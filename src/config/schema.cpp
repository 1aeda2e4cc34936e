#include "config/schema.h"

#include "config/feature_defaults.h"
#include "hashing/feature_hash.h"

namespace heed {
Schema Schema::from_config(const Config& config) {
  Schema schema;
  for (const FeatureConfig& fc : config.features) {
    FeatureInfo f;
    f.name = fc.name;
    f.column = fc.column;
    f.kind = fc.kind;
    f.separator = fc.separator.empty() ? '|' : fc.separator[0];
    // With DIN switched off its features pool as if they had named no pooling.
    const bool attended = fc.pooling == Pooling::kDin;
    // A categorical or numeric feature pools nothing; its pooling is never read.
    f.pooling = attended && !config.din.enabled ? plain_pooling(config, fc.kind) : fc.pooling.value_or(Pooling::kSum);
    f.max_len = static_cast<std::size_t>(fc.max_len);
    f.padding = fc.padding;
    f.transform = fc.transform;
    // By now quantile edges are computed (data/quantile_buckets): the rows read them as boundaries.
    f.bucketizer = fc.bucketize == Bucketize::kQuantile ? Bucketize::kBoundaries : fc.bucketize;
    f.boundaries = fc.boundaries;
    if (fc.kind == FeatureKind::kNumeric && f.bucketizer == Bucketize::kNone) {
      f.dense = static_cast<int>(schema.num_dense++);
    } else {
      int table = -1;
      for (std::size_t t = 0; t < schema.tables.size(); ++t)
        if (schema.tables[t].name == fc.table) table = static_cast<int>(t);
      if (table < 0) {
        table = static_cast<int>(schema.tables.size());
        schema.tables.push_back({fc.table, table_seed(fc.table)});
      }
      f.table = table;
      f.field = static_cast<int>(schema.num_fields++);
    }
    schema.features.push_back(std::move(f));
  }
  for (const FeatureConfig& fc : config.features) {
    if (fc.query.empty() || !config.din.enabled) continue;
    DinGroup group;
    group.keys.push_back(schema.feature_index(fc.name));
    for (const auto& name : fc.attend_with) group.keys.push_back(schema.feature_index(name));
    for (const auto& name : fc.query) group.queries.push_back(schema.feature_index(name));
    for (int k : group.keys) schema.features[static_cast<std::size_t>(k)].din_group = static_cast<int>(schema.din_groups.size());
    schema.din_groups.push_back(std::move(group));
  }
  if (config.senet.enabled) {
    if (config.senet.fields.empty()) {
      for (const FeatureInfo& f : schema.features)
        if (f.field >= 0) schema.senet_fields.push_back(f.field);
    } else {
      for (const auto& name : config.senet.fields)
        schema.senet_fields.push_back(schema.features[static_cast<std::size_t>(schema.feature_index(name))].field);
    }
  }
  if (config.poso.enabled)
    for (const auto& name : config.poso.features) schema.poso_features.push_back(schema.feature_index(name));
  return schema;
}

int Schema::feature_index(const std::string& name) const {
  for (std::size_t i = 0; i < features.size(); ++i)
    if (features[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace heed
