#pragma once
// Scores rows with a trained model: batches in file order, each cut into fixed-size chunks
// that threads share, so the numbers do not depend on the thread count;
// unseen keys read as the config says (zero or the learned default). Used by training's
// evaluation, `heed eval` and `heed predict`, so all three compute the same numbers.
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "metrics/metrics.h"
#include "model/model.h"

namespace heed {

// Click probabilities of every row of `data`, in order.
std::vector<float> score_dataset(const Model& model, const Dataset& data, int threads);

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

// The thread count to use for a configured value (0: every core).
int resolve_threads(std::int64_t configured);

}  // namespace heed
