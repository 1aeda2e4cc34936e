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
#include <cstdint>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace heed {

// What a per-batch callback hears after each optimizer step.
struct BatchDone {
  std::int64_t epoch = 0;           // the epoch in progress, from 1
  std::int64_t step = 0;            // the optimizer step just taken, from 1 (counted across epochs and resumes)
  std::size_t rows_done = 0;        // rows of this epoch trained so far
  std::size_t rows_per_epoch = 0;   // 0 while a streamed first epoch is still counting them
  double train_logloss = 0;         // the epoch's running training logloss
};

// A per-batch callback's answer: go on, or stop with a resumable checkpoint at this step.
enum class AfterBatch { kContinue, kStop };

struct TrainOptions {
  std::filesystem::path run_dir;
  bool resume = false;  // continue from run_dir/checkpoint
  // Called on the training thread after every optimizer step (progress display, cancellation).
  // kStop ends training there: a checkpoint of that step is written, metrics.json is not, and
  // `--resume` continues exactly as if training had never stopped.
  std::function<AfterBatch(const BatchDone&)> on_batch;
};

// Returns what it wrote to metrics.json; when on_batch stopped training, {"stopped_at_step": N,
// "epochs_done": E, "checkpoint": path} instead.
nlohmann::ordered_json train(const Config& config, const TrainOptions& options);

}  // namespace heed
