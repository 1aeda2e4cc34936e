#pragma once
// Permutation importance: how much the model's accuracy on the explained rows rests on each
// field. A field's values are shuffled across the rows (every other column left in place), the
// rows scored again, and the drop in AUC and the rise in logloss recorded; a few shuffles with
// different seeds give a spread. Unlike SENet's gate weight, which says how the model scales a
// field inside the network, this measures what the predictions lose without the field's
// information, whatever layer carries it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "model/model.h"

namespace heed::explain {

// The columns shuffled together: one feature, or the aligned keys of one DIN attention (a
// history and its attend_with companions must keep their items paired).
struct ShuffleUnit {
  std::string name;           // the feature, or "a + b" for aligned keys
  std::vector<int> features;  // indices into the schema's features
};
std::vector<ShuffleUnit> shuffle_units(const Schema& schema);

struct FieldImportance {
  std::string name;
  std::vector<std::string> features;
  std::vector<double> auc_drop;      // per shuffle: AUC of the rows - AUC with the field shuffled
  std::vector<double> logloss_rise;  // per shuffle: logloss shuffled - logloss of the rows
  double auc_drop_mean = 0, auc_drop_std = 0;  // mean and sample std over shuffles
  double logloss_rise_mean = 0, logloss_rise_std = 0;
};

struct PermutationReport {
  bool available = false;
  std::string reason;  // why not, when unavailable
  std::size_t shuffles = 0;
  std::uint64_t seed = 0;
  double auc = 0, logloss = 0;          // of the rows as they are
  std::vector<FieldImportance> fields;  // ranked by mean AUC drop, largest first
};

// The order of the rows that shuffle `shuffle` of unit `unit` gives the unit's columns: row r
// takes the values of row order[r]. Deterministic in (rows, seed, unit, shuffle).
std::vector<std::size_t> shuffle_order(std::size_t rows, std::uint64_t seed, std::size_t unit,
                                       std::size_t shuffle);

// `data` with the columns of `features` taken from the rows `order` (every other column as is).
Dataset with_columns_from(const Dataset& data, const Schema& schema,
                          const std::vector<int>& features, const std::vector<std::size_t>& order);

// Needs labels with both classes among the rows; otherwise unavailable, with the reason.
PermutationReport permutation_importance(const Model& model, const Dataset& data,
                                         std::size_t shuffles, std::uint64_t seed, int threads);

}  // namespace heed::explain
