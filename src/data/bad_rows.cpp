#include "data/bad_rows.h"

#include <cstring>

namespace heed {

BadRowLog::BadRowLog(const DataConfig& data, std::filesystem::path rejects)
    : skip_(data.on_error == OnError::kSkip), max_fraction_(data.max_skip_fraction), rejects_(std::move(rejects)) {}

BadRowLog BadRowLog::in_memory(const DataConfig& data) {
  BadRowLog log(data, {});
  log.in_memory_ = true;
  log.max_fraction_ = 1.0;
  return log;
}

void BadRowLog::write(std::string_view text) {
  if (in_memory_) {
    buffered_.append(text);
    return;
  }
  if (!out_.is_open()) {
    if (rejects_.has_parent_path()) std::filesystem::create_directories(rejects_.parent_path());
    out_.open(rejects_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error(fmt::format("{}: cannot write the rejected-lines file: {}", rejects_.string(),
                                       std::strerror(errno)));
  }
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
  out_.flush();  // complete on disk at every moment, whatever stops the run
  if (!out_) throw Error(fmt::format("{}: cannot write the rejected-lines file", rejects_.string()));
}

void BadRowLog::reject(const ParseError& problem, std::string_view line) {
  if (!skip_) throw problem;
  const SourceLocation& where = problem.where();
  std::string record = fmt::format("# {}:{} (byte {}) [{}] {}\n", where.file, where.line, where.byte_offset,
                                   problem.reason(), problem.what());
  record.append(line);
  record.push_back('\n');
  write(record);
  if (first_problem_.empty()) first_problem_ = problem.what();
  ++skipped_;
  ++by_reason_[problem.reason()];
  if (rows_ >= kRowsBeforeFractionCheck) check_fraction();
}

BadRowLog::Tally BadRowLog::take_tally() {
  Tally t{rows_, skipped_, std::move(by_reason_), std::move(buffered_), std::move(first_problem_)};
  rows_ = skipped_ = 0;
  by_reason_.clear();
  buffered_.clear();
  first_problem_.clear();
  return t;
}

void BadRowLog::absorb(const Tally& tally, bool write_rejects) {
  rows_ += tally.rows;
  if (tally.skipped == 0) return;
  if (write_rejects) write(tally.rejected);
  skipped_ += tally.skipped;
  for (const auto& [reason, count] : tally.by_reason) by_reason_[reason] += count;
  if (first_problem_.empty()) first_problem_ = tally.first_problem;
  if (rows_ >= kRowsBeforeFractionCheck) check_fraction();
}

void BadRowLog::check_fraction() const {
  if (skipped_ == 0) return;
  const double share = static_cast<double>(skipped_) / static_cast<double>(std::max<std::uint64_t>(rows_, 1));
  if (share <= max_fraction_) return;
  // Flushed so the file is complete when the user opens it.
  if (out_.is_open()) out_.flush();
  throw Error(fmt::format("too many bad rows: {} ({:.3g}%) is more than data.max_skip_fraction = {:.3g}%; the first: {}",
                          summary(), 100.0 * share, 100.0 * max_fraction_, first_problem_));
}

std::string BadRowLog::summary() const {
  std::string reasons;
  for (const auto& [reason, count] : by_reason_) reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : ", ", reason, count);
  return fmt::format("skipped {} of {} rows ({}); rejected lines in {}", skipped_, rows_, reasons, rejects_.string());
}

}  // namespace heed
