#include "model/scorer.h"

#include <algorithm>
#include <numeric>

#include <omp.h>

#include "core/sigmoid.h"
#include "embedding/batch_builder.h"

namespace heed {

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

}  // namespace heed
