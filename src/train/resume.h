#pragma once
// What --resume needs besides the weights and the optimizers' state: the trainer's own state
// (epochs done, early stopping, history, where an epoch in progress stopped), saved as the
// checkpoint's trainer section, and the check that a resumed run trains the same model.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "train/early_stopping.h"

namespace heed {

// Where a checkpoint taken inside an epoch stopped: the epoch's row order is derived from the
// seed and the epoch number, so the next row's position is all the data position there is (for
// the ranks of a distributed run, each drawing its own batches: the batches each has taken).
struct EpochInProgress {
  std::size_t next_row = 0;  // rows trained on so far (over every rank)
  std::size_t batches = 0;   // optimizer steps taken in the epoch so far
  double loss_sum = 0;  // summed batch losses so far (for the epoch's train_logloss)
  double seconds = 0;   // time spent on the epoch so far

  nlohmann::json to_json() const;
  static EpochInProgress from_json(const nlohmann::json& j);
};

struct TrainerState {
  std::int64_t epochs_done = 0;
  EarlyStopping stopping;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  std::optional<EpochInProgress> in_progress;  // set in a checkpoint taken inside an epoch

  // `step`: the global optimizer step the checkpoint was taken at.
  nlohmann::json to_json(std::int64_t step) const;
  // Throws heed::Error naming `file` when the state is unreadable.
  static TrainerState from_json(const nlohmann::json& j, const std::string& file);
};

// Throws heed::Error unless `requested` differs from the checkpoint's config `saved` only in
// keys --resume may change (declared in config/options.cpp), naming the first difference.
void check_resume_compatible(const Config& saved, const Config& requested);

}  // namespace heed
