#include "explain/permutation_importance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/rng.h"
#include "eval/evaluation.h"

namespace heed::explain {
namespace {

void mean_and_std(const std::vector<double>& xs, double& mean, double& std) {
  mean = xs.empty() ? 0.0 : std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  std = xs.size() > 1 ? std::sqrt(ss / static_cast<double>(xs.size() - 1)) : 0.0;
}

// Copies `source`'s column into `target` row by row in `order`.
void reorder_keys(const KeyColumn& source, const std::vector<std::size_t>& order, KeyColumn& target) {
  target.offsets.assign(1, 0);
  target.keys.clear();
  target.keys.reserve(source.keys.size());
  for (std::size_t r : order) {
    target.keys.insert(target.keys.end(), source.keys.begin() + static_cast<std::ptrdiff_t>(source.offsets[r]),
                       source.keys.begin() + static_cast<std::ptrdiff_t>(source.offsets[r + 1]));
    target.offsets.push_back(target.keys.size());
  }
}

// `into`'s columns of `features` become `from`'s, taken from the rows `order`.
void take_columns(const Dataset& from, const Schema& schema, const std::vector<int>& features,
                  const std::vector<std::size_t>& order, Dataset& into) {
  for (int f : features) {
    const FeatureInfo& feature = schema.features[static_cast<std::size_t>(f)];
    if (feature.is_dense()) {
      const auto d = static_cast<std::size_t>(feature.dense);
      for (std::size_t r = 0; r < order.size(); ++r) into.dense[d][r] = from.dense[d][order[r]];
    } else {
      reorder_keys(from.keys[static_cast<std::size_t>(f)], order,
                   into.keys[static_cast<std::size_t>(f)]);
    }
  }
}

}  // namespace

std::vector<ShuffleUnit> shuffle_units(const Schema& schema) {
  std::vector<ShuffleUnit> units;
  std::vector<bool> taken(schema.features.size(), false);
  for (std::size_t f = 0; f < schema.features.size(); ++f) {
    if (taken[f]) continue;
    ShuffleUnit unit;
    const FeatureInfo& feature = schema.features[f];
    const int group = feature.din_group;
    const bool key = group >= 0 && std::find(schema.din_groups[static_cast<std::size_t>(group)].keys.begin(),
                                             schema.din_groups[static_cast<std::size_t>(group)].keys.end(),
                                             static_cast<int>(f)) !=
                                       schema.din_groups[static_cast<std::size_t>(group)].keys.end();
    if (key) {
      for (int k : schema.din_groups[static_cast<std::size_t>(group)].keys) {
        unit.features.push_back(k);
        taken[static_cast<std::size_t>(k)] = true;
      }
    } else {
      unit.features.push_back(static_cast<int>(f));
      taken[f] = true;
    }
    for (int k : unit.features) {
      if (!unit.name.empty()) unit.name += " + ";
      unit.name += schema.features[static_cast<std::size_t>(k)].name;
    }
    units.push_back(std::move(unit));
  }
  return units;
}

std::vector<std::size_t> shuffle_order(std::size_t rows, std::uint64_t seed, std::size_t unit,
                                       std::size_t shuffle) {
  std::vector<std::size_t> order(rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(mix64(seed ^ mix64(0x7065726dULL /* "perm" */ + (static_cast<std::uint64_t>(unit) << 20) +
                             static_cast<std::uint64_t>(shuffle))));
  for (std::size_t i = rows; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // Fisher-Yates
  return order;
}

Dataset with_columns_from(const Dataset& data, const Schema& schema,
                          const std::vector<int>& features, const std::vector<std::size_t>& order) {
  Dataset out = data;
  take_columns(data, schema, features, order, out);
  return out;
}

PermutationReport permutation_importance(const Model& model, const Dataset& data,
                                         std::size_t shuffles, std::uint64_t seed, int threads) {
  PermutationReport report;
  report.shuffles = shuffles;
  report.seed = seed;
  if (shuffles == 0) {
    report.reason = "no shuffles asked for (--shuffles 0)";
    return report;
  }
  if (!data.has_labels()) {
    report.reason = "the file has no label column, so there is no accuracy to lose";
    return report;
  }
  const Evaluation base = evaluate_dataset(model, data, threads);
  if (!std::isfinite(base.overall.auc)) {
    report.reason = "the explained rows do not hold both labels, so AUC is undefined";
    return report;
  }
  report.available = true;
  report.auc = base.overall.auc;
  report.logloss = base.overall.logloss;
  const Schema& schema = model.schema();
  const std::vector<ShuffleUnit> units = shuffle_units(schema);
  // One working copy; each unit's columns are swapped in and restored in turn.
  Dataset shuffled = data;
  for (std::size_t u = 0; u < units.size(); ++u) {
    FieldImportance fi;
    fi.name = units[u].name;
    for (int f : units[u].features) fi.features.push_back(schema.features[static_cast<std::size_t>(f)].name);
    for (std::size_t s = 0; s < shuffles; ++s) {
      take_columns(data, schema, units[u].features, shuffle_order(data.rows, seed, u, s),
                   shuffled);
      const Evaluation e = evaluate_dataset(model, shuffled, threads);
      fi.auc_drop.push_back(base.overall.auc - e.overall.auc);
      fi.logloss_rise.push_back(e.overall.logloss - base.overall.logloss);
    }
    std::vector<std::size_t> same(data.rows);  // restore the unit's columns
    std::iota(same.begin(), same.end(), std::size_t{0});
    take_columns(data, schema, units[u].features, same, shuffled);
    mean_and_std(fi.auc_drop, fi.auc_drop_mean, fi.auc_drop_std);
    mean_and_std(fi.logloss_rise, fi.logloss_rise_mean, fi.logloss_rise_std);
    report.fields.push_back(std::move(fi));
  }
  std::stable_sort(report.fields.begin(), report.fields.end(),
                   [](const FieldImportance& a, const FieldImportance& b) {
                     return a.auc_drop_mean > b.auc_drop_mean;
                   });
  return report;
}

}  // namespace heed::explain
