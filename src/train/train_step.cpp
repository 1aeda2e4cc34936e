#include "train/train_step.h"

#include <numeric>
#include <optional>

#include <omp.h>

#include "layers/logloss.h"

namespace heed {
namespace {

// Thread `t`'s part of summing every thread's gradients into workspaces[0]: its slice of each
// buffer, with the threads' values added in thread order (the same sums for the same thread
// count, whichever thread adds them).
void add_other_threads_gradients(std::vector<std::unique_ptr<Model::Workspace>>& workspaces, int t, int threads) {
  const auto add_slice = [t, threads, &workspaces](float* sum, const auto& part_of, std::size_t size) {
    const std::size_t begin = size * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
    const std::size_t end = size * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
    for (int other = 1; other < threads; ++other) {
      const float* part = part_of(*workspaces[static_cast<std::size_t>(other)]);
      for (std::size_t i = begin; i < end; ++i) sum[i] += part[i];
    }
  };
  Model::Workspace& total = *workspaces[0];
  for (std::size_t id = 0; id < total.gradients().size(); ++id) {
    Matrix& sum = total.gradients()[id];
    add_slice(sum.data(), [id](const Model::Workspace& ws) { return ws.gradients()[id].data(); },
              static_cast<std::size_t>(sum.size()));
  }
  for (std::size_t k = 0; k < total.table_gradients().size(); ++k) {
    std::vector<float>& sum = total.table_gradients()[k];
    add_slice(sum.data(), [k](const Model::Workspace& ws) { return ws.table_gradients()[k].data(); }, sum.size());
  }
}

}  // namespace

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
    PackedForStep(Model& m, int threads) : model(m) { model.pack_training_products(threads); }
    ~PackedForStep() { model.drop_training_products(); }  // also when the step throws
  };
  std::optional<PackedForStep> packed;
  if (model.config().train.precision == TrainPrecision::kBf16) packed.emplace(model, threads);
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
#pragma omp barrier
    add_other_threads_gradients(workspaces, t, threads);
  }
  packed.reset();
  return std::accumulate(losses.begin(), losses.end(), 0.0);
}

}  // namespace heed
