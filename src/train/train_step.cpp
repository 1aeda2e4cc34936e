#include "train/train_step.h"

#include <numeric>
#include <optional>

#include <omp.h>

#include "layers/logloss.h"

namespace heed {

double train_step(Model& model, const Batch& batch, std::vector<std::unique_ptr<Model::Workspace>>& workspaces,
                  int threads, std::uint64_t step_seed, BatchShare share) {
  const auto B = static_cast<Index>(batch.size);
  const float scale = 1.0f / static_cast<float>(share.loss_rows > 0 ? share.loss_rows : B);
  const Index first = share.begin, rows = (share.end < 0 ? B : share.end) - share.begin;
  std::vector<double> losses(static_cast<std::size_t>(threads), 0.0);
  // Mixed precision: the weights as the last optimizer update left them, rounded once for the
  // step's products.
  struct PackedForStep {
    Model& model;
    explicit PackedForStep(Model& m) : model(m) { model.pack_training_products(); }
    ~PackedForStep() { model.drop_training_products(); }  // also when the step throws
  };
  std::optional<PackedForStep> packed;
  if (model.config().train.precision == TrainPrecision::kBf16) packed.emplace(model);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    Model::Workspace& ws = *workspaces[static_cast<std::size_t>(t)];
    ws.clear_gradients(batch);
    const Index begin = first + rows * t / threads, stop = first + rows * (t + 1) / threads;
    if (stop > begin) {
      ws.rng().reseed(mix64(step_seed + static_cast<std::uint64_t>(share.first_stream + t)));
      model.forward(batch, begin, stop - begin, ws, /*training=*/true);
      losses[static_cast<std::size_t>(t)] =
          logloss_with_logits(ws.logits().data(), batch.labels.data() + begin, static_cast<std::size_t>(stop - begin),
                              ws.d_logits().data(), scale);
      model.backward(batch, begin, stop - begin, ws, /*row_weight=*/scale);
    }
  }
  packed.reset();
  // Sum the threads' gradients in thread order: the same result for the same thread count.
  Model::Workspace& total = *workspaces[0];
  for (int t = 1; t < threads; ++t) {
    const Model::Workspace& ws = *workspaces[static_cast<std::size_t>(t)];
    total.gradients().add(ws.gradients());
    std::vector<std::vector<float>>& sum = total.table_gradients();
    const std::vector<std::vector<float>>& part = ws.table_gradients();
    for (std::size_t k = 0; k < sum.size(); ++k)
      for (std::size_t i = 0; i < sum[k].size(); ++i) sum[k][i] += part[k][i];
  }
  return std::accumulate(losses.begin(), losses.end(), 0.0);
}

}  // namespace heed
