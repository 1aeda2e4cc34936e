#pragma once
// A delimited text file (MovieLens's u.data, Criteo's train.txt, ...) streamed record by record,
// plain or gzip-compressed, so memory stays bounded however large the file. Every problem is a
// ParseError naming the file, the line and the column, so a user can open the file at the right
// place.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/line_reader.h"

namespace heed::recipes {

class DelimitedFile {
 public:
  // Column index meaning "the whole line" in where() and fail().
  static constexpr std::size_t kWholeLine = std::numeric_limits<std::size_t>::max();

  // Opens the file (throws heed::Error when it cannot). `delimiter` separates fields (one or
  // more characters: MovieLens-1M uses "::"). `column_names` fixes how many fields each record
  // has and names them in error messages.
  DelimitedFile(const std::filesystem::path& path, std::string delimiter,
                std::vector<std::string> column_names);
  DelimitedFile(const std::filesystem::path& path, char delimiter,
                std::vector<std::string> column_names)
      : DelimitedFile(path, std::string(1, delimiter), std::move(column_names)) {}

  // Skip empty lines instead of rejecting them (u.genre ends with one).
  void skip_blank_lines() { skip_blank_lines_ = true; }

  // Moves to the next record; false at the end of the file. A record with the wrong number of
  // fields is an error at the first missing or first extra column.
  bool next();

  // Field `column` (0-based) of the current record; the current line as a whole.
  std::string_view field(std::size_t column) const { return fields_[column]; }
  std::size_t field_count() const { return fields_.size(); }
  std::string_view line() const { return line_; }
  // The field as an integer in [min, max]; anything else is an error at that column.
  std::int64_t integer(std::size_t column, std::int64_t min, std::int64_t max) const;
  // The field as a finite decimal number; empty is allowed only when `allow_empty`.
  void check_number(std::size_t column, bool allow_empty) const;
  // The field as text that can go into a TSV cell unchanged: no TAB, optionally non-empty.
  std::string_view cell_text(std::size_t column, bool allow_empty) const;

  const std::string& path() const { return reader_->path(); }
  std::uint64_t line_number() const { return reader_->line_number(); }
  std::size_t records_read() const { return records_read_; }
  const std::vector<std::string>& column_names() const { return column_names_; }

  // Where `column` (0-based, or kWholeLine) of the current record is.
  SourceLocation where(std::size_t column) const;
  [[noreturn]] void fail(std::size_t column, std::string reason, const std::string& detail) const;
  // For a file without a single record: reported at line 1, column 1, where one was expected.
  [[noreturn]] void fail_empty(const std::string& expected) const;

 private:
  std::unique_ptr<LineReader> reader_;
  std::string delimiter_;
  std::vector<std::string> column_names_;
  std::string_view line_;
  std::size_t records_read_ = 0;
  bool skip_blank_lines_ = false;
  std::vector<std::string_view> fields_;
};

// A value as it should appear in an error message: quoted, control bytes escaped, long values cut.
std::string quoted(std::string_view value);

}  // namespace heed::recipes
