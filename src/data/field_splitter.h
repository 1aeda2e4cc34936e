#pragma once
// Splits one line into fields. Plain TSV: every delimiter separates. CSV (quoting on): a field
// may be wrapped in double quotes, inside which delimiters are literal and "" is one quote.
// A quoted field may hold line breaks: the reader gives a CSV record whole, however many lines
// its quoted fields span (line_reader.h), and the field keeps them as text.
#include <string>
#include <string_view>
#include <vector>

namespace heed {

class FieldSplitter {
 public:
  FieldSplitter(char delimiter, bool quoting) : delimiter_(delimiter), quoting_(quoting) {}

  // Splits `line` into `fields` (views into `line` or into this splitter's scratch, valid until
  // the next call). Returns an empty string, or what is wrong and the 1-based column it starts in.
  // `may_hold_quotes` false: the caller knows the line holds no quote (the reader looked), so
  // it is not searched again.
  std::string split(std::string_view line, std::vector<std::string_view>& fields, std::size_t& bad_column,
                    bool may_hold_quotes = true);

 private:
  char delimiter_;
  bool quoting_;
  std::string unquoted_;  // storage for fields whose quotes had to be removed
};

}  // namespace heed
