#pragma once
// Keeps the best epoch by a validation score (higher is better) and says when to stop:
// after `patience` epochs in a row without improvement. Saved in resumable checkpoints.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace heed {

struct EarlyStopping {
  std::optional<double> best_score;
  std::int64_t best_epoch = 0;
  std::int64_t bad_epochs = 0;
  bool finished = false;

  // Records epoch's score; returns whether this epoch is the best so far (the one to keep).
  // A NaN score (e.g. a validation set with one class) never beats a real one.
  bool observe(std::int64_t epoch, double score, std::int64_t patience) {
    const bool better = !best_score || (std::isfinite(score) && (!std::isfinite(*best_score) || score > *best_score));
    if (better) {
      best_score = score;
      best_epoch = epoch;
      bad_epochs = 0;
    } else if (++bad_epochs >= patience) {
      finished = true;
    }
    return better;
  }

  nlohmann::json to_json() const {
    return {{"best_score", best_score && std::isfinite(*best_score) ? nlohmann::json(*best_score) : nlohmann::json()},
            {"has_best", best_score.has_value()}, {"best_epoch", best_epoch}, {"bad_epochs", bad_epochs},
            {"finished", finished}};
  }
  static EarlyStopping from_json(const nlohmann::json& j) {
    EarlyStopping s;
    if (j.at("has_best").get<bool>())
      s.best_score = j.at("best_score").is_null() ? NAN : j.at("best_score").get<double>();
    s.best_epoch = j.at("best_epoch").get<std::int64_t>();
    s.bad_epochs = j.at("bad_epochs").get<std::int64_t>();
    s.finished = j.at("finished").get<bool>();
    return s;
  }
};

// The early-stopping state a resumed run continues with, given the run's saved train keys and
// the requested ones. A run that stopped early trains on when train.patience is raised above
// its epochs without improvement. Throws heed::Error when a raised key would be ignored (more
// train.epochs for a run whose patience ran out; more patience for a run at its last epoch),
// saying which key to raise, rather than finishing at once as if it had trained.
EarlyStopping resumed_stopping(EarlyStopping saved, std::int64_t epochs_done, const TrainConfig& before,
                               const TrainConfig& requested);

// "early stopping after epoch 7: valid auc has not improved for 2 epochs (train.patience = 2);
// keeping epoch 5".
std::string early_stop_text(const EarlyStopping& stopping, const std::string& metric, std::int64_t patience);

}  // namespace heed
