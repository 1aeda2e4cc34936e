#include "eval/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/scorer.h"

namespace heed {

Evaluation evaluate_scores(const std::vector<float>& scores, const Dataset& data) {
  Evaluation e;
  e.overall = metrics::evaluate(scores, data.labels, data.groups);
  if (data.slices.empty()) return e;
  std::vector<std::size_t> order(data.slice_names.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return data.slice_names[a] < data.slice_names[b]; });
  for (std::size_t id : order) {
    std::vector<float> s, l;
    std::vector<std::uint64_t> g;
    for (std::size_t r = 0; r < data.rows; ++r) {
      if (data.slices[r] != id) continue;
      s.push_back(scores[r]);
      l.push_back(data.labels[r]);
      if (!data.groups.empty()) g.push_back(data.groups[r]);
    }
    e.slices.emplace_back(data.slice_names[id], metrics::evaluate(s, l, g));
  }
  return e;
}

Evaluation evaluate_dataset(const Model& model, const Dataset& data, int threads) {
  return evaluate_scores(score_dataset(model, data, threads), data);
}

nlohmann::ordered_json metrics_json(const metrics::Metrics& m) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); };
  return {{"auc", number(m.auc)},
          {"gauc", number(m.gauc)},
          {"logloss", number(m.logloss)},
          {"calibration", number(m.calibration)},
          {"rows", m.rows},
          {"gauc_users", m.gauc_groups}};
}

nlohmann::ordered_json evaluation_json(const Evaluation& e, const std::string& slice_column) {
  nlohmann::ordered_json j = metrics_json(e.overall);
  if (!e.slices.empty()) {
    nlohmann::ordered_json per_value;
    for (const auto& [value, m] : e.slices) per_value[value] = metrics_json(m);
    j["slices"][slice_column] = per_value;
  }
  return j;
}

}  // namespace heed
