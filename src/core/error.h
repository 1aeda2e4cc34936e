#pragma once
// Errors raised at heed's boundaries. Library code throws; only `main` turns an error into an
// exit code. Messages are written for the user who has to fix the input.
#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace heed {

// Something the user asked for is wrong or impossible (bad config, missing file, ...).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where in an input file a problem was found. Lines and columns count from 1; a column of 0
// means the problem concerns the whole line.
struct SourceLocation {
  std::string file;
  std::uint64_t line = 0;
  std::uint64_t byte_offset = 0;
  std::size_t column = 0;
  std::string column_name;

  std::string describe() const {
    std::string where = fmt::format("{}:{}", file, line);
    if (column > 0) {
      where += fmt::format(": column {}", column);
      if (!column_name.empty()) where += fmt::format(" ({})", column_name);
    }
    return where;
  }
};

// A malformed record in an input file; `reason` is a short machine-friendly category used to
// count skipped rows, `what()` is the full message naming file, line and column.
class ParseError : public Error {
 public:
  ParseError(SourceLocation where, std::string reason, const std::string& detail)
      : Error(fmt::format("{}: {}", where.describe(), detail)),
        where_(std::move(where)),
        reason_(std::move(reason)),
        detail_(detail) {}
  const SourceLocation& where() const { return where_; }
  const std::string& reason() const { return reason_; }
  const std::string& detail() const { return detail_; }  // the message without the location

 private:
  SourceLocation where_;
  std::string reason_;
  std::string detail_;
};

// Precondition checks that stay on in release builds (cheap, outside hot loops).
#define HEED_CHECK(cond, ...)                                          \
  do {                                                                 \
    if (!(cond)) throw ::heed::Error(::fmt::format(__VA_ARGS__));      \
  } while (0)

}  // namespace heed
