#include "model/scorer.h"

#include <cmath>
#include <algorithm>
#include <numeric>

#include <omp.h>

#include "embedding/batch_builder.h"
#include "layers/logloss.h"

namespace heed {

int resolve_threads(std::int64_t configured) {
  return configured > 0 ? static_cast<int>(configured) : std::max(1, omp_get_num_procs());
}

// Rows are scored in chunks of a fixed size, whatever the thread count: Eigen's products round
// differently for blocks of different shapes, so splitting a batch by thread count would make
// a row's score (and `heed eval`'s metrics) depend on how many threads ran.
constexpr std::size_t kScoreChunkRows = 256;

std::vector<float> score_dataset(const Model& model, const Dataset& data, int threads) {
  const auto batch_size = static_cast<std::size_t>(model.config().eval.batch_size);
  BatchBuilder builder(model.schema(), model.config().embedding);
  std::vector<std::unique_ptr<Model::Workspace>> workspaces;
  const auto chunk = static_cast<Index>(std::min(batch_size, kScoreChunkRows));
  for (int t = 0; t < threads; ++t) workspaces.push_back(model.make_workspace(chunk));

  std::vector<float> scores(data.rows);
  std::vector<std::size_t> rows;
  Batch batch;
  for (std::size_t start = 0; start < data.rows; start += batch_size) {
    const std::size_t end = std::min(data.rows, start + batch_size);
    rows.resize(end - start);
    std::iota(rows.begin(), rows.end(), start);
    builder.build(data, rows, model.tables(), model.normalizer(), batch);
    const auto B = static_cast<Index>(rows.size());
    const Index chunks = (B + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index c = 0; c < chunks; ++c) {
      Model::Workspace& ws = *workspaces[static_cast<std::size_t>(omp_get_thread_num())];
      const Index begin = c * chunk, count = std::min(chunk, B - begin);
      model.forward(batch, begin, count, ws, /*training=*/false);
      for (Index i = 0; i < count; ++i) scores[start + static_cast<std::size_t>(begin + i)] = sigmoid(ws.logits()(i, 0));
    }
  }
  return scores;
}

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
