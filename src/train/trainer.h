#pragma once
// Training a model end to end: epochs over shuffled batches on every configured thread,
// validation after each epoch, early stopping that keeps the best model, resumable
// checkpoints after each epoch and every train.checkpoint_steps / _minutes within one (exact
// resume, mid-epoch included), a stop at the first NaN or Inf naming step, rows and layer
// (train/divergence.h), and the kept model's test metrics.
//
// Files in the run folder:
//   model         the kept model (best validation epoch, or the last without validation)
//   checkpoint    the latest full training state, for --resume (older ones: checkpoint.step-N);
//                 under mpirun, a manifest beside each rank's checkpoint.step-S.shard-R-of-N
//   metrics.json  {"valid":…, "test":…, "best_epoch":…, "history": [...]}
//   config.toml   the resolved config
#include <cstdint>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/error.h"
#include "distributed/communicator.h"
#include "train/data_splits.h"

namespace heed {

// Where a run stands, after each optimizer step and at the end of each epoch (for a caller's
// own display and cancellation, e.g. the Python module's).
struct TrainingUpdate {
  std::int64_t epoch = 0, epochs = 0;  // the epoch in progress (from 1) and train.epochs
  std::int64_t step = 0;               // optimizer steps so far (counted across epochs and resumes)
  std::size_t rows_done = 0;           // rows of this epoch trained on
  std::size_t rows_per_epoch = 0;      // 0 while a streamed first epoch still counts them
  double train_logloss = 0;            // the epoch's running mean
  const nlohmann::ordered_json* epoch_end = nullptr;  // the epoch's history entry, once it is over
};

// Training stopped because TrainOptions::on_update asked; the run folder's checkpoint resumes it.
class TrainingStopped : public Error {
 public:
  using Error::Error;
};

struct TrainOptions {
  std::filesystem::path run_dir;
  bool resume = false;  // continue from run_dir/checkpoint
  // Rows of the splits from memory instead of data.train/valid/test's files (which then only
  // name the splits there are). Quantile bucket edges need files.
  SplitReader rows = {};
  // Called on the training thread after every optimizer step and after every epoch's
  // checkpoint. false stops training there: a checkpoint of that step is written (the epoch's
  // is already), metrics.json is not, TrainingStopped is thrown, and `--resume` continues
  // exactly as if training had never stopped.
  std::function<bool(const TrainingUpdate&)> on_update = {};
  // The ranks of a distributed run (mpirun: docs/distributed.md), each calling train() with the
  // same config; nullptr: this process alone. Only rank 0 writes the run folder's files and
  // returns the report; the others return a copy of it.
  Communicator* peers = nullptr;
};

// Returns what it wrote to metrics.json.
nlohmann::ordered_json train(const Config& config, const TrainOptions& options);

}  // namespace heed
