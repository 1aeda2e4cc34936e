#pragma once
// The feature schema a model is built from: which features have embedding tables, which
// position each takes on the field axis of [B, F, E], and which are dense inputs. Derived from
// the config alone, so a checkpoint's config is enough to rebuild it.
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace heed {


struct TableInfo {
  std::string name;
  std::uint64_t seed = 0;  // key space of the table's values
};

struct FeatureInfo {
  std::string name, column;
  FeatureKind kind = FeatureKind::kCategorical;
  int table = -1;  // index into Schema::tables; -1 for a dense numeric input
  int field = -1;  // position on the field axis of [B, F, E]; -1 for a dense numeric input
  int dense = -1;  // position among the dense numeric inputs; -1 otherwise
  char separator = '|';
  Pooling pooling = Pooling::kSum;
  std::size_t max_len = 0;  // 0: no limit
  std::string padding;      // a value dropped as an empty one is ("": none)
  NumericTransform transform = NumericTransform::kNone;
  Bucketize bucketizer = Bucketize::kNone;  // never kQuantile: its computed edges read as boundaries
  std::vector<double> boundaries;
  int din_group = -1;  // the DIN attention that pools this feature (lead or companion)

  bool has_values() const { return kind == FeatureKind::kMulti || kind == FeatureKind::kSequence; }
  bool is_dense() const { return dense >= 0; }
};

// One DIN attention: key features (the lead, then its attend_with companions), aligned value by
// value, scored against query features (one per key feature). Key width Q = keys.size() * E.
struct DinGroup {
  std::vector<int> keys;     // feature indices
  std::vector<int> queries;  // feature indices
};

struct Schema {
  std::vector<TableInfo> tables;
  std::vector<FeatureInfo> features;
  std::vector<DinGroup> din_groups;
  std::vector<int> senet_fields;  // field positions SENet gates (empty when SENet is off)
  std::vector<int> poso_features; // feature indices feeding POSO's gates (empty when off)
  std::size_t num_fields = 0;  // features with an embedding: F in [B, F, E]
  std::size_t num_dense = 0;   // dense numeric inputs appended after the fields

  static Schema from_config(const Config& config);
  int feature_index(const std::string& name) const;  // -1 when absent
};

}  // namespace heed
