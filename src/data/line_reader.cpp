#include "data/line_reader.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "data/compressed_input.h"

namespace heed {
namespace {
constexpr std::size_t kChunkBytes = 1u << 20;
constexpr char kByteOrderMark[] = "\xEF\xBB\xBF";

// Drops each CR before an LF of `text` in place (the LFs of a record are inside quoted fields);
// returns the new length.
std::size_t drop_crs_before_lfs(char* text, std::size_t length) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < length; ++i)
    if (text[i] != '\r' || i + 1 == length || text[i + 1] != '\n') text[out++] = text[i];
  return out;
}
}  // namespace

LineReader::LineReader(const std::filesystem::path& path, std::size_t max_line_bytes)
    : LineReader(path, Options{max_line_bytes, false}) {}

LineReader::LineReader(const std::filesystem::path& path, const Options& options)
    : path_(path.string()), input_(open_compressed_input(path)), options_(options) {
  buffer_.resize(kChunkBytes);
}

LineReader::LineReader(const Text& text, std::size_t max_line_bytes)
    : LineReader(text, Options{max_line_bytes, false}) {}

LineReader::LineReader(const Text& text, const Options& options)
    : path_(text.name), options_(options), buffer_(text.text.begin(), text.text.end()), eof_(true) {
  end_ = buffer_.size();
  buffer_.reserve(1);  // data() is never null
}

LineReader::~LineReader() = default;

bool LineReader::fill() {
  if (eof_) return false;
  // Keep the unread tail, grow only when a single record needs more room.
  const std::size_t unread = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, unread);
    consumed_ += begin_;
    begin_ = 0;
    end_ = unread;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  std::size_t got = 0;
  try {
    got = input_->read(buffer_.data() + end_, buffer_.size() - end_);
  } catch (const InputDamage& e) {
    if (!options_.report_damage) throw Error(fmt::format("{}: {}", path_, e.what()));
    damage_ = e.what();
    eof_ = true;
    return false;
  }
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

void LineReader::skip_rest_of_line() {
  const std::size_t keep = std::min(kKeptPrefixBytes, end_ - begin_);
  long_prefix_.assign(buffer_.data() + begin_, keep);
  line_offset_ = consumed_ + begin_;
  line_number_ = next_line_++;
  line_count_ = 1;
  std::uint64_t length = 0;
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    if (newline) {
      const auto part = static_cast<std::size_t>(static_cast<const char*>(newline) - start);
      length += part;
      begin_ += part + 1;
      break;
    }
    length += end_ - begin_;
    begin_ = end_;
    if (!fill()) {
      unterminated_ = true;
      break;
    }
  }
  line_length_ = length;
  too_long_ = true;
}

bool LineReader::starts_with_bom() const {
  return next_line_ == 1 && consumed_ + begin_ == 0 && end_ - begin_ >= 3 &&
         std::memcmp(buffer_.data() + begin_, kByteOrderMark, 3) == 0;
}

void LineReader::scan_quotes(std::size_t from, std::size_t stop, std::uint64_t line, QuoteScan& scan) const {
  const char* record = buffer_.data() + begin_;
  std::size_t i = from;
  while (const void* quote = std::memchr(record + i, '"', stop - i)) {
    i = static_cast<std::size_t>(static_cast<const char*>(quote) - record);
    if (scan.open) {
      if (i + 1 < stop && record[i + 1] == '"') {  // "" inside a quoted field: one quote
        i += 2;
        continue;
      }
      scan.open = false;
    } else if (i == 0 || record[i - 1] == options_.delimiter || (i == 3 && starts_with_bom())) {
      scan = QuoteScan{true, i, line, stop};
    }  // else: a quote inside an unquoted field is text
    ++i;
  }
}

std::size_t LineReader::column_at(std::size_t at) const {
  const char* record = buffer_.data() + begin_;
  const std::size_t first = starts_with_bom() ? 3 : 0;
  std::size_t column = 1;
  bool quoted = false;
  for (std::size_t i = first; i < at; ++i) {
    if (quoted) {
      if (record[i] == '"') {
        if (i + 1 < at && record[i + 1] == '"')
          ++i;
        else
          quoted = false;
      }
    } else if (record[i] == options_.delimiter) {
      ++column;
    } else if (record[i] == '"' && (i == first || record[i - 1] == options_.delimiter)) {
      quoted = true;
    }
  }
  return column;
}

inline std::string_view LineReader::take(std::size_t length, std::uint64_t lines, bool terminated) {
  char* start = buffer_.data() + begin_;
  line_offset_ = consumed_ + begin_;
  line_length_ = length;
  unterminated_ = !terminated && input_ != nullptr;  // text in memory (a request) is whole
  line_number_ = next_line_;
  line_count_ = lines;
  next_line_ += lines;
  begin_ += length + (terminated ? 1 : 0);
  if (length > 0 && start[length - 1] == '\r') --length;
  if (line_number_ == 1 && length >= 3 && std::memcmp(start, kByteOrderMark, 3) == 0) {
    start += 3;
    length -= 3;
  }
  if (lines > 1) length = drop_crs_before_lfs(start, length);
  return std::string_view(start, length);
}

std::string_view LineReader::give_up_on_quote(const QuoteScan& scan, bool at_end_of_file) {
  const UnclosedQuote unclosed{next_line_ + scan.quote_line, column_at(scan.quote), at_end_of_file};
  if (!options_.report_damage)
    throw Error(fmt::format("{}:{}: column {}: the quoted field opened here is not closed {}", path_, unclosed.line,
                            unclosed.column,
                            at_end_of_file ? std::string("by the end of the file")
                                           : fmt::format("within the limit of {} bytes on a record",
                                                         options_.max_line_bytes)));
  const bool terminated = scan.quote_line_end < end_ - begin_;  // an LF ends the quote's line
  const std::string_view text = take(scan.quote_line_end, scan.quote_line + 1, terminated);
  unclosed_ = unclosed;
  return text;
}

bool LineReader::next(std::string_view& line) {
  too_long_ = false;
  unterminated_ = false;
  unclosed_ = UnclosedQuote{};
  may_hold_quotes_ = true;
  std::size_t from = 0;     // where the record's current physical line starts, from begin_
  std::uint64_t lines = 0;  // the record's physical lines before it
  QuoteScan quotes;
  while (true) {
    const char* start = buffer_.data() + begin_;
    const std::size_t unread = end_ - begin_;
    const void* newline = std::memchr(start + from, '\n', unread - from);
    if (newline || (eof_ && unread > from)) {
      const std::size_t stop =
          newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - start) : unread;
      if (options_.quoted_records && lines == 0 && !std::memchr(start, '"', stop)) {
        may_hold_quotes_ = false;  // the common line: no quote, so one record
      } else if (options_.quoted_records) {
        scan_quotes(from, stop, lines, quotes);
        if (quotes.open) {  // the line break belongs to the quoted field: the record goes on
          if (!newline) {  // the file ends inside the field (or has already passed the limit)
            line = give_up_on_quote(quotes, stop < options_.max_line_bytes);
            return true;
          }
          ++lines;
          from = stop + 1;
          if (from >= options_.max_line_bytes) {
            line = give_up_on_quote(quotes, false);
            return true;
          }
          continue;
        }
      }
      if (stop > options_.max_line_bytes) {
        if (!options_.report_damage)
          throw Error(lines == 0 ? fmt::format("{}:{}: line of {} bytes is longer than the limit of {} bytes", path_,
                                               next_line_, stop, options_.max_line_bytes)
                                 : fmt::format("{}:{}: record of {} bytes (lines {}-{}) is longer than the limit "
                                               "of {} bytes",
                                               path_, next_line_, stop, next_line_, next_line_ + lines,
                                               options_.max_line_bytes));
        if (lines == 0) {
          skip_rest_of_line();
        } else {  // the whole record is here: keep its start, step past it
          long_prefix_.assign(start, std::min(kKeptPrefixBytes, stop));
          take(stop, lines + 1, newline != nullptr);
          too_long_ = true;
        }
        line = long_prefix_;
        return true;
      }
      line = take(stop, lines + 1, newline != nullptr);
      return true;
    }
    if (unread > options_.max_line_bytes) {
      if (quotes.open) {
        line = give_up_on_quote(quotes, false);
        return true;
      }
      if (!options_.report_damage)
        throw Error(fmt::format("{}:{}: line is longer than the limit of {} bytes", path_, next_line_,
                                options_.max_line_bytes));
      skip_rest_of_line();
      line = long_prefix_;
      return true;
    }
    if (!fill()) {
      if (end_ - begin_ > from) continue;  // a last line without a newline
      if (quotes.open) {
        line = give_up_on_quote(quotes, true);
        return true;
      }
      return false;
    }
  }
}

}  // namespace heed
