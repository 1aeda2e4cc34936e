#pragma once
// Training progress: a live bar (samples/s, ETA, running loss) when stderr is a terminal,
// plain log lines otherwise (at most one per 15 s, and none in an epoch's last stretch, where
// the epoch's own line follows), or nothing.
#include <chrono>
#include <string>

#include "config/choices.h"

namespace heed {

class Progress {
 public:
  // `log_seconds`: the least time between two log lines.
  Progress(ProgressMode mode, std::size_t rows_per_epoch, std::int64_t epochs, double log_seconds = 15);

  void start_epoch(std::int64_t epoch);
  // A streamed epoch's size becomes known when the first epoch ends.
  void set_rows_per_epoch(std::size_t rows) { rows_per_epoch_ = rows; }
  void update(std::size_t rows_done, double running_loss);
  // Ends the epoch's bar and prints `summary` on its own line.
  void finish_epoch(const std::string& summary);
  void message(const std::string& line);

 private:
  using Clock = std::chrono::steady_clock;
  bool bar_ = false, log_ = false;
  std::size_t rows_per_epoch_;
  std::int64_t epochs_, epoch_ = 0;
  double log_seconds_;
  Clock::time_point epoch_start_, last_print_;
};

}  // namespace heed
