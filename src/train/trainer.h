#pragma once
// Training a model end to end: epochs over shuffled batches on every configured thread,
// validation after each epoch, early stopping that keeps the best model, resumable
// checkpoints after each epoch and every train.checkpoint_steps / _minutes within one (exact
// resume, mid-epoch included), a stop at the first NaN or Inf naming step, rows and layer
// (train/divergence.h), and the kept model's test metrics.
//
// Files in the run folder:
//   model         the kept model (best validation epoch, or the last without validation)
//   checkpoint    the latest full training state, for --resume (older ones: checkpoint.step-N)
//   metrics.json  {"valid":…, "test":…, "best_epoch":…, "history": [...]}
//   config.toml   the resolved config
#include <filesystem>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace heed {

struct TrainOptions {
  std::filesystem::path run_dir;
  bool resume = false;  // continue from run_dir/checkpoint
};

// Returns what it wrote to metrics.json.
nlohmann::ordered_json train(const Config& config, const TrainOptions& options);

}  // namespace heed
