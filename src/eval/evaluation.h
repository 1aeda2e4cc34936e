#pragma once
// Measures a model on a dataset: scores every row (model/scorer.h), then AUC, gAUC, logloss and
// calibration over all rows and per value of eval.slice. Training's validation, `heed eval`,
// `heed explain` and `heed ablate` all measure through here, so they report the same numbers.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "metrics/metrics.h"
#include "model/model.h"

namespace heed {

// Metrics over every row, and per value of eval.slice when the config names one.
struct Evaluation {
  metrics::Metrics overall;
  std::vector<std::pair<std::string, metrics::Metrics>> slices;  // sorted by value
};
Evaluation evaluate_dataset(const Model& model, const Dataset& data, int threads);
Evaluation evaluate_scores(const std::vector<float>& scores, const Dataset& data);

// {"auc":…, "gauc":…, "logloss":…, "calibration":…, "rows":…}; NaN becomes null.
nlohmann::ordered_json metrics_json(const metrics::Metrics& m);
// metrics_json of the overall metrics plus {"slices": {column: {value: {...}}}} when sliced.
nlohmann::ordered_json evaluation_json(const Evaluation& e, const std::string& slice_column);

}  // namespace heed
