#pragma once
// The policy for malformed rows, data.on_error:
//   fail  the first bad row stops the run with its ParseError (file, line, byte offset, column);
//   skip  a bad row is left out and counted under its reason, its line goes to the rejected-lines
//         file (a "# <where>: <problem>" line, then the line as it was read, cut to 4 KiB when it
//         was over-long), and the run still stops once more than data.max_skip_fraction of the
//         rows read were bad: checked from the 1000th row on, and at the end.
// So nothing is lost silently: every row is either read or written to the rejected-lines file.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/error.h"

namespace heed {

class BadRowLog {
 public:
  static constexpr std::uint64_t kRowsBeforeFractionCheck = 1000;

  // `rejects`: the rejected-lines file, created (truncated) at the first rejected row.
  BadRowLog(const DataConfig& data, std::filesystem::path rejects);
  // A log that keeps rejected lines in memory and never checks the share: one chunk's, parsed
  // on a reader thread and later absorbed, in file order, by the split's log.
  static BadRowLog in_memory(const DataConfig& data);

  // What an in-memory log gathered; take_tally() hands it over and starts afresh.
  struct Tally {
    std::uint64_t rows = 0, skipped = 0;
    std::map<std::string, std::uint64_t> by_reason;
    std::string rejected;  // the rejected-lines text
    std::string first_problem;
  };
  Tally take_tally();
  // Adds a chunk's tally: its counts, its rejected lines (written to this log's file when
  // `write_rejects`), then the share check.
  void absorb(const Tally& tally, bool write_rejects);

  bool skipping() const { return skip_; }
  // A row read from a file, good or bad (bad ones also call reject).
  void count_row() { ++rows_; }
  // Under fail throws `problem`; under skip counts it, writes `line` and checks the fraction.
  void reject(const ParseError& problem, std::string_view line);
  // Throws when more than the allowed share of rows was bad (the end-of-split check).
  void check_fraction() const;

  std::uint64_t rows() const { return rows_; }
  std::uint64_t skipped() const { return skipped_; }
  const std::map<std::string, std::uint64_t>& by_reason() const { return by_reason_; }
  const std::filesystem::path& rejects_path() const { return rejects_; }
  // "skipped 3 of 1000 rows (label: 2, numeric: 1); rejected lines in <file>".
  std::string summary() const;

 private:
  void write(std::string_view text);

  bool skip_;
  double max_fraction_;
  std::filesystem::path rejects_;
  bool in_memory_ = false;
  std::string buffered_;  // in-memory logs: the rejected-lines text
  mutable std::ofstream out_;  // flushed by check_fraction before it throws
  std::uint64_t rows_ = 0, skipped_ = 0;
  std::map<std::string, std::uint64_t> by_reason_;
  std::string first_problem_;
};

}  // namespace heed
