#include "train/progress.h"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace heed {

Progress::Progress(ProgressMode mode, std::size_t rows_per_epoch, std::int64_t epochs, double log_seconds)
    : rows_per_epoch_(rows_per_epoch), epochs_(epochs), log_seconds_(log_seconds) {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  bar_ = mode == ProgressMode::kBar || (mode == ProgressMode::kAuto && terminal);
  log_ = mode == ProgressMode::kLog || (mode == ProgressMode::kAuto && !terminal);
}

void Progress::start_epoch(std::int64_t epoch) {
  epoch_ = epoch;
  epoch_start_ = last_print_ = Clock::now();
}

void Progress::update(std::size_t rows_done, double running_loss) {
  const auto now = Clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  if ((bar_ && since_print < 0.2) || (log_ && since_print < log_seconds_) || (!bar_ && !log_)) return;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double rate = rows_done / std::max(elapsed, 1e-9);
  // A streamed first epoch does not know its size yet: rows so far, no share or ETA.
  const bool sized = rows_per_epoch_ > 0;
  const double eta = sized ? (rows_per_epoch_ - std::min(rows_done, rows_per_epoch_)) / std::max(rate, 1e-9) : 0;
  const double share = sized ? std::min(1.0, static_cast<double>(rows_done) / rows_per_epoch_) : 0;
  // A log line near the end of an epoch says nothing the epoch's own line will not say within
  // seconds ("97%, ETA 1s"): a log shows progress only where there is some way left to go.
  if (log_ && sized && (share >= 0.9 || eta < log_seconds_ / 3)) return;
  last_print_ = now;
  const auto e = static_cast<long long>(epoch_), n = static_cast<long long>(epochs_);
  if (bar_ && sized) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(share * kWidth);
    std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %3.0f%%  %.0f samples/s  ETA %.0fs  loss %.4f \x1b[K", e, n,
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), share * 100, rate, eta,
                 running_loss);
  } else if (bar_) {
    std::fprintf(stderr, "\repoch %lld/%lld  %zu rows  %.0f samples/s  loss %.4f \x1b[K", e, n, rows_done, rate,
                 running_loss);
  } else if (sized) {
    std::fprintf(stderr, "epoch %lld/%lld: %.0f%%, %.0f samples/s, ETA %.0fs, loss %.4f\n", e, n, share * 100, rate, eta,
                 running_loss);
  } else {
    std::fprintf(stderr, "epoch %lld/%lld: %zu rows so far, %.0f samples/s, loss %.4f\n", e, n, rows_done, rate,
                 running_loss);
  }
  std::fflush(stderr);
}

void Progress::finish_epoch(const std::string& summary) {
  if (bar_) std::fprintf(stderr, "\r\x1b[K");
  message(summary);
}

void Progress::message(const std::string& line) {
  if (!bar_ && !log_) return;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace heed
