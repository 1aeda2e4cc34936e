#include "train/progress.h"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace heed {

Progress::Progress(const std::string& mode, std::size_t rows_per_epoch, std::int64_t epochs)
    : rows_per_epoch_(rows_per_epoch), epochs_(epochs) {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  bar_ = mode == "bar" || (mode == "auto" && terminal);
  log_ = mode == "log" || (mode == "auto" && !terminal);
}

void Progress::start_epoch(std::int64_t epoch) {
  epoch_ = epoch;
  epoch_start_ = last_print_ = Clock::now();
}

void Progress::update(std::size_t rows_done, double running_loss) {
  const auto now = Clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  if ((bar_ && since_print < 0.2) || (log_ && since_print < 15.0) || (!bar_ && !log_)) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double rate = rows_done / std::max(elapsed, 1e-9);
  const double eta = (rows_per_epoch_ - std::min(rows_done, rows_per_epoch_)) / std::max(rate, 1e-9);
  const double share = static_cast<double>(rows_done) / std::max<std::size_t>(rows_per_epoch_, 1);
  if (bar_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(share * kWidth);
    std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %3.0f%%  %.0f samples/s  ETA %.0fs  loss %.4f \x1b[K",
                 static_cast<long long>(epoch_), static_cast<long long>(epochs_), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), share * 100, rate, eta, running_loss);
  } else {
    std::fprintf(stderr, "epoch %lld/%lld: %.0f%%, %.0f samples/s, ETA %.0fs, loss %.4f\n",
                 static_cast<long long>(epoch_), static_cast<long long>(epochs_), share * 100, rate, eta, running_loss);
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
